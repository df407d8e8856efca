"""Import an existing PyTorch model as a graph: trace it with torch.fx, map every call to a
layer type, lay the graph out, carry the weights over, and check the outputs agree.

Node ids come from the model's attribute names (``layer1.0.conv1`` -> ``layer1_0_conv1``),
so the imported graph's compiled module names its weights after the model's own modules.
The import is refused, with every offending call listed with its file and line, when some
call has no layer type; and it is refused when the compiled graph does not compute what the
model computes (in float64, on a random input), so an import never silently changes a model.

Memory: the imported weights are the model's own tensors (no copy), the compiled graph of
the check is built on the meta device and takes those tensors, and the float64 check converts
one module's weights at a time, while it runs: an import holds about the model's size plus
its largest layer in float64, not copies of every tensor.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import keyword
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn import functional as F

from graph_engine.analysis import analyze
from graph_engine.compiler import compile_graph
from graph_engine.interop.errors import InteropError, UnsupportedModel, one_line, reason
from graph_engine.interop.hierarchy import nest
from graph_engine.interop.fx_walk import FxWalk, fetch
from graph_engine.interop.weights import check_fit, load_into
from graph_engine.layout import layered_layout
from graph_engine.model import Edge, Graph, GraphError, Node

#: the batch size of the traced example: not 1, so reshapes that fold the batch show up
BATCH = 2
TOLERANCE = 1e-6
#: values in one sample of the example input (BATCH of them are allocated): 3×2048×2048 fits
MAX_INPUT_VALUES = 1 << 24


@dataclass
class ImportedModel:
    graph: Graph
    #: weights keyed like ``compile_graph(graph).state_dict()``: the model's own tensors (on
    #: the CPU, detached; the same memory as a CPU model's: clone them to change one alone)
    state: dict[str, torch.Tensor]
    #: largest |difference| between the model's and the graph's outputs (float64, random input)
    max_difference: float


def load_target(spec: str) -> nn.Module:
    """``module:Class``, ``module:factory`` or ``path/to/file.py:Class`` -> an instance."""
    module_part, sep, attribute = spec.rpartition(":")
    if not sep or not module_part or not attribute:
        raise InteropError(f"{spec}: expected module:ClassOrFactory or path/to/file.py:ClassOrFactory")
    module = _import(spec, module_part)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InteropError(f"{spec}: {module_part} has no attribute {attribute!r}")
        target = getattr(target, part)
    if isinstance(target, nn.Module):
        return target
    if not callable(target):
        raise InteropError(f"{spec}: {attribute} is neither an nn.Module class nor a factory function")
    try:
        model = target()
    except Exception as error:  # noqa: BLE001 (the user's code: any failure is reported)
        raise InteropError(f"{spec}: {attribute}() failed: {one_line(error)}") from None
    if not isinstance(model, nn.Module):
        raise InteropError(f"{spec}: {attribute}() returned a {type(model).__name__}, not an nn.Module")
    return model


def _import(spec: str, module_part: str):
    """Import a module by name (the current folder first on the path) or from a .py file."""
    is_file = module_part.endswith(".py") or "/" in module_part or os.sep in module_part
    folder = str(Path(module_part).resolve().parent) if is_file else os.getcwd()
    sys.path.insert(0, folder)
    try:
        if not is_file:
            return importlib.import_module(module_part)
        path = Path(module_part)
        if not path.is_file():
            raise InteropError(f"{spec}: no such file {module_part}")
        # a private name: a file called json.py must not replace the json module; executed
        # afresh each time, so an import after editing the file sees the edit
        name = f"_rosenblatt_import_{path.stem}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module  # dataclasses and typing look their module up while it runs
        loader_spec.loader.exec_module(module)
        return module
    except InteropError:
        raise
    except Exception as error:  # noqa: BLE001
        raise InteropError(f"{spec}: importing {module_part} failed: {one_line(error)}") from None
    finally:
        sys.path.remove(folder)


def _example(model: nn.Module, input_shape: Sequence[int], input_dtype: str, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (BATCH, *input_shape)
    if input_dtype == "int64":
        sizes = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
        return torch.randint(0, min(sizes, default=2), shape, generator=generator)
    return torch.randn(shape, generator=generator)


def _writable(target: str) -> bool:
    """Can fx write ``self.<target>`` as Python? A submodule called ``class`` (a keyword) or
    ``a"b`` makes its generated code a SyntaxError."""
    return all((part.isidentifier() and not keyword.iskeyword(part)) or part.isdigit()
               for part in target.split("."))


