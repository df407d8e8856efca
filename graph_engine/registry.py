"""The layer registry: one :class:`LayerSpec` declaration per layer type.

Everything that knows about a layer type reads it from here: the palette and
inspector (category, help, params), validation and shape inference (ports, shape
rule, dtype), analysis (parameter and MAC counts, receptive-field rule), the
compiler and the code exporter (module constructor and forward expression).
Adding a layer type means adding one declaration in ``graph_engine/layers/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from graph_engine.params import ParamSpec

Shape = tuple[int, ...]
Params = dict[str, Any]

#: Palette categories, in display order.
CATEGORIES = (
    "Input/Output",
    "Convolution",
    "Pooling",
    "Dense",
    "Recurrent",
    "Attention",
    "Merge / skip",
    "Activation",
    "Normalization & regularization",
    "Reshape",
    "Tensor ops",
)


@dataclass(frozen=True)
class Fix:
    """A suggested repair: insert ``layer_type`` on the edge into input ``port``.

    The analysis fills in ``node_id``; the editor applies it as one command.
    """

    label: str
    layer_type: str
    params: Params = field(default_factory=dict)
    port: int = 0
    node_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "action": "insert", "layer_type": self.layer_type,
                "params": dict(self.params), "node": self.node_id, "port": self.port}


class ShapeError(Exception):
    """Raised by a shape rule: the inputs do not fit this layer."""

    def __init__(self, message: str, fix: Fix | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class ModuleCall:
    """A torch.nn constructor call: builds the module and prints as code."""

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def build(self):
        from torch import nn

        return getattr(nn, self.cls)(*self.args, **dict(self.kwargs))

    def code(self) -> str:
        from graph_engine.source_text import py_identifier, py_literal

        parts = [py_literal(a) for a in self.args]
        parts += [f"{py_identifier(k)}={py_literal(v)}" for k, v in self.kwargs]
        return f"nn.{py_identifier(self.cls)}({', '.join(parts)})"


class Constructor(Protocol):
    """What a layer's ``module`` rule returns: a :class:`ModuleCall`, or another object that
    builds this node's torch object and prints as the code that builds it (a Parameter's
    ``nn.Parameter(torch.zeros(...))``)."""

    def build(self) -> Any: ...
    def code(self) -> str: ...


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def call(cls: str, *args: Any, **kwargs: Any) -> ModuleCall:
    """Shorthand for a :class:`ModuleCall`; keyword order is kept for readable code."""
    return ModuleCall(cls, tuple(args), tuple(kwargs.items()))


class Builder(Protocol):
    """What a layer's forward rule may emit. The compiler's builder makes torch.fx
    nodes, the code exporter's makes Python source; one rule serves both.

    ``module`` calls this node's module (``named_inputs`` are values passed by keyword);
    ``parameter`` reads this node's learned tensor ``self.<node id>`` (stored with a batch
    axis of 1 and ``rank`` sample axes) expanded over the batch of the value ``batch``."""

    def module(self, *inputs: Any, **named_inputs: Any) -> Any: ...
    def parameter(self, batch: Any, rank: int) -> Any: ...
    def function(self, path: str, *args: Any, **kwargs: Any) -> Any: ...
    def method(self, value: Any, name: str, *args: Any) -> Any: ...
    def add(self, left: Any, right: Any) -> Any: ...
    def cat(self, values: Sequence[Any], dim: int) -> Any: ...
    def getitem(self, value: Any, index: Any) -> Any: ...
    def pack(self, values: Sequence[Any]) -> Any: ...


ForwardRule = Callable[[Builder, list[Any], Params, list[Shape]], Any]


def module_forward(b: Builder, inputs: list[Any], params: Params, in_shapes: list[Shape]) -> Any:
    """The usual forward: call this node's module on its inputs."""
    return b.module(*inputs)


def function_forward(path: str, extra: Callable[[Params, list[Shape]], dict[str, Any]] | None = None
                     ) -> ForwardRule:
    """Forward of a parameter-free layer: one call of a torch function, e.g.
    ``torch.nn.functional.relu``. No module means no per-call module overhead; the
    keyword arguments come from the params (``extra``)."""

    def forward(b: Builder, inputs: list[Any], params: Params, in_shapes: list[Shape]) -> Any:
        return b.function(path, *inputs, **(extra(params, in_shapes) if extra else {}))

    return forward


