"""Where an export or import may write: never over what it reads (the graph file, the run
folder the weights come from, the model's source) nor into a training run's checkpoints, whose
loss would end the run's resume; over other existing files only when the person says so
(``--force`` on the command line, a question in the app).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from graph_engine.interop.errors import InteropError
from graph_engine.source_text import message_text

#: the files a run folder holds beside ``checkpoints/`` (graph_engine.training.runs)
_RUN_FILES = ("graph.json", "settings.json", "metrics.jsonl")


class OverwriteRefused(InteropError):
    """Writing ``path`` would destroy an input or a checkpoint; no flag allows it."""

    def __init__(self, path: Path, why: str):
        self.path = path
        super().__init__(f"will not write over {path}: {why}")


def export_files(fmt: str, output: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None,
                 with_training: bool = False) -> list[Path]:
    """Every file an export as ``fmt`` writes (Python writes its weights and train.py beside it)."""
    if fmt.startswith("python"):
        from graph_engine.interop.python_export import python_files  # it loads torch: only for this

        return python_files(Path(output), weights is not None, with_training)
    return [Path(output)]


def _same(a: Path, b: Path) -> bool:
    """One file under two names (relative, symlinked or hard-linked)?"""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _is_checkpoint(path: Path) -> bool:
    """In a run folder's ``checkpoints/``: a file written there is read back on resume."""
    folder = path.resolve().parent
    return folder.name == "checkpoints" and any((folder.parent / name).is_file() for name in _RUN_FILES)


def _why_protected(path: Path, inputs: Sequence[Path], run_dirs: Sequence[Path]) -> str | None:
    if any(_same(path, source) for source in inputs):
        return "it is an input of this command"
    if _is_checkpoint(path):
        return "it is in a training run's checkpoints"
    if path.exists() and any(_inside(path, run) for run in run_dirs):
        return "it belongs to the run folder the weights come from"
    return None


def check_targets(files: Sequence[Path], inputs: Iterable[str | os.PathLike[str] | None] = (),
                  run_dirs: Iterable[str | os.PathLike[str] | None] = ()) -> None:
    """Raise OverwriteRefused for the first file that must never be written over."""
    sources = [Path(p) for p in inputs if p is not None]
    runs = [Path(p) for p in run_dirs if p is not None]
    for index, path in enumerate(files):
        try:
            path.exists()
        except OSError as error:  # a name longer than the file system takes (ENAMETOOLONG)
            raise InteropError(f"cannot write {message_text(path)[:80]}…: {error.strerror or error}") from None
        why = _why_protected(path, sources, runs)
        if why is None and any(_same(path, other) for other in files[:index]):
            why = "this command writes two files there"
        if why is not None:
            raise OverwriteRefused(path, why)


def existing(files: Sequence[Path]) -> list[Path]:
    """The files that are already there (overwritten only with --force, or after asking)."""
    return [path for path in files if path.exists()]
