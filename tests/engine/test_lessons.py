"""The lessons: every one opens a valid network, says its two sentences and carries its measured number."""

import pytest

from graph_engine import analyze
from graph_engine.lessons import LESSONS, get_lesson, run_lesson
from graph_engine.probes import takes_two_features

RUN_VIEWS = {"curves", "activations", "filters", "patches", "health", "evaluation", "text", "encoder", "boundary",
             "inspector", "training"}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.key)
def test_each_lesson_is_complete(lesson):
    analysis = analyze(lesson.graph())
    assert not analysis.errors, [str(e) for e in analysis.errors]
    assert lesson.panels and set(lesson.panels) <= RUN_VIEWS
    assert lesson.look_for.endswith(".") and lesson.claim.endswith(".")
    assert lesson.measured, f"lesson {lesson.key} has no measured number"
    assert lesson.reproduces in (True, False)
    info = analysis.info(analysis.input_ids[0])
    assert lesson.two_d == takes_two_features(info.out_shape, info.dtype)


def test_the_lessons_are_numbered_in_order_with_unique_keys():
    assert [lesson.number for lesson in LESSONS] == list(range(1, len(LESSONS) + 1))
    assert len({lesson.key for lesson in LESSONS}) == len(LESSONS) >= 13
    with pytest.raises(KeyError, match="no lesson 'nope' \\(lessons: perceptron, "):
        get_lesson("nope")


def test_counting_lessons_measure_what_they_claim(tmp_path):
    assert run_lesson("conv760", tmp_path).value == 760
    fields = run_lesson("receptive_fields", tmp_path)
    assert fields.value == 36 and "conv1_2 5," in fields.text


@pytest.mark.slow
@pytest.mark.parametrize("key", ["perceptron", "xor_hidden", "dying_relu"])
def test_a_trained_lesson_measures_its_number_as_written(tmp_path, key):
    measured = run_lesson(key, tmp_path)
    assert measured.text.split(":")[0] in get_lesson(key).measured or key == "xor_hidden"
    if key == "perceptron":
        assert measured.value == 1 and "at least 138 of 400" in measured.text
    if key == "xor_hidden":
        assert measured.value > 0.85
    if key == "dying_relu":
        assert measured.value > 0.4
