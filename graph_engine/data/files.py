"""Reading dataset files at a bounded cost: only regular files (a FIFO blocks the reader forever,
``/dev/zero`` never ends), and only what this machine's memory can hold, judged from sizes
before the bytes are read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from graph_engine.data.base import DataError

#: bytes of memory per byte of a text or CSV file: its characters become 8-byte indices or floats
TEXT_EXPANSION = 8
_CHUNK = 1 << 24


def memory_bytes() -> int:
    """This machine's physical memory: no dataset larger than it can be trained on here."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return 1 << 40


def _gigabytes(count: int) -> str:
    return f"{count / 1e9:,.1f} GB"


def check_memory(path: Path, needed: int, what: str) -> None:
    """Refuse, naming the file, data that would need more memory than the machine has."""
    available = memory_bytes()
    if needed > available:
        raise DataError(f"{path}: {what} would need {_gigabytes(needed)} of memory; this machine has "
                        f"{_gigabytes(available)}")


def regular_size(path: Path, status: os.stat_result | None = None) -> int:
    """The size of a regular file; a device, pipe or socket is refused without being read."""
    try:
        status = status or path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(status.st_mode):
        raise DataError(f"{path}: not a regular file (a device, pipe or socket); give a file or a folder")
    return status.st_size


def read_bytes(path: Path, expansion: int = 1) -> bytes:
    """A regular file's bytes, once ``expansion`` times its size is known to fit in memory.
    Opened without blocking, so a FIFO is refused instead of waiting for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as stream:
        size = regular_size(path, os.fstat(stream.fileno()))
        check_memory(path, size * expansion, f"its {size:,} bytes")
        return read_bounded(stream, path)


def read_bounded(stream: BinaryIO, path: Path) -> bytes:
    """All of ``stream`` (e.g. a decompressing one), refused once it outgrows memory."""
    parts, total = [], 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        check_memory(path, total, "its content")
        parts.append(chunk)
    return b"".join(parts)
