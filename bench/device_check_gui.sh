#!/usr/bin/env bash
# Issue 5/6 checks for a lent CUDA machine (no PySide6 there): the GUI's training child process
# on CUDA, the distributed/interop/training engine tests, and the trainer throughput bench.
set -u
export PYTHONPATH="$PWD"
python3 -c "import PySide6" 2>/dev/null && echo "PySide6 present" || echo "PySide6 absent: Qt-free checks only"
timeout 120 python3 bench/child_process_cuda.py --epochs 8 2>&1 | tail -6
timeout 240 python3 -m pytest -q -c /dev/null --rootdir . -p no:cacheprovider -x \
  tests/engine/test_distributed.py tests/engine/test_training.py tests/engine/test_compiler.py \
  tests/engine/test_probes.py 2>&1 | tail -6
timeout 150 python3 bench/trainer_overhead.py --device cuda --rounds 4 --epochs 20 2>&1 | tail -7
