"""Trained weights on their way out: from a run's checkpoint into an export, as safetensors.

A run's checkpoint holds ``model.<key>`` tensors (see ``graph_engine.training.runs``); the
exported and compiled modules name the same tensors ``<key>``, with node ids as submodule
names, so the weights move between them by stripping the prefix.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path

import torch
from safetensors.torch import save

from graph_engine.atomic import write_atomic
from graph_engine.source_text import message_text
from graph_engine.interop.errors import InteropError
from graph_engine.training import run_folder
from graph_engine.training.run_folder import RunFolderError

def _as_interop(error: RunFolderError) -> InteropError:
    return InteropError(str(error))


def run_checkpoint(run_dir: str | os.PathLike[str]) -> Path:
    """The run's best checkpoint, else its last: the ``.safetensors`` file."""
    try:
        return run_folder.checkpoint_stem(run_dir).with_suffix(".safetensors")
    except RunFolderError as error:
        raise _as_interop(error) from None


def load_safetensors(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file, on the CPU; a bad file is a one-line InteropError."""
    try:
        return run_folder.read_tensors(path)
    except RunFolderError as error:
        raise _as_interop(error) from None


def weights_file(source: str | os.PathLike[str]) -> Path:
    """The ``.safetensors`` file ``source`` names: a run folder's best (else last) checkpoint,
    or the file itself (a checkpoint, or what ``rosenblatt import --weights`` wrote)."""
    path = Path(source)
    if path.is_file():
        if path.suffix.lower() != ".safetensors":
            raise InteropError(f"{message_text(path)}: weights must be a run folder or a .safetensors file")
        return path
    return run_checkpoint(path)


def trained_weights(source: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The model tensors ``source`` holds (see :func:`weights_file`), keyed as ``state_dict()``
    keys: a checkpoint's ``model.`` tensors, else a plain file's tensors as they are."""
    path = Path(source)
    if not path.is_file():
        return run_weights(path)
    tensors = load_safetensors(weights_file(path))
    try:
        return run_folder.model_state(tensors, str(path))
    except RunFolderError:
        if not tensors:
            raise InteropError(f"{message_text(path)}: holds no tensors") from None
        return tensors  # a plain state dict


def run_weights(run_dir: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The model tensors of a run's best (else last) checkpoint, keyed as ``state_dict()`` keys:
    the same checks as every command reading a run folder (graph_engine.training.run_folder)."""
    try:
        return run_folder.checkpoint_weights(run_dir)[1]
    except RunFolderError as error:
        raise _as_interop(error) from None


def check_fit(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise an InteropError naming the first tensor that is missing, extra or of another shape."""
    try:
        run_folder.check_fit(module, state, source)
    except RunFolderError as error:
        raise _as_interop(error) from None


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Check (fit, finite), then load ``state`` into ``module`` (dtypes are converted)."""
    try:
        run_folder.load_weights(module, state, source)
    except RunFolderError as error:
        raise _as_interop(error) from None


#: torch dtype -> safetensors' name for it
_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
           torch.uint8: "U8", torch.bool: "BOOL"}


def save_safetensors(path: str | os.PathLike[str], state: dict[str, torch.Tensor],
                     metadata: dict[str, str] | None = None) -> None:
    """Write ``state`` as safetensors, atomically, one tensor at a time: a CPU tensor's bytes
    go to the file as they are (no copy of the whole state in memory: VGG16's weights are
    half a gigabyte). Tensors sharing memory are each written whole."""
    tensors = {key: value.detach() for key, value in state.items()}
    if sys.byteorder != "little" or any(t.dtype not in _DTYPES for t in tensors.values()):
        data = save({k: v.to("cpu", copy=True).contiguous() for k, v in tensors.items()},
                    metadata={"format": "pt", **(metadata or {})})
        write_atomic(path, lambda stream: stream.write(data))
        return
    header: dict[str, object] = {"__metadata__": {"format": "pt", **(metadata or {})}}
    offset = 0
    for key, tensor in tensors.items():
        size = tensor.numel() * tensor.element_size()
        header[key] = {"dtype": _DTYPES[tensor.dtype], "shape": list(tensor.shape),
                       "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it

    def write(stream) -> None:
        stream.write(struct.pack("<Q", len(text)))
        stream.write(text)
        for tensor in tensors.values():
            if tensor.numel():
                plain = tensor.to("cpu").contiguous().reshape(-1)
                stream.write(memoryview(plain.view(torch.uint8).numpy()))

    write_atomic(path, write)
