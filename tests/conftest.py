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

# Under pytest-xdist the workers share the cores: each worker's torch gets its share of them
# (2 workers on 2 cores: one thread each), so that their OpenMP threads do not fight and spin.
# Training children and torchrun ranks that the tests start choose their own threads as before.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    import torch  # noqa: E402

    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))


def pytest_report_header(config):
    from tests.timing import slowdown

    return f"rosenblatt: waits on real work scaled ×{slowdown():.1f} (tests/timing.py)"
