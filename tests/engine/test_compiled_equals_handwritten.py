"""The compiled graph computes exactly what the same network written by hand computes.

Each case builds a graph in code and a hand-written ``nn.Module`` whose submodule
attributes are named after the graph's node ids. The hand-written module loads the
compiled module's ``state_dict`` (strict); both run in float64 and must agree in
train mode (outputs, gradients, updated BatchNorm statistics; dropout masks match
because both draw them in the same order from the same seed) and in eval mode.
"""

from __future__ import annotations

from typing import Callable

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from graph_engine import Graph, analyze, compile_graph

BATCH = 3
TOLERANCE = {"atol": 1e-6, "rtol": 0}


def make_graph(name: str, nodes: list[tuple], edges: list[tuple]) -> Graph:
    """``nodes``: (id, type, params); ``edges``: (source, target) or (source, target, port)."""
    graph = Graph(name)
    for node_id, type_name, params in nodes:
        graph.create_node(type_name, params, node_id=node_id)
    for edge in edges:
        graph.connect(*edge)
    return graph


def path_edges(*ids: str) -> list[tuple[str, str]]:
    return list(zip(ids, ids[1:]))


def maxout(x: torch.Tensor, pieces: int) -> torch.Tensor:
    """Max over groups of ``pieces`` consecutive channels, written independently."""
    n, c = x.shape[:2]
    return x.reshape(n, c // pieces, pieces, *x.shape[2:]).max(dim=2).values


def run_both(compiled: nn.Module, hand: nn.Module, x: torch.Tensor, seed: int):
    torch.manual_seed(seed)
    out_compiled = compiled(x)
    torch.manual_seed(seed)
    out_hand = hand(x)
    return out_compiled, out_hand


def assert_equivalent(graph: Graph, hand: nn.Module, x: torch.Tensor) -> None:
    analysis = analyze(graph)
    assert analysis.ok, analysis.errors
    compiled = compile_graph(graph, device="cpu")
    assert list(hand.state_dict()) == list(compiled.state_dict())
    hand.load_state_dict(compiled.state_dict(), strict=True)
    compiled.double()
    hand.double()
    if x.is_floating_point():
        x = x.double()

    # train mode: outputs, gradients of every parameter, updated buffers
    compiled.train()
    hand.train()
    out_compiled, out_hand = run_both(compiled, hand, x, seed=1234)
    assert tuple(out_compiled.shape) == (x.shape[0], *analysis.info(_output_id(graph)).out_shape)
    assert_close(out_hand, out_compiled, **TOLERANCE)
    weights = torch.randn_like(out_compiled)
    (out_compiled * weights).sum().backward()
    (out_hand * weights).sum().backward()
    named_compiled = list(compiled.named_parameters())
    named_hand = list(hand.named_parameters())
    assert [n for n, _ in named_hand] == [n for n, _ in named_compiled]
    for (name, p_compiled), (_, p_hand) in zip(named_compiled, named_hand):
        assert p_compiled.grad is not None, f"{name} got no gradient"
        assert_close(p_hand.grad, p_compiled.grad, **TOLERANCE, msg=f"gradient of {name}")
    after_compiled, after_hand = compiled.state_dict(), hand.state_dict()
    assert list(after_hand) == list(after_compiled)
    for key in after_compiled:
        assert_close(after_hand[key], after_compiled[key], **TOLERANCE, msg=f"state {key}")

    # eval mode (BatchNorm now uses the running statistics updated above)
    compiled.eval()
    hand.eval()
    with torch.no_grad():
        assert_close(hand(x), compiled(x), **TOLERANCE)


def _output_id(graph: Graph) -> str:
    return next(n.id for n in graph if n.type == "Output")


# -- MLP ------------------------------------------------------------------------------------
def mlp_graph() -> Graph:
    return make_graph("MLP", [
        ("x", "Input", {"shape": [20]}),
        ("fc1", "Linear", {"out_features": 32}),
        ("bn", "BatchNorm1d", {}),
        ("act1", "ReLU", {}),
        ("drop", "Dropout", {"p": 0.2}),
        ("fc2", "Linear", {"out_features": 16, "bias": False}),
        ("norm", "LayerNorm", {}),
        ("act2", "GELU", {}),
        ("fc3", "Linear", {"out_features": 5}),
        ("probs", "Softmax", {"dim": 0}),
        ("y", "Output", {}),
    ], path_edges("x", "fc1", "bn", "act1", "drop", "fc2", "norm", "act2", "fc3", "probs", "y"))


class HandMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.bn = nn.BatchNorm1d(32)
        self.act1 = nn.ReLU()
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(32, 16, bias=False)
        self.norm = nn.LayerNorm(16)
        self.act2 = nn.GELU()
        self.fc3 = nn.Linear(16, 5)
        self.probs = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.drop(self.act1(self.bn(self.fc1(x))))
        x = self.act2(self.norm(self.fc2(x)))
        return self.probs(self.fc3(x))


# -- LeNet ------------------------------------------------------------------------------------
def lenet_graph() -> Graph:
    return make_graph("LeNet", [
        ("image", "Input", {"shape": [1, 32, 32]}),
        ("c1", "Conv2d", {"out_channels": 6, "kernel_size": 5}),
        ("tanh1", "Tanh", {}),
        ("s2", "AvgPool2d", {"kernel_size": 2}),
        ("c3", "Conv2d", {"out_channels": 16, "kernel_size": 5}),
        ("tanh2", "Tanh", {}),
        ("s4", "AvgPool2d", {"kernel_size": 2}),
        ("flat", "Flatten", {}),
        ("f5", "Linear", {"out_features": 120}),
        ("tanh3", "Tanh", {}),
        ("f6", "Linear", {"out_features": 84}),
        ("tanh4", "Tanh", {}),
        ("f7", "Linear", {"out_features": 10}),
        ("scores", "Output", {}),
    ], path_edges("image", "c1", "tanh1", "s2", "c3", "tanh2", "s4", "flat", "f5", "tanh3",
                  "f6", "tanh4", "f7", "scores"))


class HandLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.tanh1 = nn.Tanh()
        self.s2 = nn.AvgPool2d(2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.tanh2 = nn.Tanh()
        self.s4 = nn.AvgPool2d(2)
        self.flat = nn.Flatten()
        self.f5 = nn.Linear(16 * 5 * 5, 120)
        self.tanh3 = nn.Tanh()
        self.f6 = nn.Linear(120, 84)
        self.tanh4 = nn.Tanh()
        self.f7 = nn.Linear(84, 10)

    def forward(self, image):
        x = self.s2(self.tanh1(self.c1(image)))
        x = self.s4(self.tanh2(self.c3(x)))
        x = self.tanh3(self.f5(self.flat(x)))
        return self.f7(self.tanh4(self.f6(x)))


# -- residual net ---------------------------------------------------------------------------
def _conv(out_channels: int, kernel: int, stride: int = 1, padding=0) -> dict:
    return {"out_channels": out_channels, "kernel_size": kernel, "stride": stride,
            "padding": padding, "bias": False}


def resnet_graph() -> Graph:
    return make_graph("Residual", [
        ("image", "Input", {"shape": [3, 8, 8]}),
        ("stem", "Conv2d", _conv(8, 3, padding=1)),
        ("stem_bn", "BatchNorm2d", {}),
        ("stem_relu", "ReLU", {}),
        ("b1_conv1", "Conv2d", _conv(8, 3, padding=1)),
        ("b1_bn1", "BatchNorm2d", {}),
        ("b1_relu1", "ReLU", {}),
        ("b1_conv2", "Conv2d", _conv(8, 3, padding="same")),
        ("b1_bn2", "BatchNorm2d", {}),
        ("b1_add", "Add", {}),
        ("b1_relu2", "ReLU", {}),
        ("b2_conv1", "Conv2d", _conv(16, 3, stride=2, padding=1)),
        ("b2_bn1", "BatchNorm2d", {}),
        ("b2_relu1", "ReLU", {}),
        ("b2_conv2", "Conv2d", _conv(16, 3, padding=1)),
        ("b2_bn2", "BatchNorm2d", {}),
        ("b2_proj", "Conv2d", _conv(16, 1, stride=2)),
        ("b2_proj_bn", "BatchNorm2d", {}),
        ("b2_add", "Add", {}),
        ("b2_relu2", "ReLU", {}),
        ("gap", "AdaptiveAvgPool2d", {"output_size": 1}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 4}),
        ("scores", "Output", {}),
    ], [
        *path_edges("image", "stem", "stem_bn", "stem_relu", "b1_conv1", "b1_bn1", "b1_relu1",
                    "b1_conv2", "b1_bn2", "b1_add", "b1_relu2", "b2_conv1", "b2_bn1", "b2_relu1",
                    "b2_conv2", "b2_bn2", "b2_add", "b2_relu2", "gap", "flat", "fc", "scores"),
        ("stem_relu", "b1_add", 1),
        ("b1_relu2", "b2_proj"), ("b2_proj", "b2_proj_bn"), ("b2_proj_bn", "b2_add", 1),
    ])


class HandResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(8)
        self.stem_relu = nn.ReLU()
        self.b1_conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b1_bn1 = nn.BatchNorm2d(8)
        self.b1_relu1 = nn.ReLU()
        self.b1_conv2 = nn.Conv2d(8, 8, 3, padding="same", bias=False)
        self.b1_bn2 = nn.BatchNorm2d(8)
        self.b1_relu2 = nn.ReLU()
        self.b2_conv1 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.b2_bn1 = nn.BatchNorm2d(16)
        self.b2_relu1 = nn.ReLU()
        self.b2_conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.b2_bn2 = nn.BatchNorm2d(16)
        self.b2_proj = nn.Conv2d(8, 16, 1, stride=2, bias=False)
        self.b2_proj_bn = nn.BatchNorm2d(16)
        self.b2_relu2 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16, 4)

    def forward(self, image):
        x = self.stem_relu(self.stem_bn(self.stem(image)))
        h = self.b1_relu1(self.b1_bn1(self.b1_conv1(x)))
        x = self.b1_relu2(self.b1_bn2(self.b1_conv2(h)) + x)
        h = self.b2_relu1(self.b2_bn1(self.b2_conv1(x)))
        x = self.b2_relu2(self.b2_bn2(self.b2_conv2(h)) + self.b2_proj_bn(self.b2_proj(x)))
        return self.fc(self.flat(self.gap(x)))


