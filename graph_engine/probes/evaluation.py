"""Evaluation summaries: confusion matrix, per-class accuracy, segmentation scores.

Counted on the device with one ``torch.bincount`` over (true, predicted) pairs, so
only the K×K matrix crosses to the host.
"""

from __future__ import annotations

import numpy as np
import torch


def confusion_matrix(logits_or_preds: torch.Tensor, targets: torch.Tensor,
                     num_classes: int) -> np.ndarray:
    """(K, K) int64 counts, rows = true class, columns = predicted class.

    ``logits_or_preds`` is float scores with the class axis at dim 1 — (N, K) or
    (N, K, H, W) — or integer predictions shaped like ``targets``. Targets outside
    0..K−1 (an ignore index such as −100) are left out; integer predictions
    outside that range raise ValueError.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    scores = torch.as_tensor(logits_or_preds)
    targets = torch.as_tensor(targets).to(scores.device)
    if scores.is_floating_point():
        if scores.dim() != targets.dim() + 1 or scores.shape[1] != num_classes:
            raise ValueError(f"logits of shape {tuple(scores.shape)} do not fit targets of shape "
                             f"{tuple(targets.shape)} and {num_classes} classes (class axis is dim 1)")
        predicted = scores.max(dim=1).indices  # argmax's first-on-ties, far faster over a strided axis
    else:
        predicted = scores
        if bool(((predicted < 0) | (predicted >= num_classes)).any()):
            raise ValueError(f"predictions must lie in 0..{num_classes - 1}")
    if predicted.shape != targets.shape:
        raise ValueError(f"predictions {tuple(predicted.shape)} and targets "
                         f"{tuple(targets.shape)} differ in shape")
    true, predicted = targets.reshape(-1).long(), predicted.reshape(-1).long()
    cells = num_classes * num_classes
    index = torch.where((true >= 0) & (true < num_classes), true * num_classes + predicted, cells)
    counts = torch.bincount(index, minlength=cells + 1)[:cells]
    return counts.reshape(num_classes, num_classes).cpu().numpy().astype(np.int64)


def per_class_accuracy(cm: np.ndarray) -> list[float | None]:
    """Recall of each class, cm[i, i] / row i's total.

    A class without samples has no accuracy: its entry is ``None`` (never NaN, and
    not 0.0, which would read as "always wrong").
    """
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    return [float(cm[i, i] / totals[i]) if totals[i] else None for i in range(cm.shape[0])]


def segmentation_metrics(logits: torch.Tensor, targets: torch.Tensor,
                         num_classes: int) -> dict[str, float | list[float | None]]:
    """Pixel accuracy and mean intersection-over-union of (N, K, H, W) logits.

    IoU_c = TP / (TP + FP + FN); ``mean_iou`` averages over the classes present in
    the targets or the predictions (others have IoU ``None`` in ``iou``). Pixels
    whose target is outside 0..K−1 are ignored. An empty input gives 0.0.
    """
    cm = confusion_matrix(logits, targets, num_classes)
    total = int(cm.sum())
    hits = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - hits
    iou = [float(hits[c] / union[c]) if union[c] else None for c in range(num_classes)]
    present = [v for v in iou if v is not None]
    return {"pixel_accuracy": float(hits.sum() / total) if total else 0.0,
            "mean_iou": float(np.mean(present)) if present else 0.0,
            "iou": iou}
