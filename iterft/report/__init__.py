"""Reports: Inspect logs of lineage generations (or audited models) -> verdicts, plots, HTML."""

from iterft.report._lineages import Series, analyse, load_lineage
from iterft.report._measures import CATALOG, Measure
from iterft.report._render import Document, print_tables
from iterft.report._report import compare_lineages, report_lineage
from iterft.report._stats import Clusters, Trajectory, difference, trajectory, verdict

__all__ = [
    "CATALOG",
    "Clusters",
    "Document",
    "Measure",
    "Series",
    "Trajectory",
    "analyse",
    "compare_lineages",
    "difference",
    "load_lineage",
    "print_tables",
    "report_lineage",
    "trajectory",
    "verdict",
]
