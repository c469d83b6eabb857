"""Train one generation from a job file; the entry point for multi-process training.

    accelerate launch --num_processes 2 -m iterft.train JOB.json

JOB.json: {"setting", "base_path", "parent", "parent_kind", "data" (JSONL path), "config"
(TrainingConfig fields), "out_dir"}. The main process writes metrics to OUT_DIR/train-metrics.json.
The driver writes this file and launches it when `training.num_processes` > 1.
"""

import json
import sys
from pathlib import Path

from iterft.config import TrainingConfig
from iterft.data import read_jsonl
from iterft.train._trainer import train_generation

METRICS = "train-metrics.json"


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    out_dir = Path(job["out_dir"])
    metrics = train_generation(
        setting=job["setting"],
        base_path=Path(job["base_path"]),
        parent=Path(job["parent"]) if job.get("parent") else None,
        parent_kind=job.get("parent_kind"),
        rows=read_jsonl(Path(job["data"])),
        config=TrainingConfig.model_validate(job["config"]),
        out_dir=out_dir,
    )
    from accelerate import PartialState

    if PartialState().is_main_process:
        (out_dir / METRICS).write_text(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m iterft.train JOB.json")
    main(sys.argv[1])
