#!/usr/bin/env bash
# The training checks for a lent CUDA machine: one short run of the CLI and the throughput bench.
set -u
export PYTHONPATH="$PWD"
python3 -m app.cli train --device cuda --epochs 5 --out /tmp/cuda_run 2>&1 | tr '\r' '\n' | tail -4
python3 bench/trainer_overhead.py --device cuda --rounds 4 --epochs 20 2>&1 | tail -9
