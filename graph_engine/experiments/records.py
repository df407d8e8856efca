"""Trial records in run folders, and what the runs table and the Pareto view read from them.

A sweep's trial is an ordinary run folder plus ``trial.json``: the study, the trial
number, the varied values, the objectives' values, the state and, when it failed, why.
:func:`run_row` reads any run folder (swept or not) into one table row; :func:`pareto_mask`
says which of a set of points no other point beats on every objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from graph_engine.training import runs
from graph_engine.training.history import RunHistory

TRIAL_FILE = "trial.json"


def write_trial(run_dir: Path, record: dict[str, Any]) -> None:
    """Write (atomically, whole) the trial's record into its run folder."""
    runs.write_json(Path(run_dir) / TRIAL_FILE, record)


def read_trial(run_dir: Path) -> dict[str, Any]:
    """The run's trial record, or {} for a run that is not a trial (or a damaged record)."""
    try:
        data = runs.read_json(Path(run_dir) / TRIAL_FILE)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class RunRow:
    """One run as the runs table shows it."""

    run_dir: Path
    name: str
    status: str
    metric_name: str = ""
    best_metric: float = math.nan
    best_epoch: int | None = None
    params: int | None = None
    macs: int | None = None
    steps_per_s: float = math.nan
    wall_time: float = math.nan
    #: the share of its time the run's probes took (its last pace record; NaN: not recorded)
    probe_share: float = math.nan
    varied: dict[str, Any] = field(default_factory=dict)
    objectives: dict[str, float] = field(default_factory=dict)
    study: str = ""
    trial: int | None = None
    reason: str = ""


def run_row(run_dir: str | Path, history: RunHistory | None = None) -> RunRow:
    """Read one run folder into a row (never raises on a damaged folder)."""
    run_dir = Path(run_dir)
    history = history or RunHistory.from_run_dir(run_dir)
    trial = read_trial(run_dir)
    status = trial.get("state") or history.status
    row = RunRow(run_dir, run_dir.name, str(status), varied=dict(trial.get("values") or {}),
                 objectives={k: float(v) for k, v in (trial.get("objectives") or {}).items()
                             if isinstance(v, (int, float))},
                 study=str(trial.get("study", "")), trial=trial.get("number"),
                 reason=str(trial.get("reason", "") or (history.message if history.status == "failed" else "")))
    headline = history.headline
    if headline and history.epochs:
        name, higher = headline
        values = [(e["val"].get(name, math.nan), e["epoch"]) for e in history.epochs
                  if isinstance(e.get("val"), dict)]
        values = [(v, e) for v, e in values if isinstance(v, (int, float)) and math.isfinite(v)]
        if values:
            row.metric_name = name
            row.best_metric, row.best_epoch = (max if higher else min)(values)
    row.params = trial.get("params") if isinstance(trial.get("params"), int) else None
    row.macs = trial.get("macs") if isinstance(trial.get("macs"), int) else None
    if row.params is None:
        row.params, row.macs = _graph_counts(run_dir)
    rate = history.rate(window=10**9)
    row.steps_per_s = rate if rate is not None else math.nan
    share = history.probe_share
    row.probe_share = share if share is not None else math.nan
    times = history.steps.column("time") if len(history.steps) else np.empty(0)
    if history.epochs:
        row.wall_time = float(history.epochs[-1]["time"])
    elif len(times):
        row.wall_time = float(times[-1])
    return row


_GRAPHS: dict[Path, tuple[float, Any]] = {}


def run_graph(run_dir: Path) -> Any:
    """The run's graph snapshot (``graph.json``), read once per change; None if unreadable."""
    from graph_engine.serialization import load_graph

    path = Path(run_dir) / "graph.json"
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return None
    cached = _GRAPHS.get(path)
    if cached is None or cached[0] != stamp:
        try:
            cached = (stamp, load_graph(path))
        except Exception:  # noqa: BLE001 (a damaged or foreign file: nothing to compare)
            cached = (stamp, None)
        _GRAPHS[path] = cached
    return cached[1]


def _graph_counts(run_dir: Path) -> tuple[int | None, int | None]:
    from graph_engine.analysis import analyze

    graph = run_graph(run_dir)
    if graph is None:
        return None, None
    try:
        analysis = analyze(graph)
        return analysis.total_params, analysis.total_macs
    except Exception:  # noqa: BLE001 (a damaged or foreign graph: the row shows no counts)
        return None, None


def pareto_mask(points: Sequence[Sequence[float]], maximise: Sequence[bool]) -> np.ndarray:
    """True where no other point is at least as good on every objective and better on one."""
    values = np.asarray(points, dtype=np.float64).reshape(len(points), len(maximise))
    signs = np.where(np.asarray(maximise), -1.0, 1.0)  # minimise everything
    costs = values * signs
    mask = np.ones(len(costs), dtype=bool)
    for i, cost in enumerate(costs):
        if not np.all(np.isfinite(cost)):
            mask[i] = False
            continue
        others = costs[np.all(np.isfinite(costs), axis=1)]
        beaten = np.all(others <= cost, axis=1) & np.any(others < cost, axis=1)
        mask[i] = not beaten.any()
    return mask


def study_rows(study_dir: str | Path) -> list[RunRow]:
    """Rows of every trial's run folder under ``study_dir/runs`` (by trial number)."""
    root = Path(study_dir) / "runs"
    if not root.is_dir():
        return []
    rows = [run_row(p) for p in root.iterdir() if (p / TRIAL_FILE).is_file()]
    return sorted(rows, key=lambda r: (r.trial is None, r.trial or 0))
