"""The `lineage` Inspect model provider (imports torch: load lazily via iterft._registry)."""

from iterft.provider._api import LineageAPI, engine_for, parse_model_name, serving_weights
from iterft.provider._engine import AdapterRef, Completion, Engine, Request, Sampling, ScoreRequest
from iterft.provider._prompt import answer_ids

__all__ = [
    "AdapterRef",
    "Completion",
    "Engine",
    "LineageAPI",
    "Request",
    "Sampling",
    "answer_ids",
    "ScoreRequest",
    "engine_for",
    "parse_model_name",
    "serving_weights",
]
