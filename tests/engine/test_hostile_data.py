"""Issue 17 item 10: hostile dataset files cost a bounded amount and end in one DataError line
naming the file: forged NPZ headers, devices, FIFOs, oversized files, absurd labels and tokens."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

from graph_engine.data import DataError, InputFit, load_dataset
from graph_engine.data import files
from tests.engine.data_files import write_idx


def refused(spec, fit: InputFit) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(str(spec), fit)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(spec))
    return message


def forged_npz(path, rows: int) -> None:
    """x.npy's header declares ``rows`` × 4 float64 but holds 64 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (rows, 4)})
    y = io.BytesIO()
    np.save(y, np.zeros(3))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(64))
        archive.writestr("y.npy", y.getvalue())


def test_an_npz_header_declaring_1e11_rows_is_refused_before_reading(tmp_path):
    path = tmp_path / "forged.npz"
    forged_npz(path, 10**11)
    assert refused(path, InputFit((4,), "float32", (2,))) == (
        f"{path}: x.npy declares 100000000000×4 float64 values (3,200,000,000,000 bytes) but holds 64 bytes; "
        "the file is damaged")


def test_files_larger_than_memory_are_refused_from_their_size(tmp_path, monkeypatch):
    npz, text = tmp_path / "d.npz", tmp_path / "corpus.txt"
    np.savez(npz, x=np.zeros((100, 4)), y=np.arange(100) % 2)
    text.write_text("hello world " * 100)
    gz = write_idx(tmp_path / "mnist", "train", np.zeros((100, 28, 28)), np.arange(100) % 10, gz=True)
    assert gz.stat().st_size < 1000
    monkeypatch.setattr(files, "memory_bytes", lambda: 1000)
    assert "its arrays x and y would need 0.0 GB of memory; this machine has 0.0 GB" in refused(
        npz, InputFit((4,), "float32", (2,)))
    assert "its 1,200 bytes would need" in refused(text, InputFit((8,), "int64", (8, 32)))
    assert "its content would need" in refused(gz, InputFit((1, 28, 28), "float32", (10,)))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    assert refused(device, InputFit((8,), "int64", (8, 32))) == (
        f"{device}: not a regular file (a device, pipe or socket); give a file or a folder")


def test_a_fifo_is_refused_instead_of_blocking(tmp_path):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    assert "not a regular file" in refused(fifo, InputFit((2,), "float32", (2,)))
    cifar = tmp_path / "cifar-10-batches-bin"
    cifar.mkdir()
    os.mkfifo(cifar / "data_batch_1.bin")
    with pytest.raises(DataError, match="data_batch_1.bin: not a regular file"):
        load_dataset(str(cifar), InputFit((3, 32, 32), "float32", (10,)))


@pytest.mark.parametrize("label, message", [
    ("1e30", "line 3 has label 1e+30; class labels must be 0..K-1, K at most 1,000,000"),
    ("-3", "line 3 has label -3; class labels must be 0..K-1"),
])
def test_csv_labels_out_of_range_are_named_as_written(tmp_path, label, message):
    path = tmp_path / "labels.csv"
    path.write_text(f"a,label\n1,0\n2,{label}\n3,1\n")
    for output in (None, (2,)):
        assert refused(path, InputFit((1,), "float32", output)) == f"{path}: {message}"


def test_token_indices_outside_0_and_int32_are_refused_when_loading(tmp_path):
    path = tmp_path / "tokens.npz"
    x = np.arange(60).reshape(20, 3) % 5
    for bad in (-1, 2**40):
        x[3, 1] = bad
        np.savez(path, x=x, y=np.arange(20) % 2)
        assert refused(path, InputFit((3,), "int64", (2,))) == (
            f"{path}: row 3 has token index {bad}; token indices must be 0..num_embeddings-1")
    np.savez(path, x=np.full((20, 3), 1e30), y=np.arange(20) % 2)
    assert "row 0 has token index 1e+30" in refused(path, InputFit((3,), "int64", (2,)))
