"""Graph files: format v3 (JSON, UTF-8), loading with clear errors, atomic saving.

Older versions are upgraded through one ordered chain of migrations (``MIGRATIONS``);
callers always get the current version. v2 added ``source_port`` on edges (a layer's
output index) and allows several Input and Output nodes; v3 added block definitions
(``"blocks"``). Every older file is a valid newer one.

A layer's optional params (``init``, ``init_std``, ``trainable``, ``lr_mult``: see
``graph_engine.weight_init``) are left out of a node's entry while they hold their
defaults, so they need no new version: a file without them reads as it always did.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import stat
from pathlib import Path
from typing import Any, Callable

from graph_engine.atomic import write_text_atomic
from graph_engine.blocks import BlockDefinition, BlockError, check_definitions
from graph_engine.model import Edge, Graph, GraphError, Node
from graph_engine.source_text import message_text
from graph_engine.params import ParamSpec
from graph_engine.registry import get_spec
from graph_engine.weight_params import omitted_in_file

FORMAT = "rosenblatt-graph"
FORMAT_VERSION = 3


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 edges all leave output 0 and graphs have one Input and Output: nothing to rewrite."""
    return data


#: where a v2 file's own top-level "blocks" key (not block definitions) is kept from v3 on
V2_BLOCKS_KEY = "v2_blocks"


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """v3 added block definitions ("blocks"); a v2 file has none, so a "blocks" key it
    carries is someone else's data: kept, under ``v2_blocks``, never read as definitions."""
    if "blocks" in data:
        data[V2_BLOCKS_KEY] = data.pop("blocks")
    return data


#: version n -> function upgrading a version-n dict to version n+1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}

_NODE_KEYS = ("id", "type", "params", "position", "label")
_TOP_KEYS = ("format", "version", "name", "nodes", "edges", "training", "blocks")
_BLOCK_KEYS = ("params", "nodes", "edges")


class GraphFileError(Exception):
    """A graph file (or dict) that cannot be loaded; ``str()`` is one line naming where."""

    def __init__(self, source: str, message: str):
        super().__init__(f"{message_text(source)}: {message}")
        self.source = source
        self.message = message


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """The file form of ``graph`` (current version)."""
    nodes, edges = _body_to_dict(graph)
    data: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "name": graph.name,
                            "nodes": nodes, "edges": edges, "training": graph.training}
    if graph.blocks:
        data["blocks"] = {name: block_to_dict(definition) for name, definition in graph.blocks.items()}
    data.update(graph.extra)
    return data


def _body_to_dict(graph: Graph) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = []
    for node in graph:
        spec = get_spec(node.type)
        params = {name: value for name, value in node.params.items()
                  if spec is None or not omitted_in_file(spec.params, name, value)}
        entry: dict[str, Any] = {"id": node.id, "type": node.type, "params": params}
        if node.position is not None:
            entry["position"] = [node.position[0], node.position[1]]
        if node.label is not None:
            entry["label"] = node.label
        entry.update(node.extra)
        nodes.append(entry)
    edges = []
    for edge in graph.edges:
        entry = {"source": edge.source, "target": edge.target}
        if edge.source_port:
            entry["source_port"] = edge.source_port
        if edge.port:
            entry["port"] = edge.port
        edges.append(entry)
    return nodes, edges


def block_to_dict(definition: BlockDefinition) -> dict[str, Any]:
    """A block definition's file form: its declared params, nodes and edges."""
    nodes, edges = _body_to_dict(definition.graph)
    return {"params": [_param_spec_to_dict(p) for p in definition.params], "nodes": nodes, "edges": edges,
            **definition.extra}


def _param_spec_to_dict(spec: ParamSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "default": spec.default}
    for key in ("minimum", "maximum"):
        if getattr(spec, key) is not None:
            entry[key] = getattr(spec, key)
    if spec.choices:
        entry["choices"] = list(spec.choices)
    if spec.help:
        entry["help"] = spec.help
    return entry


def dumps(graph: Graph) -> str:
    """Deterministic JSON text of ``graph``: the same graph always gives the same bytes.

    Small objects and arrays (a node's params, a position) stay on one line so that
    files read well and diff well; everything else is indented.
    """
    return _format(graph_to_dict(graph), "") + "\n"


_INLINE_WIDTH = 100


