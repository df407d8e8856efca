"""Hostile inputs for every ``rosenblatt`` command, drawn from a seed: the same seed gives the same
cases, so a failure is reproduced by its seed and index (``case.name`` says what was done).

Categories: mutated graph files (every template: truncated, garbage, invalid UTF-8, deeply nested,
huge, wrong types, NaN/∞ and huge numbers, hostile names, ports, cycles, duplicates), damaged run
folders (``run_folders.DAMAGES``), hostile numbers on the command line, hostile paths, hostile
datasets and hostile modules for ``import``. Each case says which exit codes the CLI documents
for it; :func:`problems` checks an outcome against the CLI's rules.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from graph_engine import graph_to_dict, list_templates, load_template
from tests.fuzz import run_folders

Prepare = Callable[[Path], None]

#: exit codes each command documents (README, Command line): 0 done, 1 the graph has errors (or
#: a run failed, or an import's calls have no layer type), 2 unreadable input or a refusal
CODES = {"summary": {0, 1, 2}, "export": {0, 1, 2}, "import": {0, 1, 2}, "train": {0, 1, 2},
         "patches": {0, 2}, "sample": {0, 2}, "gui": {0, 1, 2}, "templates": {0}, "layers": {0}}

HOSTILE_STRINGS = ('x"""; __import__("os").system("echo owned"); """', "'''", "\\", "\n\r\t",
                   "\x00nul", "\ud800", "\u202eevil", "é" * 3, "a" * 100_000, "../../../etc/passwd",
                   "{__import__('os')}", "$(reboot)", "", " ", "class", "None", "1x", "😀" * 50)
HOSTILE_NUMBERS = (float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 10 ** 30, -(10 ** 30), 2 ** 63,
                   -1, 0, 0.5, True, None, "7", [], {}, [1, [2, [3]]], 1e-320)


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    argv: tuple[str, ...]
    prepare: Prepare = field(compare=False, default=lambda folder: None)
    codes: frozenset[int] = frozenset({0, 1, 2})
    #: seconds before the command is killed (scaled by the caller for a slow machine)
    timeout: float = 60.0


# -- graph files ------------------------------------------------------------------------------
def _template_text(key: str) -> str:
    return json.dumps(graph_to_dict(load_template(key)), indent=1)


def _writer(data: bytes | str) -> Prepare:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data

    def prepare(folder: Path) -> None:
        (folder / "g.json").write_bytes(raw)
    return prepare


def _mutate_value(rng: random.Random, data: dict) -> str:
    """Put a hostile value somewhere in the graph's dict; what was done."""
    nodes = data.get("nodes") or [{}]
    node = rng.choice(nodes)
    value = rng.choice(HOSTILE_NUMBERS + HOSTILE_STRINGS[:6])
    where = rng.choice(("param", "param", "id", "type", "params", "position", "edge", "top"))
    if where == "param" and node.get("params"):
        key = rng.choice(sorted(node["params"]))
        node["params"][key] = value
        return f"params.{key}={value!r:.30}"
    if where == "edge" and data.get("edges"):
        edge = rng.choice(data["edges"])
        key = rng.choice(("source", "target", "port", "source_port"))
        edge[key] = value
        return f"edge.{key}={value!r:.30}"
    if where == "top":
        key = rng.choice(("name", "version", "format", "nodes", "edges", "training", "blocks"))
        data[key] = value
        return f"{key}={value!r:.30}"
    node[where if where != "params" else "params"] = value
    return f"node.{where}={value!r:.30}"


