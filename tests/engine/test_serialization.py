"""Graph file formats v1 and v2: round trips, golden files, clear refusals, atomic saves, migrations."""

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine import (
    Edge, Graph, GraphFileError, analyze, dumps, graph_from_dict, graph_to_dict, load_graph,
    loads, save_graph,
)
from graph_engine import serialization

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "v1"
GOLDEN_V2 = GOLDEN.parent / "v2"
GOLDEN_V3 = GOLDEN.parent / "v3"


def test_golden_v1_minimal_loads_with_defaults_and_keeps_unknown_keys():
    graph = load_graph(GOLDEN / "minimal.json")
    assert graph.name == "Residual pair"
    assert list(graph.nodes) == ["image", "c1", "c2", "merge", "act", "out"]
    conv = graph.node("c1")
    assert conv.params == {"out_channels": 8, "kernel_size": 3, "stride": 1, "padding": 1,
                           "dilation": 1, "groups": 1, "bias": True,
                           # optional since v3 without a new version (graph_engine.weight_init)
                           "init": "default", "init_std": 0.02, "trainable": True, "lr_mult": 1.0}
    assert graph.node("c2").label == "projection"
    assert graph.node("image").position == (0.0, 0.0)
    assert graph.node("c1").position is None
    assert Edge("c2", "merge", 1) in graph.edges
    assert graph.training == {"optimizer": "adam", "future": {"nested": [1, 2]}}
    assert graph.extra == {"app_state": {"zoom": 1.5}}
    assert analyze(graph).ok
    again = loads(dumps(graph))
    assert graph_to_dict(again) == graph_to_dict(graph)
    assert json.loads(dumps(again))["app_state"] == {"zoom": 1.5}


