"""The Training panel's device name: torch is asked only where a CUDA driver could be."""

from __future__ import annotations

import sys
import types

import pytest

from graph_engine import cuda_probe


@pytest.fixture
def fake_torch(monkeypatch):
    """A torch that has a CUDA device (and counts how often it was asked)."""
    asked = []
    cuda = types.SimpleNamespace(is_available=lambda: asked.append(1) or True, get_device_name=lambda i: "Fake GPU")
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    return asked


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the driver's files are Linux's")
def test_without_the_driver_torch_is_not_asked(fake_torch, monkeypatch, tmp_path):
    monkeypatch.setattr(cuda_probe, "DRIVER_PATHS", (str(tmp_path / "no-driver"),))
    assert cuda_probe.cuda_device_name() is None and not fake_torch


def test_with_the_driver_torch_names_the_device(fake_torch, monkeypatch, tmp_path):
    (tmp_path / "nvidia0").touch()
    monkeypatch.setattr(cuda_probe, "DRIVER_PATHS", (str(tmp_path / "nvidia0"),))
    assert cuda_probe.cuda_device_name() == "Fake GPU" and fake_torch


def test_a_broken_driver_is_no_device(monkeypatch, tmp_path):
    (tmp_path / "nvidia0").touch()
    monkeypatch.setattr(cuda_probe, "DRIVER_PATHS", (str(tmp_path / "nvidia0"),))

    def broken():
        raise RuntimeError("CUDA driver initialization failed")

    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=broken)))
    assert cuda_probe.cuda_device_name() is None