def _structural(rng: random.Random, data: dict, cheap: bool = False) -> str:
    """Ports, cycles, duplicates, self-loops, missing ends, many inputs, many nodes."""
    nodes, edges = data["nodes"], data["edges"]
    ids = [n["id"] for n in nodes]
    kinds = ("port", "cycle", "duplicate", "self", "missing") + (() if cheap else ("fan_in", "many_nodes"))
    kind = rng.choice(kinds)
    if kind == "port":
        port = rng.choice((10 ** 7, 4096, -1, 2 ** 64))
        rng.choice(edges)["port"] = port
        return f"port={port}"
    if kind == "cycle":
        a, b = rng.sample(ids, 2)
        edges += [{"source": a, "target": b}, {"source": b, "target": a}]
        return f"cycle {a}<->{b}"
    if kind == "duplicate":
        nodes.append(dict(rng.choice(nodes)))
        return "duplicate id"
    if kind == "self":
        a = rng.choice(ids)
        edges.append({"source": a, "target": a})
        return f"self-loop {a}"
    if kind == "missing":
        edges.append({"source": "nowhere", "target": rng.choice(ids)})
        return "edge from a missing node"
    if kind == "fan_in":
        nodes.append({"id": "sum", "type": "Add", "params": {}})
        edges += [{"source": ids[0], "target": "sum", "port": i} for i in range(rng.choice((3000, 5000)))]
        return "Add with thousands of inputs"
    count = rng.choice((20_000, 60_000))
    nodes += [{"id": f"r{i}", "type": "ReLU", "params": {}} for i in range(count)]
    edges += [{"source": f"r{i}", "target": f"r{i + 1}"} for i in range(count - 1)]
    return f"{count} more nodes"


def _hostile_name(rng: random.Random, data: dict) -> str:
    text = rng.choice(HOSTILE_STRINGS)
    target = rng.choice(("name", "label", "id"))
    if target == "name":
        data["name"] = text
    elif target == "label":
        rng.choice(data["nodes"])["label"] = text
    else:
        node = rng.choice(data["nodes"])
        old, node["id"] = node["id"], text
        for edge in data["edges"]:
            for end in ("source", "target"):
                if edge.get(end) == old:
                    edge[end] = text
    return f"{target}={text!r:.30}"


def graph_file(rng: random.Random, cheap: bool = False) -> tuple[str, Prepare]:
    """One hostile graph file: what was done, and how to write it as ``g.json`` (``cheap``: none
    that takes seconds to refuse, for the fast tier)."""
    key = rng.choice([t.key for t in list_templates()])
    text = _template_text(key)
    kind = rng.choice(("truncated", "garbage", "utf8", "nested", "huge", "value", "value", "value",
                       "structure", "structure", "name", "name", "numbers", "top"))
    if kind == "truncated":
        cut = rng.randrange(len(text))
        return f"{key} truncated at {cut}", _writer(text[:cut])
    if kind == "garbage":
        return f"{key} garbage", _writer(bytes(rng.randrange(256) for _ in range(rng.choice((1, 100, 5000)))))
    if kind == "utf8":
        cut = rng.randrange(len(text))
        return f"{key} invalid UTF-8 at {cut}", _writer(text[:cut].encode() + b"\xff\xfe" + text[cut:].encode())
    if kind == "nested":
        depth = rng.choice((1000, 100_000, 1_000_000))
        where = rng.choice(("file", "param", "name"))
        nest = "[" * depth + "]" * depth
        if where == "file":
            return f"nested {depth} as the file", _writer(nest)
        marker = '"__NEST__"'
        data = json.loads(text)
        if where == "param":
            data["nodes"][0].setdefault("params", {})["deep"] = "__NEST__"
        else:
            data["name"] = "__NEST__"
        return f"{key} nested {depth} in {where}", _writer(json.dumps(data).replace(marker, nest))
    if kind == "huge":
        size = 80 << 20 if cheap else rng.choice((20 << 20, 80 << 20))
        data = json.loads(text)
        data["name"] = "n" * size
        return f"{key} with a {size >> 20} MB name", _writer(json.dumps(data))
    if kind == "numbers":
        data = json.loads(text)
        node = rng.choice([n for n in data["nodes"] if n.get("params")] or data["nodes"])
        literal = rng.choice(("NaN", "Infinity", "-Infinity", "1e999", "1" + "0" * 5000, "-0", "1e-400"))
        param = rng.choice(sorted(node.get("params") or {"x": 0}))
        node.setdefault("params", {})[param] = "__NUM__"
        return (f"{key} {node['id']}.{param}={literal[:12]}",
                _writer(json.dumps(data).replace('"__NUM__"', literal)))
    if kind == "top":
        payload = rng.choice(("[]", "null", "7", '"text"', "{}", '{"nodes": {}, "edges": []}',
                              '{"format": "rosenblatt-graph", "version": 99999999999999999999}'))
        return f"top-level {payload[:30]}", _writer(payload)
    data = json.loads(text)
    if kind == "structure":
        what = _structural(rng, data, cheap)
    elif kind == "name":
        what = _hostile_name(rng, data)
    else:
        what = _mutate_value(rng, data)
    return f"{key} {what}", _writer(json.dumps(data))


