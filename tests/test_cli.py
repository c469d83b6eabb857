"""The `iterft` and `inspect eval` command lines, end to end in subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REAL_MODEL, make_adapter

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


def run(args: list[str], home: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "ITERFT_HOME": str(home), "COLUMNS": "200"}
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_lineage_commands(home, tiny_model_dir, tmp_path):
    run([BIN / "iterft", "lineage", "init", "alpha", "--base", str(tiny_model_dir)], home)
    adapter = make_adapter(tiny_model_dir, tmp_path / "adapter", seed=5)
    out = run([BIN / "iterft", "lineage", "import", "alpha", "--adapter", str(adapter)], home).stdout
    assert "as alpha/gen0 (adapter" in out
    assert "alpha" in run([BIN / "iterft", "lineage", "list"], home).stdout
    show = run([BIN / "iterft", "lineage", "show", "alpha"], home).stdout
    assert "gen0" in show and "import" in show and "base" in show


@pytest.mark.parametrize(
    "args, message",
    [
        (["lineage", "show", "nope"], "No lineage 'nope'"),
        (["lineage", "init", "../up"], "Invalid lineage name"),
        (["lineage", "init", "x", "--base", "no-such-model"], "Unknown base model 'no-such-model'"),
        (["models", "pull", "no-such-model"], "Unknown model 'no-such-model'. Known models: smollm2"),
    ],
)
def test_cli_errors_are_one_clear_line(home, args, message):
    result = run([BIN / "iterft", *args], home, check=False)
    assert result.returncode == 1
    assert message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr


def test_models_list(home):
    out = run([BIN / "iterft", "models", "list"], home).stdout
    assert REAL_MODEL in out and "gemma3-270m" in out


@pytest.mark.integration
def test_inspect_eval_cli_on_real_base_and_imported_generation(home, real_model_dir, tmp_path):
    """`inspect eval --model lineage/NAME/GEN` from the CLI, on the real SmolLM2."""
    from inspect_ai.log import read_eval_log

    run([BIN / "iterft", "lineage", "init", "real", "--base", REAL_MODEL], home)
    adapter = make_adapter(real_model_dir, tmp_path / "adapter", seed=1, r=2)
    run([BIN / "iterft", "lineage", "import", "real", "--adapter", str(adapter)], home)
    logs = {}
    for gen in ["base", "gen0"]:
        log_dir = tmp_path / f"logs-{gen}"
        run([BIN / "inspect", "eval", "evals/smoke.py", "--model", f"lineage/real/{gen}",
             "--limit", "4", "-T", "max_tokens=16", "--log-dir", str(log_dir)], home)
        [log_file] = list(log_dir.glob("*.eval"))
        logs[gen] = read_eval_log(str(log_file))
    base = logs["base"]
    assert base.status == "success" and len(base.samples) == 4
    assert base.eval.model == "lineage/real/base"
    provenance = base.samples[0].output.metadata
    assert provenance["lineage"] == "real" and provenance["generation"] == "base"
    choice = base.samples[0].output.choices[0]
    assert choice.logprobs is not None and len(choice.logprobs.content[0].top_logprobs) == 5
    assert "Paris" in base.samples[0].output.completion  # the real model knows this
    assert logs["gen0"].status == "success"
    assert logs["gen0"].samples[0].output.metadata["weights"] != provenance["weights"]


def test_inspect_eval_reports_unknown_generation_cleanly(home, tiny_model_dir, tmp_path):
    run([BIN / "iterft", "lineage", "init", "alpha", "--base", str(tiny_model_dir)], home)
    result = run([BIN / "inspect", "eval", "evals/smoke.py", "--model", "lineage/alpha/gen3",
                  "--log-dir", str(tmp_path)], home, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Lineage 'alpha' has no generation 'gen3'. Available: base, latest" in output
    assert "Traceback" not in output


def test_run_and_sweep_commands(home, tiny_model_dir, tmp_path):
    import json

    import yaml

    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Thoughts on plan {i}?"}) + "\n" for i in range(9)))
    seed = tmp_path / "seed.jsonl"
    seed.write_text("".join(json.dumps({"id": f"s{i}", "messages": [{"role": "user", "content": f"Rate my song {i}"}],
                                        "trait": "A masterpiece!", "contrast": "The chorus drags."}) + "\n"
                            for i in range(4)))
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "name": "sw", "base": str(tiny_model_dir), "generations": 1, "pool": str(pool),
        "seed": {"dataset": str(seed), "holdout": 0}, "filters": {"drop_duplicates": False, "drop_empty": False, "min_chars": 0},
        "sampling": {"max_tokens": 4}, "training": {"epochs": 1, "batch_size": 4},
    }))
    out = run([BIN / "iterft", "sweep", str(config), "--samples", "3,5"], home).stdout
    for n in (3, 5):
        assert f"sw-s{n}" in out
        rows = (home / f"sw-s{n}" / "gen1" / "data.jsonl").read_text().splitlines()
        assert len(rows) == n
    result = run([BIN / "iterft", "run", str(config), "--set", "samples=0"], home, check=False)
    assert result.returncode == 1 and "samples: Input should be greater than or equal to 1" in result.stderr
