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
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from graph_engine.atomic import write_atomic
from graph_engine.interop.errors import InteropError
from graph_engine.shape_format import shape_text

_PREFIX = "model."


def run_checkpoint(run_dir: str | os.PathLike[str]) -> Path:
    """The run's best checkpoint, else its last: the ``.safetensors`` file."""
    folder = Path(run_dir)
    for name in ("best", "last"):
        path = folder / "checkpoints" / f"{name}.safetensors"
        if path.is_file():
            return path
    if not folder.is_dir():
        raise InteropError(f"{folder}: no such run folder")
    raise InteropError(f"{folder}: no checkpoint (checkpoints/best.safetensors or last.safetensors); "
                       "train the graph first")


def load_safetensors(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file, on the CPU; a bad file is a one-line InteropError."""
    try:
        return load_file(str(path), device="cpu")
    except (OSError, SafetensorError) as error:
        raise InteropError(f"{path}: not a readable safetensors file ({error})") from None


def run_weights(run_dir: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The model tensors of a run's best (else last) checkpoint, keyed as ``state_dict()`` keys."""
    path = run_checkpoint(run_dir)
    tensors = load_safetensors(path)
    state = {key[len(_PREFIX):]: value for key, value in tensors.items() if key.startswith(_PREFIX)}
    if not state:
        raise InteropError(f"{path}: holds no model weights (no 'model.' tensors)")
    return state


def check_fit(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise an InteropError naming the first tensor that is missing, extra or of another shape."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:3])}{' …' if len(extra) > 3 else ''}")
        raise InteropError(f"{source}: the weights do not fit this graph ({'; '.join(parts)}); "
                           "were they trained on another graph?")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise InteropError(f"{source}: {key} is {shape_text(state[key].shape)} in the weights but "
                               f"{shape_text(tensor.shape)} in this graph; were they trained on another "
                               "graph?")


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Check, then load ``state`` into ``module`` (dtypes are converted by ``load_state_dict``)."""
    check_fit(module, state, source)
    module.load_state_dict(state)


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
