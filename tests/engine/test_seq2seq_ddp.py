"""An encoder–decoder under torchrun (issue 12): scheduled sampling decodes step by step outside
the model's forward, so the trainer wraps the whole step (seq2seq.Seq2SeqStep) in DDP. Two CPU
processes (gloo) train the translator, teacher-forced at the first step and sampled after it;
their parameters must stay identical (each rank takes another shard, so without averaged
gradients they part at the first step)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import load_file

from graph_engine.training import read_metrics

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_ranks_keep_identical_parameters_under_scheduled_sampling(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               str(REPO / "tests" / "engine" / "ddp_seq2seq_rank.py"), str(tmp_path), "linear"]
    done = subprocess.run(command, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [load_file(tmp_path / f"rank{r}.safetensors") for r in (0, 1)]
    with safe_open(tmp_path / "rank1.safetensors", "pt") as handle:
        assert handle.metadata()["step"] == "3"
    assert set(ranks[0]) == set(ranks[1]) and len(ranks[0]) > 4
    for name, value in ranks[0].items():
        assert (value - ranks[1][name]).abs().max() == 0, name
    steps = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["type"] == "step"]
    # step 1 teacher-forced (ε = 1), then sampled: both paths went through DDP
    assert [r["teacher_forcing"] for r in steps] == pytest.approx([1.0, 0.75, 0.5])
