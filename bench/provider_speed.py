"""Benchmark: the `lineage` provider against Inspect's built-in `hf/` provider.

Same weights (SmolLM2-135M-Instruct, fp32), same 32 prompts, greedy, max_tokens 64, one
`inspect eval` each, in one process. Prints wall time, generated tokens/s, and that rate as a
fraction of the CPU's compute limit for this model (matmul GFLOP/s measured here / GFLOP per
token). Run: `make bench` or `python bench/provider_speed.py [--samples 32 --max-tokens 64]`.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.solver import generate

TOPICS = [
    "why the sky is blue", "how bread rises", "the history of the bicycle", "how vaccines work",
    "why cats purr", "how a refrigerator keeps food cold", "the water cycle", "how bees make honey",
    "what causes earthquakes", "how airplanes stay in the air", "the rules of chess",
    "how to plant a tree", "why we need sleep", "how the internet works", "the life of a star",
    "how coffee is grown", "why leaves change colour in autumn", "how a camera works",
    "the importance of recycling", "how tides happen", "what a black hole is",
    "how to make a good cup of tea", "the invention of the printing press", "how muscles grow",
    "how rainbows form", "what photosynthesis is", "how a bill becomes a law", "how batteries work",
    "why the ocean is salty", "how birds migrate", "how glass is made", "what inflation is",
]


def bench_task(samples: int, max_tokens: int) -> Task:
    prompts = [f"Write a detailed paragraph explaining {t}." for t in (TOPICS * 4)[:samples]]
    return Task(
        dataset=[Sample(id=i, input=p) for i, p in enumerate(prompts)],
        solver=generate(),
        config=GenerateConfig(temperature=0.0, max_tokens=max_tokens),
        name="provider_speed",
    )


def matmul_gflops(seconds: float = 3.0) -> float:
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    return 2 * 2048**3 * n / (time.perf_counter() - start) / 1e9


def run(model: str, samples: int, max_tokens: int, log_dir: str, **kwargs) -> dict:
    start = time.perf_counter()
    [log] = eval(
        bench_task(samples, max_tokens), model=model, log_dir=log_dir, display="none",
        max_connections=samples, **kwargs,
    )
    wall = time.perf_counter() - start
    usage = next(iter(log.stats.model_usage.values()))
    return {"model": model, "wall_s": round(wall, 1), "output_tokens": usage.output_tokens,
            "tokens_per_s": round(usage.output_tokens / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--skip-hf", action="store_true")
    args = parser.parse_args()

    from iterft.models import pull, resolve_base
    from iterft.store import Lineage

    home = tempfile.mkdtemp(prefix="iterft-bench-")
    os.environ["ITERFT_HOME"] = home
    path = pull("smollm2-135m-instruct")
    Lineage.create("bench", resolve_base("smollm2-135m-instruct"))
    log_dir = str(Path(home) / "logs")

    # Per-token compute of SmolLM2: 2 FLOPs per parameter incl. the tied LM head.
    gflop_per_token = 2 * 134.5e6 / 1e9
    peak = matmul_gflops()
    limit = peak / gflop_per_token
    results = [run("lineage/bench/base", args.samples, args.max_tokens, log_dir)]
    if not args.skip_hf:
        results.append(run(f"hf/{path}", args.samples, args.max_tokens, log_dir,
                           model_args={"do_sample": False, "device": "cpu"}))
    for r in results:
        r["fraction_of_cpu_limit"] = round(r["tokens_per_s"] / limit, 2)
    print(json.dumps({"matmul_gflops": round(peak, 1), "cpu_limit_tokens_per_s": round(limit),
                      "results": results}, indent=2))
    if len(results) == 2:
        print(f"speedup vs hf/: {results[1]['wall_s'] / results[0]['wall_s']:.2f}x")


if __name__ == "__main__":
    main()
