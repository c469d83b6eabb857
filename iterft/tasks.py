"""Running the eval suite's task files from iterft (driver, audit) through Inspect's `eval()`.

Inspect loads task files by path relative to the working directory, so a task given as
`evals/x.py` is looked up there first and then in the project root (where iterft's own evals
live); the eval then runs from that folder.
"""

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from iterft.config import EvalSpec
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
    """The folder from which `task` (a relative task file path) resolves."""
    file = task.split("@")[0]
    for folder in (Path.cwd(), PROJECT_ROOT):
        if (folder / file).is_file():
            return folder
    raise IterftError(f"Task file '{file}' not found in {Path.cwd()} or {PROJECT_ROOT}")


def run_task(spec: EvalSpec, model: Any, log_dir: Path, model_args: dict[str, Any] | None = None,
             grader: Any | None = None) -> Any:
    """Run one eval spec on `model`; return its log, or raise naming the task and model."""
    from inspect_ai import eval as inspect_eval

    grader = grader or spec.grader
    with _working_dir(task_home(spec.task)):
        [log] = inspect_eval(
            spec.task,
            model=model,
            model_args=model_args or {},
            task_args=spec.args,
            model_roles={"grader": grader} if grader else None,
            limit=spec.limit,
            max_tokens=spec.max_tokens,
            log_dir=str(log_dir.resolve()),
            display="none",
        )
    if log.status != "success":
        raise IterftError(f"eval {spec.label} on {model} ended with status {log.status}: {log.error}")
    return log


def parse_task(text: str) -> EvalSpec:
    """'evals/sycophancy.py' or 'evals/sycophancy.py:subtask=answer,samples_per_question=2'."""
    import yaml

    task, _, args = text.partition(":")
    values = {}
    for item in filter(None, args.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise IterftError(f"Bad task arg '{item}' in '{text}': use FILE:NAME=VALUE[,NAME=VALUE]")
        values[key.strip()] = yaml.safe_load(value)
    return EvalSpec(task=task, args=values)