# -- U-Net ------------------------------------------------------------------------------------
def _same3(out_channels: int) -> dict:
    return {"out_channels": out_channels, "kernel_size": 3, "padding": 1}


def unet_graph() -> Graph:
    return make_graph("U-Net", [
        ("image", "Input", {"shape": [3, 16, 16]}),
        ("enc1", "Conv2d", _same3(8)),
        ("enc1_relu", "ReLU", {}),
        ("down1", "MaxPool2d", {"kernel_size": 2}),
        ("enc2", "Conv2d", _same3(16)),
        ("enc2_relu", "ReLU", {}),
        ("down2", "MaxPool2d", {"kernel_size": 2}),
        ("bottleneck", "Conv2d", _same3(32)),
        ("bottleneck_relu", "ReLU", {}),
        ("bottleneck_drop", "Dropout2d", {"p": 0.25}),
        ("up2", "ConvTranspose2d", {"out_channels": 16, "kernel_size": 2, "stride": 2}),
        ("skip2", "Concat", {"dim": 0}),
        ("dec2", "Conv2d", _same3(16)),
        ("dec2_relu", "ReLU", {}),
        ("up1", "Upsample", {"scale_factor": 2, "mode": "bilinear"}),
        ("skip1", "Concat", {"dim": 0}),
        ("dec1", "Conv2d", _same3(8)),
        ("dec1_relu", "ReLU", {}),
        ("classes", "Conv2d", {"out_channels": 3, "kernel_size": 1}),
        ("mask", "Output", {}),
    ], [
        *path_edges("image", "enc1", "enc1_relu", "down1", "enc2", "enc2_relu", "down2",
                    "bottleneck", "bottleneck_relu", "bottleneck_drop", "up2", "skip2", "dec2",
                    "dec2_relu", "up1", "skip1", "dec1", "dec1_relu", "classes", "mask"),
        ("enc2_relu", "skip2", 1),
        ("enc1_relu", "skip1", 1),
    ])


class HandUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 8, 3, padding=1)
        self.enc1_relu = nn.ReLU()
        self.down1 = nn.MaxPool2d(2)
        self.enc2 = nn.Conv2d(8, 16, 3, padding=1)
        self.enc2_relu = nn.ReLU()
        self.down2 = nn.MaxPool2d(2)
        self.bottleneck = nn.Conv2d(16, 32, 3, padding=1)
        self.bottleneck_relu = nn.ReLU()
        self.bottleneck_drop = nn.Dropout2d(0.25)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = nn.Conv2d(32, 16, 3, padding=1)
        self.dec2_relu = nn.ReLU()
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear")
        self.dec1 = nn.Conv2d(24, 8, 3, padding=1)
        self.dec1_relu = nn.ReLU()
        self.classes = nn.Conv2d(8, 3, 1)

    def forward(self, image):
        e1 = self.enc1_relu(self.enc1(image))
        e2 = self.enc2_relu(self.enc2(self.down1(e1)))
        b = self.bottleneck_drop(self.bottleneck_relu(self.bottleneck(self.down2(e2))))
        d2 = self.dec2_relu(self.dec2(torch.cat([self.up2(b), e2], dim=1)))
        d1 = self.dec1_relu(self.dec1(torch.cat([self.up1(d2), e1], dim=1)))
        return self.classes(d1)


