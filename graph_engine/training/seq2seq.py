"""The ``seq2seq`` task: an encoder–decoder graph trained on (source, target) pairs.

The graph has a source Input (tokens or an image), a decoder Input of T int64 tokens, and
one Output (T, V) scoring the next token at each step; the decoder's recurrent layers take
the encoder's state through their state ports (``h0``/``c0``). :func:`seq2seq_ends` finds
these and refuses, in one line, a graph it cannot train.

Training feeds the decoder ``<bos>`` and the target shifted by one (teacher forcing).
With scheduled sampling (Bengio et al. 2015) each step instead feeds, with probability
1 − ε, a token sampled from the model's own prediction (or, in the uniform variant, drawn
uniformly from the vocabulary); ε, the teacher-forcing probability, decays with the step
(:func:`teacher_forcing`). That runs the decoder one step at a time, through the same
incremental decoder as inference. The loss is the per-token cross-entropy over the target
tokens (``<pad>`` ignored). Validation measures it with teacher forcing, the token accuracy,
and, decoding greedily from ``<bos>`` alone, the exact-match rate and corpus BLEU
(sacrebleu, on a 0–1 scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from graph_engine.analysis import Analysis
from graph_engine.data.base import Dataset
from graph_engine.data.seq2seq import Seq2SeqFit
from graph_engine.data.tokens import BOS_ID, EOS_ID, PAD_ID, SPECIALS, Vocabulary
from graph_engine.errors import CompileError
from graph_engine.model import Graph
from graph_engine.probes import decoding
from graph_engine.probes.incremental import DecodingError, IncrementalDecoder, find_decoder_input, split_decoder
from graph_engine.registry import get_spec
from graph_engine.shape_format import shape_text
from graph_engine.training.settings import TrainingSettings

#: validation samples whose decodings the Text panel lists each epoch
SHOWN_TRANSLATIONS = 12
#: validation phrases whose encoder state the Encoder state view projects
ENCODER_POINTS = 300


@dataclass(frozen=True)
class Seq2SeqEnds:
    """The Inputs and Output of an encoder–decoder graph as training sees them."""

    source_id: str
    decoder_id: str
    output_id: str
    source_shape: tuple[int, ...]
    source_dtype: str
    target_length: int
    output_shape: tuple[int, ...]
    #: (node id, limit) of the Embeddings fed by the source and by the decoder Input
    source_embeddings: tuple[tuple[str, int], ...]
    target_embeddings: tuple[tuple[str, int], ...]
    last_layer: str
    #: the graph's Inputs in file order: the compiled module's arguments
    input_order: tuple[str, ...]

    def fit(self, settings: TrainingSettings) -> Seq2SeqFit:
        return Seq2SeqFit(self.source_shape, self.source_dtype, self.target_length, self.output_shape,
                          settings.tokens, settings.reverse_source)

    def arguments(self, source: torch.Tensor, decoder_tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The compiled module's positional arguments, in the Inputs' file order."""
        return tuple(source if i == self.source_id else decoder_tokens for i in self.input_order)


def is_encoder_decoder(analysis: Analysis) -> bool:
    """Several Inputs: the graph is trained as an encoder–decoder (the seq2seq task)."""
    return len(analysis.input_ids) > 1


def _embeddings_below(graph: Graph, analysis: Analysis, start: str) -> tuple[tuple[str, int], ...]:
    """Token-fed layers that read ``start``'s values (directly, as their input)."""
    import networkx as nx

    found = []
    for node_id in nx.descendants(analysis.wiring.digraph, start):
        spec = get_spec(graph.node(node_id).type)
        if spec is not None and spec.token_limit:
            feed = analysis.input_values(node_id)[0]
            if feed is not None and feed.node == start:
                found.append((node_id, spec.token_limit(graph.node(node_id).params)))
    return tuple(sorted(found))


