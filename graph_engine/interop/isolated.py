"""``import_model`` in a child process, for the command line: the model's code is the user's,
and it may call ``sys.exit``, crash the interpreter or never return. The child writes what it
found to a folder; the parent turns an exit, a crash or a timeout into one InteropError line.

    python -m graph_engine.interop.isolated FOLDER    # the child: FOLDER/request.json in
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from graph_engine.interop.errors import InteropError, UnsupportedModel, one_line
from graph_engine.serialization import load_graph, save_graph

if TYPE_CHECKING:  # torch comes with them: imported where used, so the CLI starts without it
    from graph_engine.interop.importer import ImportedModel

#: seconds an import may take (importing, building and tracing the model, comparing outputs)
DEFAULT_TIMEOUT = 300.0
_REQUEST, _RESULT, _GRAPH, _WEIGHTS, _LOG = (
    "request.json", "result.json", "graph.json", "weights.safetensors", "output.txt")
_PROJECT = str(Path(__file__).resolve().parents[2])


def import_isolated(spec: str, input_shape: Sequence[int], input_dtype: str = "float32",
                    name: str | None = None, timeout: float = DEFAULT_TIMEOUT, nested: bool = False) -> ImportedModel:
    """:func:`import_model` run in a child process that is killed after ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="rosenblatt-import-") as folder:
        work = Path(folder)
        request = {"spec": spec, "input_shape": list(input_shape), "input_dtype": input_dtype, "name": name,
                   "nested": nested}
        (work / _REQUEST).write_text(json.dumps(request), encoding="utf-8")
        status = _run_child(work, timeout)
        if status is None:
            raise InteropError(f"{spec}: the import did not finish within {timeout:g} s (--timeout); "
                               "does the model's code wait for something?")
        return _result(work, spec, status)


def _child_env() -> dict[str, str]:
    """The parent's environment, with this package importable from a source checkout too."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), _PROJECT) if p)
    return env


def _run_child(work: Path, timeout: float) -> int | None:
    """The child's exit status, or None when it ran past ``timeout`` (it is killed, with
    whatever processes it started)."""
    with open(work / _LOG, "wb") as log:
        child = subprocess.Popen([sys.executable, "-m", __name__, str(work)], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, env=_child_env(),
                                 start_new_session=True)
        try:
            return child.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return None


def _ended(status: int) -> str:
    if status >= 0:
        return f"exit status {status}"
    try:
        return f"killed by {signal.Signals(-status).name}"
    except ValueError:
        return f"killed by signal {-status}"


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip()]
    return f" (its last words: {lines[-1][:200]})" if lines else ""


def _result(work: Path, spec: str, status: int) -> ImportedModel:
    """What the child wrote, or why it wrote nothing."""
    if not (work / _RESULT).is_file():
        raise InteropError(f"{spec}: the model's code ended the import process ({_ended(status)}) before it "
                           f"finished{_last_line(work / _LOG)}")
    result = json.loads((work / _RESULT).read_text(encoding="utf-8"))
    if result["status"] == "unsupported":
        raise UnsupportedModel(result["model"], result["problems"])
    if result["status"] == "error":
        raise InteropError(result["message"])
    from graph_engine.interop.importer import ImportedModel
    from graph_engine.interop.weights import load_safetensors

    return ImportedModel(load_graph(work / _GRAPH), load_safetensors(work / _WEIGHTS), result["max_difference"])


def _outcome(work: Path, request: dict[str, Any]) -> dict[str, Any]:
    """Import as asked, writing the graph and weights; the result for the parent."""
    from graph_engine.interop.importer import import_model
    from graph_engine.interop.weights import save_safetensors

    spec = request["spec"]
    try:
        imported = import_model(spec, request["input_shape"], request["input_dtype"], request["name"],
                                request.get("nested", False))
    except UnsupportedModel as error:
        return {"status": "unsupported", "model": error.model, "problems": error.problems}
    except InteropError as error:
        return {"status": "error", "message": str(error)}
    except SystemExit as error:
        return {"status": "error", "message": f"{spec}: the model's code called sys.exit({error.code!r})"}
    except BaseException as error:  # noqa: BLE001 (MemoryError, RecursionError, Ctrl+C: all the user's)
        return {"status": "error", "message": f"{spec}: the import failed: {one_line(error)}"}
    save_graph(imported.graph, work / _GRAPH)
    save_safetensors(work / _WEIGHTS, imported.state)
    return {"status": "ok", "max_difference": imported.max_difference}


def child_main(folder: str) -> int:
    """The child: read the request, import, write the result last (its presence means done)."""
    work = Path(folder)
    outcome = _outcome(work, json.loads((work / _REQUEST).read_text(encoding="utf-8")))
    (work / _RESULT).write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
