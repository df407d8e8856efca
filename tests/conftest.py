"""Test set-up: Qt runs offscreen, pyqtgraph uses PySide6. Set before any QApplication exists."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import tempfile  # noqa: E402

# Keep the app's remembered settings and recovery files out of the real home folder.
_scratch = tempfile.mkdtemp(prefix="rosenblatt-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_scratch, "config")
os.environ["ROSENBLATT_RECOVERY_DIR"] = os.path.join(_scratch, "recovery")