def _safe_attributes(graph: fx.Graph, root: nn.Module) -> tuple[dict[str, Any], dict[str, str]]:
    """What the traced code reads of the model, by names fx can write, and each renamed
    target's own name (node ids and messages use the model's names; weights go with the module)."""
    attributes: dict[str, Any] = {}
    names: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for node in graph.nodes:
        if node.op not in ("call_module", "get_attr"):
            continue
        own = str(node.target)
        if not _writable(own):
            node.target = renamed.setdefault(own, f"_rosenblatt_renamed_{len(renamed)}")
            names[node.target] = own
        attributes[str(node.target)] = fetch(root, own)
    return attributes, names


def _trace(model: nn.Module, name: str) -> tuple[fx.GraphModule, dict[str, str]]:
    """The traced module and its renamed targets (fx target -> the model's attribute name)."""
    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(model)
    except Exception as error:  # noqa: BLE001 (data-dependent control flow and the like)
        raise InteropError(f"{name}: torch.fx cannot trace it: {reason(error)}") from None
    attributes, names = _safe_attributes(graph, tracer.root)
    traced = fx.GraphModule(attributes, graph, name)
    traced.graph.eliminate_dead_code()
    traced.recompile()
    return traced, names


def _propagate(traced: fx.GraphModule, example: torch.Tensor, name: str, what: str) -> None:
    """Record every value's shape; a refusal is one line (ShapeProp prints the traceback it
    re-raises as "ShapeProp error for: <the node's metadata>", so its cause is reported)."""
    try:
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(traced).propagate(example)
    except Exception as error:  # noqa: BLE001 (a shape the model does not accept)
        cause = error.__context__ if str(error).startswith("ShapeProp error") and error.__context__ else error
        raise InteropError(f"{name}: running it on an input of {what} failed: {reason(cause)}") from None


def _build(walk: FxWalk, name: str) -> Graph:
    graph = Graph(name)
    problems = []
    for pending in walk.pending.values():
        try:
            graph.add_node(Node(pending.id, pending.type, dict(pending.params)))
        except GraphError as error:
            problems.append(str(error))
    if problems:
        raise UnsupportedModel(name, problems)
    for pending in walk.pending.values():
        for port, source in enumerate(pending.inputs):
            node, output = (source, 0) if isinstance(source, str) else source
            graph.add_edge(Edge(node, pending.id, port, output))
    errors = analyze(graph).errors
    if errors:
        raise UnsupportedModel(name, [f"node '{d.node}' ({graph.node(d.node).type}): {d.message}"
                                      if d.node in graph else d.message for d in errors])
    for node_id, position in layered_layout(graph).items():
        graph.move_node(node_id, position)
    return graph


def _nested_or_flat(walk: FxWalk, name: str, flat: Graph, paths: dict[str, str]) -> tuple[Graph, dict[str, str]]:
    """The graph with its modules as blocks; the flat one where grouping them fails (a module
    whose calls interleave with others' would make a cycle): the import never fails for it."""
    try:
        nested, nested_paths = nest(_build(walk, name), {p.id: p.scope for p in walk.pending.values()},
                                    walk.leaf_paths)
    except (GraphError, ValueError, KeyError):  # BlockError and ParamError are ValueErrors
        return flat, paths
    return (nested, nested_paths) if analyze(nested).ok else (flat, paths)


def compiled_with(graph: Graph, state: dict[str, torch.Tensor]) -> nn.Module:
    """The compiled graph holding ``state``'s tensors themselves: built on the meta device (no
    weights of its own are allocated), then given the tensors (``assign``)."""
    with torch.device("meta"):
        compiled = compile_graph(graph, device="meta")
    check_fit(compiled, state, graph.name)
    compiled.load_state_dict(state, assign=True)
    if any(t.is_meta for t in (*compiled.parameters(), *compiled.buffers())):  # tensors outside the state
        compiled = compile_graph(graph, device="cpu")
        load_into(compiled, state, graph.name)
    return compiled


def _atomic(module: nn.Module) -> bool:
    """A torch.nn layer: its forward may read its children's tensors (MultiheadAttention's
    out_proj) without calling them."""
    return type(module).__module__.startswith("torch.nn.") and not isinstance(
        module, (nn.Sequential, nn.ModuleList, nn.ModuleDict))


#: bytes of float64 weights one layer may convert at once; a larger Linear or Conv computes its
#: outputs in slices of this size (VGG16's first Linear would take 822 MB at once)
SLICE_BYTES = 32 << 20
_CONVS = (nn.Conv1d, nn.Conv2d)


