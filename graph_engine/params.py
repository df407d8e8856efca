"""Typed parameter specifications for layer types.

A ``ParamSpec`` knows its kind, default, range or choices and a one-line help
text. It checks a raw value (from a JSON file or an editor field) and returns the
canonical value, or raises :class:`ParamError` with a message a person can act on.
The same spec drives the file loader, the inspector's fields and validation;
:meth:`ParamSpec.format_text` and :meth:`ParamSpec.parse_text` are how a value reads
in a typed field and how a typed text becomes a value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence


class ParamError(ValueError):
    """A parameter value of the wrong type or outside its range."""


#: Parameter kinds. ``int_or_pair``: 7 or [3, 5]; ``shape``: a list of ints, each at least
#: ``minimum`` (default 1: sizes; a list of dims sets its own range) and at most ``maximum``;
#: ``padding``: like ``int_or_pair`` or the string "same"; ``optional_int_or_pair``: may be null;
#: ``values``: a list of finite numbers (a Constant's stored tensor, flattened).
KINDS = ("int", "float", "bool", "choice", "int_or_pair", "optional_int_or_pair", "padding", "shape",
         "values")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a layer type (kind, default, bounds, help)."""

    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    min_length: int = 1
    max_length: int = 8
    pair_allowed: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")

    # -- checking -------------------------------------------------------------------
    def check(self, value: Any) -> Any:
        """Return the canonical form of ``value`` or raise ParamError."""
        kind = self.kind
        if kind == "int":
            return self._check_int(value)
        if kind == "float":
            if not _is_number(value):
                raise ParamError(f"{self.name} must be a number, got {_show(value)}")
            self._check_range(float(value))
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"{self.name} must be true or false, got {_show(value)}")
            return value
        if kind == "choice":
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                raise ParamError(f"{self.name} must be one of {options}, got {_show(value)}")
            return value
        if kind == "optional_int_or_pair" and value is None:
            return None
        if kind == "padding" and value == "same":
            return "same"
        if kind in ("int_or_pair", "optional_int_or_pair", "padding"):
            return self._check_int_or_pair(value)
        if kind == "values":
            return self._check_values(value)
        return self._check_shape(value)

    # -- text (a typed field) <-> value ------------------------------------------------
    @staticmethod
    def format_text(value: Any) -> str:
        """How a value reads in a typed field (``[3, 5]`` -> ``3, 5``, None -> empty)."""
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        if isinstance(value, float):
            return repr(value)
        return str(value)

    def parse_text(self, text: str) -> Any:
        """A typed field's text as a checked value: ``3``, ``3, 5``, ``[3, 5]``, ``3×5``,
        ``same`` (padding), empty (optional: None), ``1e-5`` (float); raise ParamError."""
        raw = text.strip()
        if self.kind == "float":
            try:
                number = float(raw)
            except ValueError:
                raise ParamError(f"{self.name} must be a number, got {raw!r}") from None
            if not math.isfinite(number):
                raise ParamError(f"{self.name} must be a finite number, got {raw!r}")
            return self.check(number)
        if self.kind == "padding" and raw.casefold() == "same":
            return self.check("same")
        inner = raw
        if len(inner) >= 2 and inner[0] + inner[-1] in ("[]", "()"):
            inner = inner[1:-1].strip()
        if not inner:
            if self.kind == "optional_int_or_pair":
                return self.check(None)
            example = "1, 28, 28" if self.kind == "shape" else "3 or 3, 5"
            raise ParamError(f"{self.name} needs a value, e.g. {example}")
        parts = [p for p in re.split(r"[,\s×]+", inner) if p]
        if self.kind == "values":
            try:
                return self.check([float(p) for p in parts])
            except ValueError:
                raise ParamError(f"{self.name} must be a list of numbers, got {raw[:40]!r}") from None
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            return self.check(raw)  # the spec's own message names the expected form
        if self.kind == "shape":
            return self.check(numbers)
        return self.check(numbers[0] if len(numbers) == 1 else numbers)

    def _check_range(self, number: float) -> None:
        if self.minimum is not None and number < self.minimum:
            raise ParamError(f"{self.name} must be ≥ {_num(self.minimum)}, got {_num(number)}")
        if self.maximum is not None and number > self.maximum:
            raise ParamError(f"{self.name} must be ≤ {_num(self.maximum)}, got {_num(number)}")

    def _check_int(self, value: Any) -> int:
        if not _is_int(value):
            raise ParamError(f"{self.name} must be an integer, got {_show(value)}")
        self._check_range(value)
        return value

    def _check_int_or_pair(self, value: Any) -> int | list[int]:
        if _is_int(value):
            return self._check_int(value)
        if (self.pair_allowed and isinstance(value, (list, tuple)) and len(value) == 2
                and all(_is_int(v) for v in value)):
            for v in value:
                self._check_range(v)
            return [int(v) for v in value]
        what = "an integer or a pair of integers" if self.pair_allowed else "an integer"
        extra = ' or "same"' if self.kind == "padding" else ""
        raise ParamError(f"{self.name} must be {what}{extra}, got {_show(value)}")

    def _check_values(self, value: Any) -> list[float]:
        if not isinstance(value, (list, tuple)) or not all(_is_number(v) for v in value):
            raise ParamError(f"{self.name} must be a list of finite numbers, got {_show(value)}")
        if not self.min_length <= len(value) <= self.max_length:
            raise ParamError(f"{self.name} must have {self.min_length} to {self.max_length} "
                             f"values, got {len(value)}")
        return [float(v) for v in value]

    def _check_shape(self, value: Any) -> list[int]:
        if not isinstance(value, (list, tuple)) or not all(_is_int(v) for v in value):
            raise ParamError(f"{self.name} must be a list of integers, got {_show(value)}")
        if not self.min_length <= len(value) <= self.max_length:
            raise ParamError(f"{self.name} must have {self.min_length} to {self.max_length} "
                             f"dimensions, got {len(value)}")
        low = 1 if self.minimum is None else self.minimum
        for v in value:
            if v < low:
                raise ParamError(f"{self.name} dimensions must be ≥ {_num(low)}, got {list(value)}")
            if self.maximum is not None and v > self.maximum:
                raise ParamError(f"{self.name} dimensions must be ≤ {_num(self.maximum)}, "
                                 f"got {list(value)}")
        return [int(v) for v in value]


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 40 else text[:37] + "..."


def _num(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def check_params(specs: Sequence[ParamSpec], given: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and check every value; unknown names are an error (typos)."""
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(by_name) or "none"
        raise ParamError(f"unknown parameter {unknown[0]!r} (known: {known})")
    resolved: dict[str, Any] = {}
    for spec in specs:
        raw = given[spec.name] if spec.name in given else spec.default
        resolved[spec.name] = spec.check(raw)
    return resolved


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    """Normalise an int-or-pair parameter to a 2-tuple."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def single(value: int | Sequence[int]) -> int:
    """Normalise an int-or-1-tuple parameter of a 1-d layer to an int."""
    if isinstance(value, (list, tuple)):
        return int(value[0])
    return int(value)
