"""Runs ``rosenblatt`` commands for the fuzz suite, each in a fresh child forked from one warm
process, under an address-space cap (``resource.setrlimit(RLIMIT_AS)``) and a time limit.

Started as ``python tests/fuzz/forkserver.py`` with the code to test on PYTHONPATH (the bench
runs an older tree the same way). It imports the CLI and torch once, then for each request
line on stdin (JSON: ``argv``, ``cwd``, ``timeout``, ``memory``) forks a child that caps its
memory, sends its stdout and stderr to files and calls ``app.cli.main`` as the console script
would (an exception escaping it prints its traceback, as Python does); the reply line holds the
exit status, both outputs, the seconds taken and whether the time limit killed it. Forking
costs milliseconds where a new interpreter importing torch costs seconds; the server itself
never runs torch code, so no thread pool is forked.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback


def _child(argv: list[str], cwd: str, memory: int, out: str, err: str) -> None:
    code = 70
    try:
        os.setpgid(0, 0)  # the import command's own child dies with it on a timeout
        for fd, path in ((1, out), (2, err)):
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(handle, fd)
            os.close(handle)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        os.chdir(cwd)
        sys.argv = ["rosenblatt", *argv]
        from app.cli import main

        result = main(argv)
        code = result if isinstance(result, int) else 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 (what the interpreter would print, and its status)
        traceback.print_exc()
        code = 1
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()  # what the interpreter runs at its exit (multiprocessing's clean-up)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _run(request: dict) -> dict:
    folder = tempfile.mkdtemp(prefix="fuzz-out-")  # no finalizer: the child runs the exit handlers
    try:
        out, err = os.path.join(folder, "out"), os.path.join(folder, "err")
        sys.stdout.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request["argv"], request["cwd"], request["memory"], out, err)
        deadline, killed, status = started + request["timeout"], False, 0
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                killed = True
                for target in (-pid, pid):
                    try:
                        os.kill(target, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        texts = []
        for path in (out, err):
            try:
                with open(path, "rb") as stream:
                    texts.append(stream.read(1 << 20).decode("utf-8", "replace"))
            except OSError:
                texts.append("")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"rc": code, "stdout": texts[0], "stderr": texts[1], "seconds": seconds, "killed": killed}


def main() -> None:
    import torch  # noqa: F401 (imported once here, so that each child starts warm)

    import app.cli  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
