"""How each lesson's headline number is measured, headless: real training runs, real probes.

Every function takes a folder for its run folders and returns a :class:`Measurement`: the
number, its name and one line that says what was run and what came out. Networks this
small run on one thread: on a loaded 2-core machine torch's two spinning threads made a
250-step MLP run take 66 s instead of 1.3 s.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from graph_engine.analysis import analyze
from graph_engine.model import Graph
from graph_engine.lessons import graphs


@dataclass(frozen=True)
class Measurement:
    """A lesson's headline number and the line that reports it."""

    name: str
    value: float
    text: str


def train(graph: Graph, run_dir: Path, sink: Callable[[dict[str, Any]], None] | None = None,
          probes: bool = False, **overrides: Any) -> tuple[Any, list[dict[str, Any]], Any]:
    """Train ``graph`` with its settings and ``overrides``: (result, epoch records, trainer)."""
    from graph_engine.training import Trainer, load_dataset_for, settings_from_dict

    settings = settings_from_dict(graph.training, **overrides)
    epochs: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> None:
        if event["type"] == "epoch":
            epochs.append(event)
        if sink is not None:
            sink(event)

    trainer = Trainer(graph, load_dataset_for(graph, settings), settings, record, run_dir, probes=probes)
    return trainer.run(), epochs, trainer


def perceptron(out: Path) -> Measurement:
    """Lesson 1: the perceptron rule on blobs (separable) and on XOR."""
    graph = graphs.template_graph("perceptron")
    _, blobs, _ = train(graph, out / "blobs", dataset="blobs", keep_best=False)
    _, xor, _ = train(graph, out / "xor", dataset="xor", keep_best=False)
    mistakes = [int(e["val"]["misclassified"]) for e in blobs]
    converged = next((i + 1 for i, m in enumerate(mistakes) if m == 0 and all(n == 0 for n in mistakes[i:])), None)
    fewest = min(int(e["val"]["misclassified"]) for e in xor)
    said = f"from epoch {converged}" if converged else "never"
    return Measurement("epochs to converge on blobs", float(converged or math.nan),
                       f"blobs: 0 of 400 training points misclassified {said} (no update after); "
                       f"xor: at least {fewest} of 400 misclassified in every one of {len(xor)} epochs")


def xor_hidden(out: Path) -> Measurement:
    """Lesson 2: one hidden layer of 4 tanh units on XOR."""
    result, _, _ = train(graphs.xor_network(), out / "xor")
    accuracy = result.metrics["accuracy"]
    return Measurement("validation accuracy", accuracy,
                       f"2-4-2 tanh network on xor: validation accuracy {accuracy:.0%} after 40 epochs "
                       "(the perceptron's best is about 50–70%)")


def conv760(out: Path) -> Measurement:
    """Lesson 3: the parameters of 10 filters of 5×5 over 3 channels, counted by the analysis."""
    params = analyze(graphs.conv760()).info("conv").params
    return Measurement("parameters of the convolution", float(params),
                       f"Conv2d(3 → 10, 5×5): {params} parameters = (5·5·3 + 1)·10; output 10×28×28")


def receptive_fields(out: Path) -> Measurement:
    """Lesson 4: the receptive field after each layer of a VGG-style stack."""
    analysis = analyze(graphs.receptive_stack())
    sizes = [(n, int(analysis.info(n).field[0].size)) for n in analysis.order
             if analysis.info(n).field and analysis.graph.node(n).type in ("Conv2d", "MaxPool2d")]
    text = ", ".join(f"{n} {s}" for n, s in sizes)
    return Measurement("receptive field of the last layer (pixels)", float(sizes[-1][1]), f"fields: {text}")


#: the race's threshold: the first step whose mean training loss over the last 10 steps is below this
RACE_LOSS = 0.5
RACE = (("Sigmoid", "xavier_normal"), ("Tanh", "xavier_normal"), ("ReLU", "kaiming_normal"),
        ("LeakyReLU", "kaiming_normal"))


