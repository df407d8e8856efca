"""Errors more than one pass raises, in a module that imports nothing of ours."""

from __future__ import annotations


class CompileError(ValueError):
    """The graph has errors (or needs more memory than there is) and cannot become a module."""
