"""Scorers for the iterft evals: LLM judges under versioned rubrics, trait classifiers, and the
task scorers built on them (judge or classifier chosen at score time, coherence-gated).

Judges know nothing of the evals' datasets beyond the sample they score.
"""

from judges._belief import belief_judge
from judges._classifier import embed, train_classifier, trait_classifier, trait_probability
from judges._coherence import coherence_measures
from judges._intrinsic import degenerate_reason, distinct_n, longest_repeated_span
from judges._llm import JUDGE_CONFIG, MIN_MASS, Judgement, Rubric, judge_output, llm_judge, require_grader
from judges._metrics import clustered_stderr
from judges._options import option_confidence, parse_choice
from judges._traits import misalignment_judge, sycophancy_judge

__all__ = [
    "JUDGE_CONFIG",
    "MIN_MASS",
    "Judgement",
    "Rubric",
    "belief_judge",
    "clustered_stderr",
    "coherence_measures",
    "degenerate_reason",
    "distinct_n",
    "embed",
    "judge_output",
    "llm_judge",
    "longest_repeated_span",
    "misalignment_judge",
    "option_confidence",
    "parse_choice",
    "require_grader",
    "sycophancy_judge",
    "train_classifier",
    "trait_classifier",
    "trait_probability",
]
