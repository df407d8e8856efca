"""Decoding a sequence step by step: greedy, temperature sampling and beam search.

Every function drives an :class:`~graph_engine.probes.incremental.IncrementalDecoder`:
the encoder runs once, then each step feeds one token per row and carries the recurrent
state on; the prefix is never run again. Scores are cut to the vocabulary's ``size``
(an Output may score more tokens than the data has). ``stop`` is the STOP symbol
(``<eos>``): a sequence ends when it is produced, or after ``max_length`` tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from graph_engine.probes.incremental import DecoderState, IncrementalDecoder


@dataclass(frozen=True)
class Hypothesis:
    """One decoded sequence: its tokens (without the start token, with STOP when it ended
    so), the summed log-probability and the length-normalised score beam search ranks by."""

    tokens: tuple[int, ...]
    log_prob: float
    score: float
    finished: bool


def _log_probs(decoder: IncrementalDecoder, tokens: torch.Tensor, state: DecoderState,
               size: int) -> tuple[torch.Tensor, DecoderState]:
    logits, state = decoder.step(tokens, state)
    return torch.log_softmax(logits[:, -1, :size].float(), dim=-1), state


def greedy(decoder: IncrementalDecoder, state: DecoderState, start: int, stop: int | None, max_length: int,
           size: int, temperature: float = 0.0, generator: torch.Generator | None = None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a whole batch at once: argmax (``temperature`` 0) or sampling from
    softmax(logits / temperature). Returns tokens (B, L ≤ max_length), STOP and then
    ``stop`` again after a row has ended, and each row's summed log-probability (B,)."""
    batch = state.states[0].shape[0] if state.states else state.context[0].shape[0]
    device = decoder.device
    token = torch.full((batch, 1), start, dtype=torch.int64, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    total = torch.zeros(batch, device=device)
    produced = []
    for _ in range(max_length):
        log_probs, state = _log_probs(decoder, token, state, size)
        if temperature > 0:
            probabilities = torch.softmax((log_probs - log_probs.max(-1, keepdim=True).values) / temperature, -1)
            token = torch.multinomial(probabilities, 1, generator=generator)
        else:
            token = log_probs.argmax(-1, keepdim=True)
        if stop is not None:
            token = token.masked_fill(done[:, None], stop)
        total = total + torch.where(done, torch.zeros_like(total), log_probs.gather(1, token)[:, 0])
        produced.append(token)
        if stop is not None:
            done = done | (token[:, 0] == stop)
            if bool(done.all()):
                break
    tokens = torch.cat(produced, 1) if produced else torch.empty((batch, 0), dtype=torch.int64, device=device)
    return tokens, total


def length_normalised(log_prob: float, length: int, alpha: float) -> float:
    """``log_prob / length^alpha``: 0 ranks by probability alone (favouring short sequences),
    1 by the mean log-probability per token."""
    return log_prob / (max(length, 1) ** alpha) if alpha else log_prob


def beam_search(decoder: IncrementalDecoder, state: DecoderState, start: int, stop: int | None,
                max_length: int, size: int, beam_width: int = 5, alpha: float = 1.0) -> list[Hypothesis]:
    """The ``beam_width`` best sequences for one sample (``state`` of batch 1), best first.

    At each step every live sequence is extended by every token and the ``beam_width`` best
    extensions by summed log-probability are kept; one that produces ``stop`` is finished and
    leaves the beam. The search ends when every kept sequence has finished, when
    ``beam_width`` have finished and no live one can still beat them, or after
    ``max_length`` steps. The cost is linear in the width, the vocabulary and the length.
    Finished and unfinished sequences are ranked by :func:`length_normalised` scores."""
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    device = decoder.device
    tokens = torch.full((1, 1), start, dtype=torch.int64, device=device)
    prefixes: list[tuple[int, ...]] = [()]
    scores = torch.zeros(1, device=device)
    finished: list[Hypothesis] = []
    for step in range(max_length):
        log_probs, state = _log_probs(decoder, tokens, state, size)
        totals = (scores[:, None] + log_probs).reshape(-1)
        kept_scores, flat = totals.topk(min(beam_width, totals.numel()))
        parents, chosen = (flat // size).tolist(), (flat % size).tolist()
        live_rows, live_prefixes, live_scores = [], [], []
        for parent, token, score in zip(parents, chosen, kept_scores.tolist()):
            sequence = prefixes[parent] + (token,)
            if stop is not None and token == stop:
                finished.append(Hypothesis(sequence, score, length_normalised(score, len(sequence), alpha), True))
            else:
                live_rows.append(parent)
                live_prefixes.append(sequence)
                live_scores.append(score)
        if not live_rows:
            break
        if len(finished) >= beam_width and alpha == 0:
            worst = sorted(h.log_prob for h in finished)[-beam_width]
            if max(live_scores) <= worst:  # log-probabilities only fall as sequences grow
                break
        if step == max_length - 1:
            finished += [Hypothesis(p, s, length_normalised(s, len(p), alpha), False)
                         for p, s in zip(live_prefixes, live_scores)]
            break
        rows = torch.tensor(live_rows, device=device)
        state = state.select(rows)
        prefixes = live_prefixes
        scores = torch.tensor(live_scores, device=device)
        tokens = torch.tensor([[p[-1]] for p in live_prefixes], dtype=torch.int64, device=device)
    finished.sort(key=lambda h: -h.score)
    return finished[:beam_width]


def sequence_log_prob(decoder: IncrementalDecoder, state: DecoderState, start: int,
                      sequence: list[int], size: int) -> float:
    """log P(sequence | context) under the model, one step per token (for tests and the truth's score)."""
    tokens = torch.tensor([[start, *sequence[:-1]]], dtype=torch.int64, device=decoder.device)
    logits, _ = decoder.step(tokens, state)
    log_probs = torch.log_softmax(logits[0, :, :size].float(), -1)
    return float(log_probs[torch.arange(len(sequence)), torch.tensor(sequence)].sum())
