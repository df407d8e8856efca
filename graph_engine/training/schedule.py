"""Learning rate as a pure function of the step: easy to resume, easy to plot."""

from __future__ import annotations

import math

from graph_engine.training.settings import TrainingSettings


def lr_factor(settings: TrainingSettings, step: int, steps_per_epoch: int) -> float:
    """Multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
    warmup = settings.warmup_steps
    if step < warmup:
        return (step + 1) / warmup
    if settings.schedule == "step":
        return settings.gamma ** ((step // max(1, steps_per_epoch)) // settings.step_epochs)
    if settings.schedule == "cosine":
        total = max(1, settings.epochs * steps_per_epoch - warmup)
        progress = min(1.0, (step - warmup) / total)
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0
