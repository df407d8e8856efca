"""Text from a character model: random sampling and beam search.

Given the model's ``graph``, generation is incremental: the graph's decoder step
(:mod:`graph_engine.probes.incremental`) reads the prompt once and then one character
per step, carrying the recurrent state on — the prefix is never run again, and the
context is not cut to a window; for the usual Embedding → LSTM/GRU/RNN → Linear chain
sampling runs on :class:`~graph_engine.probes.chain_step.ChainStep` (the same numbers, on
preallocated buffers, ~2× faster than the compiled step). Without a graph (any module mapping int64 (B, T)
windows of character indices to logits (B, T, V)) each new character is predicted
at the last position from the last ``window`` characters, re-running the window.
Generated indices stay on the device until the end, and a private random generator
is used so sampling never disturbs the training's random stream.
"""

from __future__ import annotations

import weakref
from typing import Sequence

import torch
from torch import fx

from graph_engine.data.text import UNKNOWN  # stands for characters the vocabulary lacks
from graph_engine.model import Graph
from graph_engine.probes._common import evaluating, model_device
from graph_engine.probes.chain_step import PROGRESS_EVERY, ChainStep, Progress
from graph_engine.probes.incremental import IncrementalDecoder

_decoders: "weakref.WeakKeyDictionary[torch.nn.Module, tuple[Graph, IncrementalDecoder]]" = (
    weakref.WeakKeyDictionary())


def decoder_for(model: torch.nn.Module, graph: Graph) -> IncrementalDecoder:
    """The incremental decoder of ``model`` (compiled from ``graph``), built once and reused:
    it shares the model's layers, so it always sees the current weights."""
    cached = _decoders.get(model)
    if cached is not None and cached[0] is graph:
        return cached[1]
    decoder = IncrementalDecoder(model, graph)
    _decoders[model] = (graph, decoder)
    return decoder


def sample_text(model: fx.GraphModule, vocabulary: str | Sequence[str], prompt: str, length: int,
                temperature: float = 1.0, window: int = 64, seed: int | None = None,
                graph: Graph | None = None, progress: Progress | None = None, fast_path: bool = True) -> str:
    """``length`` characters continuing ``prompt`` (the prompt itself is not returned).

    Each character is drawn from softmax(logits / temperature) at the last position.
    Temperature 0 decodes greedily (argmax); as it approaches 0 sampling approaches
    greedy decoding, above 1 it flattens the distribution. The same ``seed`` gives
    the same text on the same device; ``seed=None`` draws a fresh one. With ``graph``
    the decoding is incremental (``window`` is not used), and a plain chain's step is
    computed by :class:`~graph_engine.probes.chain_step.ChainStep` (``fast_path=False``:
    the graph's compiled step; both draw from the same distribution, not the same stream).
    ``progress(done)`` hears every few characters; when it returns False generation stops
    and the characters so far are returned.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be ≥ 0, got {temperature}")
    context, size = _start(model, vocabulary, prompt, length, window if graph is None else 1 << 30)
    device = context.device
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    if graph is not None:
        decoder = decoder_for(model, graph)
        with evaluating(model), torch.inference_mode():
            logits, state = decoder.step(context, decoder.start(batch=1))
            if length == 0:
                return ""
            fast = ChainStep.build(model, graph, decoder.split) if fast_path else None
            if fast is not None:
                fast.load(state.states)
                produced = fast.generate(logits[:, -1], length, size, temperature, generator, progress)
                return _decode(vocabulary, produced.tolist())
            produced = torch.empty(length, dtype=torch.int64, device=device)
            for index in range(length):
                last = logits[0, -1, :size].float()
                if temperature == 0:
                    token = last.argmax().reshape(1)
                else:
                    # subtracting the maximum first keeps tiny temperatures finite (no inf - inf)
                    token = torch.multinomial(torch.softmax((last - last.max()) / temperature, dim=-1), 1,
                                              generator=generator)
                produced[index] = token[0]
                if _stopped(progress, index, length):
                    return _decode(vocabulary, produced[:index + 1].tolist())
                if index + 1 < length:
                    logits, state = decoder.step(token.reshape(1, 1), state)
        return _decode(vocabulary, produced.tolist())
    produced = torch.empty(length, dtype=torch.int64, device=device)
    with evaluating(model):
        for index in range(length):
            logits = _last_logits(model, context, size)[0]
            if temperature == 0:
                token = logits.argmax().reshape(1)
            else:
                # subtracting the maximum first keeps tiny temperatures finite (no inf - inf)
                probabilities = torch.softmax((logits - logits.max()) / temperature, dim=-1)
                token = torch.multinomial(probabilities, 1, generator=generator)
            produced[index] = token[0]
            if _stopped(progress, index, length):
                return _decode(vocabulary, produced[:index + 1].tolist())
            context = torch.cat([_tail(context, window - 1), token.reshape(1, 1)], dim=1)
    return _decode(vocabulary, produced.tolist())


def beam_search(model: fx.GraphModule, vocabulary: str | Sequence[str], prompt: str, length: int,
                beam_width: int = 4, window: int = 64, graph: Graph | None = None,
                progress: Progress | None = None) -> str:
    """The most probable ``length``-character continuation found by beam search.

    Keeps the ``beam_width`` continuations with the highest summed log-probability
    at every step and returns the best one (without the prompt). Width 1 is greedy
    decoding. With ``graph`` each beam carries its recurrent state (incremental).
    ``progress(done)`` as for :func:`sample_text` (a stop returns the best beam so far).
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    context, size = _start(model, vocabulary, prompt, length, window if graph is None else 1 << 30)
    device = context.device
    scores = torch.zeros(1, device=device)
    produced = torch.empty((1, 0), dtype=torch.int64, device=device)
    if graph is not None:
        decoder = decoder_for(model, graph)
        with evaluating(model):
            logits, state = decoder.step(context, decoder.start(batch=1))
            for index in range(length):
                log_probs = torch.log_softmax(logits[:, -1, :size].float(), dim=-1)
                totals = (scores[:, None] + log_probs).reshape(-1)
                scores, flat = totals.topk(min(beam_width, totals.numel()))
                parents, tokens = flat // size, (flat % size)[:, None]
                produced = torch.cat([produced[parents], tokens], dim=1)
                if _stopped(progress, index, length):
                    break
                if index + 1 < length:
                    logits, state = decoder.step(tokens, state.select(parents))
        return _decode(vocabulary, produced[0].tolist())
    with evaluating(model):
        for index in range(length):
            log_probs = torch.log_softmax(_last_logits(model, context, size), dim=-1)
            totals = (scores[:, None] + log_probs).reshape(-1)
            scores, flat = totals.topk(min(beam_width, totals.numel()))
            parents, tokens = flat // size, (flat % size)[:, None]
            produced = torch.cat([produced[parents], tokens], dim=1)
            if _stopped(progress, index, length):
                break
            context = torch.cat([_tail(context[parents], window - 1), tokens], dim=1)
    return _decode(vocabulary, produced[0].tolist())


