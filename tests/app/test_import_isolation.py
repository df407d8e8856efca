"""Issue 17 item 11: `rosenblatt import` runs the model's code in a child process, so a module
that exits, crashes or hangs is reported in one line with a nonzero exit; what torch prints
stays out of the way; odd attribute names and absurd input shapes are handled."""

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from app.cli import main
from graph_engine import compile_graph, load_graph
from graph_engine.interop import InteropError, import_model, import_module_object

HOSTILE = '''
import os
import sys
import time

from torch import nn


class Exits(nn.Module):
    def __init__(self):
        super().__init__()
        sys.exit(0)


class Aborts(nn.Module):
    def __init__(self):
        super().__init__()
        print("about to abort", flush=True)
        os.abort()


class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        time.sleep(600)


class Keyword(nn.Module):
    def __init__(self):
        super().__init__()
        setattr(self, "class", nn.Linear(4, 2))

    def forward(self, x):
        return getattr(self, "class")(x)
'''


class Keyword(nn.Module):
    """A submodule named by a keyword, and one whose name holds a quote."""

    def __init__(self):
        super().__init__()
        setattr(self, "class", nn.Linear(4, 3))
        setattr(self, 'say"hi', nn.ReLU())

    def forward(self, x):
        return getattr(self, 'say"hi')(getattr(self, "class")(x))


class Fails(nn.Module):
    def __init__(self):
        super().__init__()
        raise RuntimeError("first line\nsecond line")


def test_attribute_names_that_are_not_ids_are_renamed_and_keep_their_weights():
    model = Keyword()
    imported = import_module_object(model, [4])
    assert [node.id for node in imported.graph] == ["x", "class_", "say_hi", "output"]
    assert torch.equal(imported.state["class_.weight"], getattr(model, "class").weight)
    compile_graph(imported.graph, "cpu").load_state_dict(imported.state)


def test_an_input_shape_too_large_to_allocate_is_refused_in_one_line():
    with pytest.raises(InteropError, match=r"input shape \[100000000000\] has 100,000,000,000 values per "
                                           r"sample; the import takes at most 16,777,216"):
        import_module_object(nn.Linear(4, 2), [100000000000])


def test_errors_of_the_models_own_code_are_one_line(capfd, tmp_path):
    (tmp_path / "fails.py").write_text("from tests.app.test_import_isolation import Fails\n")
    with pytest.raises(InteropError) as info:
        import_model(f"{tmp_path / 'fails.py'}:Fails", [4])
    assert str(info.value).endswith("Fails() failed: RuntimeError: first line second line")
    with pytest.raises(InteropError, match=r"running it on an input of shape \[5\] \(float32\) failed: "
                                           r"mat1 and mat2 shapes cannot be multiplied \(2x5 and 4x2\)$"):
        import_module_object(nn.Sequential(nn.Linear(4, 2)), [5])
    assert capfd.readouterr().err == ""  # ShapeProp printed the traceback it re-raised


def test_import_never_writes_over_the_models_file(capsys, tmp_path):
    source = tmp_path / "hostile.py"
    source.write_text(HOSTILE)
    assert main(["import", f"{source}:Keyword", "-o", str(source), "--input-shape", "4", "--force"]) == 2
    assert capsys.readouterr().err == (f"rosenblatt import: will not write over {source}: it is an input of "
                                       "this command\n")
    assert source.read_text() == HOSTILE


@pytest.mark.slow
@pytest.mark.parametrize("target, timeout, message", [
    ("Exits", "300", "hostile.py:Exits: the model's code called sys.exit(0)"),
    ("Aborts", "300", "hostile.py:Aborts: the model's code ended the import process (killed by SIGABRT) "
                      "before it finished (its last words: "),
    ("Hangs", "2", "hostile.py:Hangs: the import did not finish within 2 s (--timeout); does the model's "
                   "code wait for something?"),
])
def test_a_model_that_exits_crashes_or_hangs_is_one_line_exit_2(capsys, tmp_path, target, timeout, message):
    (tmp_path / "hostile.py").write_text(HOSTILE)
    assert main(["import", f"{tmp_path / 'hostile.py'}:{target}", "-o", str(tmp_path / "g.json"),
                 "--input-shape", "4", "--timeout", timeout]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rosenblatt import: ") and message in err
    assert not (tmp_path / "g.json").exists()


@pytest.mark.slow
def test_a_module_that_exits_at_import_is_exit_2(capsys, tmp_path, monkeypatch):
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "quits:Net", "-o", "g.json", "--input-shape", "4"]) == 2
    assert capsys.readouterr().err == "rosenblatt import: quits:Net: the model's code called sys.exit(0)\n"


@pytest.mark.slow
def test_the_child_imports_a_keyword_named_submodule_with_its_weights(capsys, tmp_path):
    (tmp_path / "hostile.py").write_text(HOSTILE)
    assert main(["import", f"{tmp_path / 'hostile.py'}:Keyword", "-o", str(tmp_path / "g.json"),
                 "--weights", str(tmp_path / "w.safetensors"), "--input-shape", "4"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'g.json'} and {tmp_path / 'w.safetensors'}")
    graph = load_graph(tmp_path / "g.json")
    assert [node.id for node in graph] == ["x", "class_", "output"]
    compile_graph(graph, "cpu").load_state_dict(load_file(str(tmp_path / "w.safetensors")))
