"""How shapes read in labels and messages: one spelling for the editor, the CLI and errors."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence


def shape_text(shape: Sequence[int]) -> str:
    """``(6, 28, 28)`` -> ``6×28×28``, the way the editor labels edges."""
    if type(shape) is tuple:  # the analysis's shapes: a big graph repeats a few of them thousands of times
        return _tuple_text(shape)
    return _spelled(shape)


@lru_cache(maxsize=4096)
def _tuple_text(shape: tuple) -> str:
    return _spelled(shape)


def _spelled(shape: Sequence[int]) -> str:
    return "×".join(str(int(d)) for d in shape) if len(shape) else "scalar"


__all__ = ["shape_text"]