def _stopped(progress: Progress | None, index: int, length: int) -> bool:
    """Whether ``progress`` (told every few characters, and after the last) asks to stop."""
    done = index + 1
    if progress is None or (done % PROGRESS_EVERY and done != length):
        return False
    return progress(done) is False


def encode_prompt(vocabulary: str | Sequence[str], prompt: str) -> list[int]:
    """Indices of the prompt's characters; unknown ones become :data:`UNKNOWN` when the
    vocabulary has it, else they are dropped."""
    index: dict[str, int] = {}
    for position, char in enumerate(vocabulary):
        index.setdefault(char, position)
    unknown = index.get(UNKNOWN)
    tokens = [index.get(char, unknown) for char in prompt]
    return [t for t in tokens if t is not None]


def _start(model: fx.GraphModule, vocabulary: str | Sequence[str], prompt: str, length: int,
           window: int) -> tuple[torch.Tensor, int]:
    """The prompt's last ``window`` indices as a (1, T) tensor, and the vocabulary size."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    if length < 0:
        raise ValueError(f"length must be ≥ 0, got {length}")
    if len(vocabulary) == 0:
        raise ValueError("the vocabulary is empty")
    tokens = encode_prompt(vocabulary, prompt)[-window:]
    if not tokens:
        raise ValueError("the prompt has no character of the vocabulary: nothing to condition on")
    context = torch.tensor([tokens], dtype=torch.int64, device=model_device(model))
    return context, len(vocabulary)


def _last_logits(model: fx.GraphModule, context: torch.Tensor, size: int) -> torch.Tensor:
    """(B, V) float logits at the last position, cut to the vocabulary's size."""
    logits = model(context)
    if logits.dim() != 3 or logits.shape[-1] < size:
        raise ValueError(f"a character model must map (B, T) to (B, T, V ≥ {size}) logits; "
                         f"got {tuple(logits.shape)}")
    return logits[:, -1, :size].float()


def _tail(values: torch.Tensor, count: int) -> torch.Tensor:
    """The last ``count`` columns (none for count 0, unlike ``values[:, -0:]``)."""
    return values[:, max(values.shape[1] - count, 0):]


def _decode(vocabulary: str | Sequence[str], tokens: list[int]) -> str:
    return "".join(vocabulary[t] for t in tokens)
