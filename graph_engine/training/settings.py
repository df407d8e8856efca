"""Training settings: the ``training`` section of a graph file, with defaults and checks.

Stored in the graph file so a network and how it is trained travel together; a run
folder keeps its own copy. Unknown keys are kept (another tool's settings) but ignored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from graph_engine.params import ParamError, ParamSpec
from graph_engine.weight_params import SCHEMES

#: "perceptron": Rosenblatt's rule, plain SGD (no momentum, no decay) on the perceptron
#: criterion, so each misclassified point x with target t moves the weights by η·t·x
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "perceptron")
SCHEDULES = ("constant", "step", "cosine")
DEVICES = ("auto", "cpu", "cuda", "mps")
TASK_CHOICES = ("auto", "classification", "regression", "language_model", "segmentation", "seq2seq",
                "perceptron")
#: the perceptron optimizer's rule, as the settings' help shows it
PERCEPTRON_RULE = ("Rosenblatt's rule: for each misclassified point x with target t = ±1, w ← w + η·t·x and "
                   "b ← b + η·t; a correctly classified point changes nothing (SGD, rate η, no momentum, on the "
                   "perceptron criterion max(0, −t·f(x)))")
#: the perceptron task's loss: the criterion max(0, −t·f(x)) or the hinge max(0, 1 − t·f(x))
PERCEPTRON_LOSSES = ("criterion", "hinge")
#: scheduled sampling (Bengio et al. 2015): how the teacher-forcing probability decays
SAMPLING_DECAYS = ("off", "linear", "exponential", "inverse_sigmoid", "always")


@dataclass(frozen=True)
class TrainingSettings:
    """How to train: optimizer, schedule, batching, regularisation, stopping, probes."""

    dataset: str = "digits"
    task: str = "auto"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    schedule: str = "constant"
    #: step schedule: multiply the rate by ``gamma`` every ``step_epochs`` epochs
    step_epochs: int = 10
    gamma: float = 0.1
    #: linear warm-up from 0 over this many steps, before the schedule
    warmup_steps: int = 0
    batch_size: int = 64
    epochs: int = 20
    weight_decay: float = 0.0
    #: clip the gradients' global L2 norm to this (0 = off)
    grad_clip: float = 0.0
    seed: int = 0
    device: str = "auto"
    #: stop after this many epochs without a better validation loss (0 = never)
    early_stopping_patience: int = 0
    #: keep the best-on-validation weights as checkpoints/best and restore them at the end
    keep_best: bool = True
    #: write checkpoints/last at an epoch's end when this many seconds have passed since the
    #: previous one (0 = every epoch); always after the first epoch and when the run ends
    checkpoint_every: float = 30.0
    validation_fraction: float = 0.2
    #: the 2-D toy problems' jitter (std of Gaussian noise; the points span about [-1, 1])
    noise: float = 0.1
    #: the perceptron task's loss (see PERCEPTRON_LOSSES)
    perceptron_loss: str = "criterion"
    #: classification and segmentation: "balanced" weighs each class's loss by the inverse of its
    #: share of the training targets (a segmenter then cannot settle for "all background")
    class_weighting: str = "none"
    #: probes 1-3 (activations, gradients, feature maps) every N ms, or every N steps: by
    #: default at most once a second (in ms, probes also keep within ``probe_budget``)
    probe_every: int = 1000
    probe_unit: str = "ms"
    #: the most time probes may take, in % of the training time: the schedule measures what
    #: each probe costs and spaces them so the share holds on any network and device
    probe_budget: float = 5.0
    #: every step gets a line in metrics.jsonl; they are written (and the loss read back from
    #: the device) in groups of this many steps
    log_every: int = 10
    #: nodes whose feature maps are probed ([] = the graph's Conv2d nodes, up to 4)
    feature_map_nodes: tuple[str, ...] = ()
    #: also write TensorBoard event files to RUN_DIR/tensorboard (needs the tensorboard extra)
    tensorboard: bool = False
    #: seq2seq: feed the decoder the true previous token with a probability that decays from 1
    #: by the step ("off": always the truth, teacher forcing; "always": never, always sampling)
    scheduled_sampling: str = "off"
    #: seq2seq: the step at which the teacher-forcing probability has fallen to 0.5
    sampling_midpoint: int = 2000
    #: seq2seq: the teacher-forcing probability never falls below this
    sampling_floor: float = 0.0
    #: seq2seq: the tokens fed back instead of the truth: "model" (sampled from the model's
    #: prediction) or "uniform" (drawn uniformly from the vocabulary, the uniform variant)
    sampling_tokens: str = "model"
    #: seq2seq: token level of text ("auto": the data's own, else char or word)
    tokens: str = "auto"
    #: seq2seq: the encoder reads the source backwards (Sutskever et al. 2014)
    reverse_source: bool = False
    #: initial weights of the layers whose own ``init`` is "default" (graph_engine.weight_init)
    init: str = "torch"
    init_std: float = 0.02
    #: start from these weights (a run folder, .safetensors or .pth) where node id and shape match
    init_from: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_map_nodes"] = list(self.feature_map_nodes)
        return data


_SPECS = {
    "dataset": None,
    "task": ParamSpec("task", "choice", "auto", "", choices=TASK_CHOICES),
    "optimizer": ParamSpec("optimizer", "choice", "adam", "", choices=OPTIMIZERS),
    "learning_rate": ParamSpec("learning_rate", "float", 1e-3, "", minimum=0.0, maximum=100.0),
    "momentum": ParamSpec("momentum", "float", 0.9, "", minimum=0.0, maximum=1.0),
    "nesterov": ParamSpec("nesterov", "bool", False, ""),
    "schedule": ParamSpec("schedule", "choice", "constant", "", choices=SCHEDULES),
    "step_epochs": ParamSpec("step_epochs", "int", 10, "", minimum=1, maximum=10**6),
    "gamma": ParamSpec("gamma", "float", 0.1, "", minimum=0.0, maximum=1.0),
    "warmup_steps": ParamSpec("warmup_steps", "int", 0, "", minimum=0, maximum=10**9),
    "batch_size": ParamSpec("batch_size", "int", 64, "", minimum=1, maximum=1 << 20),
    "epochs": ParamSpec("epochs", "int", 20, "", minimum=1, maximum=10**6),
    "weight_decay": ParamSpec("weight_decay", "float", 0.0, "", minimum=0.0, maximum=10.0),
    "grad_clip": ParamSpec("grad_clip", "float", 0.0, "", minimum=0.0, maximum=1e9),
    "seed": ParamSpec("seed", "int", 0, "", minimum=0, maximum=2**32 - 1),
    "device": ParamSpec("device", "choice", "auto", "", choices=DEVICES),
    "early_stopping_patience": ParamSpec("early_stopping_patience", "int", 0, "", minimum=0,
                                         maximum=10**6),
    "keep_best": ParamSpec("keep_best", "bool", True, ""),
    "checkpoint_every": ParamSpec("checkpoint_every", "float", 30.0, "", minimum=0.0, maximum=1e9),
    "validation_fraction": ParamSpec("validation_fraction", "float", 0.2, "", minimum=0.01,
                                     maximum=0.9),
    "noise": ParamSpec("noise", "float", 0.1, "", minimum=0.0, maximum=10.0),
    "perceptron_loss": ParamSpec("perceptron_loss", "choice", "criterion", "", choices=PERCEPTRON_LOSSES),
    "class_weighting": ParamSpec("class_weighting", "choice", "none", "", choices=("none", "balanced")),
    "probe_every": ParamSpec("probe_every", "int", 1000, "", minimum=0, maximum=10**9),
    "probe_unit": ParamSpec("probe_unit", "choice", "ms", "", choices=("steps", "ms")),
    "probe_budget": ParamSpec("probe_budget", "float", 5.0, "", minimum=0.1, maximum=100.0),
    "log_every": ParamSpec("log_every", "int", 10, "", minimum=1, maximum=10**6),
    "feature_map_nodes": None,
    "tensorboard": ParamSpec("tensorboard", "bool", False, ""),
    "scheduled_sampling": ParamSpec("scheduled_sampling", "choice", "off", "", choices=SAMPLING_DECAYS),
    "sampling_midpoint": ParamSpec("sampling_midpoint", "int", 2000, "", minimum=1, maximum=10**9),
    "sampling_floor": ParamSpec("sampling_floor", "float", 0.0, "", minimum=0.0, maximum=1.0),
    "sampling_tokens": ParamSpec("sampling_tokens", "choice", "model", "", choices=("model", "uniform")),
    "tokens": ParamSpec("tokens", "choice", "auto", "", choices=("auto", "char", "word")),
    "reverse_source": ParamSpec("reverse_source", "bool", False, ""),
    "init": ParamSpec("init", "choice", "torch", "", choices=SCHEMES),
    "init_std": ParamSpec("init_std", "float", 0.02, "", minimum=0.0, maximum=10.0),
    "init_from": None,
}


def settings_from_dict(data: dict[str, Any], strict: bool = True, **overrides: Any) -> TrainingSettings:
    """Settings from a file's ``training`` section plus overrides (None = not given).

    Raises ValueError with the offending key named, e.g. "training.batch_size must be ≥ 1".
    With ``strict=False`` (reading an older run folder) a value this version no longer
    accepts falls back to its default instead.
    """
    merged = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    known = {f.name for f in fields(TrainingSettings)}
    values: dict[str, Any] = {}
    for key, value in merged.items():
        if key not in known:
            continue
        spec = _SPECS[key]
        try:
            if key == "dataset":
                if not isinstance(value, str) or not value:
                    raise ParamError("dataset must be a dataset name or a path")
            elif key == "init_from":
                if not isinstance(value, str):
                    raise ParamError("init_from must be a path to a run folder or a weights file")
            elif key == "feature_map_nodes":
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise ParamError("feature_map_nodes must be a list of node ids")
                value = tuple(value)
            else:
                value = spec.check(value)
        except ParamError as error:
            if strict or overrides.get(key) is not None:
                raise ValueError(f"training.{error}") from None
            continue
        values[key] = value
    return TrainingSettings(**values)
