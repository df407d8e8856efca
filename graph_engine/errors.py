"""Errors more than one pass raises, in a module that imports nothing of ours."""

from __future__ import annotations


class CompileError(ValueError):
    """The graph has errors (or needs more memory than there is) and cannot become a module."""


class DataError(ValueError):
    """Data that cannot be read or does not fit the graph; ``str()`` is one line (here, not in
    ``graph_engine.data.base``, so that modules that only report it need not import torch)."""
