"""Rosenblatt's perceptron: the 2-D toy data, the Sign unit, the criterion, the rule, convergence."""

import numpy as np
import pytest
import torch

from graph_engine import load_template
from graph_engine.data import DataError, InputFit, load_dataset
from graph_engine.data.toy2d import TOY_DATASETS, toy_points
from graph_engine.training import FitError, Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.tasks import PERCEPTRON, loss_fn, prepare_targets
from tests.engine.helpers import chain


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_toy_data_is_deterministic_from_the_seed_and_balanced(name):
    x, y = toy_points(name, seed=3)
    again, labels = toy_points(name, seed=3)
    other, _ = toy_points(name, seed=4)
    assert x.shape == (500, 2) and np.array_equal(x, again) and np.array_equal(y, labels)
    assert not np.array_equal(x, other)
    assert set(np.unique(y)) == {0, 1} and 0.4 < y.mean() < 0.6
    assert np.abs(x).max() < 3.0  # about [-1, 1] plus noise


def test_noise_moves_the_points_and_zero_noise_is_exact():
    clean, _ = toy_points("spiral", noise=0.0)
    noisy, _ = toy_points("spiral", noise=0.3)
    radius = np.hypot(clean[:, 0], clean[:, 1])
    assert np.allclose(radius[:250], np.arange(250) / 250)  # the arm lies on r = i/n exactly
    assert np.abs(noisy - clean).mean() > 0.1
    with pytest.raises(ValueError, match="noise must be ≥ 0"):
        toy_points("xor", noise=-1)


def test_toy_dataset_is_standardised_and_split_for_a_two_feature_input():
    data = load_dataset("moons", InputFit((2,), output_shape=(2,)), seed=0, noise=0.2)
    assert data.describe() == "moons: 400 train / 100 val, 2, 2 classes"
    assert torch.allclose(data.x_train.mean(0), torch.zeros(2), atol=1e-5)
    assert data.extra["noise"] == 0.2


def test_a_toy_dataset_on_an_image_graph_is_refused_in_one_line():
    with pytest.raises(DataError) as caught:
        load_dataset("xor", InputFit((1, 8, 8), output_shape=(10,)))
    assert str(caught.value) == "xor: points do not fit the Input 1×8×8; use an Input of (2,)"


def test_sign_is_plus_or_minus_one_with_a_straight_through_gradient():
    from graph_engine import compile_graph

    graph = chain(("x", "Input", {"shape": [3]}), ("s", "Sign", {}), ("y", "Output", {}))
    model = compile_graph(graph)
    x = torch.tensor([[-2.0, 0.0, 0.5]], requires_grad=True)
    out = model(x)
    assert out.tolist() == [[-1.0, 1.0, 1.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0, 1.0]]


def test_the_criterion_and_the_hinge():
    output = torch.tensor([[2.0], [-0.5], [0.3]])
    target = prepare_targets(PERCEPTRON, torch.tensor([1, 1, 0]))
    assert target.tolist() == [1.0, 1.0, -1.0]
    assert loss_fn(PERCEPTRON, output, target).item() == pytest.approx((0 + 0.5 + 0.3) / 3)
    assert loss_fn(PERCEPTRON, output, target, hinge=True).item() == pytest.approx((0 + 1.5 + 1.3) / 3)


def _perceptron_trainer(tmp_path, dataset, sink=None, **overrides):
    graph = load_template("perceptron")
    settings = settings_from_dict(graph.training, dataset=dataset, **overrides)
    return Trainer(graph, load_dataset_for(graph, settings), settings, sink, tmp_path / "run", probes=False)


def test_sgd_on_the_criterion_is_rosenblatts_rule(tmp_path):
    """One step on one misclassified point moves w by η·t·x and the bias by η·t."""
    trainer = _perceptron_trainer(tmp_path, "blobs", learning_rate=0.5)
    weights = trainer.model.get_submodule("weights")
    x, t = trainer.x_train[:1], trainer.y_train[:1]
    with torch.no_grad():  # put the point on the wrong side
        weights.weight.copy_(-t.item() * x / x.norm())
        weights.bias.zero_()
    before_w, before_b = weights.weight.detach().clone(), weights.bias.detach().clone()
    loss = loss_fn(PERCEPTRON, trainer.model(x), t)
    trainer.optimizer.zero_grad()
    loss.backward()
    trainer.optimizer.step()
    assert torch.allclose(weights.weight - before_w, 0.5 * t.item() * x)
    assert torch.allclose(weights.bias - before_b, 0.5 * t)


def _epochs(tmp_path, dataset):
    seen = []

    def sink(event):
        if event["type"] == "epoch":
            state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            seen.append((event["val"]["misclassified"], state))

    trainer = _perceptron_trainer(tmp_path, dataset, sink, epochs=6, keep_best=False)
    trainer.run()
    return seen


def test_on_separable_data_it_converges_and_stops_updating(tmp_path):
    seen = _epochs(tmp_path, "blobs")
    converged = next(i for i, (mistakes, _) in enumerate(seen) if mistakes == 0)
    assert converged < len(seen) - 1
    for mistakes, state in seen[converged:]:
        assert mistakes == 0
        assert all(torch.equal(state[k], seen[converged][1][k]) for k in state)


def test_on_xor_it_never_converges(tmp_path):
    seen = _epochs(tmp_path, "xor")
    assert all(mistakes > 50 for mistakes, _ in seen)  # of 400 training points, every epoch
    assert any(not torch.equal(a[1]["weights.weight"], b[1]["weights.weight"]) for a, b in zip(seen, seen[1:]))


def test_the_perceptron_task_says_what_does_not_fit(tmp_path):
    graph = chain(("x", "Input", {"shape": [2]}), ("fc", "Linear", {"out_features": 2}), ("y", "Output", {}))
    settings = settings_from_dict({"dataset": "xor", "task": "perceptron"})
    with pytest.raises(FitError, match=r"one unit \(its sign is the class\).*out_features to 1"):
        Trainer(graph, load_dataset_for(graph, settings), settings, run_dir=tmp_path / "a", probes=False)
    digits = chain(("x", "Input", {"shape": [64]}), ("fc", "Linear", {"out_features": 1}), ("y", "Output", {}))
    settings = settings_from_dict({"dataset": "digits", "task": "perceptron"})
    with pytest.raises(DataError, match="digits has 10 classes"):  # the reader says it first
        Trainer(digits, load_dataset_for(digits, settings), settings, run_dir=tmp_path / "b", probes=False)
