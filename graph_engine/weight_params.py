"""The params of layers with weights: ``init`` and ``init_std`` (how they start), ``trainable``
and ``lr_mult`` (how they learn). Declarations only, so the layer modules can use them without
importing the passes that read them (``graph_engine.weight_init`` runs the init plan; the
trainer groups the parameters).
"""

from __future__ import annotations

from typing import Any, Iterable

from graph_engine.params import ParamSpec

#: the graph-wide schemes (the ``training.init`` setting); "torch" = each layer's own default
SCHEMES = ("torch", "kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform",
           "orthogonal", "zeros", "normal")
#: a node's choices: "default" follows the graph's ``training.init``
NODE_SCHEMES = ("default", *SCHEMES)
DEFAULT_STD = 0.02

INIT = ParamSpec("init", "choice", "default",
                 "Initial weights: default (the graph's Training → init), torch (this layer's own), "
                 "kaiming (He) or xavier (Glorot) normal/uniform, orthogonal, zeros, or normal(0, "
                 "init_std). Biases start at zero with any scheme but torch.", choices=NODE_SCHEMES)
INIT_STD = ParamSpec("init_std", "float", DEFAULT_STD,
                     "Standard deviation of the normal init.", minimum=0.0, maximum=10.0)
TRAINABLE = ParamSpec("trainable", "bool", True,
                      "Learn this layer's weights; off freezes them (fine-tuning keeps a pre-trained "
                      "layer as it is). A norm layer's running statistics still update.")
LR_MULT = ParamSpec("lr_mult", "float", 1.0,
                    "This layer's learning rate is the run's times this (e.g. 0.1 for pre-trained "
                    "layers, 1 for a new head).", minimum=0.0, maximum=1000.0)
#: params a file leaves out when they hold their default (older files have none of them)
OPTIONAL_PARAMS = (INIT, INIT_STD, TRAINABLE, LR_MULT)


def init_params() -> tuple[ParamSpec, ...]:
    """The params of a layer whose weights an init scheme fits (matrices, kernels)."""
    return (INIT, INIT_STD, TRAINABLE, LR_MULT)


def learning_params() -> tuple[ParamSpec, ...]:
    """The params of a layer with weights but no scheme to choose (norm scales, a Parameter)."""
    return (TRAINABLE, LR_MULT)


def omitted_in_file(spec_params: Iterable[ParamSpec], name: str, value: Any) -> bool:
    """A file leaves an optional param out when it holds its default (it reads back the same)."""
    for spec in spec_params:
        if spec.name == name:
            return spec in OPTIONAL_PARAMS and value == spec.default
    return False