def seq2seq_ends(graph: Graph, analysis: Analysis) -> Seq2SeqEnds:
    """The source Input, the decoder Input and the Output of ``graph`` (valid). Raises
    CompileError with one line when the graph cannot be trained as an encoder–decoder."""
    inputs, outputs = analysis.input_ids, analysis.output_ids
    if len(inputs) != 2 or len(outputs) != 1:
        raise CompileError(f"the seq2seq task takes two Inputs (the source and the decoder's tokens) and one "
                           f"Output; {graph.name!r} has {len(inputs)} Input(s) ({', '.join(inputs)}) and "
                           f"{len(outputs)} Output(s) ({', '.join(outputs) or 'none'})")
    output_id = outputs[0]
    decoder_id = find_decoder_input(graph, analysis, output_id)
    if decoder_id is None:
        raise CompileError(f"{graph.name!r}: neither Input is int64 tokens feeding the Output '{output_id}'; "
                           "the decoder reads the target's tokens (an int64 Input of shape (T,))")
    source_id = next(i for i in inputs if i != decoder_id)
    try:
        split = split_decoder(graph, analysis, decoder_id, output_id)
    except DecodingError as error:
        raise CompileError(str(error)) from None
    if not split.connected_states:
        names = ", ".join(f"'{r}' ({graph.node(r).type})" for r in split.recurrent)
        if not names:
            raise CompileError(f"{graph.name!r}: no recurrent layer reads the decoder Input '{decoder_id}'; the "
                               "decoder needs one (GRU or LSTM) whose state comes from the encoder")
        raise CompileError(f"the decoder {names} has no state port connected: connect the encoder's final "
                           f"state (h_n, and c_n for an LSTM) to its h0 (and c0), or the output cannot depend "
                           f"on the source '{source_id}'")
    if source_id not in split.context_inputs:
        raise CompileError(f"the source Input '{source_id}' does not reach the decoder's state")
    decoder_shape = tuple(analysis.info(decoder_id).out_shape)
    out = tuple(analysis.info(output_id).out_shape)
    if len(decoder_shape) != 1:
        raise CompileError(f"the decoder Input '{decoder_id}' must be int64 tokens of shape (T,), got "
                           f"{shape_text(decoder_shape)}")
    if len(out) != 2 or out[0] != decoder_shape[0]:
        raise CompileError(f"the Output '{output_id}' must score each of the decoder's {decoder_shape[0]} steps: "
                           f"shape ({decoder_shape[0]}, vocabulary), got {shape_text(out)}")
    last = analysis.input_values(output_id)[0].node
    return Seq2SeqEnds(source_id, decoder_id, output_id, tuple(analysis.info(source_id).out_shape),
                       analysis.info(source_id).dtype or "float", decoder_shape[0], out,
                       _embeddings_below(graph, analysis, source_id), _embeddings_below(graph, analysis, decoder_id),
                       graph.node(last).type, tuple(inputs))


def vocabularies(dataset: Dataset) -> tuple[Vocabulary | None, Vocabulary]:
    return dataset.extra.get("source_vocabulary"), dataset.extra["target_vocabulary"]


def fit_problems(dataset: Dataset, ends: Seq2SeqEnds) -> list[str]:
    """Why this dataset cannot train this encoder–decoder (empty when it can)."""
    name = dataset.name
    source_vocab, target_vocab = vocabularies(dataset)
    problems = []
    if source_vocab is not None:
        for node_id, limit in ends.source_embeddings:
            if len(source_vocab) > limit:
                problems.append(f"{name}'s source vocabulary has {len(source_vocab)} tokens but '{node_id}' "
                                f"accepts {limit} (num_embeddings); set it to at least {len(source_vocab)}")
    for node_id, limit in ends.target_embeddings:
        if len(target_vocab) > limit:
            problems.append(f"{name}'s target vocabulary has {len(target_vocab)} tokens but '{node_id}' "
                            f"accepts {limit} (num_embeddings); set it to at least {len(target_vocab)}")
    if ends.output_shape[1] < len(target_vocab):
        problems.append(f"{name}'s target vocabulary has {len(target_vocab)} tokens but the Output scores "
                        f"{ends.output_shape[1]}; set the last layer's out_features to at least {len(target_vocab)}")
    if ends.last_layer == "Softmax":
        problems.append("the last layer is a Softmax, but the cross-entropy loss applies it itself; "
                        "remove the Softmax before the Output")
    return problems


def _inverse_sigmoid_k(midpoint: float) -> float:
    """k with k / (k + exp(m / k)) = 1/2, i.e. k·ln k = m (Newton's method)."""
    k = max(2.0, midpoint / max(math.log(midpoint + 1.0), 1.0))
    for _ in range(60):
        k = max(1.0 + 1e-9, k - (k * math.log(k) - midpoint) / (math.log(k) + 1.0))
    return k


