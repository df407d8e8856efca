"""RunSnapshot: the graph a run trains is copied, parsed and analysed once, in the app, and
the training child reuses that one analysis for the data fit, the trainer and the compiler."""

from __future__ import annotations

import os
import pickle

import pytest

from graph_engine import load_template, serialization
from graph_engine import analysis as analysis_module
from graph_engine.lowering import CompileError
from graph_engine.training import RunSnapshot, TrainingControl
from graph_engine.training.snapshot import network_signature
from graph_engine.training.worker import train_in_child


class Pipe:
    """The sending end of the child's pipe, in-process: keeps every batch sent."""

    def __init__(self):
        self.batches: list[list[dict]] = []

    def send(self, batch: list[dict]) -> None:
        self.batches.append(batch)

    def close(self) -> None:
        pass


@pytest.fixture
def counted(monkeypatch):
    """Counts of analyses (each one wires the graph once) and graph parses from here on."""
    counts = {"analyze": 0, "parse": 0}
    wire, from_dict = analysis_module.wire, serialization.graph_from_dict

    def counting_wire(graph):
        counts["analyze"] += 1
        return wire(graph)

    def counting_from_dict(*args, **kwargs):
        counts["parse"] += 1
        return from_dict(*args, **kwargs)

    monkeypatch.setattr(analysis_module, "wire", counting_wire)
    monkeypatch.setattr(serialization, "graph_from_dict", counting_from_dict)
    monkeypatch.setattr(os, "nice", lambda increment: 0)  # the child lowers its priority; not pytest's
    return counts


def test_start_to_the_end_of_a_run_analyses_the_graph_once(tmp_path, counted):
    graph = load_template("digits_cnn")
    graph.set_params("conv1", {"out_channels": 4})
    counted.update(analyze=0, parse=0)
    snapshot = RunSnapshot.of(graph)  # what the controller does at Start
    shipped = pickle.loads(pickle.dumps(snapshot))  # what the spawn context does with it
    settings = {**graph.training, "epochs": 1, "probe_every": 5, "probe_unit": "steps"}
    pipe = Pipe()
    train_in_child(shipped, settings, str(tmp_path / "run"), pipe, TrainingControl())
    events = [event for batch in pipe.batches for event in batch]
    assert events[-1]["type"] == "finished", events[-1]
    assert any(e["type"] == "probe" and e["kind"] == "activations" for e in events)
    assert counted["analyze"] == 1  # before: 3 in the child (data fit, trainer, compiler)
    assert counted["parse"] <= 1  # the copy at Start; before: 3 (JSON text, trainer's copy, graph.json)


def test_a_snapshot_is_a_copy_with_the_networks_signature():
    graph = load_template("digits_cnn")
    snapshot = RunSnapshot.of(graph)
    assert snapshot.graph is not graph and snapshot.analysis.graph is snapshot.graph
    assert snapshot.signature == network_signature(graph)
    assert RunSnapshot.of(snapshot) is snapshot
    graph.set_params("conv1", {"out_channels": 3})  # an edit after the start
    assert network_signature(graph) != snapshot.signature
    assert snapshot.graph.node("conv1").params["out_channels"] != 3


def test_a_graph_with_errors_has_no_snapshot():
    graph = load_template("digits_cnn")
    graph.remove_node("flatten")
    with pytest.raises(CompileError):
        RunSnapshot.of(graph)
