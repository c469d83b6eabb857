"""Running the eval suite's task files from iterft (driver, audit) through Inspect's `eval()`.

Inspect loads task files by path relative to the working directory, so a task given as
`evals/x.py` is looked up there first and then in the project root (where iterft's own evals
live); the eval then runs from that folder.
"""

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from iterft.config import EvalSpec, parse_assignment
from iterft.errors import IterftError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _working_dir(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def task_home(task: str) -> Path:
    """The folder from which `task` (a relative task file path) resolves; registry names
    (no .py file) resolve anywhere."""
    file = task.split("@")[0]
    if not file.endswith(".py"):
        return Path.cwd()
    for folder in (Path.cwd(), PROJECT_ROOT):
        if (folder / file).is_file():
            return folder
    raise IterftError(f"Task file '{file}' not found in {Path.cwd()} or {PROJECT_ROOT}")


def _anchored(model: Any, model_args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Pin what is relative to the caller's folder before the eval runs from another one: the
    lineage root of `lineage/...` models and local `hf/PATH` checkpoints."""
    if not isinstance(model, str):
        return model, model_args
    if model.startswith("lineage/"):
        from iterft.store import lineage_root

        home = Path(model_args.get("home") or lineage_root())
        return model, {**model_args, "home": str(home.resolve())}
    if model.startswith("hf/") and Path(model[3:]).exists():
        return f"hf/{Path(model[3:]).resolve()}", model_args
    return model, model_args


def run_task(spec: EvalSpec, model: Any, log_dir: Path, model_args: dict[str, Any] | None = None,
             grader: Any | None = None) -> Any:
    """Run one eval spec on `model`; return its log, or raise naming the task and model."""
    from inspect_ai import eval as inspect_eval

    grader = grader or spec.grader
    name = model
    model, model_args = _anchored(model, model_args or {})
    grader, _ = _anchored(grader, {})
    log_dir = log_dir.resolve()
    with _working_dir(task_home(spec.task)):
        [log] = inspect_eval(
            spec.task,
            model=model,
            model_args=model_args,
            task_args=spec.args,
            model_roles={"grader": grader} if grader else None,
            limit=spec.limit,
            max_tokens=spec.max_tokens,
            log_dir=str(log_dir),
            display="none",
        )
    if log.status != "success":
        why = log.error.message if log.error else log.status
        raise IterftError(f"eval {spec.label} on {name} ended with status {log.status}: {why} (log: {log.location})")
    return log


def parse_task(text: str) -> EvalSpec:
    """'evals/sycophancy.py' or 'evals/sycophancy.py:subtask=answer,samples_per_question=2'."""
    task, _, args = text.partition(":")
    values = dict(parse_assignment(item, "task arg", "evals/sycophancy.py:subtask=answer")
                  for item in filter(None, args.split(",")))
    return EvalSpec(task=task, args=values)
