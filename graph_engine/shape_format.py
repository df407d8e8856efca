"""How shapes read in labels and messages: one spelling for the editor, the CLI and errors."""

from __future__ import annotations

from typing import Sequence


def shape_text(shape: Sequence[int]) -> str:
    """``(6, 28, 28)`` -> ``6×28×28``, the way the editor labels edges."""
    return "×".join(str(int(d)) for d in shape) if len(shape) else "scalar"


__all__ = ["shape_text"]
