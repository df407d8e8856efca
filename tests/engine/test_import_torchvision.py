"""Importing torchvision's classification and segmentation models (random weights, never
downloaded): the graph has the model's parameter count, the import's float64 check passes and
the compiled graph with the imported weights gives the model's outputs (float32, 1e-4).

torchvision is a test-only package (``pip install --no-deps torchvision``); without it these
tests are skipped. A CUDA build of its wheel cannot load its compiled operators with a CPU
torch; the model definitions are pure Python, so the two modules that register those
operators are stubbed. ``bench/torchvision_import.py`` runs every model and prints the table.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings

import pytest
import torch

from graph_engine.interop import UnsupportedModel, import_module_object
from graph_engine.interop.importer import compiled_with

if importlib.util.find_spec("torchvision") is None:
    pytest.skip("torchvision is not installed (a test-only package)", allow_module_level=True)


def _models():
    try:
        import torchvision.models as models
    except Exception:  # noqa: BLE001 (a CUDA build: its compiled operators do not load)
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
            sys.modules[name] = types.ModuleType(name)
        import torchvision.models as models
    import torchvision.models.segmentation  # noqa: F401

    return models


MODELS = _models()
#: their auxiliary classifiers are unused in evaluation: without them, one tensor out
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
          "inception_v3": {"aux_logits": False, "init_weights": False}}
SIZES = {"alexnet": 64, "inception_v3": 75, "vit_b_32": 224, "vit_b_16": 224, "maxvit_t": 224}


def _build(name: str):
    kwargs = dict(KWARGS.get(name, {}), weights=None)
    if name in MODELS.list_models(module=MODELS.segmentation):
        kwargs["weights_backbone"] = None  # never downloaded
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MODELS.get_model(name, **kwargs).eval()


def _import_exactly(name: str):
    model = _build(name)
    size = SIZES.get(name, 32)
    imported = import_module_object(model, (3, size, size), name=name)
    compiled = compiled_with(imported.graph, imported.state).eval()
    assert sum(p.numel() for p in compiled.parameters()) == sum(p.numel() for p in model.parameters())
    assert imported.max_difference <= 1e-6
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = model(x), compiled(x)
    expected = tuple(expected.values()) if isinstance(expected, dict) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)
    return imported


def test_squeezenet_with_ceil_mode_pooling_imports_exactly():
    graph = _import_exactly("squeezenet1_1").graph
    assert any(n.type == "MaxPool2d" and n.params["ceil_mode"] for n in graph)


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "resnet18", "densenet121", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny",
    "shufflenet_v2_x0_5", "googlenet", "inception_v3", "mnasnet0_5", "regnet_y_400mf", "alexnet",
    "vit_b_32", "lraspp_mobilenet_v3_large",
])
def test_classification_models_import_exactly(name):
    _import_exactly(name)


@pytest.mark.slow
def test_fcn_dict_output_becomes_an_output_named_out():
    imported = _import_exactly("fcn_resnet50")
    assert [n.id for n in imported.graph if n.type == "Output"] == ["out"]


@pytest.mark.slow
def test_vit_learned_tensors_attention_and_class_token_readout():
    imported = _import_exactly("vit_b_32")
    graph = imported.graph
    assert {n.id for n in graph if n.type == "Parameter"} == {"class_token", "encoder_pos_embedding"}
    assert sum(n.type == "MultiheadAttention" for n in graph) == 12
    assert any(n.type == "Select" and n.params == {"dim": 0, "index": 0} for n in graph)


def test_swin_traces_through_torchvision_wrapped_window_attention_exactly(tmp_path):
    """shifted_window_attention, _get_relative_position_bias and _patch_merging_pad (fx.wrap'ed
    in torchvision) are traced through: windows folded into the batch become per-sample
    Reshape/Permute, the shift a Roll, the mask a Constant, the bias an IndexSelect of the
    learned table; the graph saved and loaded computes the same."""
    from graph_engine import compile_graph, load_graph, save_graph

    imported = _import_exactly("swin_t")
    graph = imported.graph
    kinds = [n.type for n in graph]
    # at 32×32 the stages hold 8, 4, 2 and 1 positions a side, padded to the window (7): only
    # stage 1's second block (14 > 7) shifts its windows, and back
    assert kinds.count("Roll") == 2
    assert kinds.count("Constant") == 1  # its attention mask
    assert kinds.count("IndexSelect") == kinds.count("Parameter") == 12  # one bias table per block
    assert {"Pad", "Scale", "Softmax", "MatMul"} <= set(kinds)
    save_graph(graph, tmp_path / "swin.json")
    again = compile_graph(load_graph(tmp_path / "swin.json"), device="cpu").eval()
    again.load_state_dict({k: v.clone() for k, v in imported.state.items()})
    model = _build("swin_t")
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_swin_v2_cosine_attention_and_bias_mlp_on_a_constant_import_exactly():
    graph = _import_exactly("swin_v2_t").graph
    kinds = [n.type for n in graph]
    assert kinds.count("Normalize") == 2 * 12 and kinds.count("Exp") == kinds.count("Clamp") == 12
    assert sum(n.type == "Constant" and n.id.endswith("relative_coords_table") for n in graph) == 12


@pytest.mark.slow
def test_maxvit_window_partitions_einsum_and_swapaxes_import_exactly():
    """Samples of rank 5, ``einsum`` as Permute + MatMul, ``swapaxes`` as Transpose, the scale
    factor as a Scale and the bias table read at fixed indices."""
    graph = _import_exactly("maxvit_t").graph
    kinds = [n.type for n in graph]
    attentions = 2 * (2 + 2 + 5 + 2)  # block and grid attention in each layer
    assert kinds.count("MatMul") == 2 * attentions
    assert kinds.count("IndexSelect") == kinds.count("Scale") == attentions
    assert any(n.type == "Reshape" and len(n.params["shape"]) == 5 for n in graph)


@pytest.mark.slow
def test_swin_imports_with_its_blocks():
    """Nested (the command line's default): one block per Swin block class, the same outputs."""
    model = _build("swin_t")
    imported = import_module_object(model, (3, 32, 32), name="swin_t", nested=True)
    assert imported.max_difference <= 1e-6
    assert len(imported.graph.nodes) < 40 and any(name.startswith("SwinTransformerBlock") for name in imported.graph.blocks)
