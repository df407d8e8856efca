"""The training tasks' names, and the metric that "better" means for each: plain strings in a
module that imports nothing, so the editor can read runs' records without loading torch."""

from __future__ import annotations

CLASSIFICATION = "classification"
REGRESSION = "regression"
LANGUAGE_MODEL = "language_model"
SEGMENTATION = "segmentation"
SEQ2SEQ = "seq2seq"
TASKS = (CLASSIFICATION, REGRESSION, LANGUAGE_MODEL, SEGMENTATION, SEQ2SEQ)
#: Rosenblatt's perceptron: two classes read as targets t = ±1, one output unit f(x) whose
#: sign is the class, and the perceptron criterion max(0, −t·f(x)) (or the hinge) as the loss
PERCEPTRON = "perceptron"

#: the metric that "better" means for each task, and whether higher is better
HEADLINE = {CLASSIFICATION: ("accuracy", True), LANGUAGE_MODEL: ("bits_per_char", False),
            SEGMENTATION: ("mean_iou", True), REGRESSION: ("mse", False), SEQ2SEQ: ("bleu", True),
            PERCEPTRON: ("misclassified", False)}

__all__ = ["CLASSIFICATION", "HEADLINE", "LANGUAGE_MODEL", "PERCEPTRON", "REGRESSION", "SEGMENTATION", "SEQ2SEQ",
           "TASKS"]
