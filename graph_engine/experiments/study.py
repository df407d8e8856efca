"""The Optuna side of a sweep: storage, the study's record, claiming and telling trials.

The process that creates a study stores in it everything a worker needs (the base
graph, the spec, the out folder's name) and queues every trial at once: a grid's
combinations with their values fixed, a search's trials empty (the sampler fills them
when one is claimed). A worker claims a queued trial atomically (Optuna's WAITING →
RUNNING update), so two workers never run the same one. A worker that dies leaves its
trial RUNNING without heartbeats; the next worker marks it failed and queues it again.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_engine.experiments.spec import SpecError, SweepSpec, Variation
from graph_engine.model import Graph
from graph_engine.serialization import dumps, loads

#: a worker's heartbeat interval and how long a silent trial is taken for alive (seconds)
HEARTBEAT_SECONDS, GRACE_SECONDS = 5, 30
#: the user attribute that holds the study's record (graph, spec)
RECORD_ATTR = "rosenblatt"
STUDY_DB = "study.db"
JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")


class StudyError(ValueError):
    """The storage cannot be reached or holds no usable study (one line)."""


def _optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def default_storage(folder: str | Path) -> str:
    """SQLite in the study folder."""
    return f"sqlite:///{Path(folder).resolve() / STUDY_DB}"


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_storage(url: str) -> Any:
    """An Optuna storage for ``url``: an RDB URL (with heartbeats) or a journal file path.

    Raises StudyError with one line when it cannot be reached."""
    optuna = _optuna()
    from optuna.storages import RDBStorage, RetryFailedTrialCallback
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeat and retry are marked experimental
            if "://" not in url:
                if not url.endswith(JOURNAL_SUFFIXES):
                    raise StudyError(f"storage {url!r}: give an RDB URL (sqlite:///…, postgresql://…) "
                                     f"or a journal file ending in {', '.join(JOURNAL_SUFFIXES)}")
                Path(url).parent.mkdir(parents=True, exist_ok=True)
                return JournalStorage(JournalFileBackend(url))
            engine = {"pool_pre_ping": True}
            if url.startswith("postgresql"):
                engine["connect_args"] = {"connect_timeout": 5}
            return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_SECONDS,
                              grace_period=GRACE_SECONDS,
                              failed_trial_callback=RetryFailedTrialCallback(max_retry=1))
    except StudyError:
        raise
    except Exception as error:  # noqa: BLE001 (drivers raise many kinds; each is one line here)
        text = " ".join(str(error).split("\n")[0].split())[:200]
        raise StudyError(f"storage {shown_url(url)} cannot be reached: {type(error).__name__}: {text}") from None


@dataclass
class StudyRecord:
    """What a study holds about itself, so a worker needs nothing but the storage URL."""

    name: str
    graph_json: str
    spec: dict[str, Any]

    def graph(self) -> Graph:
        return loads(self.graph_json, f"study {self.name!r}")

    def sweep(self) -> SweepSpec:
        return SweepSpec.from_dict(self.spec, self.graph())


def create_or_join(storage: Any, name: str, graph: Graph, spec: SweepSpec) -> Any:
    """Create the study and queue its trials, or join it if it exists with the same spec."""
    optuna = _optuna()
    directions = [o.optuna_direction for o in spec.objectives]
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                    sampler=sampler_for(spec), pruner=optuna.pruners.MedianPruner(
                                        n_startup_trials=2, n_warmup_steps=1))
    except optuna.exceptions.DuplicatedStudyError:
        study = join(storage, name, spec=spec)
        if study.user_attrs[RECORD_ATTR]["spec"] != spec.to_dict():
            raise StudyError(f"study {name!r} exists with another spec: give another --study name "
                             "(or join it with --worker)") from None
        return study
    study.set_user_attr(RECORD_ATTR, {"graph": dumps(graph), "spec": spec.to_dict()})
    if spec.method == "grid":
        for values in spec.grid()[:spec.trial_count]:
            study.enqueue_trial({v.target: _optuna_value(values[v.target]) for v in spec.variations})
    else:
        for _ in range(spec.trial_count):
            study.enqueue_trial({})
    study.set_user_attr("ready", True)
    return study


def sampler_for(spec: SweepSpec) -> Any:
    """TPE for one objective, NSGA-II for several (generations small enough that a
    20-trial search has several); the same in every worker, from the spec alone."""
    optuna = _optuna()
    if len(spec.objectives) == 1:
        return optuna.samplers.TPESampler(n_startup_trials=max(2, min(10, spec.trial_count // 3)))
    return optuna.samplers.NSGAIISampler(population_size=max(4, min(50, spec.trial_count // 4)))


def join(storage: Any, name: str, wait: float = 0.0, spec: SweepSpec | None = None) -> Any:
    """Load a study made by :func:`create_or_join` (waiting up to ``wait`` s for it to appear)."""
    optuna = _optuna()
    deadline = time.monotonic() + wait
    while True:
        try:
            study = optuna.load_study(study_name=name, storage=storage)
            if study.user_attrs.get("ready"):
                record = study_record(study)
                spec = spec or record.sweep()
                return optuna.load_study(study_name=name, storage=storage, sampler=sampler_for(spec),
                                         pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
        except KeyError:
            pass
        if time.monotonic() >= deadline:
            raise StudyError(f"no study named {name!r} in this storage: start one with "
                             "rosenblatt sweep FILE --vary … --storage URL")
        time.sleep(0.5)


def study_record(study: Any) -> StudyRecord:
    data = study.user_attrs.get(RECORD_ATTR)
    if not isinstance(data, dict) or "graph" not in data:
        raise StudyError(f"study {study.study_name!r} was not made by rosenblatt sweep")
    return StudyRecord(study.study_name, data["graph"], data["spec"])


def _optuna_value(value: Any) -> Any:
    """Categorical values must be scalars: a list (kernel_size [3, 3]) travels as JSON text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value)


