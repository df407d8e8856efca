"""CSV: numeric feature columns and one label column, header row optional.

The label column is the one named label/class/target when there is a header, else the last.
Rows are parsed in chunks through numpy (fast), and only a failing chunk is walked cell by
cell to name the line and column of the first bad value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from graph_engine.data.base import DataError, Dataset, InputFit
from graph_engine.data.tabular import tabular_dataset
from graph_engine.data.text import read_text_file

LABEL_NAMES = ("label", "class", "target")
_CHUNK = 8192


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _rows(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, cells) for every non-blank row (cells keep their spaces: numpy's
    float parsing ignores them, and stripping 785 cells a row would double the time)."""
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            if row and (len(row) > 1 or row[0].strip()):
                yield reader.line_num, row
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: {exc}") from None


def _has_header(first: list[str], second: list[str] | None) -> bool:
    """A header has more non-numeric cells than the first data row (or only non-numeric cells)."""
    words = sum(not _is_number(c) for c in first)
    if words == len(first):
        return True
    return second is not None and words > sum(not _is_number(c) for c in second)


def _label_column(header: list[str] | None, width: int) -> int:
    if header:
        lowered = [h.lower() for h in header]
        for name in LABEL_NAMES:
            if name in lowered:
                return lowered.index(name)
    return width - 1


def _parse_chunk(path: Path, rows: list[list[str]], lines: list[int], columns: list[int]) -> np.ndarray:
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        for row, line in zip(rows, lines):
            for cell, column in zip(row, columns):
                if not _is_number(cell):
                    what = "an empty cell" if not cell.strip() else f"{cell.strip()!r} is not a number"
                    raise DataError(f"{path}: line {line}, column {column + 1}: {what}") from None
        raise


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, list[int], dict]:
    """(features (N, F) float64, labels (N,) float64 or str, line numbers, facts about the file)."""
    rows = _rows(path, read_text_file(path))
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: the file is empty")
    second = next(rows, None)
    is_header = _has_header([c.strip() for c in first[1]], [c.strip() for c in second[1]] if second else None)
    header = [c.strip() for c in first[1]] if is_header else None
    width = len(first[1])
    if width < 2:
        raise DataError(f"{path}: needs at least one feature column and a label column, found {width} column")
    label_at = _label_column(header, width)
    columns = [c for c in range(width) if c != label_at]

    def data_rows() -> Iterator[tuple[int, list[str]]]:
        if header is None:
            yield first
        if second is not None:
            yield second
        yield from rows

    chunks, labels, lines = [], [], []
    chunk, chunk_lines = [], []
    for line, cells in data_rows():
        if len(cells) != width:
            raise DataError(f"{path}: line {line} has {len(cells)} columns, expected {width} "
                            f"like line {first[0]}")
        label = cells.pop(label_at).strip()
        if label == "":
            raise DataError(f"{path}: line {line}, column {label_at + 1}: empty label")
        labels.append(label)
        lines.append(line)
        chunk.append(cells)
        chunk_lines.append(line)
        if len(chunk) == _CHUNK:
            chunks.append(_parse_chunk(path, chunk, chunk_lines, columns))
            chunk, chunk_lines = [], []
    if chunk:
        chunks.append(_parse_chunk(path, chunk, chunk_lines, columns))
    if not chunks:
        raise DataError(f"{path}: no data rows after the header")
    try:
        y = np.array(labels, dtype=np.float64)
    except ValueError:
        y = np.array(labels, dtype=str)
    facts = {"header": header is not None,
             "label_column": header[label_at] if header else label_at + 1,
             "feature_columns": [header[c] for c in columns] if header else [c + 1 for c in columns]}
    return np.concatenate(chunks), y, lines, facts


def load_csv(path: Path, fit: InputFit, seed: int, fraction: float) -> Dataset:
    """Classification (integer or string labels) or regression (fractional targets)."""
    x, y, lines, facts = read_csv(path)
    return tabular_dataset(path.name, str(path), x, y, fit, seed, fraction,
                           where=lambda i: f"line {lines[i]}",
                           what=f"{x.shape[1]} feature columns", extra=facts)