def _lean_forward(module: nn.Module):
    """The forward of a Linear or Conv for the float64 check, in less memory than torch's: a
    weight over SLICE_BYTES in float64 is used a slice of rows at a time, and a Conv runs one
    sample at a time (torch's float64 convolution unfolds its whole input: half a gigabyte for
    VGG16's second layer at batch 2). Each output is computed as torch computes it."""
    weight, bias = module.weight, module.bias
    conv = isinstance(module, _CONVS)
    big = weight.numel() * 8 > SLICE_BYTES and not (conv and module.groups != 1)
    rows = max(1, SLICE_BYTES // (8 * max(1, weight[0].numel()))) if big else weight.shape[0]

    def piece(x, start: int):
        w = weight[start:start + rows].double()
        b = bias[start:start + rows].double() if bias is not None else None
        return module._conv_forward(x, w, b) if conv else F.linear(x, w, b)

    def sliced(x):  # each slice's float64 weights are freed before the next is made
        return torch.cat([piece(x, start) for start in range(0, weight.shape[0], rows)], dim=1 if conv else -1)

    def forward(x):
        if not conv or x.dim() == weight.dim() - 1:  # a Linear, or an unbatched input
            return sliced(x)
        return torch.cat([sliced(x[i:i + 1]) for i in range(x.shape[0])])

    return forward


def _lean(module: nn.Module) -> bool:
    """Does the float64 check run this module with :func:`_lean_forward`?"""
    if type(module) not in (nn.Linear, *_CONVS) or not module.weight.is_floating_point():
        return False
    return type(module) is not nn.Linear and module.padding_mode == "zeros" \
        or module.weight.numel() * 8 > SLICE_BYTES


def direct_readers(traced: fx.GraphModule, names: dict[str, str]) -> set[str]:
    """The modules whose forward reads a child's tensor without calling the child
    (torchvision's window attention passes ``self.qkv.weight`` to a function): by path."""
    readers = set()
    for node in traced.graph.nodes:
        if node.op != "get_attr":
            continue
        owner = names.get(str(node.target), str(node.target)).rpartition(".")[0]
        for user in node.users:
            stack = user.meta.get("nn_module_stack") or {}
            path = str(list(stack.values())[-1][0]) if stack else ""
            if path and owner.startswith(path + "."):
                readers.add(path)
    return readers


@contextlib.contextmanager
def _float64_while_running(root: nn.Module, readers: set[str] = frozenset()):
    """Each module's floating tensors are float64 while its forward runs (a torch.nn layer's
    with its children's), and the very same float32 tensors again after: one layer's weights
    in float64 at a time (a Linear or Conv as :func:`_lean_forward` runs it), not a float64 copy
    of the model. A tensor that a module reads without calling its owner stays as it is (torch
    promotes it exactly, or refuses: see the caller)."""
    depth: dict[int, int] = {}
    saved: dict[int, list] = {}
    lean = [module for module in root.modules() if _lean(module)]
    skip = {id(module) for module in lean}
    # a module that reads its children's tensors converts them with its own
    whole = {id(root.get_submodule(path)) for path in readers}

    def convert(module, _args):
        key = id(module)
        depth[key] = depth.get(key, 0) + 1
        if depth[key] > 1 or key in skip:
            return
        undo: list = []
        for owner in (module.modules() if _atomic(module) or key in whole else (module,)):
            for name, tensor in owner._parameters.items():
                if tensor is not None and tensor.is_floating_point() and tensor.dtype != torch.float64:
                    undo.append((tensor, None, tensor.data))
                    tensor.data = tensor.data.double()
            for name, tensor in owner._buffers.items():
                if tensor is not None and tensor.is_floating_point() and tensor.dtype != torch.float64:
                    undo.append((owner, name, tensor))
                    owner._buffers[name] = tensor.double()
        saved[key] = undo

    def restore(module, _args, _output):
        key = id(module)
        depth[key] -= 1
        if depth[key] or key in skip:
            return
        for target, name, original in reversed(saved.pop(key)):
            if name is None:
                target.data = original
            else:
                target._buffers[name] = original

    handles = []
    try:
        for module in lean:
            module.forward = _lean_forward(module)
        for module in root.modules():
            handles.append(module.register_forward_pre_hook(convert))
            handles.append(module.register_forward_hook(restore, always_call=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for module in lean:
            module.__dict__.pop("forward", None)


@contextlib.contextmanager
def _float64_whole(*modules: nn.Module):
    """Every floating tensor of ``modules`` float64 for the block, the same tensors after."""
    undo: list = []
    try:
        for root in modules:
            for owner in root.modules():
                for tensor in owner._parameters.values():
                    if tensor is not None and tensor.is_floating_point() and tensor.dtype != torch.float64:
                        undo.append((tensor, None, tensor.data))
                        tensor.data = tensor.data.double()
                for name, tensor in owner._buffers.items():
                    if tensor is not None and tensor.is_floating_point() and tensor.dtype != torch.float64:
                        undo.append((owner, name, tensor))
                        owner._buffers[name] = tensor.double()
        yield
    finally:
        for target, name, original in reversed(undo):
            if name is None:
                target.data = original
            else:
                target._buffers[name] = original


def _tensors(value: Any) -> list[torch.Tensor] | None:
    """A forward's result as a list of tensors (a dict's values, a namedtuple's fields), or None."""
    if isinstance(value, torch.Tensor):
        return [value]
    items = list(value.values()) if isinstance(value, dict) else list(value) \
        if isinstance(value, (tuple, list)) else None
    return items if items is not None and all(isinstance(v, torch.Tensor) for v in items) else None


def _run_both(model: nn.Module, compiled: nn.Module, example: torch.Tensor, readers: set[str] = frozenset()):
    """Both outputs in float64 where the model allows it (one module's weights converted at a
    time, else all at once), else in the model's own dtype."""
    with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):  # fx prints what it re-raises
        wide = example.double() if example.is_floating_point() else example
        try:
            with _float64_while_running(model, readers), _float64_while_running(compiled):
                return model(wide), compiled(wide)
        except Exception:  # noqa: BLE001 (a module reading another's weights without calling it)
            pass
        try:
            with _float64_whole(model, compiled):
                return model(wide), compiled(wide)
        except Exception:  # noqa: BLE001 (e.g. a model that only runs in float32)
            pass
        return model(example), compiled(example)


def _difference(model: nn.Module, graph: Graph, state: dict[str, torch.Tensor],
                example: torch.Tensor, readers: set[str] = frozenset()) -> float:
    """Largest |model(x) - graph(x)| in float64 over every output (the model is left as it was)."""
    compiled = compiled_with(graph, state)
    compiled.eval()
    try:
        expected, got = _run_both(model, compiled, example, readers)
    except Exception as error:  # noqa: BLE001
        raise InteropError(f"{graph.name}: comparing the graph's outputs with the model's failed: "
                           f"{reason(error)}") from None
    expected, got = _tensors(expected), _tensors(got)
    if expected is None or got is None or len(expected) != len(got) \
            or any(e.shape != g.shape for e, g in zip(expected, got)):
        return math.inf
    return max((float((e.double() - g.double()).abs().max()) if e.numel() else 0.0
                for e, g in zip(expected, got)), default=0.0)


def _checked_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """1 to 4 positive sizes whose example input can be allocated (10¹¹ values cannot)."""
    shape = tuple(int(d) for d in input_shape)
    if not 1 <= len(shape) <= 4 or min(shape) < 1:
        raise InteropError(f"input shape must be 1 to 4 positive sizes without the batch, got {list(shape)}")
    values = math.prod(shape)
    if values > MAX_INPUT_VALUES:
        raise InteropError(f"input shape {list(shape)} has {values:,} values per sample; the import takes "
                           f"at most {MAX_INPUT_VALUES:,}")
    return shape


def import_module_object(model: nn.Module, input_shape: Sequence[int], input_dtype: str = "float32",
                         name: str | None = None, nested: bool = False) -> ImportedModel:
    """Import an ``nn.Module`` instance; see :func:`import_model`. ``nested``: module
    instances become block uses (:mod:`graph_engine.interop.hierarchy`)."""
    if input_dtype not in ("float32", "int64"):
        raise InteropError(f"input dtype must be float32 or int64, got {input_dtype!r}")
    shape = _checked_shape(input_shape)
    name = name or type(model).__name__
    model.eval()
    traced, names = _trace(model, name)
    example = _example(model, shape, input_dtype)
    _propagate(traced, example, name, f"shape {list(shape)} ({input_dtype})")
    walk = FxWalk(traced, traced, shape, input_dtype, BATCH, names)
    walk.run()
    if walk.problems:
        raise UnsupportedModel(name, walk.problems)
    graph = _build(walk, name)
    paths = {p.id: p.id for p in walk.pending.values()}
    if nested:
        graph, paths = _nested_or_flat(walk, name, graph, paths)
    state = {f"{paths[p.id]}.{key}" if key else paths[p.id]: value.detach().to("cpu")
             for p in walk.pending.values() for key, value in p.weights.items()}
    difference = _difference(model, graph, state, example, direct_readers(traced, names))
    if not difference <= TOLERANCE:
        raise InteropError(f"{name}: the imported graph computes something other than the model "
                           f"(outputs differ by {difference:.3g}); please report this model")
    return ImportedModel(graph, state, difference)


def import_model(spec: str, input_shape: Sequence[int], input_dtype: str = "float32",
                 name: str | None = None, nested: bool = False) -> ImportedModel:
    """Import ``module:ClassOrFactory`` (or ``path/to/file.py:ClassOrFactory``) as a graph.

    The class is instantiated with no arguments (or the factory called), traced with
    ``torch.fx`` on an input of ``input_shape`` (no batch) and ``input_dtype``, and every call
    mapped to a layer type. Raises UnsupportedModel listing each call that has none, and
    InteropError for a target that cannot be loaded, traced or run.
    """
    return import_module_object(load_target(spec), input_shape, input_dtype, name, nested)
