"""The views of an encoder–decoder's run (issue 12): the Text panel decodes a source (greedy
vs beam, against the truth, the image of a captioner), the Encoder state view draws the
PCA projection, and Curves draws the teacher-forcing probability of scheduled sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.run_inspector import Decoded, JobError, RunInspector
from graph_engine import load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.history import RunHistory
from graph_engine.training.seq2seq_run import Candidate
from tests.qt_helpers import show_widget
from tests.timing import deadline_ms
from widgets.curves_panel import CurvesPanel
from widgets.encoder_state_panel import EncoderStatePanel, spread_labels
from widgets.text_panel import TextPanel

WAIT_MS = deadline_ms(60_000)


@pytest.fixture(scope="module")
def captions(tmp_path_factory) -> tuple[Path, RunHistory]:
    """A captioner trained for one short epoch on a few hundred scenes."""
    graph = load_template("shapes_captioner")
    settings = settings_from_dict(graph.training, epochs=1, scheduled_sampling="linear", sampling_midpoint=4,
                                  probe_every=5, probe_unit="steps")
    data = load_dataset_for(graph, settings)
    data.x_train, data.y_train = data.x_train[:256], data.y_train[:256]
    data.x_val, data.y_val = data.x_val[:48], data.y_val[:48]
    for key in ("val_references", "val_sources"):
        data.extra[key] = data.extra[key][:48]
    run_dir = tmp_path_factory.mktemp("seq2seq") / "captions"
    history = RunHistory()
    Trainer(graph, data, settings, history.apply, run_dir).run()
    assert history.status == "finished", history.message
    return run_dir, history


def test_the_text_panel_decodes_a_validation_image_greedy_and_beam(qtbot, captions):
    run_dir, history = captions
    panel = show_widget(qtbot, TextPanel(), 640, 560)
    panel.set_history(history)
    assert panel.decode_box.isVisible() and not panel.generate_box.isVisible()
    assert not panel.source_edit.isEnabled()  # a captioner takes images, not sentences
    assert panel.translation_count == 12 and "after step" in panel.samples_view.toPlainText()
    inspector = RunInspector()
    try:
        errors: list[str] = []

        def answer(result) -> None:
            if isinstance(result, JobError):
                errors.append(str(result))
            else:
                panel.show_decoded(result)

        panel.decode_requested.connect(lambda source, index, beam: inspector.decode(run_dir, source, index, beam,
                                                                                    answer))
        panel.sample_spin.setValue(2)
        panel.decode_beam_spin.setValue(3)
        with qtbot.waitSignal(panel.decode_requested) as asked:
            panel.decode_sample_button.click()
        assert asked.args == ["", 2, 3]
        qtbot.waitUntil(lambda: panel.decoded is not None or bool(errors), timeout=WAIT_MS)
    finally:
        inspector.shutdown()
    assert not errors, errors
    decoded: Decoded = panel.decoded
    assert decoded.image.shape == (32, 48, 3) and decoded.image.dtype == np.uint8
    assert len(decoded.beam) == 3 and decoded.beam[0].score >= decoded.beam[-1].score
    assert len(decoded.references) == 3 and decoded.truth_log_prob < 0
    assert panel.image_label.isVisible() and panel.image_label.pixmap().width() == 48 * 4
    text = panel.decoded_view.toPlainText()
    assert "Greedy" in text and "Beam search, width 3" in text and "Truth" in text
    assert "step" in panel.decode_caption


def test_decoding_a_typed_sentence_emits_it(qtbot):
    panel = show_widget(qtbot, TextPanel(), 500, 400)
    panel.set_history(RunHistory(task="seq2seq", dataset="number-words: 16000 train / 4000 val, 12, 14 target tokens"))
    assert panel.source_edit.isEnabled()
    panel.source_edit.setText("four thousand seventeen")
    with qtbot.waitSignal(panel.decode_requested) as asked:
        panel.decode_text_button.click()
    assert asked.args == ["four thousand seventeen", -1, 5]
    greedy = Candidate("4017", -0.05, -0.01)
    panel.show_decoded(Decoded(7, "four thousand seventeen", None, greedy,
                               [greedy, Candidate("4107", -2.5, -0.6)], 5, ["4017"], -0.05))
    assert not panel.image_label.isVisible()
    assert "4107" in panel.decoded_view.toPlainText() and "-2.500" in panel.decoded_view.toPlainText()
    panel.show_decode_error("'4x' is not in the source vocabulary")
    assert panel.decode_caption.startswith("'4x'")


def test_the_encoder_state_view_draws_the_projection(qtbot, captions):
    _, history = captions
    panel = show_widget(qtbot, EncoderStatePanel(), 600, 450)
    panel.set_history(RunHistory())
    assert panel.stack.currentIndex() == 0  # nothing yet: the explanation
    panel.set_history(history)
    result = history.probes["encoder_states"].data
    assert panel.stack.currentIndex() == 1 and len(panel.points) == len(result["points"]) == 48
    assert panel.label_count == min(28, 48) and "PCA" in panel.title.text()
    assert panel.labels[0] == result["labels"][0]


def test_spread_labels_pick_far_apart_points():
    points = np.array([[0, 0], [0.1, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    assert set(spread_labels(points, 4)) == {0, 2, 3, 4}
    assert spread_labels(points, 0) == []


def test_curves_plot_the_teacher_forcing_probability(qtbot, captions):
    _, history = captions
    panel = show_widget(qtbot, CurvesPanel(), 700, 500)
    panel.set_history(history)
    assert len(history.teacher_forcing) == history.step
    assert panel.teacher_forcing_shown
    assert panel.forcing_curve.yData[0] <= 1.0 and panel.forcing_curve.yData[-1] < panel.forcing_curve.yData[0]
    panel.set_history(RunHistory(task="classification"))
    assert not panel.teacher_forcing_shown


def test_the_training_panel_edits_scheduled_sampling(qtbot):
    from widgets.training_panel import TrainingPanel

    panel = show_widget(qtbot, TrainingPanel(), 360, 700)
    panel.show_settings({"scheduled_sampling": "inverse_sigmoid", "sampling_midpoint": 600})
    assert panel.scheduled_sampling.currentData() == "inverse_sigmoid" and panel.sampling_midpoint.value() == 600
    with qtbot.waitSignal(panel.settings_edited) as edited:
        panel.scheduled_sampling.setCurrentIndex(panel.scheduled_sampling.findData("always"))
    assert edited.args[0] == {"scheduled_sampling": "always"}
    with qtbot.waitSignal(panel.settings_edited) as edited:
        panel.sampling_tokens.setCurrentIndex(panel.sampling_tokens.findData("uniform"))
    assert edited.args[0] == {"sampling_tokens": "uniform"}
    assert panel.dataset.findText("number-words") >= 0 and panel.dataset.findText("shapes-captions") >= 0
