"""``rosenblatt export`` (python, onnx, torchscript) and ``rosenblatt import``: thin wrappers
over ``graph_engine.interop`` that turn its errors into one-line messages and exit codes.

Exit status: 0 done; 1 the graph has errors (export) or the model has calls with no layer
type (import); 2 a file, run folder, module or optional package is missing or unreadable,
or ``-o`` would write over an input, a run's checkpoint or (without ``--force``) any file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graph_engine.interop.isolated import DEFAULT_TIMEOUT

# The exporters, importer and overwrite checks load torch: each command imports them when
# it runs, so registering the commands (every ``rosenblatt`` start) stays light (issue 18).

EXIT_OK, EXIT_GRAPH_ERRORS, EXIT_UNREADABLE = 0, 1, 2
FORMATS = ("python", "onnx", "torchscript")


def _fail(command: str, message: str, code: int = EXIT_UNREADABLE) -> int:
    print(f"rosenblatt {command}: {message}", file=sys.stderr)
    return code


def refuse_overwrite(command: str, files: list[Path], inputs: list[str | None], run_dirs: list[str | None],
                     force: bool) -> int | None:
    """The exit status when ``files`` would destroy an input, a checkpoint or, without
    ``--force``, an existing file; None when writing them is fine."""
    from graph_engine.interop import InteropError
    from graph_engine.interop.overwrite import check_targets, existing

    try:
        check_targets(files, inputs, run_dirs)
    except InteropError as error:  # OverwriteRefused, or a name the file system refuses
        return _fail(command, str(error))
    there = existing(files)
    if there and not force:
        return _fail(command, f"{there[0]} exists; add --force to overwrite it")
    return None


def cmd_export(args: argparse.Namespace) -> int:
    from app.graph_source import graph_file, load_graph_argument
    from graph_engine import CompileError, analyze
    from graph_engine.interop import InteropError, export_onnx, export_python, export_torchscript
    from graph_engine.interop.overwrite import export_files

    if args.with_training and args.to != "python":
        return _fail("export", "--with-training goes with --to python")
    files = export_files(args.to, args.output, args.weights, args.with_training)
    weights_is_file = args.weights is not None and Path(args.weights).is_file()
    refused = refuse_overwrite("export", files, [graph_file(args.file), args.weights if weights_is_file else None],
                               [None if weights_is_file else args.weights], args.force)
    if refused is not None:
        return refused
    graph = load_graph_argument(args.file)
    try:
        if args.to == "onnx":
            result = export_onnx(graph, args.output, args.weights)
            given = ", ".join(f"'{n}' {d}" for n, d in zip(result.input_names, result.input_dtypes))
            returned = ", ".join(f"'{n}'" for n in result.output_names)
            done = (f"wrote {result.path} (ONNX, {result.exporter} exporter; input{'s' if len(result.input_names) > 1 else ''} "
                    f"{given}, output{'s' if len(result.output_names) > 1 else ''} {returned}, dynamic batch)")
        elif args.to == "torchscript":
            result = export_torchscript(graph, args.output, args.weights)
            how = ("torch.jit.script" if result.method == "script" else
                   f"torch.jit.trace, as torch.jit.script refused: {result.script_refusal}")
            done = f"wrote {result.path} (TorchScript via {how})"
        else:
            result = export_python(graph, args.output, args.weights, args.with_training)
            done = "wrote " + ", ".join(str(p) for p in result.files)
    except CompileError as error:
        for diagnostic in analyze(graph).errors:
            print(f"{diagnostic.node or 'graph'}: {diagnostic.message}", file=sys.stderr)
        return _fail("export", str(error), EXIT_GRAPH_ERRORS)
    except InteropError as error:
        return _fail("export", str(error))
    except OSError as error:
        return _fail("export", f"cannot write {args.output}: {error.strerror or error}")
    print(done)
    return EXIT_OK


def _shape(text: str) -> list[int]:
    try:
        shape = [int(part) for part in text.replace("x", ",").replace("×", ",").split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 3,32,32, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 3,32,32, got {text!r}")
    return shape


def _model_file(target: str) -> str | None:
    """The .py file ``path/to/file.py:Class`` reads (never written over)."""
    module = target.rpartition(":")[0]
    return module if module.endswith(".py") else None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def cmd_import(args: argparse.Namespace) -> int:
    from graph_engine import save_graph
    from graph_engine.interop import InteropError, UnsupportedModel, save_safetensors
    from graph_engine.interop.isolated import import_isolated

    files = [Path(p) for p in (args.output, args.weights) if p]
    refused = refuse_overwrite("import", files, [_model_file(args.target)], [], args.force)
    if refused is not None:
        return refused
    try:
        imported = import_isolated(args.target, args.input_shape, args.input_dtype, args.name, args.timeout,
                                   nested=not args.flat)
    except UnsupportedModel as error:
        count = len(error.problems)
        print(f"rosenblatt import: {error.model}: {count} call{'s' if count != 1 else ''} "
              "cannot become a layer:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    except InteropError as error:
        return _fail("import", str(error))
    for path, write in ((args.output, lambda: save_graph(imported.graph, args.output)),
                        (args.weights, lambda: save_safetensors(args.weights, imported.state,
                                                                {"graph": imported.graph.name}))):
        try:
            if path:
                write()
        except OSError as error:
            return _fail("import", f"cannot write {path}: {error.strerror or error}")
    graph = imported.graph
    weights = f" and {args.weights}" if args.weights else ""
    blocks = f" ({len(graph.blocks)} block definitions: {', '.join(graph.blocks)})" if graph.blocks else ""
    print(f"wrote {args.output}{weights}: {graph.name}, {len(graph)} nodes{blocks}; outputs match the model "
          f"(largest difference {imported.max_difference:.2g} in float64)")
    return EXIT_OK


def register(sub: argparse._SubParsersAction, file_help: str) -> None:
    """Add ``export`` and ``import`` to the main parser."""
    export = sub.add_parser("export", help="write the graph as Python, ONNX or TorchScript")
    export.add_argument("file", help=file_help)
    export.add_argument("--to", choices=FORMATS, default="python", help="output format (default python)")
    export.add_argument("-o", "--output", required=True, help="file to write")
    export.add_argument("--weights", metavar="RUN_DIR|FILE",
                        help="include trained weights: a run folder (its best checkpoint, else the last) "
                             "or a .safetensors file (a checkpoint, or what import --weights wrote)")
    export.add_argument("--with-training", action="store_true",
                        help="with --to python: also write a standalone train.py beside it")
    export.add_argument("--force", action="store_true",
                        help="overwrite existing files (never the graph file, the run folder or a checkpoint)")
    export.set_defaults(run=cmd_export)

    imports = sub.add_parser("import", help="turn a PyTorch nn.Module into a graph file (torch.fx)")
    imports.add_argument("target", metavar="module:ClassOrFactory",
                         help="e.g. mymodels:ResNet or path/to/file.py:make_model "
                              "(the current folder is on the import path)")
    imports.add_argument("-o", "--output", required=True, help="graph file to write (.json)")
    imports.add_argument("--input-shape", required=True, type=_shape, metavar="C,H,W",
                         help="one sample's shape without the batch, e.g. 3,32,32 or 64")
    imports.add_argument("--input-dtype", choices=("float32", "int64"), default="float32",
                         help="int64 for token indices (models starting with an Embedding)")
    imports.add_argument("--weights", metavar="OUT.safetensors",
                         help="also write the model's weights, keyed by the graph's node ids")
    imports.add_argument("--name", help="graph name (default: the class name)")
    imports.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                         help=f"stop an import that takes longer (default {DEFAULT_TIMEOUT:g})")
    imports.add_argument("--force", action="store_true", help="overwrite existing files (never the model's .py)")
    imports.add_argument("--flat", action="store_true",
                         help="one layer per call, no blocks (default: each module class a block definition)")
    imports.set_defaults(run=cmd_import)

