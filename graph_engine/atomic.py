"""Atomic, durable file writes: the one way every file of ours reaches the disk.

Bytes go to a temporary file beside the target, are flushed to disk, get the target's
permissions (or the umask's for a new file), and then replace the target in one
rename — so a crash or a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``path`` with what ``write(stream)`` writes."""
    target = Path(path)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, _file_mode(target))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def temporary_names(folder: str | os.PathLike[str]) -> list[Path]:
    """The temporaries :func:`write_atomic` leaves in ``folder`` when killed mid-write
    (``.<target name>.<random>.tmp``)."""
    try:
        return sorted(p for p in Path(folder).iterdir()
                      if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries a killed writer left in ``folder`` (call it before writing there
    again, when no other writer can be at work); the ones removed."""
    removed = []
    for path in temporary_names(folder):
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """UTF-8 text with ``\\n`` line ends, atomically."""
    data = text.encode("utf-8")
    write_atomic(path, lambda stream: stream.write(data))


def _file_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual umask-based mode."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