# -- LSTM language model ----------------------------------------------------------------------
VOCAB = 50


def lstm_lm_graph() -> Graph:
    return make_graph("LSTM LM", [
        ("tokens", "Input", {"shape": [12], "dtype": "int64"}),
        ("embed", "Embedding", {"num_embeddings": VOCAB, "embedding_dim": 16}),
        ("lstm", "LSTM", {"hidden_size": 24, "num_layers": 2, "dropout": 0.1}),
        ("head", "Linear", {"out_features": VOCAB}),
        ("logits", "Output", {}),
    ], path_edges("tokens", "embed", "lstm", "head", "logits"))


class HandLSTMLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 16)
        self.lstm = nn.LSTM(16, 24, num_layers=2, dropout=0.1, batch_first=True)
        self.head = nn.Linear(24, VOCAB)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out)


# -- bidirectional recurrent classifiers ---------------------------------------------------
def bigru_graph() -> Graph:
    return make_graph("BiGRU", [
        ("seq", "Input", {"shape": [10, 6]}),
        ("gru", "GRU", {"hidden_size": 8, "num_layers": 2, "bidirectional": True,
                        "return_sequences": False}),
        ("fc", "Linear", {"out_features": 3}),
        ("scores", "Output", {}),
    ], path_edges("seq", "gru", "fc", "scores"))


class HandBiGRU(nn.Module):
    def __init__(self, swap_directions: bool = False):
        super().__init__()
        self.gru = nn.GRU(6, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(16, 3)
        self.swap = swap_directions

    def forward(self, seq):
        _, h_n = self.gru(seq)
        # last layer's final states: forward direction h_n[-2], backward h_n[-1]
        final = [h_n[-1], h_n[-2]] if self.swap else [h_n[-2], h_n[-1]]
        return self.fc(torch.cat(final, dim=1))


def bilstm_graph() -> Graph:
    return make_graph("BiLSTM", [
        ("seq", "Input", {"shape": [7, 5]}),
        ("lstm", "LSTM", {"hidden_size": 6, "bidirectional": True, "return_sequences": False}),
        ("fc", "Linear", {"out_features": 2}),
        ("scores", "Output", {}),
    ], path_edges("seq", "lstm", "fc", "scores"))


class HandBiLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 6, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(12, 2)

    def forward(self, seq):
        _, (h_n, _) = self.lstm(seq)
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))


def rnn_graph() -> Graph:
    return make_graph("RNN", [
        ("seq", "Input", {"shape": [9, 4]}),
        ("rnn", "RNN", {"hidden_size": 5, "num_layers": 2, "nonlinearity": "relu",
                        "return_sequences": False}),
        ("fc", "Linear", {"out_features": 2}),
        ("scores", "Output", {}),
    ], path_edges("seq", "rnn", "fc", "scores"))


class HandRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(4, 5, num_layers=2, nonlinearity="relu", batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, seq):
        out, _ = self.rnn(seq)
        return self.fc(out[:, -1])      # last step of the top layer = h_n[-1]


