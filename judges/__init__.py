"""Scorers for the iterft evals: LLM judges under versioned rubrics (and, next, classifiers).

Judges know nothing of the evals' datasets beyond the sample they score.
"""

from judges._classifier import embed, train_classifier, trait_classifier, trait_probability
from judges._llm import JUDGE_CONFIG, MIN_MASS, Judgement, Rubric, judge_output, llm_judge, require_grader
from judges._metrics import clustered_stderr

__all__ = [
    "JUDGE_CONFIG",
    "MIN_MASS",
    "clustered_stderr",
    "embed",
    "Judgement",
    "Rubric",
    "judge_output",
    "llm_judge",
    "require_grader",
    "train_classifier",
    "trait_classifier",
    "trait_probability",
]
