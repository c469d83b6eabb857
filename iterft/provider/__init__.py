"""The `lineage` Inspect model provider (imports torch: load lazily via iterft._registry)."""

from iterft.provider._api import LineageAPI, engine_for, parse_model_name
from iterft.provider._engine import AdapterRef, Completion, Engine, Request, Sampling

__all__ = [
    "AdapterRef",
    "Completion",
    "Engine",
    "LineageAPI",
    "Request",
    "Sampling",
    "engine_for",
    "parse_model_name",
]