def _format(value: Any, indent: str) -> str:
    inline = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or not value:
        return inline
    nested = value.values() if isinstance(value, dict) else value
    flat = all(not isinstance(v, (dict, list)) or not any(isinstance(w, (dict, list)) for w in
               (v.values() if isinstance(v, dict) else v)) for v in nested)
    if flat and len(inline) + len(indent) <= _INLINE_WIDTH:
        return inline
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_format(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    items = [inner + _format(v, inner) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + indent + "]"


def migrate(data: dict[str, Any], source: str = "<graph>") -> dict[str, Any]:
    """Upgrade a file dict to FORMAT_VERSION through the migration chain."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise GraphFileError(source, f"'version' must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise GraphFileError(source, f"format version {version} is newer than this Rosenblatt "
                                     f"reads (up to {FORMAT_VERSION}); update Rosenblatt")
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise GraphFileError(source, f"format version {version} is not supported")
        data = step(dict(data))
        version += 1
        data["version"] = version
    return data


def graph_from_dict(data: Any, source: str = "<graph>") -> Graph:
    """Build a Graph from its file dict; raises GraphFileError with a one-line reason."""
    if not isinstance(data, dict):
        raise GraphFileError(source, "the top level must be a JSON object")
    if data.get("format") != FORMAT:
        raise GraphFileError(source, f"not a Rosenblatt graph: 'format' is {data.get('format')!r}, "
                                     f"expected {FORMAT!r}")
    data = migrate(data, source)
    name = data.get("name", "Untitled")
    if not isinstance(name, str):
        raise GraphFileError(source, "'name' must be a string")
    graph = Graph(name)
    graph.set_training(_expect(data.get("training", {}), dict, "'training'", source))
    graph.extra = {k: v for k, v in data.items() if k not in _TOP_KEYS}
    for name, entry in _expect(data.get("blocks", {}), dict, "'blocks'", source).items():
        graph.set_block(_block_from_dict(name, entry, source))
    try:
        check_definitions(graph.blocks)
    except BlockError as error:
        raise GraphFileError(source, str(error)) from None
    _fill(graph, data, source, "")
    return graph


def _fill(graph: Graph, data: dict[str, Any], source: str, where: str) -> None:
    """Add a file entry's nodes and edges to ``graph`` (``where`` prefixes messages)."""
    for index, entry in enumerate(_expect(data.get("nodes", []), list, f"{where}'nodes'", source)):
        _add_node(graph, entry, index, source, where)
    for index, entry in enumerate(_expect(data.get("edges", []), list, f"{where}'edges'", source)):
        _add_edge(graph, entry, index, source, where)


def _block_from_dict(name: Any, entry: Any, source: str) -> BlockDefinition:
    where = f"block {name!r}: "
    if not isinstance(name, str) or not name.isidentifier():
        raise GraphFileError(source, f"{where}a block's name must be an identifier (it is the type its uses carry)")
    _expect(entry, dict, f"block {name!r}", source)
    params = []
    for index, spec in enumerate(_expect(entry.get("params", []), list, f"{where}'params'", source)):
        params.append(_param_spec_from_dict(spec, f"{where}params[{index}]", source))
    inner = Graph(name, template=True)
    _fill(inner, entry, source, where)
    extra = {k: v for k, v in entry.items() if k not in _BLOCK_KEYS}
    return BlockDefinition(name, inner, tuple(params), extra)


#: names a block param may not have: exported classes take block params as __init__ arguments
_RESERVED_PARAM_NAMES = frozenset({"self", "super", "torch", "nn", "F"})


def _param_spec_from_dict(entry: Any, where: str, source: str) -> ParamSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "kind" not in entry \
            or "default" not in entry:
        raise GraphFileError(source, f"{where} must be an object with 'name', 'kind' and 'default'")
    name = entry["name"]
    if not (name.isidentifier() and name.isascii()) or keyword.iskeyword(name) or name in _RESERVED_PARAM_NAMES:
        raise GraphFileError(source, f"{where}: {name!r} cannot name a block param (use letters, digits and _; "
                                     "not a Python keyword, self, super, torch, nn or F)")
    bounds = [entry.get(k) for k in ("minimum", "maximum")]
    if any(b is not None and not (isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b))
           for b in bounds):
        raise GraphFileError(source, f"{where}: 'minimum' and 'maximum' must be numbers or null")
    if not isinstance(entry.get("choices", []), list) or not all(isinstance(c, str) for c in entry.get("choices", [])):
        raise GraphFileError(source, f"{where}: 'choices' must be a list of strings")
    try:
        spec = ParamSpec(entry["name"], entry["kind"], entry["default"], str(entry.get("help", "")),
                         minimum=entry.get("minimum"), maximum=entry.get("maximum"),
                         choices=tuple(entry.get("choices", ())))
        spec.check(spec.default)
    except (ValueError, TypeError) as error:  # ParamError is a ValueError
        raise GraphFileError(source, f"{where}: {error}") from None
    return spec


def _expect(value: Any, kind: type, what: str, source: str) -> Any:
    if not isinstance(value, kind):
        raise GraphFileError(source, f"{what} must be a JSON {'object' if kind is dict else 'array'}")
    return value


def _add_node(graph: Graph, entry: Any, index: int, source: str, prefix: str = "") -> None:
    where = f"{prefix}nodes[{index}]"
    if not isinstance(entry, dict):
        raise GraphFileError(source, f"{where} must be an object")
    for key in ("id", "type"):
        if key not in entry:
            raise GraphFileError(source, f"{where} has no {key!r}")
    if isinstance(entry["id"], str):
        where = f"{prefix}node {entry['id']!r}"
    if not isinstance(entry["type"], str):
        raise GraphFileError(source, f"{where}: 'type' must be a string")
    params = _expect(entry.get("params", {}), dict, f"{where}: 'params'", source)
    position = entry.get("position")
    if position is not None:
        if (not isinstance(position, list) or len(position) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position)):
            raise GraphFileError(source, f"{where}: 'position' must be [x, y]")
        position = (float(position[0]), float(position[1]))
    label = entry.get("label")
    if label is not None and not isinstance(label, str):
        raise GraphFileError(source, f"{where}: 'label' must be a string")
    extra = {k: v for k, v in entry.items() if k not in _NODE_KEYS}
    try:
        graph.add_node(Node(entry["id"], entry["type"], params, position, label, extra))
    except GraphError as error:
        raise GraphFileError(source, f"{where}: {error}") from None


