"""A run's best result, said one way everywhere (issue 13, defect 13): the epoch with the
lowest validation loss — the one ``keep_best`` restores and ``metrics.jsonl``'s closing
record names as ``best_epoch`` with its ``metrics`` — and that epoch's headline metric."""

from __future__ import annotations

from typing import Any


def best_result(history: Any) -> tuple[int, dict] | None:
    """(best epoch, its validation metrics), or None before the first validated epoch."""
    best = getattr(history, "best_epoch", None)
    if best is None:
        return None
    for epoch in reversed(history.epochs):
        if epoch.get("epoch") == best:
            return best, dict(epoch.get("val") or {})
    return None


def metric_text(name: str, value: float) -> str:
    """``accuracy 96.9 %``, ``bits per char 2.27``."""
    shown = f"{100 * value:.1f} %" if name in ("accuracy", "mean_iou", "pixel_accuracy") else f"{value:.4g}"
    return f"{name.replace('_', ' ')} {shown}"


def best_text(history: Any) -> str:
    """``accuracy 96.9 % at epoch 10`` (the headline metric of the best epoch), or "—"."""
    found = best_result(history)
    headline = getattr(history, "headline", None)
    if found is None or headline is None or headline[0] not in found[1]:
        return "—"
    epoch, metrics = found
    return f"{metric_text(headline[0], metrics[headline[0]])} at epoch {epoch}"