def graph_cases(rng: random.Random, count: int, commands: tuple[str, ...], cheap: bool = False) -> list[Case]:
    cases = []
    for index in range(count):
        what, prepare = graph_file(rng, cheap)
        command = commands[index % len(commands)]
        argv = {"summary": ("summary", "g.json"), "summary-json": ("summary", "g.json", "--json"),
                "export": ("export", "g.json", "-o", "out/model.py"),
                "export-training": ("export", "g.json", "-o", "model.py", "--with-training"),
                "onnx": ("export", "g.json", "--to", "onnx", "-o", "model.onnx"),
                "torchscript": ("export", "g.json", "--to", "torchscript", "-o", "model.pt"),
                "train": ("train", "g.json", "--epochs", "1", "--out", "run", "--dataset", "digits"),
                "gui": ("gui", "g.json", "--screenshot", "shot.png", "--size", "400x300")}[command]
        cases.append(Case("graph files", f"{command}: {what}", argv, _with_out(prepare),
                          frozenset(CODES[argv[0]]), timeout=120.0 if command in ("train", "gui") else 60.0))
    return cases


def _with_out(prepare: Prepare) -> Prepare:
    def both(folder: Path) -> None:
        (folder / "out").mkdir(exist_ok=True)
        prepare(folder)
    return both


