"""The fuzz suite's side of ``forkserver.py``: start it on a code tree, run commands through it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SERVER = Path(__file__).with_name("forkserver.py")
#: each command's address space at most (the CLI with torch imported maps about 0.7 GB)
MEMORY_CAP = 4 << 30


@dataclass(frozen=True)
class Outcome:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool


class ForkServer:
    """One warm process that forks a capped child per command (see forkserver.py)."""

    def __init__(self, code_root: str | os.PathLike[str], env: dict[str, str] | None = None):
        environment = {**os.environ, **(env or {}), "PYTHONPATH": str(code_root),
                       "PYTHONIOENCODING": "utf-8", "QT_QPA_PLATFORM": "offscreen",
                       "PYQTGRAPH_QT_LIB": "PySide6", "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
        self.process = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, encoding="utf-8",
                                        env=environment, cwd=str(code_root))
        ready = self.process.stdout.readline()
        if not ready:
            raise RuntimeError("the fuzz fork server did not start")

    def run(self, argv: list[str], cwd: str | os.PathLike[str], timeout: float,
            memory: int = MEMORY_CAP) -> Outcome:
        request = {"argv": list(argv), "cwd": str(cwd), "timeout": timeout, "memory": memory}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise RuntimeError("the fuzz fork server died")
        return Outcome(**json.loads(reply))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):  # no pipe left for the collector
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> "ForkServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
