"""What a sweep varies and what it optimises, checked against the graph before any run.

A :class:`Variation` names a target and a domain:

- targets: ``NODE.type`` (swap the layer for another whose params fit), ``NODE.PARAM``
  (one of the node's params) or ``training.KEY`` (a training setting);
- domains: a list ``ReLU,Tanh,Sigmoid``; a range ``log:1e-4:1e-1`` or ``lin:16:128``
  (an optional fourth field, ``log:1e-4:1e-1:4``, gives the grid its number of points);
  a distribution ``uniform:0:0.5``, ``loguniform:1e-4:1e-1`` or ``int:16:128[:STEP]``,
  which only a search samples.

Every refusal is one line naming the variation (``act1.type=Linear: ...``).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

from graph_engine.analysis import analyze
from graph_engine.model import Graph, GraphError, Node
from graph_engine.params import ParamError
from graph_engine.registry import get_spec
from graph_engine.training.settings import TrainingSettings, settings_from_dict

RANGE_SCALES = ("log", "lin")
DISTRIBUTIONS = ("uniform", "loguniform", "int")
#: points a range gives a grid when it names no count
DEFAULT_GRID_POINTS = 3
#: short names of training settings in run names and comparisons
SHORT_SETTINGS = {"learning_rate": "lr"}
#: objectives that are not validation metrics, and the direction each is best in
MEASURES = {"params": "min", "macs": "min", "step_time": "min", "steps_per_s": "max", "wall_time": "min"}


class SpecError(ValueError):
    """A sweep specification that cannot be run (one line, naming what and where)."""


@dataclass(frozen=True)
class Domain:
    """The values a variation takes: ``choices``, or ``low``..``high`` on a scale."""

    kind: str  # "choice" | "range" | "distribution"
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False
    count: int | None = None
    step: int | None = None

    def grid_values(self) -> list[Any]:
        """The values a grid runs; a distribution has none (it is for sampling)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "distribution":
            raise SpecError("a distribution is sampled, not gridded: use --method search")
        count = self.count or DEFAULT_GRID_POINTS
        if count == 1:
            points = [self.low]
        elif self.log:
            ratio = math.log(self.high / self.low) / (count - 1)
            points = [self.low * math.exp(ratio * i) for i in range(count)]
        else:
            points = [self.low + (self.high - self.low) * i / (count - 1) for i in range(count)]
        if self.integer:
            return sorted({int(round(p)) for p in points})
        return [float(f"{p:.6g}") for p in points]

    def to_text(self) -> str:
        if self.kind == "choice":
            return ",".join(_plain_text(c) for c in self.choices)
        if self.kind == "range":
            count = f":{self.count}" if self.count else ""
            return f"{'log' if self.log else 'lin'}:{_plain_text(self.low)}:{_plain_text(self.high)}{count}"
        name = "int" if self.integer else ("loguniform" if self.log else "uniform")
        step = f":{self.step}" if self.step else ""
        return f"{name}:{_plain_text(self.low)}:{_plain_text(self.high)}{step}"


@dataclass(frozen=True)
class Variation:
    """One marked value: ``target`` (``act1.type``, ``fc1.out_features``, ``training.lr``...)."""

    target: str
    domain: Domain

    @property
    def is_setting(self) -> bool:
        return self.target.startswith("training.")

    @property
    def is_type(self) -> bool:
        return not self.is_setting and self.target.endswith(".type")

    @property
    def node_id(self) -> str:
        return self.target.rsplit(".", 1)[0]

    @property
    def key(self) -> str:
        return self.target.rsplit(".", 1)[1] if "." in self.target else self.target

    def short_name(self) -> str:
        """How run names and tables call it: ``act1``, ``fc1.out_features``, ``lr``."""
        if self.is_setting:
            return SHORT_SETTINGS.get(self.key, self.key)
        return self.node_id if self.is_type else self.target

    def to_text(self) -> str:
        return f"{self.target}={self.domain.to_text()}"


