"""The course as lessons: each opens a network with its settings, puts the right panels in
front, says in two sentences what to look for and what the course claims, and carries the
headline number measured by running it headless (``rosenblatt lesson KEY --headless``).

Where a measurement does not reproduce the course's claim, the lesson says so: a lesson is
never tuned until it agrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from graph_engine.lessons import graphs, measure
from graph_engine.lessons.measure import Measurement
from graph_engine.model import Graph


@dataclass(frozen=True)
class Lesson:
    """One demonstration of the course."""

    key: str
    number: int
    title: str
    #: builds the network (with its training settings) the lesson opens
    graph: Callable[[], Graph]
    #: the docks to bring to the front, the first frontmost (run views, "inspector", "training")
    panels: tuple[str, ...]
    #: what to look for (one sentence)
    look_for: str
    #: what the course claims (one sentence)
    claim: str
    #: runs the lesson headless and measures its headline number
    measure: Callable[[Path], Measurement]
    #: the headline as measured (command, machine and date in the README's table)
    measured: str
    #: whether the measurement bears the claim out (None: nothing to bear out, a count)
    reproduces: bool | None
    #: a 2-D lesson: the graph must take 2 features
    two_d: bool = False
    #: the canvas shows each node's receptive field on its card
    fields_on_canvas: bool = False


def _chain_lstm(out: Path) -> Measurement:
    return measure.char_lstm(out)[0]


LESSONS: tuple[Lesson, ...] = (
    Lesson("perceptron", 1, "The perceptron: separable data and XOR", lambda: graphs.template_graph("perceptron"),
           ("boundary", "curves"),
           "Train on blobs and watch the line settle and the misclassified count fall to 0, then set the dataset "
           "to xor and train again: the count never reaches 0.",
           "Rosenblatt's rule converges in finitely many updates on linearly separable data (Novikoff 1962), and "
           "no single threshold unit can compute XOR (Minsky & Papert 1969).",
           measure.perceptron, "blobs: 0 of 400 training points misclassified from epoch 1 on, and no update after; xor: at least 138 of 400 misclassified in every one of 10 epochs", True, two_d=True),
    Lesson("xor_hidden", 2, "A hidden layer solves XOR", graphs.xor_network, ("boundary", "curves"),
           "Turn on Hidden units in the Boundary panel: each of the four tanh units draws one line, and the output "
           "combines them into the two diagonal quadrants.",
           "One hidden layer makes XOR learnable where the perceptron cannot: hidden units build a new "
           "representation in which the classes are linearly separable.",
           measure.xor_hidden, "2-4-2 tanh network on xor (noise 0.1): validation accuracy 92% after 40 epochs, where the perceptron never gets below 138 of 400 training points wrong", True, two_d=True),
    Lesson("conv760", 3, "A 5×5 convolution with 10 filters has 760 parameters", graphs.conv760,
           ("inspector", "training"),
           "Select the node conv: the Inspector shows 760 parameters and an output of 10×28×28.",
           "A 32×32×3 input convolved with 10 filters of 5×5×3 (stride 1, no padding) has (5·5·3 + 1)·10 = 760 "
           "parameters and gives a 28×28×10 output.",
           measure.conv760, "Conv2d(3 → 10, 5×5): 760 parameters = (5·5·3 + 1)·10, output 10×28×28", True),
    Lesson("receptive_fields", 4, "Receptive fields grow through a conv/pool stack", graphs.receptive_stack,
           ("inspector", "training"),
           "Each card shows its receptive field (View → Receptive fields): it grows by 2 pixels times the "
           "jump per 3×3 convolution, and each pool doubles the jump.",
           "Two stacked 3×3 convolutions see a 5×5 window and three see 7×7, with fewer parameters and more "
           "non-linearities than one large kernel (Simonyan & Zisserman 2015).",
           measure.receptive_fields, "fields after conv1_1 3, conv1_2 5, pool1 6, conv2_1 10, conv2_2 14, pool2 16, conv3_1 24, conv3_2 32, pool3 36 pixels", True,
           fields_on_canvas=True),
    Lesson("activation_race", 5, "The activation race: sigmoid, tanh, ReLU, LeakyReLU",
           lambda: graphs.digits_mlp("ReLU", name="Activation race", init="kaiming_normal", epochs=20),
           ("curves", "activations"),
           "Train, then change the activations act1 and act2 to Tanh (and the initial weights to xavier_normal) and train "
           "again: the Curves panel overlays the earlier run, so the two loss curves race.",
           "ReLU networks reach a given training error about six times faster than tanh networks "
           "(Krizhevsky et al. 2012, a four-layer CNN on CIFAR-10).",
           measure.activation_race, "SGD 0.05, 2×100 units on digits, steps to a training loss below 0.5: Sigmoid more than 460 (not reached in 20 epochs), Tanh 129, ReLU 110, LeakyReLU 110 — ReLU is 1.2× faster than tanh here, not 6×", False),
    Lesson("dying_relu", 6, "Dying ReLUs at a high learning rate",
           lambda: graphs.digits_mlp("ReLU", name="Dying ReLU", learning_rate=1.0, init="kaiming_normal", epochs=5),
           ("health", "activations"),
           "Train at learning rate 1.0 and watch the dead-unit share in the Health and Activations panels, then "
           "train at 0.05 to compare.",
           "With a learning rate set too high a large update can push a ReLU's input below zero for every example; "
           "its gradient is then 0 and it never recovers — as much as 40% of a network can die.",
           measure.dying_relu, "digits MLP, SGD, 5 epochs: 6% of the ReLU units dead at learning rate 0.05, 72% at 1.0", True),
    Lesson("maxout", 7, "Maxout units", graphs.maxout_mlp, ("curves", "evaluation"),
           "Each Maxout unit takes the larger of two linear pieces: train and compare the validation accuracy with "
           "the ReLU MLP of lesson 6 at the same width.",
           "Maxout learns its own piecewise-linear activation, never dies, and generalises ReLU and leaky ReLU "
           "(Goodfellow et al. 2013), at twice the parameters.",
           measure.maxout, "digits, 10 epochs: Maxout (2 pieces, 2×100 units) 95.8% validation accuracy, the ReLU MLP of the same width 97.5%: Maxout did not match ReLU at this budget", False),
    Lesson("lenet5", 8, "LeNet-5 on digits", lambda: graphs.template_graph("lenet5", epochs=10),
           ("curves", "evaluation", "filters"),
           "Train and watch the confusion matrix empty its off-diagonal cells and the first layer's six filters "
           "become stroke detectors.",
           "LeNet-5's convolution–subsampling stack reads handwritten digits with about 1% error (LeCun et al. "
           "1998, on MNIST; here the 8×8 scikit-learn digits resized to 32×32).",
           measure.lenet5, "LeNet-5 (61,706 parameters) on the 8×8 digits resized to 32×32, 10 epochs: 95.8% validation accuracy (4.2% error, not MNIST's 1%: other data, ten epochs)", False),
    Lesson("top_patches", 9, "Top-activating patches of a CNN on shapes", graphs.shapes_cnn, ("patches", "curves"),
           "After training, choose conv2 in the Patches panel: each row shows the nine image pieces that excite "
           "one channel most.",
           "Units of deeper layers respond to object parts and become selective for particular classes "
           "(Zeiler & Fergus 2014).",
           measure.top_patches, "shapes CNN after 4 epochs (46% validation accuracy): on average 37% of a conv2 channel's top 9 patches come from one shape class, against 10% by chance", True),
    Lesson("fcn_vs_unet", 10, "FCN vs U-Net: the skips help", lambda: graphs.template_graph("unet_like"),
           ("evaluation", "curves"),
           "Train unet_like, then open the fcn template (the same encoder without skips) and train it: compare "
           "the mean IoU in the Curves panel and the masks' edges in the Evaluation panel.",
           "Skip connections carry fine spatial detail past the bottleneck, so a U-Net segments sharper and "
           "better than an FCN that upsamples coarse scores (Ronneberger et al. 2015).",
           measure.fcn_vs_unet, "20 epochs each at the templates' defaults (lr 0.003, balanced class weights): mean IoU FCN 0.474, U-Net 0.513 — the skips help, by 0.04", True),
    Lesson("char_lstm", 11, "A character LSTM learns to spell", lambda: graphs.template_graph("char_lstm", epochs=2),
           ("text", "curves"),
           "Watch the Text panel's samples after each epoch: first random characters, then word-like strings, "
           "then mostly real words with Python's punctuation.",
           "A character-level LSTM learns spelling, then words and syntax, from raw text alone (Karpathy 2015).",
           _chain_lstm, "2 epochs on python-docs (2.71 bits/char, 5 min): 23% of the 164 words of 3+ letters in 2,000 sampled characters are words of the corpus — not spelling yet at this budget", False),
    Lesson("beam_search", 12, "Beam search vs greedy decoding", lambda: graphs.template_graph("char_lstm", epochs=2),
           ("text", "curves"),
           "After training, generate from the same prompt with beam 1 (greedy) and beam 5 in the Text panel.",
           "Greedy decoding commits to the best next token and can miss the most probable sequence; beam search "
           "keeps the k best prefixes and finds more probable outputs.",
           measure.beam_vs_greedy, "char LSTM after 2 epochs, 5 prompts, 30 characters: beam width 5 finds continuations 0.56 nats more probable than greedy on average, and never less probable", True),
    Lesson("encoder_decoder", 13, "The encoder–decoder", lambda: graphs.template_graph("seq2seq_translator", epochs=4),
           ("text", "encoder", "curves"),
           "Train, then translate numbers in the Text panel and look at the Encoder state panel: numbers of the "
           "same size lie close together in the encoder's final state.",
           "An LSTM encoder compresses the whole source into one vector and an LSTM decoder writes the target from "
           "it; reversing the source helps (Sutskever et al. 2014).",
           measure.encoder_decoder, "number-words, 4 epochs (2 min): validation BLEU 1.00 on sacrebleu's 0–1 scale — every validation number translated exactly", True),
)

_BY_KEY = {lesson.key: lesson for lesson in LESSONS}


def get_lesson(key: str) -> Lesson:
    """The lesson called ``key``; KeyError naming the known keys."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no lesson {key!r} (lessons: {', '.join(_BY_KEY)})") from None


def run_lesson(key: str, out: Path) -> Measurement:
    """Run a lesson headless in ``out`` (run folders go inside) and measure its headline number."""
    import torch

    lesson = get_lesson(key)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see graph_engine.lessons.measure
    try:
        return lesson.measure(Path(out))
    finally:
        torch.set_num_threads(threads)


__all__ = ["LESSONS", "Lesson", "Measurement", "get_lesson", "run_lesson"]
