"""The ``rosenblatt`` command line.

Exit status everywhere: 0 success, 1 the graph has errors, 2 a file could not be read
or written. Messages are one line on stderr; no tracebacks for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn, Sequence

from graph_engine import (
    DEFAULT_TEMPLATE, Analysis, Graph, GraphFileError, analyze, field_text, layer_types, list_templates,
    shape_text,
)
from app import interop_cli, lessons_cli, sweep_cli, train_cli
from app.graph_source import load_graph_argument

EXIT_OK, EXIT_GRAPH_ERRORS, EXIT_UNREADABLE = 0, 1, 2
#: the smallest and largest window width and height ``gui --size`` takes
WINDOW_SIZES = (200, 16384)
#: ``gui --train-epochs`` at most: the training settings' own bound on epochs
MAX_EPOCHS = 10 ** 6


def summary_table(graph: Graph, analysis: Analysis) -> str:
    """Node, type, output shape, parameters, MACs and receptive field, with totals."""
    header = ("node", "type", "output", "params", "MACs", "receptive field")
    rows = []
    for node in graph:
        info = analysis.info(node.id)
        shape = " | ".join(shape_text(s) for s in info.out_shapes) if info.out_shapes else "?"
        rows.append((node.id, node.type, shape, f"{info.params:,}", f"{info.macs:,}",
                     field_text(info.field)))
    rows.append(("total", "", "", f"{analysis.total_params:,}", f"{analysis.total_macs:,}", ""))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {3, 4}

    def line(row: Sequence[str]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [line(r) for r in rows[:-1]]
    ends = [f"{what}: {', '.join(_end_text(analysis, i) for i in ids) or 'none'}"
            for what, ids in (("inputs", analysis.input_ids), ("outputs", analysis.output_ids))]
    return "\n".join([f"{graph.name}", line(header), rule, *body, rule, line(rows[-1]), *ends])


def _end_text(analysis: Analysis, node_id: str) -> str:
    shape = analysis.info(node_id).out_shape
    return f"{node_id} ({shape_text(shape) if shape is not None else '?'})"


def _ends_json(analysis: Analysis, ids: list[str]) -> list[dict]:
    """The module's arguments or results in order: id, shape and dtype of each."""
    return [{"id": i, "shape": list(s) if (s := analysis.info(i).out_shape) is not None else None,
             "dtype": analysis.info(i).dtype} for i in ids]


def summary_json(graph: Graph, analysis: Analysis) -> dict:
    nodes = []
    for node in graph:
        info = analysis.info(node.id)
        field = None
        if info.field:
            field = {"size": [a.size for a in info.field], "jump": [a.jump for a in info.field],
                     "start": [a.start for a in info.field]}
        nodes.append({"id": node.id, "type": node.type,
                      "output_shape": list(info.out_shape) if info.out_shape is not None else None,
                      "output_shapes": [list(s) for s in info.out_shapes] if info.out_shapes else None,
                      "params": info.params, "macs": info.macs, "receptive_field": field})

    def entries(diagnostics):
        return [{"node": d.node, "message": d.message, "fix": d.fix.label if d.fix else None}
                for d in diagnostics]

    return {"name": graph.name, "inputs": _ends_json(analysis, analysis.input_ids),
            "outputs": _ends_json(analysis, analysis.output_ids), "nodes": nodes,
            "total_params": analysis.total_params,
            "total_macs": analysis.total_macs, "errors": entries(analysis.errors),
            "warnings": entries(analysis.warnings)}


def print_text(text: str) -> None:
    """Print what stdout cannot encode as backslash escapes: a graph's name may hold a lone
    surrogate (``"\\ud800"`` is valid JSON), which would otherwise end the command mid-table."""
    encoding = sys.stdout.encoding or "utf-8"
    print(text.encode(encoding, "backslashreplace").decode(encoding))


def cmd_summary(args: argparse.Namespace) -> int:
    graph = load_graph_argument(args.file)
    analysis = analyze(graph)
    shown_graph, shown = graph, analysis
    if args.expand:  # every layer inside the block uses, by path (layer1.conv2)
        shown_graph, shown = analysis.compiled().graph, analysis.compiled()
    if args.json:
        print_text(json.dumps(summary_json(shown_graph, shown), indent=2, ensure_ascii=False))
    else:
        print_text(summary_table(shown_graph, shown))
        for diagnostic in analysis.diagnostics:
            print_text(f"{diagnostic.severity}: {diagnostic}")
    return EXIT_GRAPH_ERRORS if analysis.errors else EXIT_OK


