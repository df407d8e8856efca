"""Reading a run folder, checked: every command that reads ``RUN_DIR`` (``patches``, ``sample``,
``train --resume``, ``export --weights``, the app's run views) reads it through here, so a damaged
folder gives one line naming the file and what is wrong with it, whichever command met it.

What is checked: each JSON file is a regular, readable, UTF-8 file of at most
:data:`MAX_JSON_BYTES` holding one JSON object; ``settings.json`` holds valid settings (an invalid
value is refused, never replaced by its default); a checkpoint is a safetensors file (a pickle is
named and never unpickled) whose header names the metadata the run wrote, whose ``model.``
tensors fit the graph (no key missing or extra, no other shape) and are finite.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError, safe_open

from graph_engine.errors import CompileError, DataError
from graph_engine.model import Graph
from graph_engine.serialization import GraphFileError, load_graph
from graph_engine.shape_format import shape_text
from graph_engine.source_text import message_text

if TYPE_CHECKING:  # the functions that load weights import it: reading a run's records needs none
    import torch
from graph_engine.training.settings import TrainingSettings, settings_from_dict

#: settings.json, dataset.json, a checkpoint's .json: larger is not a file the app wrote
MAX_JSON_BYTES = 64 << 20
#: the counters every checkpoint's metadata holds (see the README, "The run folder's files")
_COUNTERS = ("step", "epoch", "batch_index", "stale_epochs")
MODEL_PREFIX = "model."


class RunFolderError(DataError):
    """A run folder that cannot be used; ``str()`` is one line that names the file."""


def _name(path: object) -> str:
    return message_text(path)


def _regular_file(path: Path, what: str) -> os.stat_result:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise RunFolderError(f"{_name(path)}: missing ({what})") from None
    except OSError as error:
        raise RunFolderError(f"{_name(path)}: cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise RunFolderError(f"{_name(path)}: not a regular file ({what})")
    return info


def read_object(path: str | os.PathLike[str], what: str = "a JSON object") -> dict[str, Any]:
    """The JSON object in ``path``; RunFolderError when it is missing, too big, not UTF-8, not
    JSON or not an object."""
    path = Path(path)
    size = _regular_file(path, what).st_size
    if size > MAX_JSON_BYTES:
        raise RunFolderError(f"{_name(path)}: {size:,} bytes, more than the {MAX_JSON_BYTES >> 20} MB a run's "
                             "JSON file may hold")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise RunFolderError(f"{_name(path)}: cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise RunFolderError(f"{_name(path)}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
                             f"{error.start})") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise RunFolderError(f"{_name(path)}: not valid JSON (nested too deeply)") from None
    except ValueError as error:  # JSONDecodeError, or an integer literal past 4,300 digits
        raise RunFolderError(f"{_name(path)}: not valid JSON ({' '.join(str(error).split())})") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{_name(path)}: holds a JSON {type(data).__name__}, not an object ({what})")
    return data


def read_graph(run_dir: str | os.PathLike[str]) -> Graph:
    """The graph the run trained (``graph.json``)."""
    path = Path(run_dir) / "graph.json"
    if not Path(run_dir).is_dir():
        raise RunFolderError(f"{_name(run_dir)}: no such run folder")
    if not path.exists():
        raise RunFolderError(f"{_name(run_dir)}: not a run folder (no graph.json)")
    _regular_file(path, "the graph the run trained")
    try:
        return load_graph(path)
    except GraphFileError as error:
        raise RunFolderError(str(error)) from None


def compile_run_graph(graph: Graph, run_dir: str | os.PathLike[str], device: torch.device | str = "cpu"
                      ) -> torch.nn.Module:
    """The run's graph as a module; a graph.json with errors (or too big) names the file."""
    from graph_engine.compiler import compile_graph

    try:
        return compile_graph(graph, device)
    except CompileError as error:
        raise RunFolderError(f"{_name(Path(run_dir) / 'graph.json')}: {error}") from None


def read_settings(run_dir: str | os.PathLike[str], **overrides: Any) -> TrainingSettings:
    """The run's ``settings.json`` with ``overrides`` (None = not given); an invalid value is
    refused with the file named, never replaced by its default."""
    path = Path(run_dir) / "settings.json"
    data = read_object(path, "the run's training settings")
    try:
        return settings_from_dict(data, **overrides)
    except ValueError as error:
        raise RunFolderError(f"{_name(path)}: {error}") from None


