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