def cmd_templates(args: argparse.Namespace) -> int:
    for template in list_templates():
        default = " (default)" if template.key == DEFAULT_TEMPLATE else ""
        print(f"{template.key:16} {template.name}{default}: {template.description}")
    return EXIT_OK


def layer_table() -> str:
    """The registry as a Markdown table: what the palette offers and what each type takes."""
    lines = ["| category | layer | parameters (default) | what it does |", "|---|---|---|---|"]
    for spec in layer_types():
        params = ", ".join(f"`{p.name}`={json.dumps(p.default)}" for p in spec.params) or "-"
        lines.append(f"| {spec.category} | {spec.type} | {params} | {spec.help} |")
    return "\n".join(lines)


def cmd_layers(args: argparse.Namespace) -> int:
    print(layer_table())
    return EXIT_OK


def window_size(text: str) -> tuple[int, int]:
    """``"1600x1000"`` -> (1600, 1000); ValueError naming the limits: Qt ignores a size of 0
    and crashes rendering one of 100000×100000, so only sizes a screen could show pass."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must be WxH, e.g. 1600x1000, got {text!r}") from None
    low, high = WINDOW_SIZES
    if not (low <= width <= high and low <= height <= high):
        raise ValueError(f"--size must be {low}..{high} pixels each way, got {width}x{height}")
    return width, height


def cmd_gui(args: argparse.Namespace) -> int:
    from app.gui import run_gui

    try:
        size = window_size(args.size)
    except ValueError as error:
        print(f"rosenblatt gui: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if (args.panel or args.train_epochs) and not args.screenshot:
        print("rosenblatt gui: --panel and --train-epochs go with --screenshot", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.train_epochs is not None and not 1 <= args.train_epochs <= MAX_EPOCHS:
        print(f"rosenblatt gui: --train-epochs must be 1..{MAX_EPOCHS:,}, got {args.train_epochs}", file=sys.stderr)
        return EXIT_UNREADABLE
    return run_gui(args.file, args.screenshot, size, panel=args.panel,
                   train_epochs=args.train_epochs, dataset=args.dataset)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line on stderr (``rosenblatt train: argument
    --epochs: invalid int value: 'x' (see rosenblatt train --help)``) and exit status 2, as every
    other refusal; argparse would print the usage first. Sub-commands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(EXIT_UNREADABLE, f"{self.prog}: {text} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="rosenblatt", description="Design, train and understand neural networks visually.")
    sub = parser.add_subparsers(dest="command")
    file_help = "graph file (.json), or template:KEY for a shipped template; default: the digits CNN"

    summary = sub.add_parser("summary", help="per-node shapes, parameters, MACs, receptive fields, "
                                             "and diagnostics")
    summary.add_argument("file", nargs="?", help=file_help)
    summary.add_argument("--json", action="store_true", help="machine-readable output")
    summary.add_argument("--expand", action="store_true",
                         help="list the layers inside block uses (by path) instead of one row per use")
    summary.set_defaults(run=cmd_summary)

    interop_cli.register(sub, file_help)

    templates = sub.add_parser("templates", help="list the shipped templates")
    templates.set_defaults(run=cmd_templates)

    layers = sub.add_parser("layers", help="the layer types and their parameters (Markdown)")
    layers.set_defaults(run=cmd_layers)

    train_cli.register(sub, file_help)
    sweep_cli.register(sub, file_help)
    lessons_cli.register(sub)

    gui = sub.add_parser("gui", help="open the editor (the default command)")
    gui.add_argument("file", nargs="?", help="graph file to open; default: the digits CNN template")
    gui.add_argument("--screenshot", metavar="OUT.png", help="render the window offscreen to a PNG and exit")
    gui.add_argument("--size", default="1600x1000", help="window size for --screenshot, WxH")
    gui.add_argument("--panel", choices=["training", "curves", "activations", "filters", "patches", "health",
                                         "evaluation", "text", "encoder", "boundary"],
                     help="with --screenshot: bring this panel to the front")
    gui.add_argument("--train-epochs", type=int, metavar="N",
                     help="with --screenshot: train N epochs offscreen first, then render")
    gui.add_argument("--dataset", help="with --train-epochs: dataset to train on (default: the graph's)")
    gui.set_defaults(run=cmd_gui)
    return parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._subparsers._group_actions for name in action.choices}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in _commands(parser):
        argv.insert(0, "gui")  # `rosenblatt FILE.json` opens the file in the editor
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui"])
    try:
        return args.run(args)
    except GraphFileError as error:
        print(f"rosenblatt {args.command}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE


if __name__ == "__main__":
    sys.exit(main())