# -- run folders ------------------------------------------------------------------------------
def run_cases(rng: random.Random, count: int, bases: dict[str, Path], commands: tuple[str, ...],
              names: list[str] | None = None) -> list[Case]:
    """Damaged copies of the base runs (``bases``: "cnn", and "char" for sample) per command."""
    names = names or sorted(run_folders.DAMAGES)
    cases = []
    crossed = count >= len(names) * len(commands)  # every damage with every command
    for index in range(count):
        damage = names[index // len(commands) % len(names)] if crossed else rng.choice(names)
        command = commands[index % len(commands)]
        kind = "char" if command.startswith("sample") else "cnn"
        if kind not in bases:
            continue
        argv = {"patches": ("patches", "run", "--node", "conv1", "-k", "2", "-o", "p.png"),
                "sample": ("sample", "run", "--length", "8", "--seed", "1"),
                "sample-beam": ("sample", "run", "--length", "8", "--beam", "2"),
                "resume": ("train", "--resume", "run", "--epochs", "1"),
                "export": ("export", "run/graph.json", "--weights", "run", "-o", "model.py"),
                "onnx": ("export", "run/graph.json", "--weights", "run", "--to", "onnx", "-o", "m.onnx")}[command]
        cases.append(Case("run folders", f"{command}: {damage}", argv,
                          run_folders.damaged(bases[kind], damage), frozenset(CODES[argv[0]]), timeout=120.0))
    return cases


# -- numbers and paths on the command line ------------------------------------------------------
NUMBERS = ("nan", "inf", "-inf", "-1", "0", "1e308", "1e-320", "99999999999999999999999", "-0", "1e3", "x", "")


def argument_cases(rng: random.Random, count: int, bases: dict[str, Path]) -> list[Case]:
    """Hostile numbers for every numeric option, on a good file or run folder."""
    options = [("train", ("train", "template:perceptron", "--out", "run", "--dataset", "digits", "--epochs", "1"),
                ("--epochs", "--batch-size", "--lr", "--seed")),
               ("patches", ("patches", "run", "--node", "conv1", "-o", "p.png"), ("-k",)),
               ("gui", ("gui", "--screenshot", "s.png"), ("--size", "--train-epochs")),
               ("import", ("import", "nomodule_here:Net", "-o", "g.json", "--timeout", "5"),
                ("--input-shape", "--timeout"))]
    if "char" in bases:
        options.append(("sample", ("sample", "run", "--length", "5"),
                        ("--length", "--temperature", "--beam", "--alpha", "--seed")))
    cases = []
    for _ in range(count):
        command, argv, names = rng.choice(options)
        option, value = rng.choice(names), rng.choice(NUMBERS)
        if option in ("--epochs", "--length") and value in ("1e3",):
            value = "2"
        if option == "--size":
            value = rng.choice(("0x0", "100000x100000", "nanxnan", "-5x-5", "1x1", "400x"))
        if option == "--epochs" and value.lstrip("-").isdigit() and int(value) > 3:
            value = "99999999999999999999999"  # refused: the run would never end
        base = "char" if command == "sample" else "cnn"
        prepare = run_folders.damaged(bases[base], "none") if command in ("patches", "sample") else (lambda f: None)
        cases.append(Case("arguments", f"{command} {option} {value!r}", (*argv, option, value), prepare,
                          frozenset(CODES[command]), timeout=120.0))
    return cases


def path_cases() -> list[Case]:
    """Inputs that are not files, outputs that cannot be written, names the system refuses."""
    def fifo(folder: Path) -> None:
        os.mkfifo(folder / "fifo.json")

    def directory(folder: Path) -> None:
        (folder / "dir.json").mkdir()

    def good(folder: Path) -> None:
        (folder / "g.json").write_text(_template_text("mlp"), encoding="utf-8")
    long_name = "n" * 300 + ".json"
    table = [
        ("summary of /dev/zero", ("summary", "/dev/zero"), None),
        ("summary of /dev/urandom", ("summary", "/dev/urandom"), None),
        ("summary of a FIFO", ("summary", "fifo.json"), fifo),
        ("export of a FIFO", ("export", "fifo.json", "-o", "m.py"), fifo),
        ("summary of a directory", ("summary", "dir.json"), directory),
        ("summary of a 300-character name", ("summary", long_name), None),
        ("summary of a missing file", ("summary", "missing.json"), None),
        ("summary of a newline name", ("summary", "a\nb.json"), None),
        ("summary of an unknown template", ("summary", "template:nope"), None),
        ("export into a missing folder", ("export", "g.json", "-o", "no/such/dir/m.py"), good),
        ("export onto a directory", ("export", "g.json", "-o", "out"), lambda f: (good(f), (f / "out").mkdir())),
        ("export over its input", ("export", "g.json", "-o", "g.json"), good),
        ("export over /dev/null", ("export", "g.json", "-o", "/dev/null", "--force"), good),
        ("export with a 300-character output", ("export", "g.json", "-o", long_name), good),
        ("train --out a file", ("train", "g.json", "--out", "g.json", "--epochs", "1"), good),
        ("train --resume a file", ("train", "--resume", "g.json"), good),
        ("train --resume /dev/null", ("train", "--resume", "/dev/null"), None),
        ("patches of a missing run", ("patches", "nowhere", "--node", "x", "-o", "p.png"), None),
        ("sample of a missing run", ("sample", "nowhere"), None),
        ("gui of /dev/zero", ("gui", "/dev/zero"), None),
        ("gui of a FIFO", ("gui", "fifo.json"), fifo),
        ("unknown command option", ("summary", "--bogus"), None),
        ("import of a missing file", ("import", "nofile.py:Net", "-o", "g.json", "--input-shape", "4"), None),
    ]
    return [Case("paths", name, argv, prepare or (lambda f: None), frozenset(CODES[argv[0]]))
            for name, argv, prepare in table]


# -- datasets and modules -----------------------------------------------------------------------
def dataset_cases() -> list[Case]:
    def write(name: str, data: bytes) -> Prepare:
        return lambda folder: (folder / name).write_bytes(data)

    def fifo(folder: Path) -> None:
        os.mkfifo(folder / "data.csv")
    npz_header = (b"PK\x03\x04" + bytes(26) + b"x.npy" + b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', "
                  b"'fortran_order': False, 'shape': (100000000000, 64), }" + b" " * 40 + b"\n")
    table = [("garbage csv", write("data.csv", bytes(range(256)) * 4)),
             ("csv label 1e30", write("data.csv", b"a,b,label\n1,2,1e30\n3,4,0\n" * 20)),
             ("csv of NaN", write("data.csv", b"a,b,label\nnan,inf,0\n-inf,nan,1\n" * 20)),
             ("npz claiming 10^11 rows", write("data.npz", npz_header)),
             ("empty text", write("data.txt", b"")),
             ("text of invalid UTF-8", write("data.txt", b"\xff\xfe" * 1000)),
             ("a FIFO", fifo)]
    cases = [Case("datasets", f"train --dataset {name}",
                  ("train", "template:perceptron", "--epochs", "1", "--out", "run", "--dataset",
                   "data.npz" if "npz" in name else "data.txt" if "text" in name else "data.csv"),
                  prepare, frozenset(CODES["train"]), timeout=120.0)
             for name, prepare in table]
    cases += [Case("datasets", f"train --dataset {path}", ("train", "template:perceptron", "--epochs", "1",
                                                           "--out", "run", "--dataset", path),
                   codes=frozenset(CODES["train"])) for path in ("/dev/zero", "/dev/urandom", "nosuchset")]
    return cases


MODULES = {
    "exits 0 at import": "import sys\nsys.exit(0)\n",
    "raises at import": "raise RuntimeError('boom')\n",
    "hangs at import": "while True:\n    pass\n",
    "os._exit(3)": "import os\nos._exit(3)\n",
    "allocates 100 GB": "x = bytearray(100 << 30)\n",
    "a class that is not a module": "class Net:\n    pass\n",
    "a submodule named class": ("import torch\nclass Net(torch.nn.Module):\n    def __init__(self):\n"
                                "        super().__init__()\n        setattr(self, 'class', torch.nn.Linear(4, 2))\n"
                                "    def forward(self, x):\n        return getattr(self, 'class')(x)\n"),
    "a model of 10^6 x 10^6": ("import torch\nclass Net(torch.nn.Module):\n    def __init__(self):\n"
                               "        super().__init__()\n        self.fc = torch.nn.Linear(10**6, 10**6)\n"
                               "    def forward(self, x):\n        return self.fc(x)\n"),
}


def import_cases() -> list[Case]:
    def module(text: str) -> Prepare:
        return lambda folder: (folder / "hostile_mod.py").write_text(text, encoding="utf-8")
    return [Case("import", f"import: {name}", ("import", "hostile_mod.py:Net", "-o", "g.json",
                                               "--input-shape", "4", "--timeout", "20"),
                 module(text), frozenset(CODES["import"]), timeout=120.0)
            for name, text in MODULES.items()]


# -- the checks --------------------------------------------------------------------------------
def message_lines(stderr: str) -> list[str]:
    """stderr without a progress bar's redraws and a run's start line (what a person reads as
    the command's answer)."""
    lines = []
    for line in stderr.splitlines():
        if "\r" in line or not line.strip() or line.startswith("training on ") or line.startswith("---"):
            continue
        lines.append(line)
    return lines


def problems(case: Case, rc: int, stdout: str, stderr: str, killed: bool, timeout: float) -> list[str]:
    """What the outcome breaks of the CLI's rules: the documented exit codes, no traceback, a
    refusal in one line on stderr, an end within the time limit (memory is capped by the runner)."""
    found = []
    if killed:
        return [f"did not finish within {timeout:.0f} s"]
    if "Traceback (most recent call last)" in stderr or "Traceback (most recent call last)" in stdout:
        found.append("traceback: " + (message_lines(stderr) or ["?"])[-1][:160])
    if rc not in case.codes:
        found.append(f"exit status {rc} (documented: {sorted(case.codes)})")
    if rc in (1, 2):
        lines = message_lines(stderr)
        if case.argv[0] == "import" and rc == 1:
            lines = [line for line in lines if not line.startswith("  ")]
        if case.argv[0] == "export" and rc == 1:  # each error as `node: message`, then the refusal
            lines = lines[-1:]
        if rc == 2 and len(lines) != 1:
            found.append(f"{len(lines)} lines on stderr: {lines[:3]}")
        elif lines and not re.match(r"rosenblatt( [a-z]+)?: ", lines[-1]):
            found.append(f"the message does not name the command: {lines[-1][:120]!r}")
    return found