def test_golden_v1_file_saves_as_the_current_version(tmp_path):
    """Only the version changes, and params added to a layer since (pooling's ceil_mode, ...)
    are written with their defaults, as every param is."""
    graph = loads((GOLDEN / "lenet5_saved.json").read_text(encoding="utf-8"))
    save_graph(graph, tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text(encoding="utf-8") == \
        (GOLDEN_V3 / "lenet5_saved.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN_V2.glob("*.json")))
def test_golden_v2_files_save_as_v3_changing_only_the_version(tmp_path, name):
    graph = loads((GOLDEN_V2 / name).read_text(encoding="utf-8"))
    save_graph(graph, tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text(encoding="utf-8") == (GOLDEN_V3 / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN_V3.glob("*.json")))
def test_golden_v3_files_are_reproduced_byte_for_byte(tmp_path, name):
    original = (GOLDEN_V3 / name).read_text(encoding="utf-8")
    graph = loads(original)
    save_graph(graph, tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text(encoding="utf-8") == original


def _write(tmp_path, text, name="bad.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _valid_dict():
    return json.loads((GOLDEN / "minimal.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(format="something-else"), "not a Rosenblatt graph: 'format' is 'something-else'"),
    (lambda d: d.update(version=99), "format version 99 is newer"),
    (lambda d: d.update(version="1"), "'version' must be a positive integer"),
    (lambda d: d["nodes"][1].update(id="image"), "duplicate node id 'image'"),
    (lambda d: d["nodes"][1].update(id="1conv"), "invalid node id '1conv'"),
    (lambda d: d["nodes"][1].update(id="class"), "Python keyword"),
    (lambda d: d["nodes"][1].update(id="x); import os; os.system('rm -rf /')#"), "invalid node id"),
    (lambda d: d["nodes"][1].update(id="forward"), "reserved"),
    (lambda d: d["edges"].append({"source": "c1", "target": "ghost"}), "missing node 'ghost'"),
    (lambda d: d["edges"].append({"source": ["c1"], "target": "out"}), "must be node ids"),
    (lambda d: d["edges"].append({"source": "merge", "target": "act"}), "duplicate edge merge -> act"),
    (lambda d: d["nodes"][1]["params"].update(kernel_size=-3), "kernel_size must be ≥ 1, got -3"),
    (lambda d: d["nodes"][1]["params"].update(kernel_size="big"), "kernel_size must be an integer"),
    (lambda d: d["nodes"][1]["params"].update(kernal_size=3), "unknown parameter 'kernal_size'"),
    (lambda d: d["nodes"][4].update(position="here"), "'position' must be [x, y]"),
    (lambda d: d["edges"][0].update(port=-1), "port must be an integer from 0 to 4095"),
    (lambda d: d["edges"][0].update(port=10**7), "port must be an integer from 0 to 4095"),
    (lambda d: d["edges"][0].update(source_port=1.5), "source_port must be an integer from 0 to 4095"),
    (lambda d: d.update(nodes={}), "'nodes' must be a JSON array"),
    (lambda d: d["nodes"][1].pop("type"), "has no 'type'"),
])
def test_bad_files_are_refused_with_one_line_naming_file_and_problem(tmp_path, mutate, expected):
    data = _valid_dict()
    mutate(data)
    path = _write(tmp_path, json.dumps(data))
    with pytest.raises(GraphFileError) as caught:
        load_graph(path)
    message = str(caught.value)
    assert message.startswith(str(path) + ": ")
    assert expected in message
    assert "\n" not in message


def test_invalid_json_reports_line_and_column(tmp_path):
    path = _write(tmp_path, '{"format": "rosenblatt-graph",\n  "version": 1,\n  "nodes": [,]}')
    with pytest.raises(GraphFileError, match=r"invalid JSON at line 3, column 13"):
        load_graph(path)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(GraphFileError, match="No such file"):
        load_graph(tmp_path / "missing.json")
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(GraphFileError, match="not UTF-8"):
        load_graph(path)


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "graph.json"
    graph = load_graph(GOLDEN / "minimal.json")
    save_graph(graph, path)
    before = path.read_bytes()
    graph.set_params("c1", {"out_channels": 4})

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization.os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_graph(graph, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["graph.json"]


def test_save_keeps_file_permissions(tmp_path):
    path = tmp_path / "graph.json"
    save_graph(Graph("a"), path)
    os.chmod(path, 0o640)
    save_graph(Graph("b"), path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_migrations_run_in_order(monkeypatch):
    """A future v2 is one entry in MIGRATIONS; callers still just load."""
    data = _valid_dict()

    def v1_to_v2(old):
        old["name"] = old["name"] + " (migrated)"
        return old

    monkeypatch.setattr(serialization, "FORMAT_VERSION", 4)
    monkeypatch.setitem(serialization.MIGRATIONS, 3, v1_to_v2)
    graph = graph_from_dict({**data, "version": 1}, "old.json")
    assert graph.name == "Residual pair (migrated)"
    assert graph_to_dict(graph)["version"] == 4


# -- property: save -> load is the identity ---------------------------------------------
_ids = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s not in {"self", "torch", "nn", "and", "as", "if", "in", "is", "or", "not", "for",
                        "def", "del", "try", "with", "from", "none", "true", "false"})
_layer = st.sampled_from([
    ("Conv2d", st.fixed_dictionaries({"out_channels": st.integers(1, 64),
                                      "kernel_size": st.one_of(st.integers(1, 7),
                                                               st.lists(st.integers(1, 7), min_size=2, max_size=2)),
                                      "padding": st.one_of(st.just("same"), st.integers(0, 3))})),
    ("Linear", st.fixed_dictionaries({"out_features": st.integers(1, 512), "bias": st.booleans()})),
    ("Dropout", st.fixed_dictionaries({"p": st.floats(0, 1)})),
    ("ReLU", st.just({})),
    ("Add", st.just({})),
    ("Input", st.fixed_dictionaries({"shape": st.lists(st.integers(1, 64), min_size=1, max_size=3)})),
])


@st.composite
def graphs(draw):
    graph = Graph(draw(st.text(max_size=20)))
    for node_id in draw(st.lists(_ids, unique=True, max_size=8)):
        type_name, params = draw(_layer)
        position = draw(st.one_of(st.none(), st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4))))
        label = draw(st.one_of(st.none(), st.text(min_size=1, max_size=10)))
        node = graph.create_node(type_name, draw(params), position, node_id)
        if label:
            graph.set_label(node.id, label)
    ids = list(graph.nodes)
    if ids:
        for _ in range(draw(st.integers(0, 10))):
            edge = Edge(draw(st.sampled_from(ids)), draw(st.sampled_from(ids)), draw(st.integers(0, 2)),
                        draw(st.integers(0, 2)))
            if edge not in graph.edges:
                graph.add_edge(edge)
    graph.set_training(draw(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)))
    return graph


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_save_then_load_is_identity(tmp_path_factory, graph):
    path = tmp_path_factory.mktemp("roundtrip") / "g.json"
    save_graph(graph, path)
    loaded = load_graph(path)
    assert graph_to_dict(loaded) == graph_to_dict(graph)
    assert dumps(loaded) == path.read_text(encoding="utf-8")
    analyze(loaded)  # any graph, however broken, analyses without raising


def test_deeply_nested_json_is_refused_not_a_crash(tmp_path):
    path = _write(tmp_path, "[" * 100000)
    with pytest.raises(GraphFileError, match="nested too deeply"):
        load_graph(path)
