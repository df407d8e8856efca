"""Sequence-to-sequence data: a source (tokens or an image) and a target token sequence.

Built-in, deterministic from the seed: ``number-words`` ("four thousand seventeen" ->
"4017", words in, characters out), ``digits-words`` (the other way) and
``shapes-captions`` (procedural scenes, three true captions each). From disk: a ``.tsv``
of source<TAB>target lines, or a folder of images with a ``captions.tsv`` of
file<TAB>caption lines (several lines per image give several captions).

Shapes (N samples, T the decoder Input's length):
  x  (N, S) int64 source tokens, left-padded (optionally reversed), or (N, C, H, W) images
  y  (N, T + 1) int64: <bos> target <eos> <pad>…, or (N, P, T + 1) with P phrasings per
     image (training draws one per sample and step)
The vocabularies (:class:`~graph_engine.data.tokens.Vocabulary`) travel in ``extra``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from graph_engine.data._util import is_float_input, shape_text, tensor
from graph_engine.data.base import SEQ2SEQ, DataError, Dataset
from graph_engine.data.captions import draw_captioned
from graph_engine.data.images import IMAGE, ImagePlan, fit_images, plan_image_fit
from graph_engine.data.number_words import number_to_words
from graph_engine.data.split import split_indices
from graph_engine.data.text import read_text_file
from graph_engine.data.tokens import LEVELS, Vocabulary, encode_sources, encode_targets, split_tokens
from graph_engine.data.names import SEQ2SEQ_DATASETS

NUMBER_SAMPLES = 20_000
NUMBER_LIMIT = 100_000
CAPTION_IMAGES = 6_000
CAPTIONS_FILE = "captions.tsv"
TOKEN_CHOICES = ("auto",) + LEVELS


@dataclass(frozen=True)
class Seq2SeqFit:
    """What an encoder–decoder graph expects (see :func:`graph_engine.training.seq2seq.seq2seq_ends`)."""

    #: the source Input's sample shape and dtype: (S,) int64 tokens or (C, H, W) float images
    source_shape: tuple[int, ...]
    source_dtype: str
    #: T: tokens the decoder Input reads (the target, with <eos>, must fit in T)
    target_length: int
    #: the Output, (T, V)
    output_shape: tuple[int, ...] | None = None
    #: "auto" (the data's natural level), "char" or "word"
    tokens: str = "auto"
    #: read the source backwards (Sutskever et al. 2014)
    reverse_source: bool = False

    @property
    def image_source(self) -> bool:
        return is_float_input(self.source_dtype)


def _numbers(seed: int) -> list[int]:
    """0..999 and then distinct draws up to 99,999: every short number and many long ones."""
    rng = np.random.default_rng(seed + 7919)
    small = list(range(1000))
    large = rng.choice(np.arange(1000, NUMBER_LIMIT), NUMBER_SAMPLES - len(small), replace=False)
    chosen = small + [int(v) for v in large]
    return [chosen[i] for i in rng.permutation(len(chosen))]


def _level(fit: Seq2SeqFit, natural: str) -> str:
    return natural if fit.tokens == "auto" else fit.tokens


def _guess_level(texts: Sequence[str]) -> str:
    """Words when most lines have several, else characters."""
    spaced = sum(1 for t in texts[:2000] if len(t.split()) > 1)
    return "word" if spaced * 2 >= min(len(texts), 2000) else "char"


def text_pairs(name: str, source: str, sources: list[str], targets: list[list[str]], fit: Seq2SeqFit,
               seed: int, fraction: float, source_level: str, target_level: str) -> Dataset:
    """Token source -> token target; ``targets[i]`` holds one or more true targets of source i."""
    if fit.image_source:
        raise DataError(f"{name}: the source is text, so the source Input must be int64 tokens of shape "
                        f"(S,); it is {fit.source_dtype} {shape_text(fit.source_shape)}")
    if len(fit.source_shape) != 1:
        raise DataError(f"{name}: a text source needs an int64 Input of shape (S,), got "
                        f"{shape_text(fit.source_shape)}")
    src_vocab = Vocabulary.build(sources, source_level)
    longest = max((len(split_tokens(s, source_level)) for s in sources), default=0)
    if longest > fit.source_shape[0]:
        raise DataError(f"{name}: the longest source has {longest} {source_level} tokens but the source "
                        f"Input holds {fit.source_shape[0]}; set its shape to [{longest}]")
    x = encode_sources(src_vocab, sources, fit.source_shape[0], fit.reverse_source)
    return _assemble(name, source, tensor(x, torch.int64), targets, fit, seed, fraction, target_level,
                     src_vocab, sources)


def image_pairs(name: str, source: str, images: np.ndarray | torch.Tensor, captions: list[list[str]],
                fit: Seq2SeqFit, seed: int, fraction: float, level: str, labels: list[str]) -> Dataset:
    """Images -> captions (several per image)."""
    if not fit.image_source:
        raise DataError(f"{name}: the source is images, so the source Input must be float32 of shape "
                        f"(3, H, W); it is {fit.source_dtype} {shape_text(fit.source_shape)}")
    from graph_engine.data.base import InputFit

    plan = plan_image_fit(name, tuple(images.shape[1:]), InputFit(fit.source_shape, fit.source_dtype))
    return _assemble(name, source, fit_images(images, plan), captions, fit, seed, fraction, level, None, labels)


def _assemble(name: str, source: str, x: torch.Tensor, targets: list[list[str]], fit: Seq2SeqFit, seed: int,
              fraction: float, level: str, src_vocab: Vocabulary | None, labels: list[str]) -> Dataset:
    flat = [t for group in targets for t in group]
    tgt_vocab = Vocabulary.build(flat, level)
    longest = max((len(split_tokens(t, level)) for t in flat), default=0)
    length = fit.target_length
    if longest + 1 > length:
        raise DataError(f"{name}: the longest target has {longest} {level} tokens and <eos>, but the decoder "
                        f"Input reads {length}; set its shape to [{longest + 1}] (and the Output's length)")
    phrasings = max(len(group) for group in targets)
    y = np.stack([encode_targets(tgt_vocab, [group[k % len(group)] for k in range(phrasings)], length)
                  for group in targets])                       # (N, P, T + 1)
    n = len(targets)
    train, val = split_indices(n, fraction, seed)
    y_t = tensor(y, torch.int64)
    y_train = y_t[torch.from_numpy(train)]
    if phrasings == 1:
        y_train = y_train[:, 0]
    return Dataset(
        name=name, task=SEQ2SEQ,
        x_train=x[torch.from_numpy(train)], y_train=y_train,
        x_val=x[torch.from_numpy(val)], y_val=y_t[torch.from_numpy(val)][:, 0],
        num_classes=len(tgt_vocab), source=source,
        extra={"source_vocabulary": src_vocab, "target_vocabulary": tgt_vocab,
               "val_references": [list(dict.fromkeys(targets[i])) for i in val],
               "val_sources": [labels[i] for i in val],
               "reverse_source": bool(fit.reverse_source and src_vocab is not None),
               "phrasings": phrasings, "validation": "split"})


# -- built-ins --------------------------------------------------------------------------
def number_words(fit: Seq2SeqFit, seed: int, fraction: float, reverse: bool = False) -> Dataset:
    numbers = _numbers(seed)
    words = [number_to_words(n) for n in numbers]
    digits = [str(n) for n in numbers]
    if reverse:
        return text_pairs("digits-words", "built-in", digits, [[w] for w in words], fit, seed, fraction,
                          _level(fit, "char"), _level(fit, "word"))
    return text_pairs("number-words", "built-in", words, [[d] for d in digits], fit, seed, fraction,
                      _level(fit, "word"), _level(fit, "char"))


def shapes_captions(fit: Seq2SeqFit, seed: int, fraction: float, n: int = CAPTION_IMAGES) -> Dataset:
    height, width = (fit.source_shape[1], fit.source_shape[2]) if len(fit.source_shape) == 3 else (32, 48)
    if not fit.image_source:
        raise DataError("shapes-captions: the source is images, so the source Input must be float32 of shape "
                        f"(3, H, W); it is {fit.source_dtype} {shape_text(fit.source_shape)}")
    images, captions = draw_captioned(n, height, width, seed)
    return image_pairs("shapes-captions", "built-in", images, captions, fit, seed, fraction,
                       _level(fit, "word"), [c[0] for c in captions])


def load_builtin_seq2seq(name: str, fit: Seq2SeqFit, seed: int, fraction: float) -> Dataset:
    if name == "number-words":
        return number_words(fit, seed, fraction)
    if name == "digits-words":
        return number_words(fit, seed, fraction, reverse=True)
    if name == "shapes-captions":
        return shapes_captions(fit, seed, fraction)
    raise DataError(f"unknown sequence-to-sequence dataset {name!r}; built-ins: {', '.join(SEQ2SEQ_DATASETS)}")


# -- files ------------------------------------------------------------------------------
def _tsv_rows(path: Path, what: str) -> list[tuple[int, list[str]]]:
    text = read_text_file(path)
    rows = []
    for number, line in enumerate(io.StringIO(text), start=1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise DataError(f"{path}: line {number} has {'an empty column' if len(cells) >= 2 else '1 column'}; "
                            f"each line needs {what} separated by a tab")
        rows.append((number, cells[:2]))
    if rows and [c.lower() for c in rows[0][1]] in (["source", "target"], ["file", "caption"],
                                                    ["image", "caption"], ["filename", "caption"]):
        rows = rows[1:]  # a header
    if not rows:
        raise DataError(f"{path}: no lines of {what}")
    return rows


def load_parallel_tsv(path: Path, fit: Seq2SeqFit, seed: int, fraction: float) -> Dataset:
    """source<TAB>target per line; a repeated source collects its targets."""
    rows = _tsv_rows(path, "a source and a target")
    grouped: dict[str, list[str]] = {}
    for _, (src, tgt) in rows:
        grouped.setdefault(src, []).append(tgt)
    sources = list(grouped)
    targets = [grouped[s] for s in sources]
    # one level for both sides: words when most lines (of either side) have several
    level = fit.tokens if fit.tokens != "auto" else _guess_level(sources + [t for g in targets for t in g])
    return text_pairs(path.name, str(path), sources, targets, fit, seed, fraction, level, level)


def load_caption_folder(root: Path, fit: Seq2SeqFit, seed: int, fraction: float) -> Dataset:
    """A folder of images with ``captions.tsv`` (file<TAB>caption); every named image must exist."""
    from graph_engine.data.folder import _open, _pixels

    table = root / CAPTIONS_FILE
    rows = _tsv_rows(table, "an image file name and a caption")
    grouped: dict[str, list[str]] = {}
    for number, (name, caption) in rows:
        image = (root / name)
        if not image.is_file() or root.resolve() not in image.resolve().parents:
            raise DataError(f"{table}: line {number} names {name}, which is not an image in {root}")
        grouped.setdefault(name, []).append(caption)
    if not fit.image_source or len(fit.source_shape) != 3:
        raise DataError(f"{root}: captions need a float32 image Input of shape (3, H, W); the source Input is "
                        f"{fit.source_dtype} {shape_text(fit.source_shape)}")
    channels, height, width = fit.source_shape
    names = list(grouped)
    images = torch.empty((len(names), channels, height, width), dtype=torch.float32)
    for i, name in enumerate(names):
        with _open(root / name) as opened:
            pixels = _pixels(opened, 3)
        chw = pixels.transpose(2, 0, 1)[None]
        plan = ImagePlan(tuple(chw.shape[1:]), channels, height, width, IMAGE)
        images[i] = fit_images(chw, plan)[0]
    level = fit.tokens if fit.tokens != "auto" else "word"
    return image_pairs(root.name, str(root), images, [grouped[n] for n in names], fit, seed, fraction, level,
                       names)


def load_seq2seq(spec: str, fit: Seq2SeqFit, seed: int = 0, fraction: float = 0.2) -> Dataset:
    """A built-in sequence-to-sequence dataset, a ``.tsv`` of pairs or a captioned image folder."""
    if spec in SEQ2SEQ_DATASETS:
        return load_builtin_seq2seq(spec, fit, seed, fraction)
    from graph_engine.data.builtin import BUILTIN_DATASETS

    if spec in BUILTIN_DATASETS:
        raise DataError(f"{spec} is not sequence-to-sequence data; a graph with a source and a decoder Input "
                        f"trains on {', '.join(SEQ2SEQ_DATASETS)}, a .tsv of source<TAB>target lines, or an "
                        f"image folder with {CAPTIONS_FILE}")
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / CAPTIONS_FILE).is_file():
            raise DataError(f"{spec}: a folder for captioning needs a {CAPTIONS_FILE} (file<TAB>caption lines)")
        return load_caption_folder(path, fit, seed, fraction)
    if path.is_file():
        return load_parallel_tsv(path, fit, seed, fraction)
    raise DataError(f"{spec}: no such file or directory (sequence-to-sequence built-ins: "
                    f"{', '.join(SEQ2SEQ_DATASETS)}, or a .tsv of source<TAB>target lines, or an image folder "
                    f"with {CAPTIONS_FILE})")


def dataset_labels(dataset: Dataset) -> list[str]:
    return list(dataset.extra.get("val_sources", []))


__all__ = ["SEQ2SEQ_DATASETS", "Seq2SeqFit", "load_seq2seq", "number_words", "shapes_captions"]
