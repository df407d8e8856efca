"""How a failure is told: one line for a panel or the status bar, and for a programming
error its full traceback in the run folder's ``error.txt``, which the line names.

A data or file problem (ValueError, OSError) or running out of memory is explained by
its one line. Anything else (a KeyError in a probe, a trainer or an inspector job) is
a bug, and "KeyError: 'x'" alone would leave nobody able to find it.
"""

from __future__ import annotations

import datetime as _dt
import traceback
from pathlib import Path

#: the file in a run folder that collects the tracebacks of its failures
ERROR_FILE = "error.txt"


def one_line(error: BaseException) -> str:
    """The error as one line; the type is left out where the text explains itself."""
    text = " ".join(str(error).split()) or type(error).__name__
    if _out_of_memory(error):
        text += " (lower batch_size)"
    return text if isinstance(error, (OSError, ValueError)) else f"{type(error).__name__}: {text}"


def is_explained(error: BaseException) -> bool:
    """Whether the one line says all a person needs (no traceback is kept)."""
    return isinstance(error, (OSError, ValueError)) or _out_of_memory(error)


def _out_of_memory(error: BaseException) -> bool:
    return "out of memory" in str(error).lower()


def record_traceback(run_dir: str | Path | None, error: BaseException, what: str,
                     name: str = ERROR_FILE) -> Path | None:
    """Append ``error``'s traceback to the run folder's error file; None if it cannot be written."""
    if run_dir is None:
        return None
    path = Path(run_dir) / name
    stamp = _dt.datetime.now().isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(error))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(f"--- {stamp} {what} ---\n{text}\n")
    except OSError:
        return None
    return path


def failure_text(error: BaseException, run_dir: str | Path | None, what: str,
                 name: str = ERROR_FILE) -> str:
    """One line for ``error``; a programming error's traceback is kept and the line names it."""
    text = one_line(error)
    if is_explained(error):
        return text
    path = record_traceback(run_dir, error, what, name)
    return f"{text} (traceback in {path})" if path is not None else text