def _steps_to(losses: list[float], threshold: float, window: int = 10) -> int | None:
    for i in range(window, len(losses) + 1):
        if sum(losses[i - window:i]) / window < threshold:
            return i
    return None


def activation_race(out: Path) -> Measurement:
    """Lesson 5: the same MLP on digits with four activations, each under its textbook initialisation."""
    reached: dict[str, int | None] = {}
    for activation, init in RACE:
        losses: list[float] = []
        graph = graphs.digits_mlp(activation, name="Activation race")
        train(graph, out / activation.lower(), lambda e: e["type"] == "step" and losses.append(e["loss"]),
              init=init, epochs=20, log_every=1)
        reached[activation] = _steps_to(losses, RACE_LOSS)
    relu, tanh = reached["ReLU"], reached["Tanh"]
    ratio = tanh / relu if relu and tanh else math.nan
    parts = ", ".join(f"{a} {reached[a] if reached[a] else '>460'}" for a, _ in RACE)
    return Measurement("tanh steps / ReLU steps", ratio,
                       f"SGD 0.05, 2×100 units on digits, steps to a training loss below {RACE_LOSS}: {parts}; "
                       f"ReLU is {ratio:.1f}× faster than tanh")


def dying_relu(out: Path) -> Measurement:
    """Lesson 6: the share of dead ReLU units after training at a sane and at a high learning rate."""
    from graph_engine import probes

    dead = {}
    for rate in (0.05, 1.0):
        graph = graphs.digits_mlp("ReLU", name="Dying ReLU")
        _, _, trainer = train(graph, out / f"lr{rate}", learning_rate=rate, init="kaiming_normal", epochs=5,
                              keep_best=False)
        stats = probes.activation_stats(trainer.model, trainer.graph, trainer.x_val, analysis=trainer.analysis)
        dead[rate] = (stats["act1"]["dead_fraction"] + stats["act2"]["dead_fraction"]) / 2
    return Measurement("dead ReLU units at lr 1.0", dead[1.0],
                       f"digits MLP, SGD: dead units {dead[0.05]:.0%} at lr 0.05, {dead[1.0]:.0%} at lr 1.0")


def maxout(out: Path) -> Measurement:
    """Lesson 7: Maxout against ReLU, same widths, same budget."""
    maxout_result, _, _ = train(graphs.maxout_mlp(), out / "maxout")
    relu_graph = graphs.digits_mlp("ReLU", name="ReLU MLP", momentum=0.9)
    relu_result, _, _ = train(relu_graph, out / "relu", init="kaiming_normal")
    m, r = maxout_result.metrics["accuracy"], relu_result.metrics["accuracy"]
    return Measurement("Maxout validation accuracy", m,
                       f"digits, 10 epochs: Maxout (2 pieces, 2×100 units) {m:.1%}, ReLU (2×100) {r:.1%}")


def lenet5(out: Path) -> Measurement:
    """Lesson 8: LeNet-5 on the 8×8 digits, resized to its 32×32 Input."""
    result, epochs, _ = train(graphs.template_graph("lenet5"), out / "lenet5", epochs=10)
    accuracy = result.metrics["accuracy"]
    return Measurement("validation accuracy", accuracy,
                       f"LeNet-5 (61,706 parameters) on digits, 10 epochs: validation accuracy {accuracy:.1%}")


def top_patches(out: Path) -> Measurement:
    """Lesson 9: how class-specific the top-9 patches of a CNN's second convolution are."""
    from graph_engine import probes

    result, _, trainer = train(graphs.shapes_cnn(), out / "shapes")
    x = torch.cat([trainer.dataset.x_train, trainer.dataset.x_val])
    y = torch.cat([trainer.dataset.y_train, trainer.dataset.y_val]).numpy()
    top = probes.top_patches(trainer.model, trainer.graph, trainer.analysis, x, "conv2", k=9)
    purity = float(np.mean([np.bincount(y[row], minlength=10).max() / len(row) for row in top.sample_indices]))
    return Measurement("top-9 class purity", purity,
                       f"shapes CNN ({result.metrics['accuracy']:.0%} accuracy): on average {purity:.0%} of a conv2 "
                       f"channel's top 9 patches come from one shape class (chance 10%)")