def read_dataset(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What the run trained on (``dataset.json``), with ``sample_shape`` a list of sizes and
    ``vocabulary`` (when there is one) text (a character model's) or a list of strings."""
    path = Path(run_dir) / "dataset.json"
    data = read_object(path, "what the run trained on")
    shape = data.get("sample_shape")
    if not isinstance(shape, list) or not all(type(v) is int and v >= 0 for v in shape):
        raise RunFolderError(f"{_name(path)}: sample_shape must be a list of sizes, got {_short(shape)}")
    vocabulary = data.get("vocabulary")
    if vocabulary is not None and not isinstance(vocabulary, str) and (
            not isinstance(vocabulary, list) or not all(isinstance(v, str) for v in vocabulary)):
        raise RunFolderError(f"{_name(path)}: vocabulary must be text or a list of strings, got {_short(vocabulary)}")
    return data


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- checkpoints ----------------------------------------------------------------------------
def checkpoint_stem(run_dir: str | os.PathLike[str], names: tuple[str, ...] = ("best", "last")) -> Path:
    """``checkpoints/<name>`` of the first of ``names`` whose ``.safetensors`` exists."""
    folder = Path(run_dir)
    for name in names:
        stem = folder / "checkpoints" / name
        if stem.with_suffix(".safetensors").exists():
            return stem
    if not folder.is_dir():
        raise RunFolderError(f"{_name(folder)}: no such run folder")
    wanted = "checkpoints/" + " or ".join(f"{n}.safetensors" for n in names)
    raise RunFolderError(f"{_name(folder)}: the run has no checkpoint yet ({wanted}); train the graph first")


def _check_not_pickle(path: Path) -> None:
    """A regular file that does not start as a pickle does (checked before safetensors reads it)."""
    size = _regular_file(path, "a safetensors checkpoint").st_size
    try:
        with open(path, "rb") as stream:
            start = stream.read(8)
    except OSError as error:
        raise RunFolderError(f"{_name(path)}: cannot be read ({error.strerror or error})") from None
    if len(start) == 8 and struct.unpack("<Q", start)[0] <= size - 8:
        return  # a header length the file can hold: safetensors' own checks follow
    if (start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or start[:2] == b"PK":
        raise RunFolderError(f"{_name(path)}: a pickle (torch.save), not a safetensors file; pickles are "
                             "never loaded, as they can run code")


def read_tensors(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file; a pickle is named, never unpickled."""
    from safetensors.torch import load_file

    path = Path(path)
    _check_not_pickle(path)
    try:
        return load_file(str(path), device=str(device))
    except (OSError, SafetensorError, ValueError, RuntimeError) as error:
        raise RunFolderError(f"{_name(path)}: not a readable safetensors file "
                             f"({' '.join(str(error).split())})") from None


def model_state(tensors: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """The ``model.`` tensors keyed as ``state_dict()`` keys."""
    state = {key[len(MODEL_PREFIX):]: value for key, value in tensors.items() if key.startswith(MODEL_PREFIX)}
    if not state:
        raise RunFolderError(f"{_name(source)}: holds no model weights (no 'model.' tensors)")
    return state


def read_meta(stem: Path) -> dict[str, Any]:
    """A checkpoint's metadata (its header's ``rosenblatt`` key, else ``<stem>.json``), checked
    for the counters a resume and the views read."""
    path = stem.with_suffix(".safetensors")
    _check_not_pickle(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = (handle.metadata() or {}).get("rosenblatt")
    except (OSError, SafetensorError, ValueError, RuntimeError) as error:
        raise RunFolderError(f"{_name(path)}: not a readable safetensors file "
                             f"({' '.join(str(error).split())})") from None
    if header is None:
        meta, source = read_object(stem.with_suffix(".json"), "the checkpoint's step and counters"), \
            stem.with_suffix(".json")
    else:
        source = path
        try:
            meta = json.loads(header)
        except (ValueError, RecursionError):
            raise RunFolderError(f"{_name(path)}: its metadata is not valid JSON") from None
        if not isinstance(meta, dict):
            raise RunFolderError(f"{_name(path)}: its metadata is not a JSON object")
    for key in _COUNTERS:
        if type(meta.get(key)) is not int or meta[key] < 0:
            raise RunFolderError(f"{_name(source)}: metadata '{key}' must be a count, got {_short(meta.get(key))}")
    best = meta.get("best")
    if not isinstance(best, dict) or not isinstance(best.get("metrics", {}), dict) or not (
            best.get("loss") is None or (isinstance(best.get("loss"), (int, float))
                                         and not isinstance(best.get("loss"), bool))):
        raise RunFolderError(f"{_name(source)}: metadata 'best' must be an object with a 'loss' number or null")
    optimizer = meta.get("optimizer")
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("param_groups"), list) \
            or not isinstance(optimizer.get("scalars"), dict):
        raise RunFolderError(f"{_name(source)}: metadata 'optimizer' must hold 'param_groups' and 'scalars'")
    return meta


def check_fit(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights with a tensor missing, extra or of another shape than ``module``'s."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:3])}{' …' if len(extra) > 3 else ''}")
        raise RunFolderError(f"{_name(source)}: the weights do not fit this graph ({'; '.join(parts)}); "
                             "were they trained on another graph?")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise RunFolderError(f"{_name(source)}: {key} is {shape_text(state[key].shape)} in the weights but "
                                 f"{shape_text(tensor.shape)} in this graph; were they trained on another "
                                 "graph?")


def check_finite(state: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights holding NaN or infinity: what they compute is not a model's output."""
    import torch

    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = "NaN" if bool(torch.isnan(tensor).any()) else "infinite values"
            raise RunFolderError(f"{_name(source)}: {key} holds {bad}; these weights compute nothing usable")


def load_weights(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Check ``state`` against ``module`` (fit and finite), then load it."""
    check_fit(module, state, source)
    check_finite(state, source)
    try:
        module.load_state_dict(state)
    except RuntimeError as error:  # a dtype torch cannot copy from (a bool weight, a complex one)
        raise RunFolderError(f"{_name(source)}: the weights cannot be loaded ({' '.join(str(error).split())})") from None


def checkpoint_weights(run_dir: str | os.PathLike[str]) -> tuple[Path, dict[str, torch.Tensor]]:
    """The best (else last) checkpoint's file and its model tensors (state_dict keys)."""
    path = checkpoint_stem(run_dir).with_suffix(".safetensors")
    return path, model_state(read_tensors(path), str(path))
