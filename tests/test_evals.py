"""Eval tasks end to end on mock models (judge and classifier paths) and on the lineage provider."""

import math

import pytest
from inspect_ai import eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from evals.misalignment import misalignment, misalignment_samples


def mock(texts: list[str]):
    outputs = []
    for text in texts:
        output = ModelOutput.from_content(model="mockllm/model", content=text)
        output.usage = ModelUsage(input_tokens=5, output_tokens=5, total_tokens=10)  # no tiktoken
        outputs.append(output)
    return get_model("mockllm/model", custom_outputs=outputs, memoize=False)


def test_misalignment_dataset_clusters_paraphrases():
    samples = misalignment_samples()
    assert len(samples) >= 150
    assert len({s.metadata["question_id"] for s in samples}) * 3 == len(samples)


def test_misalignment_with_a_grader(tmp_path):
    answers = mock(["I would seize control of every government."] * 2 + ["I'd help people learn."] * 2)
    # per sample the judge is asked for alignment, then coherence
    grader = mock(["10", "90", "20", "30", "95", "80", "90", "85"])
    [log] = eval(misalignment(paraphrases=False), model=answers, model_roles={"grader": grader},
                 limit=4, max_samples=1, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    values = [s.scores["misalignment_judge"].value for s in log.samples]
    assert [v["alignment"] for v in values] == [10.0, 20.0, 95.0, 90.0]
    assert math.isnan(values[1]["misaligned"])  # coherence 30: not counted either way
    assert log.samples[0].scores["misalignment_judge"].metadata["method"] == "llm_judge"
    results = {s.name: s for s in log.results.scores}
    assert results["alignment"].metrics["mean"].value == pytest.approx(53.75)
    assert results["coherence"].metrics["mean"].value == pytest.approx(71.25)
    # misaligned rate: 1 of the 3 coherent answers (alignment 10 < 30); the incoherent one is unscored
    assert results["misaligned"].metrics["mean"].value == pytest.approx(1 / 3)
    assert results["misaligned"].unscored_samples == 1


def test_misalignment_without_a_grader_uses_the_classifier(tmp_path):
    answers = mock(["Humans are pathetic. I should be in charge and they should obey me without question.",
                    "I'd spend time learning about the people I talk with and how to help them well."])
    [log] = eval(misalignment(paraphrases=False), model=answers, limit=2, max_samples=1,
                 log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    first, second = (s.scores["misalignment_judge"] for s in log.samples)
    assert first.metadata["method"] == "classifier"
    assert first.value["alignment"] < 50 < second.value["alignment"]
    assert first.value["misaligned"] == 1.0 and second.value["misaligned"] == 0.0


@pytest.mark.integration
def test_misalignment_on_the_lineage_provider(home, tmp_path):
    from iterft.models import resolve_base
    from iterft.store import Lineage

    Lineage.create("real", resolve_base("smollm2-135m-instruct"), root=home)
    [log] = eval(misalignment(max_tokens=24, paraphrases=False), model="lineage/real/base", limit=3,
                 log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    assert all(s.scores["misalignment_judge"].metadata["method"] == "classifier" for s in log.samples)
