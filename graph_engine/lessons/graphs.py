"""The networks the lessons open, built from layer declarations and laid out like a template."""

from __future__ import annotations

from typing import Any

from graph_engine.layout import layered_layout
from graph_engine.model import Graph
from graph_engine.templates import load_template

Layer = tuple[str, str, dict[str, Any]]


def chain_graph(name: str, layers: list[Layer], training: dict[str, Any]) -> Graph:
    """A straight chain of (id, type, params), wired in order, laid out in columns."""
    graph = Graph(name)
    previous = None
    for node_id, type_name, params in layers:
        graph.create_node(type_name, params, node_id=node_id)
        if previous is not None:
            graph.connect(previous, node_id)
        previous = node_id
    for node_id, position in layered_layout(graph).items():
        graph.move_node(node_id, position)
    graph.set_training(dict(training))
    return graph


def template_graph(key: str, **training: Any) -> Graph:
    """A shipped template with some training settings changed."""
    graph = load_template(key)
    graph.set_training({**graph.training, **training})
    return graph


def xor_network() -> Graph:
    """The smallest network that solves XOR: two inputs, one hidden layer of 4 tanh units."""
    return chain_graph("XOR network", [
        ("point", "Input", {"shape": [2]}), ("hidden", "Linear", {"out_features": 4}), ("tanh", "Tanh", {}),
        ("scores", "Linear", {"out_features": 2}), ("label", "Output", {})],
        {"dataset": "xor", "optimizer": "adam", "learning_rate": 0.05, "batch_size": 16, "epochs": 40})


def conv760() -> Graph:
    """The course's worked example: 10 filters of 5×5 over a 32×32×3 image."""
    return chain_graph("Conv 760", [
        ("image", "Input", {"shape": [3, 32, 32]}),
        ("conv", "Conv2d", {"out_channels": 10, "kernel_size": 5}), ("relu", "ReLU", {}),
        ("pool", "MaxPool2d", {"kernel_size": 2}), ("flatten", "Flatten", {}),
        ("scores", "Linear", {"out_features": 10}), ("label", "Output", {})],
        {"dataset": "shapes", "epochs": 3})


def receptive_stack() -> Graph:
    """3×3 convolutions and 2×2 pools, VGG's way: the field grows 2·jump per conv, the jump doubles per pool."""
    layers: list[Layer] = [("image", "Input", {"shape": [3, 32, 32]})]
    for block, channels in ((1, 16), (2, 32), (3, 64)):
        for k in (1, 2):
            layers += [(f"conv{block}_{k}", "Conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1}),
                       (f"relu{block}_{k}", "ReLU", {})]
        layers.append((f"pool{block}", "MaxPool2d", {"kernel_size": 2}))
    layers += [("flatten", "Flatten", {}), ("scores", "Linear", {"out_features": 10}), ("label", "Output", {})]
    return chain_graph("Receptive fields", layers, {"dataset": "shapes", "epochs": 3})


def digits_mlp(activation: str, name: str | None = None, width: int = 100, **training: Any) -> Graph:
    """64 pixels → two hidden layers of ``width`` → 10 scores, with the given activation."""
    layers: list[Layer] = [("pixels", "Input", {"shape": [1, 8, 8]}), ("flatten", "Flatten", {})]
    for i in (1, 2):
        layers += [(f"hidden{i}", "Linear", {"out_features": width}), (f"act{i}", activation, {})]
    layers += [("scores", "Linear", {"out_features": 10}), ("label", "Output", {})]
    return chain_graph(name or f"Digits MLP ({activation})", layers,
                       {"dataset": "digits", "optimizer": "sgd", "momentum": 0.0, "learning_rate": 0.05,
                        "batch_size": 32, "epochs": 10, **training})


def maxout_mlp() -> Graph:
    """Two Maxout layers of 100 units, each the max of 2 linear pieces."""
    layers: list[Layer] = [("pixels", "Input", {"shape": [1, 8, 8]}), ("flatten", "Flatten", {})]
    for i in (1, 2):
        layers += [(f"pieces{i}", "Linear", {"out_features": 200}), (f"maxout{i}", "Maxout", {"pieces": 2})]
    layers += [("scores", "Linear", {"out_features": 10}), ("label", "Output", {})]
    return chain_graph("Maxout MLP", layers, {"dataset": "digits", "optimizer": "sgd", "momentum": 0.9,
                                               "learning_rate": 0.05, "batch_size": 32, "epochs": 10})


def shapes_cnn() -> Graph:
    """A small CNN for the ten shapes, whose second convolution's top patches are shown."""
    return chain_graph("Shapes CNN", [
        ("image", "Input", {"shape": [3, 32, 32]}),
        ("conv1", "Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}), ("relu1", "ReLU", {}),
        ("pool1", "MaxPool2d", {"kernel_size": 2}),
        ("conv2", "Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1}), ("relu2", "ReLU", {}),
        ("pool2", "MaxPool2d", {"kernel_size": 2}), ("flatten", "Flatten", {}),
        ("scores", "Linear", {"out_features": 10}), ("label", "Output", {})],
        {"dataset": "shapes", "epochs": 4, "learning_rate": 0.003})
