"""Decoding from an encoder–decoder run's checkpoint: a sentence or an image in, the
greedy decoding, samples, or the beam's K best with their log-probabilities out.

Used by ``rosenblatt sample RUN --source/--image`` and the app's Text panel. The run
folder's ``vocabularies.json`` gives the tokens; the graph gives the shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from graph_engine.data.base import DataError
from graph_engine.data.tokens import BOS_ID, EOS_ID, Vocabulary, encode_sources
from graph_engine.probes import decoding
from graph_engine.probes import evaluating
from graph_engine.probes.incremental import IncrementalDecoder
from graph_engine.training import runs
from graph_engine.training.replay import OpenedRun
from graph_engine.training.seq2seq import Seq2SeqEnds, seq2seq_ends
from graph_engine.training.snapshot import RunSnapshot


@dataclass(frozen=True)
class Candidate:
    """One decoded output: its text, summed log-probability and beam score."""

    text: str
    log_prob: float
    score: float
    finished: bool = True


class Seq2SeqModel:
    """A trained encoder–decoder, ready to decode one source at a time."""

    def __init__(self, opened: OpenedRun):
        path = opened.run_dir / "vocabularies.json"
        if not path.is_file():
            raise DataError(f"{opened.run_dir}: not an encoder–decoder run (no vocabularies.json)")
        data = runs.read_json(path)
        self.opened = opened
        self.source_vocab = Vocabulary.from_dict(data["source"]) if data.get("source") else None
        self.target_vocab = Vocabulary.from_dict(data["target"])
        self.reverse = bool(data.get("reverse_source"))
        snapshot = RunSnapshot.of(opened.graph, copy=False)
        self.analysis = snapshot.analysis
        self.ends: Seq2SeqEnds = seq2seq_ends(opened.graph, snapshot.analysis)
        self.decoder = IncrementalDecoder(opened.model, opened.graph, snapshot.analysis, self.ends.decoder_id,
                                          self.ends.output_id)

    @property
    def image_source(self) -> bool:
        return self.source_vocab is None

    @property
    def step(self) -> int:
        return int(self.opened.checkpoint["step"])

    # -- sources ----------------------------------------------------------------------
    def encode_text(self, text: str) -> torch.Tensor:
        if self.source_vocab is None:
            raise DataError("this run captions images: give an image, not a sentence")
        length = self.ends.source_shape[0]
        from graph_engine.data.tokens import UNK_ID, split_tokens

        tokens = self.source_vocab.encode(text)
        if not tokens:
            raise DataError("the source is empty")
        unknown = [t for t, i in zip(split_tokens(text, self.source_vocab.level), tokens) if i == UNK_ID]
        if unknown:
            known = [t for t in self.source_vocab.tokens[4:]]
            sample = " ".join(known[:12]) + (" …" if len(known) > 12 else "")
            raise DataError(f"{unknown[0]!r} is not in the source vocabulary ({len(known)} "
                            f"{self.source_vocab.level}s: {sample})")
        if len(tokens) > length:
            raise DataError(f"the source has {len(tokens)} tokens but the model reads at most {length}")
        return torch.from_numpy(encode_sources(self.source_vocab, [text], length, self.reverse))

    def encode_image(self, path: str | Path) -> torch.Tensor:
        if self.source_vocab is not None:
            raise DataError("this run translates text: give a sentence (--source), not an image")
        from graph_engine.data.folder import _open, _pixels
        from graph_engine.data.images import IMAGE, ImagePlan, fit_images

        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such image")
        with _open(path) as image:
            pixels = _pixels(image, 3)
        chw = pixels.transpose(2, 0, 1)[None]
        channels, height, width = self.ends.source_shape
        return fit_images(chw, ImagePlan(tuple(chw.shape[1:]), channels, height, width, IMAGE))

    def image_pixels(self, x: torch.Tensor) -> np.ndarray:
        """(H, W, 3) uint8 of a (C, H, W) source image, to show it."""
        array = (x.detach().float().clamp(0, 1) * 255).round().byte().cpu().numpy()
        return np.ascontiguousarray(array.transpose(1, 2, 0) if array.shape[0] == 3 else
                                    np.repeat(array.transpose(1, 2, 0), 3, axis=2))

    # -- decoding ---------------------------------------------------------------------
    def beam(self, x: torch.Tensor, width: int, alpha: float = 1.0, max_length: int | None = None) -> list[Candidate]:
        """The ``width`` best outputs by beam search, best first (width 1: greedy)."""
        with evaluating(self.opened.model):
            state = self.decoder.start(x[:1])
            found = decoding.beam_search(self.decoder, state, BOS_ID, EOS_ID, max_length or self.ends.target_length,
                                         len(self.target_vocab), width, alpha)
        return [Candidate(self.target_vocab.decode(h.tokens), h.log_prob, h.score, h.finished) for h in found]

    def greedy(self, x: torch.Tensor, temperature: float = 0.0, seed: int | None = None) -> Candidate:
        """Greedy decoding (temperature 0) or one sample at ``temperature``."""
        generator = torch.Generator(device=self.decoder.device)
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        with evaluating(self.opened.model):
            state = self.decoder.start(x[:1])
            tokens, total = decoding.greedy(self.decoder, state, BOS_ID, EOS_ID, self.ends.target_length,
                                            len(self.target_vocab), temperature, generator)
        ids = tokens[0].tolist()
        return Candidate(self.target_vocab.decode(ids), float(total[0]), float(total[0]), EOS_ID in ids)

    def log_prob(self, x: torch.Tensor, text: str) -> float:
        """log P(text | source): how the model scores a true output."""
        ids = self.target_vocab.encode(text) + [EOS_ID]
        with evaluating(self.opened.model):
            return decoding.sequence_log_prob(self.decoder, self.decoder.start(x[:1]), BOS_ID, ids,
                                              len(self.target_vocab))