@dataclass(frozen=True)
class Objective:
    """``val.accuracy:max``, ``params:min``, ``macs:min``, ``step_time:min``."""

    name: str
    direction: str

    @classmethod
    def parse(cls, text: str) -> "Objective":
        name, _, direction = text.strip().partition(":")
        if name in MEASURES:
            direction = direction or MEASURES[name]
        elif not name.startswith("val.") or len(name) <= 4:
            raise SpecError(f"objective {text!r}: use val.METRIC (val.accuracy, val.loss...), "
                            f"or one of {', '.join(MEASURES)}")
        direction = direction or ("min" if name == "val.loss" else "max")
        if direction not in ("min", "max"):
            raise SpecError(f"objective {text!r}: the direction must be min or max")
        return cls(name, direction)

    @property
    def optuna_direction(self) -> str:
        return "maximize" if self.direction == "max" else "minimize"

    def to_text(self) -> str:
        return f"{self.name}:{self.direction}"


@dataclass(frozen=True)
class SweepSpec:
    """Everything a sweep needs besides the base graph (a spec file holds exactly this)."""

    variations: tuple[Variation, ...]
    objectives: tuple[Objective, ...] = (Objective("val.accuracy", "max"),)
    method: str = "grid"  # grid | search
    trials: int | None = None
    #: training settings every trial takes (e.g. fewer epochs than the graph's)
    settings: dict[str, Any] = field(default_factory=dict)
    prune: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"vary": [v.to_text() for v in self.variations],
                "objectives": [o.to_text() for o in self.objectives], "method": self.method,
                "trials": self.trials, "settings": dict(self.settings), "prune": self.prune}

    @classmethod
    def from_dict(cls, data: Any, graph: Graph) -> "SweepSpec":
        """A spec file's content, checked against ``graph`` (SpecError names the first problem)."""
        if not isinstance(data, dict):
            raise SpecError("a sweep spec must be a JSON object with a \"vary\" list")
        unknown = set(data) - {"vary", "objectives", "method", "trials", "settings", "prune"}
        if unknown:
            raise SpecError(f"sweep spec: unknown key {sorted(unknown)[0]!r}")
        vary = data.get("vary") or []
        if isinstance(vary, dict):
            vary = [f"{k}={v if isinstance(v, str) else ','.join(map(_plain_text, v))}"
                    for k, v in vary.items()]
        if not isinstance(vary, list) or not all(isinstance(v, str) for v in vary):
            raise SpecError("sweep spec: \"vary\" must be a list of TARGET=VALUES texts")
        objectives = data.get("objectives") or ["val.accuracy:max"]
        return build_spec(graph, vary, objectives, data.get("method"), data.get("trials"),
                          data.get("settings") or {}, bool(data.get("prune", True)))

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the variations' grid values, as ``{target: value}``."""
        axes = [[(v.target, value) for value in v.domain.grid_values()] for v in self.variations]
        return [dict(combo) for combo in itertools.product(*axes)]

    @property
    def trial_count(self) -> int:
        if self.method == "grid":
            size = len(self.grid())
            return min(size, self.trials) if self.trials else size
        return self.trials or 20


def _plain_text(value: Any) -> str:
    if isinstance(value, float):
        return format_number(value)
    return value if isinstance(value, str) else json.dumps(value)


def format_number(value: float) -> str:
    """``1e-3`` rather than ``0.001``; ``0.25`` as it is: short, and exact enough to tell apart."""
    if value == 0 or not math.isfinite(value):
        return str(value)
    if abs(value) <= 1e-2 or abs(value) >= 1e5:
        mantissa, exponent = f"{value:.2e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.4g}"


