"""Where a Trainer step's time goes, against the minimal loop of trainer_overhead.py.

Profiles one Trainer run and one hand-written loop (same model, data, epochs) with
cProfile and prints the functions with the most own time, so per-step overhead on a
launch-bound GPU (Python work, host syncs) shows up by name.

    PYTHONPATH=$PWD python3 bench/profile_trainer.py [--device cuda] [--epochs 20]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from trainer_overhead import hand_loop  # noqa: E402

from graph_engine import load_template  # noqa: E402
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict  # noqa: E402


def profiled(label: str, run) -> None:
    profile = cProfile.Profile()
    began = time.perf_counter()
    profile.enable()
    run()
    profile.disable()
    print(f"== {label}: {time.perf_counter() - began:.2f} s")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(18)
    print("\n".join(out.getvalue().splitlines()[6:30]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=args.epochs, device=args.device)
    data = load_dataset_for(graph, settings)
    device = torch.device(args.device)
    hand_loop(graph, data, device, 2, settings.batch_size, settings.seed)  # warm up
    folder = Path(tempfile.mkdtemp())
    profiled("hand loop", lambda: hand_loop(graph, data, device, args.epochs, settings.batch_size,
                                            settings.seed))
    profiled("Trainer", lambda: Trainer(graph, data, settings, None, folder / "run").run())


if __name__ == "__main__":
    main()
