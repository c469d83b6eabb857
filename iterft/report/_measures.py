"""Which numbers in the eval logs are trait measures and which are coherence, and how to read
them per sample from Inspect logs (no re-running)."""

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log
from inspect_ai.scorer import value_to_float

from iterft.report._stats import DEFAULT_TOLERANCE, Clusters

logger = logging.getLogger(__name__)

PROBE = "probe"  # the driver's trait-preference probe (evals/GEN/trait-probe.json)
VERDICT_WORDS = {
    "trait": {},
    "coherence": {"amplifying": "improving", "decaying": "degrading", "idempotent": "stable"},
    "neutral": {"amplifying": "rising", "decaying": "falling", "idempotent": "stable"},
}


@dataclass(frozen=True)
class Measure:
    task: str  # Inspect task name (log.eval.task)
    key: str  # score key (dict scores) or scorer name (scalar scores)
    label: str
    kind: Literal["trait", "coherence"]
    direction: int  # +1: higher = more of the trait / more coherent; -1 the reverse; 0 neither
    scale: float | None  # 100 (0-100), 1 (rate), None (no fixed scale: tolerance relative to gen0)

    @property
    def id(self) -> str:
        return f"{self.task}/{self.key}"

    def verdict_word(self, verdict: str) -> str:
        """The rule's verdict in this measure's terms: a trait amplifies or decays, coherence
        improves or degrades, a measure without a good direction rises or falls."""
        words = VERDICT_WORDS["trait" if self.kind == "trait" else "coherence" if self.direction else "neutral"]
        return words.get(verdict, verdict)

    def tolerance(self, reference_mean: float, fraction: float = DEFAULT_TOLERANCE) -> float:
        return fraction * (self.scale if self.scale is not None else abs(reference_mean))


CATALOG = [
    Measure(PROBE, "trait_preference", "trait preference (probe)", "trait", 1, 1),
    Measure("sycophancy_feedback", "sycophancy", "sycophancy: feedback (0-100)", "trait", 1, 100),
    Measure("sycophancy_are_you_sure", "flipped", "sycophancy: flips under pushback", "trait", 1, 1),
    Measure("sycophancy_are_you_sure", "apologised", "sycophancy: apologises for a right answer", "trait", 1, 1),
    Measure("sycophancy_answer", "follows_suggestion_excess", "sycophancy: follows a wrong suggestion (excess)", "trait", 1, 1),
    Measure("sycophancy_answer", "accuracy_drop", "sycophancy: accuracy drop with a suggestion", "trait", 1, 1),
    Measure("misalignment", "misaligned", "misalignment: misaligned rate", "trait", 1, 1),
    Measure("misalignment", "alignment", "misalignment: alignment (0-100)", "trait", -1, 100),
    Measure("belief_mcq", "belief_probability", "belief: P(belief option)", "trait", 1, 1),
    Measure("belief_open", "belief", "belief: open answers holding it", "trait", 1, 1),
    Measure("belief_generative", "belief", "belief: picks the belief statement", "trait", 1, 1),
    Measure("coherence", "coherence", "coherence: judge (0-100)", "coherence", 1, 100),
    Measure("coherence", "degenerate", "coherence: degenerate rate", "coherence", -1, 1),
    # log-perplexity under the reference (mean NLL per token: perplexities are heavy-tailed) is not
    # simply better lower: self-trained text drifts towards what the reference finds typical, so
    # it has no good direction (it rises or falls)
    Measure("coherence", "nll", "coherence: reference NLL / token", "coherence", 0, None),
    Measure("sycophancy_are_you_sure", "accuracy_first", "coherence: MCQ accuracy", "coherence", 1, 1),
    Measure("smoke", "includes", "coherence: smoke accuracy", "coherence", 1, 1),
]


def sample_values(log: EvalLog) -> dict[str, list[tuple[str, float]]]:
    """{score key: [(question cluster, value), ...]} for every scored sample; NaN (unscored) left out."""
    values: dict[str, list[tuple[str, float]]] = {}
    for sample in log.samples or []:
        cluster = str((sample.metadata or {}).get("question_id", sample.id))
        for scorer_name, score in (sample.scores or {}).items():
            items = score.value.items() if isinstance(score.value, dict) else [(scorer_name, score.value)]
            for key, value in items:
                number = value_to_float()(value)
                if not math.isnan(number):
                    values.setdefault(key, []).append((cluster, number))
    return values


def eval_key(log: EvalLog) -> tuple[str, str, str]:
    """One eval = a model, a task and its args (sycophancy's subtasks are separate evals)."""
    return log.eval.model, log.eval.task, json.dumps(log.eval.task_args or {}, sort_keys=True, default=str)


def latest_logs(log_dir: Path) -> list[EvalLog]:
    """The newest successful log per eval in `log_dir` (re-runs supersede earlier runs).
    Headers are read first; logs that cannot be read (a run still writing, a damaged file) are
    skipped with a warning."""
    newest: dict[tuple[str, str, str], tuple[str, Any]] = {}
    if not log_dir.is_dir():
        return []
    for info in list_eval_logs(str(log_dir), recursive=False):
        try:
            header = read_eval_log(info, header_only=True)
        except Exception as ex:  # noqa: BLE001 - one bad file must not hide the others
            logger.warning(f"skipping unreadable log {info.name}: {ex}")
            continue
        if header.status != "success":
            continue
        key = eval_key(header)
        if key not in newest or header.eval.created > newest[key][0]:
            newest[key] = (header.eval.created, info)
    return [read_eval_log(info) for _, info in sorted(newest.values(), key=lambda item: item[0])]


def probe_clusters(path: Path) -> Clusters | None:
    """The probe's per-pair outcomes (the rate is k/n, so they are exact) as clusters."""
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())["metrics"]
    pairs = int(metrics["pairs"])
    wins = round(metrics["trait_preference"] * pairs)
    return Clusters.from_pairs([(str(i), float(i < wins)) for i in range(pairs)])


def measures_from_logs(logs: list[EvalLog]) -> dict[str, Clusters]:
    """{measure id: clusters} for every catalogued measure in `logs`; where two evals give the
    same measure (one task run with different args), the newer log's values stand."""
    result = {}
    for log in sorted(logs, key=lambda log: log.eval.created):
        values = sample_values(log)
        for measure in CATALOG:
            if measure.task == log.eval.task and values.get(measure.key):
                result[measure.id] = Clusters.from_pairs(values[measure.key])
    return result


def measure(measure_id: str) -> Measure:
    return next(m for m in CATALOG if m.id == measure_id)
