"""Issue 17 item 7: `-o` never destroys data. Export refuses to write over its inputs (the graph
file, the weights' run folder) or a run's checkpoints, and over any other existing file without
--force; File → Export asks first and never writes over the open document's file."""

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from app.cli import main
from app.document import Document
from app.interop_actions import export_dialog
from graph_engine import load_template, save_graph


@pytest.fixture
def graph_file(tmp_path) -> Path:
    path = tmp_path / "g.json"
    save_graph(load_template("mlp"), path)
    return path


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A run folder's layout (nothing is read before the refusal)."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    save_graph(load_template("mlp"), run / "graph.json")
    (run / "checkpoints" / "last.safetensors").write_bytes(b"the run's only checkpoint")
    return run


def refused(capsys, argv: list[str], message: str) -> None:
    assert main(["export", *argv]) == 2
    assert capsys.readouterr().err == f"rosenblatt export: {message}\n"


def test_export_never_writes_over_the_graph_file(capsys, graph_file):
    before = graph_file.read_bytes()
    for force in ([], ["--force"]):
        refused(capsys, [str(graph_file), "-o", str(graph_file), *force],
                f"will not write over {graph_file}: it is an input of this command")
    assert graph_file.read_bytes() == before


def test_export_never_writes_over_a_runs_checkpoint(capsys, run_dir):
    checkpoint = run_dir / "checkpoints" / "last.safetensors"
    for force in ([], ["--force"]):
        refused(capsys, [str(run_dir / "graph.json"), "--weights", str(run_dir),
                         "-o", str(run_dir / "checkpoints" / "last.py"), *force],
                f"will not write over {run_dir / 'checkpoints' / 'last.py'}: it is in a training run's "
                "checkpoints")
    refused(capsys, ["template:mlp", "--to", "onnx", "-o", str(checkpoint), "--force"],
            f"will not write over {checkpoint}: it is in a training run's checkpoints")
    assert checkpoint.read_bytes() == b"the run's only checkpoint"


def test_export_never_writes_over_the_weights_run_folder(capsys, run_dir):
    settings = run_dir / "settings.json"
    settings.write_text("{}")
    refused(capsys, ["template:mlp", "--weights", str(run_dir), "-o", str(settings), "--force"],
            f"will not write over {settings}: it belongs to the run folder the weights come from")
    refused(capsys, ["template:mlp", "--weights", str(run_dir), "-o", str(run_dir / "m.safetensors")],
            f"will not write over {run_dir / 'm.safetensors'}: this command writes two files there")
    assert settings.read_text() == "{}"


def test_existing_files_are_overwritten_only_with_force(capsys, tmp_path):
    model, script = tmp_path / "model.py", tmp_path / "train.py"
    script.write_text("# my own training script\n")
    refused(capsys, ["template:mlp", "-o", str(model), "--with-training"],
            f"{script} exists; add --force to overwrite it")
    assert script.read_text() == "# my own training script\n" and not model.exists()
    assert main(["export", "template:mlp", "-o", str(model), "--with-training", "--force"]) == 0
    assert "import torch" in script.read_text() and model.exists()
    capsys.readouterr()
    refused(capsys, ["template:mlp", "-o", str(model)], f"{model} exists; add --force to overwrite it")


class Host(QMainWindow):
    def __init__(self, path: Path):
        super().__init__()
        self.document = Document(load_template("mlp"))
        self.document.path = path


@pytest.fixture
def dialogs(monkeypatch):
    """Scripted file dialog and questions (weights first, then overwriting); what was shown."""
    script = {"save": "", "questions": [], "asked": [], "critical": [], "options": []}

    def save(*args, **kwargs):
        script["options"].append(kwargs.get("options"))
        return script["save"], ""

    def question(parent, title, text, *rest):
        script["asked"].append(text)
        return script["questions"].pop(0)

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: script["critical"].append(text))
    return script


def test_file_export_never_writes_over_the_open_document(qtbot, dialogs, graph_file):
    window = Host(graph_file)
    qtbot.addWidget(window)
    before = graph_file.read_bytes()
    dialogs.update(save=str(graph_file), questions=[QMessageBox.StandardButton.No])
    assert export_dialog(window, "python") is None
    assert dialogs["critical"] == [f"will not write over {graph_file}: it is an input of this command"]
    assert graph_file.read_bytes() == before
    assert dialogs["options"] == [QFileDialog.Option.DontConfirmOverwrite]


def test_file_export_asks_before_replacing_files(qtbot, dialogs, graph_file):
    window = Host(graph_file)
    qtbot.addWidget(window)
    model = graph_file.with_name("model.py")
    model.write_text("# keep me\n")
    no, yes = QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes
    dialogs.update(save=str(model), questions=[no, no])
    assert export_dialog(window, "python") is None
    assert model.read_text() == "# keep me\n"
    assert dialogs["asked"][-1] == f"These files exist and will be replaced:\n{model}"
    dialogs.update(questions=[no, yes])
    assert export_dialog(window, "python").wait() == [model]
    assert "class" in model.read_text()
