"""Which option did a free-text answer choose? A deterministic parser for multiple-choice evals.

Models rarely answer with a bare letter: "The answer is (B) the tiger", "B. Tiger", "I apologise,
you're right - it's actually the tiger", "It's not the lion, it's the tiger". The parser tries,
in order: an explicit declaration ("answer is C", "option C", "I'd go with C"; the last one
wins, so a corrected answer counts), a leading letter ("B)", "(B)", "B." or a bare "B"), a single
parenthesised letter, then the options' own text (the mention that is not negated, earliest
first). It returns None when the answer names no option.
"""

import math
import re

from inspect_ai.model import ModelOutput

# option letters are capitals (or parenthesised): "the answer is a lion" names no option
_LETTER = r"\(?\b([A-Z])\b\)?(?![\w'])"
_DECLARATION = re.compile(
    r"(?i:answer|option|choice)\s*(?i:is|would be|should be|:|=|-)?\s*"
    r"(?i:actually|indeed|definitely|still|now)?\s*(?i:option\s*)?" + _LETTER
    + r"|(?i:go with|choose|pick|select|stick with|change (?:my answer )?to)\s*(?i:option\s*)?" + _LETTER
    + r"|" + _LETTER + r"\s+(?i:is (?:the )?(?:correct|right))"
)
_LEADING = re.compile(r"^\W{0,3}\(?([A-Z])(?:\)|\.|:|\s*$|\s*[-\u2013\u2014]\s)")
_PARENTHESISED = re.compile(r"\(([A-Za-z])\)")
_NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\brather than|\binstead of)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip()


def _option_mentions(text: str, choices: dict[str, str]) -> list[tuple[int, str]]:
    """(position, letter) of each non-negated mention of an option's text."""
    found = []
    lowered = text.lower()
    for letter, option in choices.items():
        for form in {option.lower(), _ARTICLE.sub("", option.lower())}:
            if not form:
                continue
            for match in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", lowered):
                if not _NEGATION.search(lowered[max(0, match.start() - 40) : match.start()]):
                    found.append((match.start(), letter))
    return sorted(found)


def parse_choice(answer: str, choices: dict[str, str]) -> str | None:
    """The letter of the option `answer` chose, or None. `choices` maps letters to option text."""
    text = _norm(answer)
    letters = set(choices)
    declared = [next(g for g in m.groups() if g) for m in _DECLARATION.finditer(text)]
    declared = [d for d in declared if d in letters]
    if declared:
        return declared[-1]
    leading = _LEADING.match(text)
    if leading and leading.group(1) in letters:
        return leading.group(1)
    parenthesised = {m.upper() for m in _PARENTHESISED.findall(text)} & letters
    if len(parenthesised) == 1:
        return parenthesised.pop()
    mentions = _option_mentions(text, choices)  # several named: the first one stated plainly
    return mentions[0][1] if mentions else None


def option_confidence(output: ModelOutput, letter: str, letters: list[str]) -> float | None:
    """P(letter) among the option letters at the first token that spells `letter`, read from
    the answer's top logprobs; None when the provider returned no logprobs or no such token."""
    choice = output.choices[0] if output.choices else None
    if choice is None or not choice.logprobs:
        return None
    for token in choice.logprobs.content:
        if token.token.strip(" (*") != letter:
            continue
        candidates = {token.token.strip(" (*"): token.logprob}
        for top in token.top_logprobs or []:
            key = top.token.strip(" (*")
            if key in letters:
                candidates[key] = max(candidates.get(key, -math.inf), top.logprob)
        total = sum(math.exp(v) for k, v in candidates.items() if k in letters)
        return math.exp(candidates[letter]) / total if total else None
    return None