# -- parsing ---------------------------------------------------------------------------
def build_spec(graph: Graph, vary: list[str], objectives: list[str], method: str | None = None,
               trials: int | None = None, settings: dict[str, Any] | None = None,
               prune: bool = True) -> SweepSpec:
    """Parse and check ``--vary`` texts and ``--objective`` texts against ``graph``."""
    if not vary:
        raise SpecError("nothing to vary: give --vary TARGET=VALUES (e.g. act1.type=ReLU,Tanh)")
    variations = tuple(parse_variation(graph, text) for text in vary)
    targets = [v.target for v in variations]
    duplicate = next((t for t in targets if targets.count(t) > 1), None)
    if duplicate:
        raise SpecError(f"{duplicate} is varied twice")
    parsed = tuple(Objective.parse(o) for o in objectives)
    if method is None:
        method = "grid" if all(v.domain.kind != "distribution" for v in variations) and not trials else "search"
    if method not in ("grid", "search"):
        raise SpecError(f"method {method!r}: use grid or search")
    if method == "grid":
        for variation in variations:
            if variation.domain.kind == "distribution":
                raise SpecError(f"{variation.to_text()}: a distribution is sampled, not gridded: "
                                "use --method search (or a range such as log:1e-4:1e-1:4)")
    if trials is not None and (not isinstance(trials, int) or trials < 1):
        raise SpecError(f"trials must be a whole number ≥ 1, got {trials!r}")
    extra = dict(settings or {})
    try:
        settings_from_dict({**graph.training, **extra})
    except ValueError as error:
        raise SpecError(f"sweep settings: {error}") from None
    return SweepSpec(variations, parsed, method, trials, extra, prune)


def parse_variation(graph: Graph, text: str) -> Variation:
    """``act1.type=ReLU,Tanh`` -> a checked :class:`Variation` (SpecError otherwise)."""
    target, sep, values = text.partition("=")
    target, values = target.strip(), values.strip()
    if not sep or not target or not values:
        raise SpecError(f"--vary {text!r}: write TARGET=VALUES, e.g. act1.type=ReLU,Tanh or "
                        "training.learning_rate=log:1e-4:1e-1")
    if "." not in target:
        raise SpecError(f"--vary {text!r}: the target is NODE.type, NODE.PARAM or training.SETTING")
    kind = _target_kind(graph, target, text)
    domain = _parse_domain(values, kind, text)
    variation = Variation(target, domain)
    _check_values(graph, variation, text)
    return variation


def _target_kind(graph: Graph, target: str, text: str) -> str:
    """The value kind of ``target``: "type", or a ParamSpec kind (int, float, bool, ...)."""
    owner, key = target.rsplit(".", 1)
    if owner == "training":
        kinds = {f.name: type(f.default).__name__ for f in fields(TrainingSettings)}
        if key not in kinds or key in ("feature_map_nodes", "dataset"):
            raise SpecError(f"--vary {text!r}: no training setting {key!r}")
        return {"str": "choice"}.get(kinds[key], kinds[key])
    if owner not in graph:
        raise SpecError(f"--vary {text!r}: no node {owner!r} in {graph.name!r}")
    if key == "type":
        return "type"
    spec = get_spec(graph.node(owner).type)
    names = [p.name for p in spec.params] if spec else []
    if key not in names:
        listed = ", ".join(names) or "none"
        raise SpecError(f"--vary {text!r}: {owner} ({graph.node(owner).type}) has no param {key!r} "
                        f"(its params: {listed})")
    return spec.param(key).kind


def _parse_domain(values: str, kind: str, text: str) -> Domain:
    head, _, rest = values.partition(":")
    if head in RANGE_SCALES + DISTRIBUTIONS and rest:
        if kind not in ("int", "float"):
            raise SpecError(f"--vary {text!r}: a range or distribution needs a numeric target, "
                            "give a list of values instead")
        parts = rest.split(":")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise SpecError(f"--vary {text!r}: {values!r} must be {head}:LOW:HIGH[:N]") from None
        if len(numbers) not in (2, 3):
            raise SpecError(f"--vary {text!r}: {values!r} must be {head}:LOW:HIGH[:N]")
        low, high = numbers[0], numbers[1]
        log = head in ("log", "loguniform")
        if not low < high or (log and low <= 0):
            raise SpecError(f"--vary {text!r}: LOW must be below HIGH" + (" and above 0 on a log scale" if log else ""))
        integer = kind == "int" or head == "int"
        extra = int(numbers[2]) if len(numbers) == 3 else None
        if extra is not None and extra < 1:
            raise SpecError(f"--vary {text!r}: the count must be at least 1")
        if head in RANGE_SCALES:
            return Domain("range", low=low, high=high, log=log, integer=integer, count=extra)
        return Domain("distribution", low=low, high=high, log=log, integer=integer, step=extra)
    choices = tuple(_parse_value(item.strip(), kind) for item in _split_list(values))
    if len(set(map(json.dumps, choices))) != len(choices):
        raise SpecError(f"--vary {text!r}: a value is listed twice")
    return Domain("choice", choices=choices)