def resolve_function(path: str) -> Callable[..., Any]:
    """``"torch.nn.functional.relu"`` -> the function (only torch's own are allowed)."""
    import importlib

    module_path, _, name = path.rpartition(".")
    if not (module_path == "torch" or module_path.startswith("torch.")):
        raise ValueError(f"not a torch function: {path}")
    return getattr(importlib.import_module(module_path), name)


def identity_forward(b: Builder, inputs: list[Any], params: Params, in_shapes: list[Shape]) -> Any:
    return inputs[0]


# -- receptive fields ---------------------------------------------------------------
@dataclass(frozen=True)
class AxisField:
    """Receptive field along one spatial axis, in input pixels (see design notes)."""

    size: float
    jump: float
    start: float


Field = tuple[AxisField, ...]
#: (kernel, stride, padding, dilation) per spatial axis.
Window = tuple[int, int, int, int]
FieldRule = Callable[[Params, list[Shape], list["Field | None"]], "Field | None"]


def pointwise_field(params: Params, in_shapes: list[Shape], fields: list[Field | None]) -> Field | None:
    """Elementwise layers see exactly what their input sees."""
    return fields[0] if fields else None


def no_field(params: Params, in_shapes: list[Shape], fields: list[Field | None]) -> Field | None:
    """Layers that mix every position (Linear, recurrent, flatten) have no spatial field."""
    return None


def merge_field(params: Params, in_shapes: list[Shape], fields: list[Field | None]) -> Field | None:
    """A merge sees the union of its inputs' fields."""
    known = [f for f in fields if f is not None]
    if len(known) != len(fields) or not known or len({len(f) for f in known}) != 1:
        return None
    axes = []
    for parts in zip(*known):
        lo = min(a.start - a.size / 2 for a in parts)
        hi = max(a.start + a.size / 2 for a in parts)
        axes.append(AxisField(size=hi - lo, jump=max(a.jump for a in parts), start=(lo + hi) / 2))
    return tuple(axes)


def window_field(windows: Callable[[Params, list[Shape]], list[Window]]) -> FieldRule:
    """Field rule of a sliding-window layer (convolution, pooling)."""

    def rule(params: Params, in_shapes: list[Shape], fields: list[Field | None]) -> Field | None:
        source = fields[0] if fields else None
        wins = windows(params, in_shapes)
        if source is None or len(source) != len(wins):
            return None
        out = []
        for axis, (k, s, p, d) in zip(source, wins):
            k_eff = d * (k - 1) + 1
            out.append(AxisField(size=axis.size + (k_eff - 1) * axis.jump,
                                 jump=axis.jump * s,
                                 start=axis.start + ((k_eff - 1) / 2 - p) * axis.jump))
        return tuple(out)

    return rule