def _plain_value(value: Any, variation: Variation) -> Any:
    if isinstance(value, str) and value[:1] in "[{" and not variation.is_type:
        return json.loads(value)
    return value


def suggest(trial: Any, variation: Variation) -> Any:
    """Ask the trial for ``variation``'s value (fixed for a grid trial, sampled in a search)."""
    domain = variation.domain
    name = variation.target
    if domain.kind == "choice":
        value = trial.suggest_categorical(name, [_optuna_value(c) for c in domain.choices])
    elif domain.kind == "range" and trial.study.user_attrs[RECORD_ATTR]["spec"]["method"] == "grid":
        value = trial.suggest_categorical(name, domain.grid_values())
    elif domain.integer:
        step = domain.step or 1
        value = trial.suggest_int(name, int(domain.low), int(domain.high), step=step if not domain.log else 1,
                                  log=domain.log)
    else:
        value = trial.suggest_float(name, domain.low, domain.high, log=domain.log)
    return _plain_value(value, variation)


def has_heartbeats(study: Any) -> bool:
    """Whether the storage keeps trial heartbeats (an RDB does; then a dead worker is found)."""
    getter = getattr(study._storage, "get_heartbeat_interval", None)
    return bool(getter and getter())


#: why a trial of a worker that died is failed
STALE_REASON = "its worker stopped sending heartbeats (killed?): queued again"


def fail_stale(study: Any) -> list[Any]:
    """Mark trials of dead workers failed (and queue them again), where the storage can tell;
    returns the trials it failed (a finished trial takes no attributes: a failed trial without a
    ``reason`` is one of these, and tables say :data:`STALE_REASON`)."""
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    if not has_heartbeats(study):
        return []
    running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fail_stale_trials(study)
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            if t.number in running and "reason" not in t.user_attrs]  # not one another worker failed


def others_running(study: Any) -> int:
    """Trials RUNNING in the storage (another worker's, or a dead one's until found stale)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def claim(study: Any) -> Any | None:
    """Take one queued trial for this worker (None when the queue is empty)."""
    optuna = _optuna()
    from optuna.trial import TrialState

    for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if not study._storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        return optuna.Trial(study, frozen._trial_id)
    return None


def heartbeat(study: Any, trial: Any) -> None:
    """Tell the storage this worker still runs ``trial`` (see :func:`fail_stale`)."""
    if has_heartbeats(study):
        study._storage.record_heartbeat(trial._trial_id)