def _add_edge(graph: Graph, entry: Any, index: int, source: str, prefix: str = "") -> None:
    where = f"{prefix}edges[{index}]"
    if not isinstance(entry, dict) or "source" not in entry or "target" not in entry:
        raise GraphFileError(source, f"{where} must be an object with 'source' and 'target'")
    ends = entry["source"], entry["target"]
    for end in ends:
        if not isinstance(end, str):
            raise GraphFileError(source, f"{where}: 'source' and 'target' must be node ids (strings)")
        if end not in graph:
            raise GraphFileError(source, f"{where} ({ends[0]} -> {ends[1]}) refers to a missing "
                                         f"node {end!r}")
    try:
        graph.add_edge(Edge(entry["source"], entry["target"], entry.get("port", 0), entry.get("source_port", 0)))
    except GraphError as error:
        raise GraphFileError(source, f"{where}: {error}") from None


def loads(text: str, source: str = "<graph>") -> Graph:
    """Parse JSON text into a Graph; invalid JSON is reported with line and column."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise GraphFileError(source, f"invalid JSON at line {error.lineno}, column {error.colno}: "
                                     f"{error.msg}") from None
    except RecursionError:
        raise GraphFileError(source, "the JSON is nested too deeply to be a graph") from None
    except ValueError as error:  # an integer literal past Python's 4,300-digit conversion limit
        raise GraphFileError(source, f"invalid JSON: {str(error).split(':')[0]}") from None
    return graph_from_dict(data, source)


#: a graph file's size at most (issue 17's 37 MB graph of 719,000 edges took 0.7 GB to summarise)
MAX_GRAPH_FILE_BYTES = 64 << 20


def load_graph(path: str | os.PathLike[str]) -> Graph:
    """Read a graph file. Every failure is a GraphFileError naming the file."""
    source = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # /dev/zero never ends, a FIFO may never answer
            raise GraphFileError(source, "not a regular file")
        if info.st_size > MAX_GRAPH_FILE_BYTES:
            raise GraphFileError(source, f"{info.st_size:,} bytes, more than the {MAX_GRAPH_FILE_BYTES >> 20} MB "
                                         "a graph file may hold")
        raw = Path(path).read_bytes()
    except OSError as error:
        raise GraphFileError(source, error.strerror or str(error)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise GraphFileError(source, f"not UTF-8 text (byte {error.start})") from None
    return loads(text, source)


def save_graph(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Save ``graph`` atomically in the current format."""
    write_text_atomic(path, dumps(graph))
