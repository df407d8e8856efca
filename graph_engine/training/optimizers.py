"""Optimizers named in the settings, built over a model's parameters."""

from __future__ import annotations

import torch

from graph_engine.training.settings import TrainingSettings


def build_optimizer(settings: TrainingSettings, parameters) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), Adam, AdamW, RMSprop, or the perceptron rule (plain SGD); weight
    decay is L2 (decoupled for AdamW)."""
    lr, decay = settings.learning_rate, settings.weight_decay
    name = settings.optimizer
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=settings.momentum,
                               nesterov=settings.nesterov and settings.momentum > 0, weight_decay=decay)
    if name == "perceptron":  # w ← w + η·t·x for each misclassified x (the loss gives −t·x)
        return torch.optim.SGD(parameters, lr=lr, momentum=0.0)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=decay)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, momentum=settings.momentum, weight_decay=decay)
    raise ValueError(f"unknown optimizer {name!r}")


def param_groups(model: torch.nn.Module, graph) -> list[dict]:
    """The model's parameters grouped by their node's ``lr_mult``; a frozen node's
    (``trainable`` off) stop needing gradients and join no group, so no step, momentum or
    weight decay ever touches them. ``graph``: the expansion the model was compiled from."""
    from graph_engine.training.transfer import owner_node

    ids = set(graph.nodes)
    groups: dict[float, list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        node = owner_node(name, ids)
        params = graph.nodes[node].params if node is not None else {}
        if not params.get("trainable", True):
            parameter.requires_grad_(False)
            continue
        groups.setdefault(float(params.get("lr_mult", 1.0)), []).append(parameter)
    if not groups and any(True for _ in model.parameters()):
        raise ValueError("every layer is frozen (trainable off): nothing to train; turn trainable on "
                         "for the layers to fine-tune")
    return [{"params": members, "lr_mult": mult} for mult, members in groups.items()]
