"""The lineage driver: seeding, generate -> train -> evaluate cycles, resume."""

from iterft.driver._run import run_lineage

__all__ = ["run_lineage"]
