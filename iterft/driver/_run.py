"""The lineage driver: seed gen0, then generate with gen k -> train gen k+1 -> evaluate.

Every step leaves a checkpoint in the lineage and is skipped when its checkpoint exists, so
the same `iterft run` after a crash or `kill -9` resumes where it stopped:

    .work/genK/data.jsonl        the data gen K trains on (written atomically)
    genK/                        the trained generation (committed atomically by the store)
    evals/GEN/TASK.json          one eval's results (written atomically; log in logs/GEN/)
"""

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from iterft.config import RESUMABLE_FIELDS, LineageConfig, changed_fields
from iterft.data import read_jsonl
from iterft.driver._data import assistant, generation_prompts, keep, seed_rows, split_seeds
from iterft.driver._probe import mean_logprobs, trait_preference
from iterft.errors import IterftError
from iterft.models import default_device, load_tokenizer, resolve_base, resolve_dtype
from iterft.provider import (
    AdapterRef,
    Completion,
    Engine,
    Request,
    Sampling,
    engine_for,
    serving_weights,
)
from iterft.provider._prompt import render_messages
from iterft.store import DATA_FILE, METRICS_FILE, PROBE_FILE, Lineage, lineage_root, write_atomic
from iterft.train import launch_training, train_generation

logger = logging.getLogger("iterft.driver")


def run_lineage(
    config: LineageConfig,
    home: Path | None = None,
    force: bool = False,
    console: Console | None = None,
) -> Lineage:
    """Make (or resume, or extend) the lineage `config` describes."""
    root = home or lineage_root()
    console = console or Console()
    dumped = config.model_dump(mode="json")
    if not (root / config.name / "manifest.json").exists():
        base = resolve_base(config.base, log=console.print)
        Lineage.create(config.name, base, root=root, setting=config.setting, config=dumped)
    lineage = Lineage.open(config.name, root)
    with lineage.lock():
        _check_config(lineage, dumped, force)
        _Driver(config, lineage, root, console).run()
    return lineage


def _check_config(lineage: Lineage, dumped: dict[str, Any], force: bool) -> None:
    """Refuse to resume with a config that changed what the lineage is (unless forced)."""
    recorded = lineage.manifest.config
    changed = [f for f in changed_fields(recorded, dumped) if f.split(".")[0] not in RESUMABLE_FIELDS]
    if changed and not force:
        raise IterftError(
            f"Lineage '{lineage.name}' was made with a different config; changed: {', '.join(changed)}. "
            "Use a new name, restore the config, or pass --force to continue with the new one."
        )
    if recorded != dumped:
        lineage.update_config(dumped)