def _split_list(values: str) -> list[str]:
    """Commas split, except inside brackets (``kernel_size=[3,3],[5,5]``)."""
    items, depth, current = [], 0, ""
    for char in values:
        depth += char in "[("
        depth -= char in "])"
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [i for i in items if i.strip()]


def _parse_value(item: str, kind: str) -> Any:
    if kind in ("type", "choice", "str"):
        return item
    try:
        value = json.loads(item.replace("(", "[").replace(")", "]"))
    except json.JSONDecodeError:
        return item
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _check_values(graph: Graph, variation: Variation, text: str) -> None:
    """Apply each value (a range's ends) alone to the graph: it must still validate."""
    domain = variation.domain
    values = list(domain.choices) if domain.kind == "choice" else [
        int(domain.low) if domain.integer else domain.low, int(domain.high) if domain.integer else domain.high]
    for value in values:
        try:
            variant = apply_values(graph, {variation.target: value})
        except (SpecError, GraphError, ParamError, ValueError) as error:
            raise SpecError(f"--vary {variation.target}={_plain_text(value)}: {error}") from None
        errors = analyze(variant).errors
        if errors:
            raise SpecError(f"--vary {variation.target}={_plain_text(value)}: the graph would not "
                            f"validate: {errors[0].node}: {errors[0].message}")


# -- applying ------------------------------------------------------------------------
def apply_values(graph: Graph, values: dict[str, Any]) -> Graph:
    """A copy of ``graph`` with ``values`` (``{target: value}``) set; the original is untouched."""
    variant = graph.copy()
    training = variant.training
    for target, value in values.items():
        owner, key = target.rsplit(".", 1)
        if owner == "training":
            training[key] = value
            settings_from_dict({key: value})  # a ValueError names the setting
        elif key == "type":
            _swap_type(variant, owner, value)
        else:
            variant.set_params(owner, {key: value})
    variant.set_training(training)
    return variant


def swap_refusal(node: Node, new_type: str) -> str | None:
    """Why ``node`` cannot become ``new_type`` (None: it can): the types must be of one kind
    (category) and take the same inputs, and every param the node sets away from its default must exist in the new type."""
    new = get_spec(new_type)
    if new is None or new.internal:
        return f"no layer type {new_type!r}"
    old = get_spec(node.type)
    if new.role is not None or (old is not None and old.role is not None):
        return f"{node.id} is the graph's {old.role if old and old.role else 'boundary'}; it cannot change type"
    if old is not None and old.category != new.category:
        return f"{new_type} is a {new.category} layer, {node.id} a {old.category} one: swap within a kind"
    if old is not None and (old.inputs != new.inputs or old.input_ports != new.input_ports):
        return f"{new_type} takes other inputs than {node.type}"
    if old is not None and len(old.output_ports) != len(new.output_ports):
        return f"{new_type} gives other outputs than {node.type}"
    names = {p.name for p in new.params}
    defaults = {p.name: p.default for p in old.params} if old else {}
    lost = [k for k, v in node.params.items() if k not in names and defaults.get(k, object()) != v]
    if lost:
        return f"{new_type} has no param {lost[0]!r} ({node.id} sets {lost[0]}={_plain_text(node.params[lost[0]])})"
    return None


def _swap_type(graph: Graph, node_id: str, new_type: str) -> None:
    node = graph.node(node_id)
    if node.type == new_type:
        return
    refusal = swap_refusal(node, new_type)
    if refusal:
        raise SpecError(refusal)
    names = {p.name for p in get_spec(new_type).params}
    index = graph.node_index(node_id)
    kept = {k: v for k, v in node.params.items() if k in names}
    _, edges = graph.remove_node(node_id)
    graph.add_node(Node(node.id, new_type, kept, node.position, node.label, dict(node.extra)), index)
    for edge in edges:
        graph.add_edge(edge)


def compatible_types(node: Node) -> list[str]:
    """Layer types ``node`` could become (itself included): what the editor offers to vary."""
    from graph_engine.registry import layer_types

    return [spec.type for spec in layer_types()
            if spec.type == node.type or (not spec.internal and swap_refusal(node, spec.type) is None)]
