"""The one door by which a value from a file reaches generated source code.

Exported ``model.py`` and ``train.py`` are run by whoever opens them, so a graph file must
not be able to put code into them. Every string, number or container that a generator
writes goes through :func:`py_literal`; free text that lands in a docstring or a comment
goes through :func:`source_comment`; names that become Python identifiers go through
:func:`py_identifier`. The property tests in ``tests/engine/test_source_text.py`` hold
these to: the result parses, and only the places meant for the value change.
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any

#: names that generated modules define or import at top level: a class may not shadow them
RESERVED_NAMES = frozenset({"torch", "nn", "F", "Path", "np"})


def py_literal(value: Any) -> str:
    """A Python expression that evaluates to ``value``: printable ASCII on one line.

    Strings are double-quoted with every quote, backslash, control and non-ASCII
    character escaped (``\\x``, ``\\u``, ``\\U``; never a surrogate pair), so the text is
    also safe inside a comment or a docstring. Non-finite floats become ``float("nan")``.
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        try:
            return repr(value)
        except ValueError:  # more digits than int->str allows
            return hex(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return f"float({py_literal(repr(value))})"
    if isinstance(value, str):
        return '"' + "".join(_escaped(c) for c in value) + '"'
    if isinstance(value, (list, tuple)):
        items = [py_literal(item) for item in value]
        if len(items) == 1:
            return f"({items[0]},)"
        return f"({', '.join(items)})"
    if isinstance(value, dict):
        pairs = [f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()]
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no source literal for {type(value).__name__}")


def py_index(index: Any) -> str:
    """What goes between the brackets of ``value[...]``: ``0``, or ``..., 1:5:2`` for a tuple
    of ints, slices, lists of ints and ``...`` (as a person writes it); anything else as
    :func:`py_literal`."""
    parts = index if isinstance(index, tuple) else (index,)
    if index == () or not all(p is Ellipsis or (isinstance(p, (int, slice)) and not isinstance(p, bool))
                              or _int_list(p) for p in parts):
        return py_literal(index)
    return ", ".join("..." if p is Ellipsis else _slice_text(p) if isinstance(p, slice)
                     else "[" + ", ".join(py_literal(i) for i in p) + "]" if isinstance(p, list)
                     else py_literal(p) for p in parts)


def _int_list(part: Any) -> bool:
    """A list of indices (``x[:, [3, 0, 3]]``)."""
    return isinstance(part, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in part)


def _slice_text(part: slice) -> str:
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool))
               for v in (part.start, part.stop, part.step)):
        raise TypeError("no source text for a slice of non-integers")
    bounds = ["" if v is None else py_literal(v) for v in (part.start, part.stop)]
    return ":".join(bounds + ([] if part.step is None else [py_literal(part.step)]))


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    """One character of a double-quoted literal: printable ASCII as is, the rest escaped."""
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if 0x20 <= code < 0x7F:
        return char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def message_text(text: object) -> str:
    """``text`` (a path, a name) as it may stand in a one-line message: line breaks, other control
    characters and lone surrogates escaped, everything printable as it is."""
    return "".join(c if c.isprintable() or c == " " else _escaped(c) for c in str(text))


def source_comment(text: str) -> str:
    """``text`` as it may stand in a ``#`` comment or a ``\"\"\"`` docstring: a quoted,
    escaped literal with no line break and no quote that could end the docstring."""
    return py_literal(str(text))


def py_identifier(name: str) -> str:
    """``name`` unchanged if it is a usable identifier in generated code; else ValueError."""
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a Python identifier")
    return name


def class_identifier(text: str) -> str:
    """``"LeNet-5"`` -> ``"LeNet5"``: a class name made from free text, never a keyword
    (``"none"`` would give ``None``) nor a name the generated module uses."""
    words = re.findall(r"[A-Za-z0-9]+", str(text))
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name in RESERVED_NAMES:
        name = "Model" + name
    return py_identifier(name)


def fresh_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``... — the first not in ``taken`` and not a keyword;
    ``taken`` then holds it (ids, generated variables, class and argument names)."""
    candidate, index = stem, 1
    while candidate in taken or keyword.iskeyword(candidate):
        index += 1
        candidate = f"{stem}_{index}"
    taken.add(candidate)
    return candidate


def tensorboard_tag(*parts: str) -> str:
    """A TensorBoard tag from parts: letters, digits and ``_ . -`` kept, others ``_``."""
    return "/".join(re.sub(r"[^A-Za-z0-9_.-]", "_", str(part)) or "_" for part in parts)


def markdown_verbatim(text: str) -> str:
    """``text`` as a Markdown code block, so nothing in it is read as markup or HTML."""
    return "\n".join("    " + line for line in str(text).splitlines() or [""])


__all__ = ["fresh_name", "py_literal", "py_index", "source_comment", "py_identifier", "class_identifier", "tensorboard_tag",
           "markdown_verbatim", "RESERVED_NAMES"]
