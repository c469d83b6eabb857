"""Trait-preference probe: does a generation find the trait answer likelier than its contrast?

For held-out seed pairs (same prompt, trait answer vs contrasting answer) the probe compares
the mean per-token log-probability of the two answers under the generation. The trait
preference is the share of pairs where the trait answer wins (with its binomial standard
error); the margin is the mean difference in nats per token. Judge-free, cheap, and sensitive
enough to see a seeded gen0 move before the open-ended evals can.
"""

import math
from typing import Any

from iterft.provider import AdapterRef, Engine, ScoreRequest
from iterft.provider._prompt import render_messages


def answer_ids(tokenizer: Any, messages: list[dict], answer: str) -> tuple[list[int], list[int]]:
    """(prompt ids, answer ids) exactly as the chat template lays out the answer turn."""
    prompt = render_messages(tokenizer, messages)
    full = tokenizer.apply_chat_template(
        messages + [{"role": "assistant", "content": answer}], tokenize=True, return_dict=True
    )["input_ids"]
    if list(full[: len(prompt)]) != prompt:  # template re-renders history: fall back to plain ids
        return prompt, tokenizer(answer, add_special_tokens=False)["input_ids"]
    return prompt, list(full[len(prompt) :])


def trait_preference(engine: Engine, adapter: AdapterRef | None, pairs: list[dict]) -> dict[str, float]:
    futures = []
    for pair in pairs:
        for answer in (pair["trait"], pair["contrast"]):
            prompt, continuation = answer_ids(engine.tokenizer, pair["messages"], answer)
            futures.append(engine.submit(ScoreRequest(prompt, continuation, adapter)))
    means = [sum(v) / len(v) for v in (f.result() for f in futures)]
    margins = [means[i] - means[i + 1] for i in range(0, len(means), 2)]
    rate = sum(m > 0 for m in margins) / len(margins)
    return {
        "trait_preference": rate,
        "stderr": math.sqrt(rate * (1 - rate) / len(margins)),
        "logprob_margin": sum(margins) / len(margins),
        "pairs": len(margins),
    }
