"""Test set-up: Qt runs offscreen, pyqtgraph uses PySide6. Set before any QApplication exists."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

# Keep the app's remembered settings (QSettings), recovery files and default runs folder out of
# the real home folder. Every process gets its own folder: each pytest-xdist worker imports this
# file itself, so workers never share a QSettings file, a recovery file or earlier runs.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_scratch = tempfile.mkdtemp(prefix=f"rosenblatt-tests-{_worker}-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_scratch, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_scratch, "data")
os.environ["ROSENBLATT_RECOVERY_DIR"] = os.path.join(_scratch, "recovery")
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)


def pytest_report_header(config):
    from tests.timing import slowdown

    return f"rosenblatt: waits on real work scaled ×{slowdown():.1f} (tests/timing.py)"
