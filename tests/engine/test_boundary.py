"""graph_engine must never import Qt: it runs headless in the CLI, the trainer and tests."""

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "graph_engine"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qtpy")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_engine_module_imports_qt():
    offenders = {str(p.relative_to(ENGINE.parent)): sorted(_imported_roots(p) & set(FORBIDDEN))
                 for p in ENGINE.rglob("*.py")}
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"graph_engine imports Qt: {offenders}"


def test_the_scan_sees_a_qt_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from PySide6 import QtCore\nimport pyqtgraph as pg\n")
    assert _imported_roots(sample) & set(FORBIDDEN) == {"PySide6", "pyqtgraph"}


def test_using_the_engine_loads_no_qt_module():
    script = (
        "import sys, torch\n"
        "import graph_engine as ge\n"
        "g = ge.load_template(ge.DEFAULT_TEMPLATE)\n"
        "ge.compile_graph(g, device='cpu')(torch.zeros(1, 1, 8, 8))\n"
        "ge.generate_code(g)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