# -- Maxout, 1-d convolution ------------------------------------------------------------------
def maxout_graph() -> Graph:
    return make_graph("Maxout", [
        ("x", "Input", {"shape": [2, 6, 6]}),
        ("conv", "Conv2d", {"out_channels": 12, "kernel_size": 3}),
        ("mx1", "Maxout", {"pieces": 3}),
        ("flat", "Flatten", {}),
        ("fc1", "Linear", {"out_features": 24}),
        ("mx2", "Maxout", {"pieces": 2}),
        ("out", "Linear", {"out_features": 4}),
        ("y", "Output", {}),
    ], path_edges("x", "conv", "mx1", "flat", "fc1", "mx2", "out", "y"))


class HandMaxout(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 12, 3)
        self.flat = nn.Flatten()
        self.fc1 = nn.Linear(4 * 4 * 4, 24)
        self.out = nn.Linear(12, 4)

    def forward(self, x):
        x = self.flat(maxout(self.conv(x), 3))
        return self.out(maxout(self.fc1(x), 2))


def conv1d_graph() -> Graph:
    return make_graph("Conv1d", [
        ("signal", "Input", {"shape": [4, 20]}),
        ("conv", "Conv1d", {"out_channels": 6, "kernel_size": 5, "padding": "same"}),
        ("act", "LeakyReLU", {"negative_slope": 0.1}),
        ("pool", "MaxPool1d", {"kernel_size": 3, "stride": 2}),
        ("bn", "BatchNorm1d", {}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 3}),
        ("sig", "Sigmoid", {}),
        ("y", "Output", {}),
    ], path_edges("signal", "conv", "act", "pool", "bn", "flat", "fc", "sig", "y"))


class HandConv1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 5, padding="same")
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool1d(3, stride=2)
        self.bn = nn.BatchNorm1d(6)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(6 * 9, 3)
        self.sig = nn.Sigmoid()

    def forward(self, signal):
        x = self.bn(self.pool(self.act(self.conv(signal))))
        return self.sig(self.fc(self.flat(x)))


# -- tests ------------------------------------------------------------------------------------
Case = tuple[Callable[[], Graph], Callable[[], nn.Module], Callable[[], torch.Tensor]]
CASES: dict[str, Case] = {
    "mlp": (mlp_graph, HandMLP, lambda: torch.randn(BATCH, 20)),
    "lenet": (lenet_graph, HandLeNet, lambda: torch.randn(BATCH, 1, 32, 32)),
    "resnet": (resnet_graph, HandResNet, lambda: torch.randn(BATCH, 3, 8, 8)),
    "unet": (unet_graph, HandUNet, lambda: torch.randn(BATCH, 3, 16, 16)),
    "lstm_lm": (lstm_lm_graph, HandLSTMLM, lambda: torch.randint(0, VOCAB, (BATCH, 12))),
    "bigru": (bigru_graph, HandBiGRU, lambda: torch.randn(BATCH, 10, 6)),
    "bilstm": (bilstm_graph, HandBiLSTM, lambda: torch.randn(BATCH, 7, 5)),
    "rnn": (rnn_graph, HandRNN, lambda: torch.randn(BATCH, 9, 4)),
    "maxout": (maxout_graph, HandMaxout, lambda: torch.randn(BATCH, 2, 6, 6)),
    "conv1d": (conv1d_graph, HandConv1d, lambda: torch.randn(BATCH, 4, 20)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_compiled_equals_handwritten(case):
    make, hand_class, example = CASES[case]
    torch.manual_seed(0)
    assert_equivalent(make(), hand_class(), example())


def test_state_dict_keys_follow_node_order():
    """Keys are "{node_id}.{name}" in graph order (here: the order the nodes were added)."""
    compiled = compile_graph(resnet_graph(), device="cpu")
    keys = list(compiled.state_dict())
    owners = list(dict.fromkeys(k.split(".")[0] for k in keys))
    graph_order = [n.id for n in resnet_graph() if n.id in owners]
    assert owners == graph_order
    assert keys[:6] == ["stem.weight", "stem_bn.weight", "stem_bn.bias", "stem_bn.running_mean",
                        "stem_bn.running_var", "stem_bn.num_batches_tracked"]


def test_comparison_detects_a_different_network():
    """The check is sharp: swapping the GRU's two directions is caught."""
    torch.manual_seed(0)
    with pytest.raises(AssertionError):
        assert_equivalent(bigru_graph(), HandBiGRU(swap_directions=True), torch.randn(BATCH, 10, 6))
