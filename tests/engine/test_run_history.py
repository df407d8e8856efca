"""Replaying a run folder: a damaged metrics line becomes a reason, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from graph_engine.training.history import RunHistory


def _step(step: int, **changes) -> dict:
    record = {"type": "step", "step": step, "epoch": 1, "loss": 1.0 / step, "lr": 0.001, "time": 0.1 * step}
    record.update(changes)
    return record


def _write(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


def test_a_step_line_without_epoch_is_named_and_the_rest_is_kept(tmp_path):
    broken = _step(2)
    del broken["epoch"]
    folder = _write(tmp_path / "run", [json.dumps(_step(1)), json.dumps(broken), json.dumps(_step(3))])
    history = RunHistory.from_run_dir(folder)
    assert list(history.steps.column("step")) == [1.0, 3.0]
    assert history.damage == ["metrics.jsonl line 2: a step record without 'epoch'"]
    assert history.damaged == "metrics.jsonl line 2: a step record without 'epoch'"


def test_lines_that_are_not_json_objects_or_hold_wrong_values_are_named(tmp_path):
    epoch = {"type": "epoch", "step": 3, "epoch": 1, "time": 0.3, "val": "high"}
    lines = [json.dumps(_step(1)), "{not json", "[1, 2]", json.dumps(_step(2, loss="low")),
             json.dumps(epoch), json.dumps(_step(3))]
    history = RunHistory.from_run_dir(_write(tmp_path / "run", lines))
    assert list(history.steps.column("step")) == [1.0, 3.0] and history.epochs == []
    assert history.damage == [
        "metrics.jsonl line 2 is not JSON",
        "metrics.jsonl line 3 is not a JSON object",
        "metrics.jsonl line 4: a step record whose 'loss' is not a number",
        "metrics.jsonl line 5: an epoch record whose 'val' is not an object",
    ]
    assert history.damaged == "metrics.jsonl line 2 is not JSON (and 3 more problems)"


def test_a_torn_last_line_of_a_run_still_writing_is_not_damage(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "metrics.jsonl").write_text(json.dumps(_step(1)) + "\n" + '{"type": "st', encoding="utf-8")
    history = RunHistory.from_run_dir(folder)
    assert len(history.steps) == 1 and history.damage == [] and history.damaged is None


def test_bytes_that_are_not_utf8_are_one_damaged_line(tmp_path):
    folder = _write(tmp_path / "run", [json.dumps(_step(1))])
    with open(folder / "metrics.jsonl", "ab") as stream:
        stream.write(b"\xff\xfe garbage\n" + json.dumps(_step(2)).encode() + b"\n")
    history = RunHistory.from_run_dir(folder)
    assert len(history.steps) == 2
    assert history.damage == ["metrics.jsonl line 2 is not UTF-8 text"]


def test_damaged_side_files_are_reasons_too(tmp_path):
    folder = _write(tmp_path / "run", [json.dumps(_step(1))])
    (folder / "settings.json").write_text("{", encoding="utf-8")
    history = RunHistory.from_run_dir(folder)
    assert len(history.steps) == 1
    assert history.damage == ["settings.json cannot be read (not JSON)"]


def test_stored_text_samples_and_translations_come_back_and_bad_ones_are_named(tmp_path):
    samples = {"type": "probe", "kind": "samples", "step": 3, "data": {"prompt": "def ", "text": "def f():",
                                                                        "temperature": 0.8}}
    rows = [{"source": "twelve", "output": "12", "references": ["12"], "correct": True}]
    translations = {"type": "probe", "kind": "translations", "step": 3, "data": {"rows": rows}}
    lines = [json.dumps(_step(3)), json.dumps(samples), json.dumps(translations),
             json.dumps({**samples, "kind": "activations", "data": {"x": {}}}),
             json.dumps({**samples, "data": {"prompt": "a", "text": 7}}),
             json.dumps({**translations, "data": {"rows": [{"source": "x", "output": "y", "references": [1]}]}})]
    history = RunHistory.from_run_dir(_write(tmp_path / "run", lines))
    assert history.samples == [(3, "def ", "def f():")]
    assert history.probes["translations"].data["rows"] == rows
    assert history.damage == [
        "metrics.jsonl line 4: a probe record of kind 'activations', which runs do not store",
        "metrics.jsonl line 5: a probe record whose samples' prompt or text is not text",
        "metrics.jsonl line 6: a probe record whose rows are not a list of source, output and reference texts",
    ]