def upsampling_field(factors: Callable[[Params, list[Shape]], list[tuple[int, int]]]) -> FieldRule:
    """Field rule of layers that upsample by ``scale`` then mix ``kernel`` neighbours.

    An output unit of a stride-s transposed convolution with kernel k depends on
    ceil(k/s) input positions; its jump is the input jump divided by s.
    """

    def rule(params: Params, in_shapes: list[Shape], fields: list[Field | None]) -> Field | None:
        source = fields[0] if fields else None
        scales = factors(params, in_shapes)
        if source is None or len(source) != len(scales):
            return None
        out = []
        for axis, (kernel, scale) in zip(source, scales):
            taps = -(-kernel // scale)
            out.append(AxisField(size=axis.size + (taps - 1) * axis.jump,
                                 jump=axis.jump / scale, start=axis.start))
        return tuple(out)

    return rule


def zero(params: Params, in_shapes: list[Shape], out_shape: Shape) -> int:
    return 0


CountRule = Callable[[Params, list[Shape], Shape], int]
ShapeRule = Callable[[Params, list[Shape]], Shape]


@dataclass(frozen=True)
class Port:
    """One named input or output of a layer. ``state`` ports carry a recurrent layer's
    hidden state; an ``optional`` input may stay unconnected."""

    name: str
    optional: bool = False
    state: bool = False


@dataclass(frozen=True)
class LayerSpec:
    """Everything the application knows about one layer type.

    Ports are data: ``input_ports`` names fixed inputs (``None``: ``inputs`` numbered
    ones, as a merge takes), ``output_ports`` the outputs. A layer with several outputs
    has a ``shape`` rule that returns one shape per output port and a ``forward`` rule
    that returns one value per output port.
    """

    type: str
    category: str
    help: str
    shape: ShapeRule
    params: tuple[ParamSpec, ...] = ()
    #: number of input ports: (minimum, maximum); maximum None means any number
    inputs: tuple[int, int | None] = (1, 1)
    has_output: bool = True
    #: named input ports (with ``inputs`` = (required, all)); None: ports 0, 1, ... unnamed
    input_ports: tuple[Port, ...] | None = None
    #: named output ports beyond the one default output
    output_ports: tuple[Port, ...] = (Port("out"),)
    #: how many of ``output_ports`` these params give (None: all), for a layer whose
    #: outputs a param counts (Chunk's ``chunks``): the ports declare the maximum
    output_count: Callable[[Params], int] | None = None
    param_count: CountRule = zero
    macs: CountRule = zero
    field: FieldRule = pointwise_field
    #: torch.nn constructor for this node, or None for layers with no module
    module: Callable[[Params, list[Shape]], Constructor] | None = None
    forward: ForwardRule = module_forward
    #: dtype the inputs must have: "float", "int64" or "any"
    input_dtype: str = "float"
    #: dtype of the output; None means "same as the first input"
    output_dtype: str | None = "float"
    #: params shown on the node's face in the editor
    key_params: tuple[str, ...] = ()
    #: "input" / "output" for the graph's boundary nodes, else None
    role: str | None = None
    #: extra advice on valid but doubtful settings: (params, in_shapes) -> messages
    warnings: Callable[[Params, list[Shape]], list[str]] | None = None
    #: for the health probes: a rectifier's exact zeros are dead units ...
    rectifier: bool = False
    #: ... and a squashing activation saturates near these bounds
    saturates: tuple[float, float] | None = None
    #: layers fed token indices: the number of distinct indices they accept
    token_limit: Callable[[Params], int] | None = None
    #: made by the engine (a block's boundary once expanded), never offered in the palette
    internal: bool = False

    def out_dtype(self, params: Params, in_dtypes: list[str]) -> str:
        """The dtype this node outputs ("float" or "int64")."""
        if self.role == "input":
            return "int64" if params.get("dtype") == "int64" else "float"
        if self.output_dtype is None:
            return in_dtypes[0] if in_dtypes else "float"
        return self.output_dtype

    def param(self, name: str) -> ParamSpec:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def variadic(self) -> bool:
        return self.inputs[1] is None

    @property
    def outputs(self) -> tuple[Port, ...]:
        """The output ports (none for the graph's Output)."""
        return self.output_ports if self.has_output else ()

    @property
    def multi_output(self) -> bool:
        return len(self.outputs) > 1

    def outputs_for(self, params: Params) -> tuple[Port, ...]:
        """The output ports a node with these params has (a prefix of :attr:`outputs`)."""
        if self.output_count is None:
            return self.outputs
        return self.outputs[:self.output_count(params)]

    def input_name(self, port: int) -> str:
        """``h0`` for a named port, else ``input port 2``: how messages and the canvas say it."""
        if self.input_ports is not None and 0 <= port < len(self.input_ports):
            return self.input_ports[port].name
        return f"input port {port}"

    def output_name(self, port: int) -> str:
        outputs = self.outputs
        return outputs[port].name if 0 <= port < len(outputs) else f"output {port}"


_REGISTRY: dict[str, LayerSpec] = {}


def register(spec: LayerSpec) -> LayerSpec:
    """Add a layer type. Raises if the name is taken or the category unknown."""
    if spec.type in _REGISTRY:
        raise ValueError(f"layer type {spec.type!r} is already registered")
    if spec.category not in CATEGORIES:
        raise ValueError(f"{spec.type}: unknown category {spec.category!r}")
    _REGISTRY[spec.type] = spec
    return spec


def _ensure_loaded() -> None:
    if not _REGISTRY:
        import graph_engine.layers  # noqa: F401  (registers the declarations)


def get_spec(type_name: str) -> LayerSpec | None:
    """The declaration of ``type_name``, or None for an unknown type."""
    _ensure_loaded()
    return _REGISTRY.get(type_name)


def layer_types() -> list[LayerSpec]:
    """All declarations, grouped by category in palette order."""
    _ensure_loaded()
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted((s for s in _REGISTRY.values() if not s.internal), key=lambda s: order[s.category])