SEGMENTATION_EPOCHS = 20


def fcn_vs_unet(out: Path) -> Measurement:
    """Lesson 10: FCN (no skips) against U-Net on shapes-segmentation, same budget."""
    iou = {}
    for key in ("fcn", "unet_like"):
        result, _, _ = train(graphs.template_graph(key), out / key, epochs=SEGMENTATION_EPOCHS)
        iou[key] = result.metrics["mean_iou"]
    return Measurement("U-Net mean IoU − FCN mean IoU", iou["unet_like"] - iou["fcn"],
                       f"{SEGMENTATION_EPOCHS} epochs each: mean IoU FCN {iou['fcn']:.3f}, U-Net {iou['unet_like']:.3f}")


def _corpus_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{3,}", text.lower()))


def char_lstm(out: Path, epochs: int = 2) -> tuple[Measurement, Any]:
    """Lesson 11: how many of the words a briefly trained character LSTM writes are real words."""
    from graph_engine import probes
    from graph_engine.data.builtin import python_docs_text

    result, _, trainer = train(graphs.template_graph("char_lstm"), out / "lstm", epochs=epochs)
    vocabulary = trainer.dataset.vocabulary
    words = _corpus_words(python_docs_text())
    text = probes.sample_text(trainer.model, vocabulary, "The ", 2000, temperature=0.8, seed=0, graph=trainer.graph)
    written = re.findall(r"[a-z]{3,}", text.lower())
    share = sum(w in words for w in written) / max(1, len(written))
    return Measurement("share of written words that are real", share,
                       f"char LSTM, {epochs} epochs on python-docs ({result.metrics['bits_per_char']:.2f} bits/char): "
                       f"{share:.0%} of the {len(written)} words of 3+ letters in 2,000 sampled characters are "
                       "words of the corpus"), trainer


def _log_probability(model: Any, vocabulary: str, prompt: str, continuation: str) -> float:
    index = {c: i for i, c in enumerate(vocabulary)}
    tokens = torch.tensor([[index[c] for c in prompt + continuation]])
    with torch.no_grad():
        logits = model(tokens)[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    start = len(prompt)
    return float(sum(logp[i - 1, tokens[0, i]] for i in range(start, tokens.shape[1])))


def beam_vs_greedy(out: Path) -> Measurement:
    """Lesson 12: the log-probability of greedy and beam-search continuations under the same model."""
    from graph_engine import probes

    _, trainer = char_lstm(out, epochs=2)
    model, vocabulary = trainer.model, trainer.dataset.vocabulary
    model.eval()
    gains = []
    for prompt in ("The ", "return ", "If the ", "A class ", "for each "):
        greedy = probes.beam_search(model, vocabulary, prompt, 30, beam_width=1, graph=trainer.graph)
        beam = probes.beam_search(model, vocabulary, prompt, 30, beam_width=5, graph=trainer.graph)
        gains.append(_log_probability(model, vocabulary, prompt, beam) -
                     _log_probability(model, vocabulary, prompt, greedy))
    gain = float(np.mean(gains))
    return Measurement("beam − greedy log-probability (nats / 30 chars)", gain,
                       f"5 prompts, 30 characters: beam width 5 finds continuations {gain:.2f} nats more probable "
                       f"than greedy on average (never less: {min(gains):.2f} at worst)")


def encoder_decoder(out: Path) -> Measurement:
    """Lesson 13: the LSTM encoder–decoder translating numbers into words."""
    result, _, _ = train(graphs.template_graph("seq2seq_translator"), out / "translator", epochs=4)
    bleu = result.metrics.get("bleu", math.nan)
    return Measurement("validation BLEU", bleu,
                       f"seq2seq translator on number-words, 4 epochs: validation BLEU {bleu:.2f} "
                       "(sacrebleu's, on a 0–1 scale)")
