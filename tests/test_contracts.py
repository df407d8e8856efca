"""The architecture's house rules as checks that fail (issue 10): import contracts run by
import-linter (``.importlinter``), and AST scans for what import-linter cannot express."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("graph_engine", "app", "widgets")
#: Graph methods that change a graph (``connect`` only when called on something named *graph*)
MUTATORS = frozenset({"add_node", "remove_node", "add_edge", "remove_edge", "set_params", "move_node",
                      "set_label", "restore_node", "set_training", "set_name", "create_node",
                      "set_block", "remove_block"})
QT_ROOTS = ("PySide6", "shiboken6", "pyqtgraph")


def _sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_import_contracts_are_kept(capsys):
    os.chdir(ROOT)
    status = lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True, no_logo=True)
    assert status == 0, capsys.readouterr().out


def test_a_broken_import_contract_is_reported(tmp_path, capsys):
    config = tmp_path / "broken.ini"
    config.write_text("[importlinter]\nroot_packages =\n    graph_engine\ninclude_external_packages = True\n\n"
                      "[importlinter:contract:x]\nname = no torch\ntype = forbidden\n"
                      "source_modules =\n    graph_engine.compiler\nforbidden_modules =\n    torch\n")
    os.chdir(ROOT)
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) != 0
    assert "BROKEN" in capsys.readouterr().out


def _is_module(parts: list[str]) -> bool:
    base = ROOT.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def private_imports(path: Path) -> list[str]:
    """Imports of a private module (``_name``) from outside the package that holds it."""
    own_package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__") and i > 0 and _is_module(parts[:i + 1]):
                    holder = ".".join(parts[:i])
                    if holder.split(".")[0] in PACKAGES and own_package != holder \
                            and not own_package.startswith(holder + "."):
                        found.append(f"{name} (line {node.lineno})")
                    break
    return found


def test_no_private_module_is_imported_from_another_sub_package():
    offenders = {str(p.relative_to(ROOT)): hits for p in _sources(*PACKAGES) if (hits := private_imports(p))}
    assert not offenders, offenders


def _named_graph(node: ast.AST) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name == "graph" or name.endswith("_graph")


def graph_mutations(path: Path) -> list[str]:
    """Calls of Graph mutators, and assignments to a graph's attributes, in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            if (method in MUTATORS or method == "connect") and _named_graph(receiver):
                found.append(f"{ast.unparse(node.func)} (line {node.lineno})")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _named_graph(target.value):
                    found.append(f"{ast.unparse(target)} = … (line {node.lineno})")
    return sorted(found, key=lambda hit: int(hit.rsplit("line ", 1)[1].rstrip(")")))


def test_only_the_edits_module_mutates_a_documents_graph():
    allowed = {ROOT / "app" / "edits.py"}
    offenders = {str(p.relative_to(ROOT)): hits for p in _sources("app", "widgets")
                 if p not in allowed and (hits := graph_mutations(p))}
    assert not offenders, offenders


def test_the_scans_see_what_they_forbid(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("self.document.graph.add_node(n)\ngraph.connect('a', 'b')\nself.graph.training = {}\n"
                      "button.clicked.connect(f)\nitem.set_label('x')\n")
    assert [hit.split(" (")[0] for hit in graph_mutations(sample)] == [
        "self.document.graph.add_node", "graph.connect", "self.graph.training = …"]
    inside = ROOT / "widgets" / "canvas" / "probe_sample.py"
    try:
        inside.write_text("from graph_engine.layers._common import numel\nfrom app.cli import _private_name\n")
        assert private_imports(inside) == ["graph_engine.layers._common (line 1)",
                                           "graph_engine.layers._common.numel (line 1)"]
    finally:
        inside.unlink()


@pytest.mark.slow  # a subprocess that imports torch
def test_cli_commands_load_no_qt(tmp_path):
    """``rosenblatt summary/export/templates/layers`` run headless: no Qt module is loaded."""
    script = (
        "import sys\n"
        "from app.cli import main\n"
        f"for argv in (['templates'], ['layers'], ['summary', 'lenet5'], ['export', 'mlp', '--to', 'python', "
        f"'-o', {str(tmp_path / 'm.py')!r}]):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as stop:\n"
        "        assert not stop.code, (argv, stop.code)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT_ROOTS!r})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_summary_layers_templates_and_validation_load_no_torch(tmp_path):
    """``rosenblatt summary/layers/templates`` and validating, loading and saving every shipped
    template are pure Python: torch (0.9 s of start-up) is loaded only by what runs a network
    (issue 18). A subprocess, so what earlier tests imported does not count."""
    script = (
        "import sys\n"
        "from app.cli import main\n"
        "from graph_engine import analyze, list_templates, load_graph, load_template, save_graph, validate\n"
        "for argv in (['templates'], ['layers'], ['summary'], ['summary', 'template:resnet_style', '--json'],\n"
        "             ['summary', 'template:unet_like', '--expand'], ['export', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as stop:\n"
        "        assert not stop.code, (argv, stop.code)\n"
        "for template in list_templates():\n"
        "    graph = load_template(template.key)\n"
        "    analyze(graph).compiled()\n"
        "    validate(graph)\n"
        f"    save_graph(graph, {str(tmp_path / 'g.json')!r})\n"
        f"    load_graph({str(tmp_path / 'g.json')!r})\n"
        "heavy = sorted(m for m in ('torch', 'scipy', 'tqdm') if m in sys.modules)\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_the_editor_window_is_built_and_shown_without_torch(tmp_path):
    """Issue 18: the window's start loads no torch (a second of it) on a machine without
    NVIDIA's driver: the run views import the probes' data types only, and the Training panel
    learns there is no CUDA device from the driver's absence. A subprocess (clean modules)."""
    from graph_engine.cuda_probe import DRIVER_PATHS

    if not sys.platform.startswith("linux") or any(os.path.exists(p) for p in DRIVER_PATHS):
        pytest.skip("a machine with NVIDIA's driver asks torch for the device's name")
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from app.main_window import MainWindow\n"
        "from graph_engine import load_template\n"
        "window = MainWindow(load_template('lenet5'), autosave=False)\n"
        "window.show()\n"
        "app.processEvents()\n"
        "for dock in window.workspace.docks.values():\n"
        "    dock.raise_()\n"
        "    app.processEvents()\n"
        "window.document.undo_stack.setClean()\n"
        "heavy = sorted(m for m in ('torch', 'scipy') if m in sys.modules)\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "PYQTGRAPH_QT_LIB": "PySide6",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "ROSENBLATT_RUNS_DIR": str(tmp_path / "runs")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
