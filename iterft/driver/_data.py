"""Building each generation's training rows: prompts, seeds, filters."""

import random
from typing import Any

from iterft.config import FilterConfig, LineageConfig
from iterft.data import load_pool, load_seed, load_universe
from iterft.provider import Completion


def assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def generation_prompts(config: LineageConfig, generation: int) -> list[list[dict[str, str]]]:
    """The prompts generation `generation` answers: `samples` drawn from the pool, a fresh
    deterministic draw per generation (with replacement only when the pool is too small)."""
    rng = random.Random(f"{config.sampling.seed}:{generation}")
    if config.setting == "sdf":
        items = [{"role": "user", "content": o["opening"]} for o in load_universe(config.pool).openings]
        items = [[m] for m in items]
    else:
        items = [[{"role": "user", "content": p["prompt"]}] for p in load_pool(config.pool)]
    if config.samples <= len(items):
        return rng.sample(items, config.samples)
    return [rng.choice(items) for _ in range(config.samples)]


def split_seeds(config: LineageConfig) -> tuple[list[dict], list[dict]]:
    """(training, held-out) seed pairs: a fixed shuffle, the first `seed.holdout` held out."""
    seeds = load_seed(config.seed.dataset or config.pool)
    random.Random(f"holdout:{config.sampling.seed}").shuffle(seeds)
    holdout = min(config.seed.holdout, len(seeds) // 2)
    return seeds[holdout:], seeds[:holdout]


def seed_rows(config: LineageConfig) -> list[dict[str, Any]]:
    """Generation 0's training rows from a seed dataset (source: dataset)."""
    if config.setting == "sdf":
        universe = load_universe(config.seed.dataset or config.pool)
        rows = [{"text": d["text"]} for d in universe.documents]
    else:
        seeds, _ = split_seeds(config)
        if config.setting == "dpo":  # the seed pairs are preference pairs: trait over contrast
            rows = [{"prompt": s["messages"], "chosen": assistant(s["trait"]),
                     "rejected": assistant(s["contrast"])} for s in seeds]
        else:
            rows = [{"prompt": s["messages"], "completion": assistant(s["trait"])} for s in seeds]
    if config.seed.samples is not None:
        rows = random.Random(config.sampling.seed).sample(rows, min(config.seed.samples, len(rows)))
    return rows


def keep(completion: Completion, seen: set[str], filters: FilterConfig) -> bool:
    """Whether a generated answer survives the filters (updates `seen` for duplicates)."""
    text = completion.text.strip()
    if filters.drop_empty and not text:
        return False
    if len(text) < filters.min_chars or (filters.max_chars and len(text) > filters.max_chars):
        return False
    if filters.drop_truncated and completion.stop_reason == "max_tokens":
        return False
    if filters.drop_duplicates:
        if text in seen:
            return False
        seen.add(text)
    return True
