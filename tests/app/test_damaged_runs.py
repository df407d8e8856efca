"""Issue 17, item 5: a damaged run folder is one line naming the file and exit 2 for every command
that reads one (patches, sample, train --resume, export --weights), through one set of checks
(graph_engine.training.run_folder)."""

from __future__ import annotations

import pytest

from app.cli import main
from tests.fuzz.run_folders import DAMAGES, base_runs, damaged


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return base_runs(tmp_path_factory.mktemp("bases"))


#: damage -> the file the message must name (relative to the run folder)
NAMED = {
    "checkpoint of zero bytes": "checkpoints/{which}.safetensors",
    "checkpoint truncated": "checkpoints/{which}.safetensors",
    "checkpoint is a pickle": "checkpoints/{which}.safetensors",
    "checkpoint is torch.save": "checkpoints/{which}.safetensors",
    "checkpoint header length 2^62": "checkpoints/{which}.safetensors",
    "weights of another shape": "checkpoints/{which}.safetensors",
    "a weight missing": "checkpoints/{which}.safetensors",
    "an extra weight": "checkpoints/{which}.safetensors",
    "no model weights": "checkpoints/{which}.safetensors",
    "NaN weights": "checkpoints/{which}.safetensors",
    "graph.json truncated": "graph.json",
    "graph.json invalid UTF-8": "graph.json",
}
READERS = {  # command -> (argv after the run folder is laid at ./run, the checkpoint it reads)
    "patches": (["patches", "{run}", "--node", "conv1", "-k", "2", "-o", "{tmp}/p.png"], "best", "cnn"),
    "sample": (["sample", "{run}", "--length", "4", "--beam", "2"], "best", "char"),
    "resume": (["train", "--resume", "{run}", "--epochs", "1"], "last", "cnn"),
    "export": (["export", "{tmp}/g.json", "--weights", "{run}", "-o", "{tmp}/m.py"], "best", "cnn"),
}


# export --weights reads the graph it is given (g.json beside the run), and of the run its checkpoint
PAIRS = [(command, damage) for command in sorted(READERS) for damage in sorted(NAMED)
         if not (command == "export" and damage.startswith("graph.json"))]


@pytest.mark.parametrize("command, damage", PAIRS)
def test_a_damaged_run_is_one_line_naming_the_file(capsys, tmp_path, bases, command, damage):
    argv, which, base = READERS[command]
    damaged(bases[base], damage)(tmp_path)
    run = tmp_path / "run"
    assert main([a.format(run=run, tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    named = NAMED[damage].format(which=which)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"rosenblatt {'train' if command == 'resume' else command}: {run / named}: "), err


def test_the_checks_say_what_is_wrong(capsys, tmp_path, bases):
    cases = {
        "checkpoint is a pickle": "a pickle (torch.save), not a safetensors file; pickles are never loaded",
        "checkpoint header length 2^62": "not a readable safetensors file (Error while deserializing header: "
                                         "header too large)",
        "weights of another shape": "conv1.bias is 3 in the weights but 32 in this graph",
        "NaN weights": "conv1.bias holds NaN; these weights compute nothing usable",
        "metadata a list": "its metadata is not a JSON object",
        "settings.json a list": "holds a JSON list, not an object (the run's training settings)",
        "settings.json invalid UTF-8": "not UTF-8 text (byte 0xff at offset 10)",
    }
    for damage, message in cases.items():
        folder = tmp_path / damage.replace(" ", "_")
        folder.mkdir()
        damaged(bases["cnn"], damage)(folder)
        assert main(["patches", str(folder / "run"), "--node", "conv1", "-o", str(folder / "p.png")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (damage, err)


def test_every_damage_is_known_to_the_fuzz_suite():
    assert set(NAMED) <= set(DAMAGES)
