"""Packages that load their modules when a name is first asked for (graph_engine.lazy_names)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

LAZY_PACKAGES = ["graph_engine", "graph_engine.probes", "graph_engine.training", "graph_engine.data", "graph_engine.interop"]


@pytest.mark.parametrize("package_name", LAZY_PACKAGES)
def test_no_lazy_name_is_also_a_submodule(package_name):
    """Importing a submodule binds it on its package under its own name: a lazily exported
    function of the same name (probes.feature_maps once) would then be the module, and
    calling it fail ("'module' object is not callable") depending on what was imported first."""
    package = importlib.import_module(package_name)
    table = getattr(package, "_LAZY", None)
    assert table, f"{package_name} exports nothing lazily"
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert not submodules & set(table)


@pytest.mark.parametrize("package_name", LAZY_PACKAGES)
def test_every_lazy_name_loads_the_object_it_names(package_name):
    package = importlib.import_module(package_name)
    for name, module in package._LAZY.items():
        importlib.import_module(module)  # every module first: none may shadow another's name
    for name, module in package._LAZY.items():
        value = getattr(package, name)
        assert value is getattr(importlib.import_module(module), name), name
        assert not hasattr(value, "__path__") and type(value).__name__ != "module", name