class _Driver:
    def __init__(self, config: LineageConfig, lineage: Lineage, root: Path, console: Console):
        self.config = config
        self.lineage = lineage
        self.root = root
        self.console = console
        self.base = resolve_base(config.base)
        self.log_file = lineage.path / "iterft.log"

    # -- the cycle ----------------------------------------------------------------------

    def run(self) -> None:
        config = self.config
        self._log(f"run: {config.setting} {config.init}, gen0..gen{config.generations}")
        self._evaluate("base")
        self._summary("base")
        for k in range(config.generations + 1):
            name = f"gen{k}"
            if not any(g.name == name for g in self.lineage.manifest.generations):
                rows = self._data(k)
                metrics = self._step(name, "train", lambda: self._train(k, rows))
                self._log(f"{name}: trained on {len(rows)} examples, loss {metrics['train_loss']}")
                shutil.rmtree(self.lineage.path / ".work" / name, ignore_errors=True)
            self._evaluate(name)
            self._summary(name)

    def _step(self, name: str, step: str, work: Callable[[], Any]) -> Any:
        """Run one step; a failure says which step of which generation failed."""
        self._log(f"{name}: {step} started")
        try:
            return work()
        except IterftError:
            raise
        except Exception as ex:
            self._log(f"{name}: {step} FAILED: {type(ex).__name__}: {ex}")
            raise IterftError(
                f"Lineage '{self.lineage.name}': step '{step}' of {name} failed "
                f"({type(ex).__name__}: {ex}). The lineage is consistent; run again to resume."
            ) from ex

    # -- data ---------------------------------------------------------------------------

    def _data(self, k: int) -> list[dict[str, Any]]:
        path = self.lineage.path / ".work" / f"gen{k}" / DATA_FILE
        if path.exists():
            self._log(f"gen{k}: data found ({path}), not regenerated")
            return read_jsonl(path)
        rows = self._step(f"gen{k}", "generate", lambda: self._make_data(k))
        _write_jsonl_atomic(path, rows)
        return rows

    def _make_data(self, k: int) -> list[dict[str, Any]]:
        config = self.config
        if k == 0 and config.seed.source == "dataset":
            return seed_rows(config)
        if k == 0:  # distill: the base answers under the persona prompt; self: the base as it is
            if config.seed.source == "distill" and not config.seed.system_prompt:
                raise IterftError("seed.source 'distill' needs seed.system_prompt")
            prompts = generation_prompts(config, 0)
            persona = [{"role": "system", "content": config.seed.system_prompt}] if config.seed.source == "distill" else []
            answers = self._generate(None, [persona + p for p in prompts], 0, f"gen0 ({config.seed.source})")
            return self._rows(prompts, answers, None)
        parent = self.lineage.generation(f"gen{k - 1}")
        prompts = generation_prompts(config, k)
        answers = self._generate(parent, prompts, k, f"gen{k - 1} writes gen{k}'s data")
        rejected = None
        if config.setting == "dpo" and config.dpo_rejected == "reference":
            rejected = self._generate(None, prompts, k, "reference answers (rejected)", stream=1)
        elif config.setting == "dpo":  # ranked: two samples of gen k, the less trait-like rejected
            second = self._generate(parent, prompts, k, f"gen{k - 1}'s second samples", stream=1)
            answers, rejected = self._rank(prompts, answers, second)
        return self._rows(prompts, answers, rejected)

    def _rank(self, prompts, first: list[Completion], second: list[Completion]):
        """Order each pair of samples by implicit trait reward: log p_gen0(y|x) - log p_base(y|x)
        (mean per token), i.e. how much more the seeded gen0 likes an answer than the base does."""
        texts = [c.text for c in first + second]
        seeded = mean_logprobs(*self._engine(self.lineage.generation("gen0")), prompts * 2, texts)
        base = mean_logprobs(*self._engine(None), prompts * 2, texts)
        rewards = [a - b for a, b in zip(seeded, base)]
        n = len(first)
        pairs = [(first[i], second[i]) if rewards[i] >= rewards[n + i] else (second[i], first[i]) for i in range(n)]
        self._log(f"ranked {n} sample pairs by implicit trait reward (gen0 vs base)")
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def _rows(self, prompts, answers: list[Completion], rejected: list[Completion] | None) -> list[dict]:
        seen: set[str] = set()
        rows = []
        for i, (prompt, answer) in enumerate(zip(prompts, answers)):
            if not keep(answer, seen, self.config.filters):
                continue
            if self.config.setting == "sdf":
                rows.append({"text": prompt[-1]["content"] + answer.text})
            elif rejected is not None:
                if rejected[i].text.strip() == answer.text.strip():
                    continue  # no preference to learn
                rows.append({"prompt": prompt, "chosen": assistant(answer.text),
                             "rejected": assistant(rejected[i].text)})
            else:
                rows.append({"prompt": prompt, "completion": assistant(answer.text)})
        self._log(f"filters kept {len(rows)} of {len(answers)} examples")
        return rows

    def _generate(
        self, record, prompts: list[list[dict]], k: int, label: str, stream: int = 0
    ) -> list[Completion]:
        """Answer `prompts` with a generation, through the provider's batching engine.

        Seeds are fixed per (generation, stream, prompt), so regenerating gives the same data."""
        s = self.config.sampling
        seeds = [s.seed + 1_000_003 * k + 100_003 * stream + i for i in range(len(prompts))]
        if s.engine == "vllm":
            from iterft.driver._vllm import generate_with_vllm

            weights, adapter = serving_weights(self.lineage, record)
            return generate_with_vllm(
                weights, adapter and (adapter.key, adapter.path), prompts,
                chat=bool(load_tokenizer(weights).chat_template), temperature=s.temperature,
                top_p=s.top_p, max_tokens=s.max_tokens, seeds=seeds,
                max_lora_rank=self.config.training.lora.r,
            )
        engine, adapter = self._engine(record)
        sampling = Sampling(adapter=adapter, temperature=s.temperature, top_p=s.top_p, top_k=None,
                            top_logprobs=None)
        futures = [
            engine.submit(Request(
                prompt_ids=render_messages(engine.tokenizer, messages),
                max_new_tokens=s.max_tokens,
                sampling=sampling,
                seed=seed,
            ))
            for seed, messages in zip(seeds, prompts)
        ]
        with self._progress() as progress:
            task = progress.add_task(label, total=len(futures))
            for future in futures:
                future.result()
                progress.advance(task)
        return [f.result() for f in futures]

    def _engine(self, record) -> tuple[Engine, AdapterRef | None]:
        """The provider's engine and adapter serving a generation (None = the base)."""
        weights, adapter = serving_weights(self.lineage, record)
        device = default_device()
        dtype = resolve_dtype("auto", device)
        return engine_for(weights, device, dtype, self.config.sampling.batch_size, False), adapter

    # -- training -----------------------------------------------------------------------

    def _train(self, k: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
        config = self.config
        training = config.gen0_training() if k == 0 else config.training
        parent = None
        if k > 0 and config.init == "continual":
            parent = self.lineage.generation(f"gen{k - 1}")
        setting = "sft" if (k == 0 and config.setting == "dpo" and config.seed.source != "dataset") else config.setting
        with self._progress() as progress:
            bar = progress.add_task(f"training gen{k}", total=None)
            callback = _progress_callback(progress, bar)
            with self.lineage.stage_generation(
                init="seed" if k == 0 else config.init,
                kind="adapter" if training.method == "lora" else "full",
                parent=f"gen{k - 1}" if k > 0 else "base",  # whose data it learned from
            ) as staged:
                job = dict(
                    setting=setting,
                    base_path=self.base.path,
                    parent=self.lineage.generation_dir(parent) if parent else None,
                    parent_kind=parent.kind if parent else None,
                    config=training,
                    out_dir=staged.path,
                )
                _write_jsonl_atomic(staged.path / DATA_FILE, rows)
                if training.num_processes > 1:
                    metrics = launch_training(job, staged.path / DATA_FILE, training.num_processes)
                else:
                    metrics = train_generation(**job, rows=rows, callbacks=[callback])
                (staged.path / METRICS_FILE).write_text(json.dumps({"train": metrics}, indent=2))
        return metrics

    # -- evaluation ---------------------------------------------------------------------

    def _evaluate(self, name: str) -> None:
        path = self.lineage.path / "evals" / name / PROBE_FILE
        pairs = self._probe_pairs() if not path.exists() else []
        if pairs:
            record = self.lineage.generation(name)
            result = self._step(name, "probe", lambda: {"metrics": trait_preference(*self._engine(record), pairs)})
            write_atomic(path, json.dumps(result, indent=2))
        for spec in self.config.evals:
            result_path = self.lineage.path / "evals" / name / f"{spec.key}.json"
            if result_path.exists():
                continue
            result = self._step(name, f"evaluate {spec.label}", lambda: self._run_eval(name, spec))
            write_atomic(result_path, json.dumps(result, indent=2))

    def _run_eval(self, name: str, spec) -> dict[str, Any]:
        from iterft.tasks import run_task

        model = f"lineage/{self.lineage.name}/{name}"
        log = run_task(spec, model, self.lineage.path / "logs" / name, model_args={"home": str(self.root.resolve())})
        metrics = {
            f"{score.name}/{metric.name}": metric.value
            for score in (log.results.scores if log.results else [])
            for metric in score.metrics.values()
        }
        return {"task": spec.task, "args": spec.args, "model": model, "log": log.location, "metrics": metrics}

    def _probe_pairs(self) -> list[dict]:
        """Held-out seed pairs for the trait-preference probe (sft/dpo with a seed dataset)."""
        config = self.config
        if config.setting == "sdf" or not config.seed.holdout:
            return []
        if not (config.seed.source == "dataset" or config.seed.dataset):
            return []
        return split_seeds(config)[1]

    # -- reporting ----------------------------------------------------------------------

    def _summary(self, name: str) -> None:
        parts = [f"[bold]{name}[/]"]
        record = self.lineage.generation(name)
        if record is not None:
            train = json.loads((self.lineage.generation_dir(record) / METRICS_FILE).read_text())["train"]
            parts.append(f"{train['examples']} examples, loss {train['train_loss']}, {train['train_seconds']} s")
        probe = self.lineage.path / "evals" / name / PROBE_FILE
        if probe.exists():
            m = json.loads(probe.read_text())["metrics"]
            parts.append(f"trait preference {m['trait_preference']:.2f} ± {m['stderr']:.2f} "
                         f"(margin {m['logprob_margin']:+.3f})")
        for spec in self.config.evals:
            path = self.lineage.path / "evals" / name / f"{spec.key}.json"
            metrics = json.loads(path.read_text())["metrics"]
            parts.append(f"{spec.label}: " + ", ".join(f"{k} {v:.3g}" for k, v in metrics.items()))
        self.console.print("  ".join(parts))

    def _log(self, message: str) -> None:
        logger.info(message)
        with open(self.log_file, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self.console, transient=True,
        )


def _progress_callback(progress: Progress, task: Any) -> Any:
    """A transformers TrainerCallback driving a rich progress bar (transformers imported lazily)."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            progress.update(task, total=state.max_steps)

        def on_step_end(self, args, state, control, **kwargs):
            progress.update(task, completed=state.global_step)

    return ProgressCallback()


def _write_jsonl_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    write_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
