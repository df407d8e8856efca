"""Token vocabularies for sequence-to-sequence data: character or word level, with specials.

Index 0 is ``<pad>``, 1 ``<bos>``, 2 ``<eos>``, 3 ``<unk>``; the data's tokens follow,
sorted, so the same data always gives the same indices. A vocabulary is plain data
(``to_dict``/``from_dict``) and is saved in the run folder (``vocabularies.json``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
LEVELS = ("char", "word")


def split_tokens(text: str, level: str) -> list[str]:
    """``"four thousand"`` -> words ``["four", "thousand"]`` or characters."""
    if level == "word":
        return text.split()
    if level == "char":
        return list(text)
    raise ValueError(f"token level must be one of {', '.join(LEVELS)}, got {level!r}")


@dataclass(frozen=True)
class Vocabulary:
    """An index per token (see the module docstring)."""

    tokens: tuple[str, ...]
    level: str

    @classmethod
    def build(cls, texts: Iterable[str], level: str, max_size: int | None = None) -> "Vocabulary":
        """The specials, then the distinct tokens of ``texts`` sorted; with ``max_size`` the most
        frequent ones that fit (ties by token), the rest becoming ``<unk>``."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(split_tokens(text, level))
        for special in SPECIALS:
            counts.pop(special, None)
        kept = sorted(counts)
        if max_size is not None and len(kept) + len(SPECIALS) > max_size:
            room = max(0, max_size - len(SPECIALS))
            kept = sorted(sorted(counts, key=lambda t: (-counts[t], t))[:room])
        return cls(SPECIALS + tuple(kept), level)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def index(self) -> dict[str, int]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {token: i for i, token in enumerate(self.tokens)}
            object.__setattr__(self, "_index", cached)
        return cached

    def encode(self, text: str) -> list[int]:
        """Indices of ``text``'s tokens (no specials added); unknown tokens become ``<unk>``."""
        index = self.index
        return [index.get(token, UNK_ID) for token in split_tokens(text, self.level)]

    def decode(self, ids: Iterable[int], stop: bool = True) -> str:
        """Text of ``ids``: stops at ``<eos>`` (when ``stop``), leaves out ``<pad>``/``<bos>``."""
        words = []
        for i in ids:
            i = int(i)
            if i == EOS_ID and stop:
                break
            if i in (PAD_ID, BOS_ID) or not 0 <= i < len(self.tokens):
                continue
            words.append(self.tokens[i])
        return (" " if self.level == "word" else "").join(words)

    def to_dict(self) -> dict:
        return {"level": self.level, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        tokens = tuple(str(t) for t in data["tokens"])
        if tokens[:len(SPECIALS)] != SPECIALS:
            raise ValueError("a vocabulary starts with " + ", ".join(SPECIALS))
        level = str(data.get("level", "word"))
        if level not in LEVELS:
            raise ValueError(f"unknown token level {level!r}")
        return cls(tokens, level)


def encode_targets(vocabulary: Vocabulary, texts: Sequence[str], length: int) -> np.ndarray:
    """(N, length + 1) int64: ``<bos>`` tokens ``<eos>`` then ``<pad>``. The decoder reads
    columns 0..length-1 and learns to predict columns 1..length."""
    out = np.full((len(texts), length + 1), PAD_ID, dtype=np.int64)
    out[:, 0] = BOS_ID
    for row, text in enumerate(texts):
        ids = vocabulary.encode(text)[:length - 1] + [EOS_ID]
        out[row, 1:1 + len(ids)] = ids
    return out


def encode_sources(vocabulary: Vocabulary, texts: Sequence[str], length: int,
                   reverse: bool = False) -> np.ndarray:
    """(N, length) int64, padded on the left so the encoder's last step reads the last token
    (its final state then summarises the sentence, with no padding after it). ``reverse``
    reads the sentence backwards (Sutskever et al. 2014)."""
    out = np.full((len(texts), length), PAD_ID, dtype=np.int64)
    for row, text in enumerate(texts):
        ids = vocabulary.encode(text)
        if reverse:
            ids = ids[::-1]
        if ids:
            out[row, length - len(ids):] = ids[-length:] if len(ids) > length else ids
    return out


def longest(vocabulary: Vocabulary, texts: Iterable[str]) -> int:
    """Most tokens in one of ``texts``."""
    return max((len(split_tokens(t, vocabulary.level)) for t in texts), default=0)