def teacher_forcing(settings: TrainingSettings, step: int) -> float:
    """ε, the probability of feeding the true previous token at optimizer step ``step``
    (Bengio et al. 2015): 1 without scheduled sampling, 0 when always sampling; else linear
    ε = 1 − i/(2m), exponential ε = 0.5^(i/m) or inverse sigmoid ε = k/(k + exp(i/k)) with
    k·ln k = m, so that ε = 1/2 at the midpoint m; never below ``sampling_floor``."""
    kind = settings.scheduled_sampling
    if kind == "off":
        return 1.0
    if kind == "always":
        return 0.0
    m = float(settings.sampling_midpoint)
    if kind == "linear":
        value = 1.0 - step / (2.0 * m)
    elif kind == "exponential":
        value = 0.5 ** (step / m)
    else:
        k = _inverse_sigmoid_k(m)
        value = k / (k + math.exp(min(step / k, 700.0)))
    return max(settings.sampling_floor, min(1.0, value))


def token_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per target token; ``<pad>`` positions do not count."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1), ignore_index=PAD_ID)


class Seq2SeqTask:
    """The loss and the validation of one encoder–decoder run (see the module docstring)."""

    def __init__(self, model: torch.nn.Module, graph: Graph, analysis: Analysis, ends: Seq2SeqEnds,
                 dataset: Dataset, settings: TrainingSettings):
        self.model = model
        self.ends = ends
        self.settings = settings
        self.source_vocab, self.target_vocab = vocabularies(dataset)
        self.size = len(self.target_vocab)
        self.references: list[list[str]] = dataset.extra.get("val_references", [])
        self.labels: list[str] = dataset.extra.get("val_sources", [])
        self.decoder = IncrementalDecoder(model, graph, analysis, ends.decoder_id, ends.output_id)
        #: what the trainer wraps in DDP under torchrun: the whole step, sampled or not
        self.step_module = Seq2SeqStep(model, self)

    # -- training ---------------------------------------------------------------------
    def targets(self, y: torch.Tensor, step: int) -> torch.Tensor:
        """(B, T + 1) targets: with several phrasings per sample, one drawn from (seed, step)."""
        if y.dim() == 2:
            return y
        generator = torch.Generator().manual_seed(self.settings.seed * 7_368_787 + step)
        pick = torch.randint(0, y.shape[1], (y.shape[0],), generator=generator).to(y.device)
        return y[torch.arange(y.shape[0], device=y.device), pick]

    def loss(self, step_model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, step: int
             ) -> tuple[torch.Tensor, float]:
        """The batch's loss and the teacher-forcing probability it was computed with.
        ``step_model`` is :attr:`step_module`, or its DDP wrapper under torchrun."""
        y = self.targets(y, step)
        inputs, target = y[:, :-1], y[:, 1:]
        probability = teacher_forcing(self.settings, step)
        logits = step_model(x, inputs, probability, step)
        return token_loss(logits, target), probability

    def forward_step(self, x: torch.Tensor, inputs: torch.Tensor, probability: float, step: int) -> torch.Tensor:
        """(B, T, V) logits: the whole model under teacher forcing, else step by step."""
        if probability >= 1.0:
            return self.model(*self.ends.arguments(x, inputs))
        return self._sampled_logits(x, inputs, probability, step)

    def _sampled_logits(self, x: torch.Tensor, inputs: torch.Tensor, probability: float, step: int) -> torch.Tensor:
        """Decode step by step, feeding the truth with ``probability``, else a sampled token."""
        device = inputs.device
        generator = torch.Generator(device=device).manual_seed(self.settings.seed * 1_000_033 + step)
        state = self.decoder.start(x)
        token = inputs[:, :1]
        steps = []
        uniform = self.settings.sampling_tokens == "uniform"
        for t in range(inputs.shape[1]):
            logits, state = self.decoder.step(token, state)
            steps.append(logits)
            if t + 1 == inputs.shape[1]:
                break
            truth = inputs[:, t + 1:t + 2]
            if uniform:
                guess = torch.randint(len(SPECIALS) - 2, self.size, truth.shape, device=device, generator=generator)
            else:
                scores = logits[:, -1, :self.size].detach().float()
                guess = torch.multinomial(torch.softmax(scores, -1), 1, generator=generator)
            keep = torch.rand(truth.shape, device=device, generator=generator) < probability
            token = torch.where(keep, truth, guess)
        return torch.cat(steps, 1)

    # -- validation -------------------------------------------------------------------
    def evaluate(self, x_val: torch.Tensor, y_val: torch.Tensor, batch_size: int) -> tuple[dict[str, float], dict]:
        """Loss, token accuracy, exact match and BLEU on the validation set (model in eval mode)."""
        import sacrebleu

        model = self.model
        loss_sum, tokens, correct = 0.0, 0, 0
        hypotheses: list[str] = []
        for start in range(0, len(x_val), batch_size):
            x, y = x_val[start:start + batch_size], y_val[start:start + batch_size]
            inputs, target = y[:, :-1], y[:, 1:]
            logits = model(*self.ends.arguments(x, inputs))
            mask = target != PAD_ID
            count = int(mask.sum())
            loss_sum += float(token_loss(logits, target)) * count
            tokens += count
            correct += int(((logits[..., :self.size].argmax(-1) == target) & mask).sum())
            decoded, _ = self.greedy(x)
            hypotheses += [self.target_vocab.decode(row) for row in decoded.tolist()]
        references = self.references or [[self.target_vocab.decode(row[1:])] for row in y_val.tolist()]
        exact = sum(h in refs for h, refs in zip(hypotheses, references))
        streams = [[refs[k] if k < len(refs) else None for refs in references]
                   for k in range(max(len(r) for r in references))]
        tokenize = "char" if self.target_vocab.level == "char" else "13a"
        bleu = sacrebleu.corpus_bleu(hypotheses, streams, tokenize=tokenize).score / 100.0
        metrics = {"loss": loss_sum / max(tokens, 1), "token_accuracy": correct / max(tokens, 1),
                   "exact_match": exact / max(len(hypotheses), 1), "bleu": bleu}
        return metrics, {"hypotheses": hypotheses}

    def greedy(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        state = self.decoder.start(x)
        return decoding.greedy(self.decoder, state, BOS_ID, EOS_ID, self.ends.target_length, self.size)

    def encoder_states(self, x: torch.Tensor) -> torch.Tensor:
        """(B, features): the encoder's final state as the decoder receives it, flattened."""
        state = self.decoder.start(x)
        split = self.decoder.split
        used = sorted({i for r in split.connected_states for i in split.state_sources[r] if i is not None})
        return torch.cat([state.context[i].reshape(len(x), -1) for i in used], 1)

    def shown(self, hypotheses: list[str]) -> list[dict[str, Any]]:
        """The first validation samples' decodings against the truth (the Text panel's list)."""
        rows = []
        for i, hypothesis in enumerate(hypotheses[:SHOWN_TRANSLATIONS]):
            references = self.references[i] if i < len(self.references) else []
            rows.append({"source": self.labels[i] if i < len(self.labels) else str(i), "output": hypothesis,
                         "references": references, "correct": hypothesis in references})
        return rows


class Seq2SeqStep(torch.nn.Module):
    """One training step's forward as a module over the model's own layers.

    Scheduled sampling runs the decoder one step at a time through the incremental decoder,
    not through the model's ``forward``. DDP averages gradients only for a forward it runs
    (its reducer is prepared there), so under torchrun the trainer wraps this module, whose
    forward is the whole step, sampled or teacher-forced: every rank's gradients are averaged
    either way. Its parameters are the model's (``model.`` prefixed); checkpoints use the model."""

    def __init__(self, model: torch.nn.Module, task: Seq2SeqTask):
        super().__init__()
        self.model = model
        self._task = [task]  # a plain list: the task is no submodule

    def forward(self, x: torch.Tensor, inputs: torch.Tensor, probability: float, step: int) -> torch.Tensor:
        return self._task[0].forward_step(x, inputs, probability, step)


def encoder_projection(states: torch.Tensor, labels: list[str]) -> dict[str, Any]:
    """PCA (scikit-learn) of encoder states to 2-D: points, labels and explained variance."""
    import numpy as np
    from sklearn.decomposition import PCA

    values = states.detach().float().cpu().numpy().astype(np.float64)
    if len(values) < 3:
        return {"points": np.zeros((len(values), 2)), "labels": labels, "explained": [0.0, 0.0]}
    pca = PCA(n_components=2, random_state=0)
    points = pca.fit_transform(values)
    return {"points": points.astype(np.float32), "labels": list(labels),
            "explained": [float(v) for v in pca.explained_variance_ratio_]}
