"""Every template's default settings learn: after a short budget each beats chance clearly on its
own dataset (the budget in epochs; everything else as the template ships it)."""

import math

import pytest
import torch

from graph_engine import list_templates, load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict

#: epochs each template gets (the rest of its settings are its defaults)
BUDGET = {"char_lstm": 1, "seq2seq_translator": 2, "shapes_captioner": 2, "unet_like": 4, "fcn": 4, "perceptron": 2,
          "vgg_style": 3, "resnet_style": 2,
          "playground": 30}


def _beats_chance(task, metrics, dataset):
    """Clearly better than guessing: twice chance accuracy (0.8 for two classes), a bit per character
    less than uniform, a mean IoU above the all-background mask's (about 0.14 on shapes-segmentation),
    a BLEU (sacrebleu's, on a 0–1 scale) of more than 0.1."""
    if task == "classification":
        chance = 1.0 / dataset.num_classes
        return metrics["accuracy"] >= min(2 * chance, chance + 0.3)
    if task == "perceptron":
        return metrics["misclassified"] < 0.1 * len(dataset.x_train)
    if task == "language_model":
        return metrics["bits_per_char"] < math.log2(dataset.num_classes) - 1.0
    if task == "segmentation":
        return metrics["mean_iou"] > 0.17
    if task == "seq2seq":
        return metrics["bleu"] > 0.1
    raise AssertionError(task)


@pytest.mark.slow
@pytest.mark.parametrize("key", [t.key for t in list_templates()])
def test_each_template_learns_with_its_defaults(key, tmp_path):
    graph = load_template(key)
    settings = settings_from_dict(graph.training, epochs=BUDGET.get(key, 1), probe_every=0)
    dataset = load_dataset_for(graph, settings)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks on a loaded machine: see graph_engine/lessons/measure.py
    try:
        trainer = Trainer(graph, dataset, settings, None, tmp_path / "run", probes=False)
        result = trainer.run()
    finally:
        torch.set_num_threads(threads)
    assert result.status == "completed", result.message
    assert _beats_chance(trainer.task, result.metrics, dataset), (trainer.task, result.metrics)
