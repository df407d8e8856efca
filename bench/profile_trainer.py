"""Where a Trainer run's time goes, against the minimal loop of trainer_overhead.py.

For each template: the Trainer's time split into its parts (the step loop, the interval
probes, each epoch's validation, epoch-end picture and checkpoints, the finish) by timing
those methods of one instance, next to the hand loop's steps and validation; then, with
``--cprofile``, the functions with the most own time in each (cProfile measures the wall
clock: on a loaded machine a system call also collects the time the process waited for a
core). CPU time of the process by default (``--clock wall`` for the wall clock).

    PYTHONPATH=$PWD python bench/profile_trainer.py [--template NAME ...] [--epochs 3]
        [--train-samples N] [--device cpu|cuda] [--cprofile]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from _machine import machine_lines  # noqa: E402
from trainer_overhead import TEMPLATES, Stopwatch, _subset, hand_loop, load_line  # noqa: E402

from graph_engine import load_template  # noqa: E402
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict  # noqa: E402


def parts(graph, data, settings, folder: Path, watch: Stopwatch) -> tuple[float, dict[str, float], Any]:
    """Seconds of one Trainer run and of its parts (overlapping: evaluation is inside the epoch's end)."""
    spent: dict[str, float] = collections.Counter()
    trainer = Trainer(graph, data, settings, None, folder)

    def timed(owner: Any, name: str, label: str) -> None:
        method: Callable[..., Any] = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = watch.read()
            try:
                return method(*args, **kwargs)
            finally:
                spent[label] += watch.seconds(began, watch.read())
        setattr(owner, name, wrapper)

    timed(trainer, "_train_step", "steps (with interval probes)")
    timed(trainer, "_end_epoch", "epoch ends")
    timed(trainer, "evaluate", "  validation")
    timed(trainer, "_finish", "finish")
    timed(trainer.checkpoints, "keep_best", "  best kept in memory")
    timed(trainer.checkpoints, "save_last", "  last checkpoint")
    timed(trainer, "_flush", "step records")
    if trainer.probes is not None:
        timed(trainer.probes, "before_update", "  probes: gradients")
        timed(trainer.probes, "after_update", "  probes: interval")
        timed(trainer.probes, "at_epoch_end", "  probes: epoch-end picture")
    start = watch.read()
    trainer.run()
    return watch.seconds(start, watch.read()), dict(spent), trainer


def profiled(label: str, run: Callable[[], Any], lines: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    run()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(lines)
    print(f"-- {label}, by own time (cProfile, wall clock)")
    print("\n".join(out.getvalue().splitlines()[6:8 + lines]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", nargs="+", default=list(TEMPLATES))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-samples", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None)
    parser.add_argument("--cprofile", action="store_true", help="also list the functions with the most own time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = args.clock or ("cpu" if args.device == "cpu" else "wall")
    watch = Stopwatch(clock)
    device = torch.device(args.device)
    print("\n".join(machine_lines(args.device)))
    print(f"load    : {load_line()}; {clock} clock")
    scratch = Path(tempfile.mkdtemp())
    for template in args.template:
        graph = load_template(template)
        settings = settings_from_dict(graph.training, epochs=args.epochs, device=args.device)
        data = _subset(load_dataset_for(graph, settings), args.train_samples)
        hand_loop(graph, data, device, 1, settings.batch_size, settings.seed, settings, watch)  # warm up
        hand = hand_loop(graph, data, device, args.epochs, settings.batch_size, settings.seed, settings, watch)
        total, spent, trainer = parts(graph, data, settings, scratch / f"{template}-parts", watch)
        schedule = trainer.probe_schedule
        print(f"\n== {template}: {hand.steps} steps of batch {settings.batch_size}, {args.epochs} epoch(s), "
              f"{data.describe()}")
        print(f"hand loop   {hand.seconds:8.3f} s   steps {hand.seconds - hand.outside_steps:8.3f}   "
              f"validation {hand.outside_steps:7.3f}")
        print(f"Trainer     {total:8.3f} s   ({hand.seconds / total:.3f} of the hand loop's rate); probes "
              f"{schedule.spent:.3f} s in {schedule.probes} interval probes + epoch ends, "
              f"{100 * schedule.used_share():.1f} % of the time (budget {100 * schedule.share:g} %)")
        for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {label:<32} {seconds:8.3f} s")
        if args.cprofile:
            profiled("hand loop", lambda: hand_loop(graph, data, device, args.epochs, settings.batch_size,
                                                    settings.seed, settings, watch), 14)
            profiled("Trainer", lambda: Trainer(graph, data, settings, None, scratch / f"{template}-cprofile").run(), 14)


if __name__ == "__main__":
    main()
