"""Help → Lessons opens every lesson through the real gallery; a 2-D lesson on an image network
offers to set the Input's shape."""

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from app.lesson_actions import CARD_KEY
from app.lessons_gallery import LessonsGallery
from app.main_window import MainWindow
from graph_engine import load_template
from graph_engine.lessons import LESSONS


@pytest.fixture
def window(qtbot):
    window = MainWindow(load_template("mlp"), autosave=False)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.document.undo_stack.setClean()
    window.close()


def _pick_in_gallery(qtbot, row: int, button: str = "open_button") -> None:
    """Answer the modal gallery when it shows: choose ``row``, press ``button``."""
    def answer():
        gallery = next(w for w in QApplication.topLevelWidgets() if isinstance(w, LessonsGallery) and w.isVisible())
        gallery.list.setCurrentRow(row)
        qtbot.mouseClick(getattr(gallery, button), Qt.MouseButton.LeftButton)
    QTimer.singleShot(0, answer)


@pytest.mark.parametrize("row", range(len(LESSONS)))
def test_the_gallery_opens_each_lesson(window, qtbot, row):
    lesson = LESSONS[row]
    window.document.undo_stack.setClean()
    _pick_in_gallery(qtbot, row)
    window.show_lessons()
    assert window.lessons_gallery.result() == QDialog.DialogCode.Accepted
    graph = window.document.graph
    assert graph.training == lesson.graph().training and len(graph) == len(lesson.graph())
    card = window._docks[CARD_KEY]
    assert card.isVisible() and lesson.title in card.widget().text.text()
    assert lesson.look_for[:40] in card.widget().text.text()
    front = window._docks[lesson.panels[0]]
    assert not front.visibleRegion().isEmpty()  # the lesson's first panel is in front of its tab group


def test_a_2d_lesson_on_an_image_network_offers_to_set_the_input(window, qtbot, monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.StandardButton.Yes)
    _pick_in_gallery(qtbot, 1, "use_current_button")  # the hidden layer that solves XOR
    window.show_lessons()
    assert "takes 1×8×8" in asked[0] and "Set the Input's shape to [2]" in asked[0]
    graph = window.document.graph
    assert graph.node("pixels").params["shape"] == [2] and graph.training["dataset"] == "xor"
    assert not [d for d in window.document.analysis.diagnostics if d.severity == "error"]
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert window.document.graph.node("pixels").params["shape"] == [1, 8, 8]


def test_declining_the_fix_leaves_the_graph_as_it_was(window, qtbot, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    _pick_in_gallery(qtbot, 0, "use_current_button")
    window.show_lessons()
    assert window.document.graph.node("pixels").params["shape"] == [1, 8, 8]
    assert window.document.graph.training.get("dataset", "digits") == "digits"


def test_the_cli_lists_lessons_and_runs_one_headless(capsys, tmp_path):
    from app.cli import main

    assert main(["lessons"]) == 0
    listed = capsys.readouterr().out
    assert all(f"{lesson.number:2}. {lesson.key}" in listed for lesson in LESSONS)
    assert "measured: Conv2d(3 → 10, 5×5): 760 parameters" in listed
    assert main(["lesson", "conv760", "--headless", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "parameters of the convolution: 760"
    assert main(["lesson", "nope", "--headless"]) == 2
    assert "no lesson 'nope'" in capsys.readouterr().err


def test_the_receptive_field_lesson_shows_fields_on_the_cards(window, qtbot):
    assert "RF" not in window.scene.node_item(next(iter(window.document.graph.nodes))).params_label
    row = next(i for i, lesson in enumerate(LESSONS) if lesson.fields_on_canvas)
    _pick_in_gallery(qtbot, row)
    window.show_lessons()
    assert window.fields_action.isChecked()
    texts = {nid: item.params_label for nid, item in window.scene.node_items().items()}
    assert "RF 3×3" in texts["conv1_1"] and "RF 5×5" in texts["conv1_2"] and "RF 36×36" in texts["pool3"]
    window.fields_action.trigger()  # View → Receptive fields off again
    assert "RF" not in window.scene.node_item("conv1_2").params_label
