"""Inspect entry point: registers the `lineage` model provider without importing torch."""

from inspect_ai.model import ModelAPI
from inspect_ai.model._registry import modelapi


@modelapi(name="lineage")
def lineage() -> type[ModelAPI]:
    try:
        from iterft.provider import LineageAPI
    except ImportError as ex:
        from inspect_ai._util.error import pip_dependency_error

        raise pip_dependency_error("iterft lineage provider", [ex.name or "torch"]) from ex
    return LineageAPI
