"""``rosenblatt sweep``: variants of one graph, as a grid or an Optuna search, headless.

    rosenblatt sweep FILE --vary act1.type=ReLU,Tanh,Sigmoid --epochs 5
    rosenblatt sweep FILE --vary training.learning_rate=log:1e-4:1e-1 --trials 20 \\
        --objective val.accuracy:max --objective params:min --jobs 2
    rosenblatt sweep --storage postgresql://… --worker      # join a study from another machine

The study folder (``--out``) holds ``sweep.json`` (what was asked), ``study.db`` (the
default SQLite storage) and ``runs/`` (one ordinary run folder per trial).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import re
import signal
import sys
from pathlib import Path
from typing import Any


EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2
SWEEP_FILE = "sweep.json"


class SweepProgress:
    """A tqdm bar over the study's trials; one line per trial that failed."""

    def __init__(self, total: int):
        from tqdm import tqdm  # here: `summary` and the other light commands load no tqdm

        self.bar = tqdm(total=total, unit="trial", dynamic_ncols=True, file=sys.stderr)

    def __call__(self, event: dict[str, Any]) -> None:
        if event["type"] == "waiting":
            self.bar.set_postfix_str(f"waiting for {event['running']} trial(s) of other workers", refresh=True)
        elif event["type"] == "trial_started":
            self.bar.set_postfix_str(f"running {event['name']}", refresh=True)
        elif event["type"] == "trial_finished":
            self.bar.set_postfix_str(f"{event['name']} {event['state']}", refresh=False)
            self.bar.update(1)
            if event["state"] == "failed":
                self.bar.write(f"trial {event['number']} ({event['name']}) failed: {event['reason']}", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def cmd_sweep(args: argparse.Namespace) -> int:
    from graph_engine import GraphFileError
    from graph_engine.experiments.spec import SpecError
    from graph_engine.experiments.study import StudyError

    try:
        return _sweep(args)
    except (SpecError, StudyError, GraphFileError, OSError) as error:
        print(f"rosenblatt sweep: {error}", file=sys.stderr)
        return EXIT_UNREADABLE


def _sweep(args: argparse.Namespace) -> int:
    from graph_engine.experiments import study as studies
    from graph_engine.experiments.spec import SpecError
    from graph_engine.experiments.worker import SweepWorker

    if args.jobs is not None and args.jobs < 1:
        raise SpecError("--jobs must be at least 1")
    overrides = {"epochs": args.epochs} if args.epochs and args.worker else {}
    if args.worker:
        if not args.storage:
            raise SpecError("--worker joins a study in a shared storage: give --storage URL")
        storage = studies.open_storage(args.storage)
        name = args.study or _only_study(storage, args.storage)
        study = studies.join(storage, name, wait=args.wait)
        record = studies.study_record(study)
        graph, spec = record.graph(), record.sweep()
        out = Path(args.out or Path("sweeps") / name)
    else:
        graph, spec = _spec_from_args(args)
        name = args.study or default_study_name(graph.name)
        out = Path(args.out or Path("sweeps") / name)
        out.mkdir(parents=True, exist_ok=True)
        url = args.storage or studies.default_storage(out)
        storage = studies.open_storage(url)
        study = studies.create_or_join(storage, name, graph, spec)
        _write_sweep_file(out, name, url, spec)
    print(f"sweep {name!r}: {spec.trial_count} trials ({spec.method}), "
          f"objectives {', '.join(o.to_text() for o in spec.objectives)} -> {out}", file=sys.stderr)
    progress = SweepProgress(spec.trial_count)
    worker = SweepWorker(study, spec, graph, out, args.jobs, progress, overrides)
    previous = signal.signal(signal.SIGINT, lambda *_: worker.stop())
    try:
        worker.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.close()
    print(results_table(study, spec))
    completed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    return EXIT_OK if completed else EXIT_FAILED


def _spec_from_args(args: argparse.Namespace) -> tuple[Any, Any]:
    from app.graph_source import load_graph_argument
    from graph_engine.experiments.spec import SpecError, SweepSpec, build_spec

    graph = load_graph_argument(args.file)
    if args.spec:
        try:
            data = json.loads(Path(args.spec).read_text(encoding="utf-8"))
        except ValueError as error:
            raise SpecError(f"{args.spec}: not JSON ({error})") from None
        if args.vary or args.objective:
            data = dict(data)
            data["vary"] = list(data.get("vary") or []) + list(args.vary or [])
            data["objectives"] = args.objective or data.get("objectives")
        for key, value in (("trials", args.trials), ("method", args.method)):
            if value is not None:
                data[key] = value
        if args.epochs:
            data["settings"] = {**(data.get("settings") or {}), "epochs": args.epochs}
        return graph, SweepSpec.from_dict(data, graph)
    spec = build_spec(graph, args.vary or [], args.objective or ["val.accuracy:max"], args.method, args.trials,
                      settings={"epochs": args.epochs} if args.epochs else {}, prune=not args.no_prune)
    return graph, spec


def _only_study(storage: Any, url: str) -> str:
    from graph_engine.experiments.spec import SpecError

    import optuna

    names = [s.study_name for s in optuna.get_all_studies(storage)]
    if len(names) != 1:
        raise SpecError(f"{len(names)} studies in this storage ({', '.join(names) or 'none'}): name one with --study")
    return names[0]


def default_study_name(graph_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", graph_name).strip("-") or "graph"
    return f"{slug}-sweep-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _write_sweep_file(out: Path, name: str, url: str, spec: Any) -> None:
    from graph_engine.experiments.study import shown_url
    from graph_engine.training.runs import write_json

    write_json(out / SWEEP_FILE, {"study": name, "storage": shown_url(url), **spec.to_dict()})


def results_table(study: Any, spec: Any) -> str:
    """One line per trial: number, state, varied values, objectives; ``*`` marks the Pareto front."""
    from graph_engine.experiments.diff import show_value
    from graph_engine.experiments.study import STALE_REASON

    trials = study.get_trials(deepcopy=False)
    best = {t.number for t in study.best_trials} if any(t.state.name == "COMPLETE" for t in trials) else set()
    names = [v.short_name() for v in spec.variations]
    header = ["trial", "state", *names, *[o.to_text() for o in spec.objectives], "run / reason"]
    rows = []
    for trial in sorted(trials, key=lambda t: t.number):
        values = trial.user_attrs.get("values") or {}
        state = {"FAIL": "failed"}.get(trial.state.name, trial.state.name.lower())
        cells = [f"{trial.number}{'*' if trial.number in best else ''}", state]
        cells += [show_value(values.get(v.target, "")) for v in spec.variations]
        objective_values = trial.values or [math.nan] * len(spec.objectives)
        cells += ["-" if math.isnan(value) else f"{int(value):,}" if float(value).is_integer() and abs(value) >= 1000
                  else f"{value:.4g}" for value in objective_values]
        run = Path(trial.user_attrs.get("run_dir", "")).name
        cells.append(trial.user_attrs.get("reason", STALE_REASON) if trial.state.name == "FAIL" else run)
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join(lines[:1] + ["  ".join("-" * w for w in widths)] + lines[1:]
                     + ([f"* on the Pareto front of {len(spec.objectives)} objectives"] if len(spec.objectives) > 1
                        else ["* best trial"] if best else []))


def register(sub: argparse._SubParsersAction, file_help: str) -> None:
    """Add ``sweep`` to the main parser."""
    sweep = sub.add_parser("sweep", help="train variants of a graph (grid, or an Optuna search) and compare them")
    sweep.add_argument("file", nargs="?", help=file_help)
    sweep.add_argument("--vary", action="append", metavar="TARGET=VALUES",
                       help="NODE.type=ReLU,Tanh | NODE.PARAM=16,32 | training.SETTING=log:1e-4:1e-1[:N] | "
                            "uniform:LO:HI | loguniform:LO:HI | int:LO:HI[:STEP] (repeatable)")
    sweep.add_argument("--spec", metavar="FILE", help="a JSON spec: {\"vary\": [...], \"objectives\": [...], "
                                                      "\"method\": ..., \"trials\": N, \"settings\": {...}}")
    sweep.add_argument("--objective", action="append", metavar="NAME:DIR",
                       help="val.METRIC:max|min, params:min, macs:min, step_time:min (repeatable; "
                            "default val.accuracy:max)")
    sweep.add_argument("--method", choices=["grid", "search"],
                       help="grid (every combination) or search (TPE; NSGA-II for several objectives)")
    sweep.add_argument("--trials", type=int, help="trials in all (a search's budget; caps a grid)")
    sweep.add_argument("--jobs", type=int, help="trials at once on this machine (default: the free cores)")
    sweep.add_argument("--epochs", type=int, help="epochs of each trial (default: the graph's)")
    sweep.add_argument("--storage", metavar="URL", help="Optuna storage: an RDB URL (postgresql://…, sqlite:///…) "
                                                        "or a journal file (*.log); default OUT/study.db")
    sweep.add_argument("--study", help="study name (default <graph>-sweep-<date-time>)")
    sweep.add_argument("--worker", action="store_true", help="join the study in --storage and run its queued trials")
    sweep.add_argument("--wait", type=float, default=30.0, help="with --worker: seconds to wait for the study")
    sweep.add_argument("--out", help="study folder for run folders (default sweeps/<study>)")
    sweep.add_argument("--no-prune", action="store_true", help="never stop a poor trial early")
    sweep.set_defaults(run=cmd_sweep)
