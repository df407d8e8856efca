"""The GUI's training child process on a CUDA machine, without Qt: spawn, stream, pause, stop.

Starts :func:`graph_engine.training.worker.train_in_child` the way ``app.training_session``
does (spawn context, a one-way pipe, a TrainingControl), reads the pipe in this process, and
prints what the Training panel would show: the device, steps/s from the trainer's clock, the
pause/resume round trip, and how the run ended. For machines without PySide6.

    PYTHONPATH=$PWD python3 bench/child_process_cuda.py [--epochs 8] [--device cuda]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from graph_engine import dumps, load_template
from graph_engine.training.control import TrainingControl
from graph_engine.training.history import RunHistory
from graph_engine.training.worker import train_in_child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    graph = load_template("digits_cnn")
    (reader, writer), control, history = context.Pipe(duplex=False), TrainingControl(), RunHistory()
    run_dir = Path(tempfile.mkdtemp()) / "run"
    settings = {**graph.training, "epochs": args.epochs, "device": args.device}
    began = time.perf_counter()
    child = context.Process(target=train_in_child, daemon=True,
                            args=(dumps(graph), settings, str(run_dir), writer, control, None))
    child.start()
    writer.close()
    paused_at = resumed = None
    while True:
        try:
            if not reader.poll(0.05):
                continue
            history.apply_all(reader.recv())
        except EOFError:
            break
        if paused_at is None and history.step > 50:
            control.pause()
            paused_at = time.perf_counter()
        if history.status == "paused" and resumed is None:
            time.sleep(0.3)
            step = history.step
            control.resume()
            resumed = step
    child.join()
    print(f"device {history.device}; status {history.status}: {history.message}")
    print(f"steps {history.step} of {history.total_steps}; rate over the last 200 steps "
          f"{history.rate() or 0:.0f} steps/s; wall {time.perf_counter() - began:.1f} s incl. start-up")
    print(f"paused at step {resumed} and resumed; probes received: {sorted(history.probes)}")
    print(f"exit code {child.exitcode}; checkpoint written: "
          f"{(run_dir / 'checkpoints' / 'last.safetensors').exists()}")


if __name__ == "__main__":
    main()
