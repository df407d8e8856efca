"""A throwaway PostgreSQL cluster for a test: initdb in a temp dir, a free port, stopped after.

Uses the Debian ``postgresql`` package's binaries (``/usr/lib/postgresql/*/bin``), run as the
``postgres`` user when the tests run as root (initdb refuses root). Raises
:class:`ServerUnavailable` with the reason when it cannot start; the fixture turns that into
a skip with a message.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class ServerUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ServerUnavailable("PostgreSQL is not installed (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerUnavailable("running as root without runuser: cannot start PostgreSQL as 'postgres'")
    return [runuser, "-u", "postgres", "--", *command]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a cluster; yields its URL (``postgresql://postgres@127.0.0.1:PORT/sweeps``)."""
    binaries = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="rosenblatt-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        try:
            shutil.chown(root, "postgres")
        except (LookupError, OSError) as error:
            shutil.rmtree(root, ignore_errors=True)
            raise ServerUnavailable(f"no 'postgres' user to run the server as ({error})") from None
    port = _free_port()

    def run(*command: str) -> None:
        result = subprocess.run(_as_server_user(list(command)), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            text = (result.stderr or result.stdout).strip().splitlines()
            raise ServerUnavailable(f"{Path(command[0]).name} failed: {text[-1] if text else result.returncode}")

    started = False
    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start")
        started = True
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "sweeps")
        yield f"postgresql://postgres@127.0.0.1:{port}/sweeps"
    finally:
        if started:
            subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
