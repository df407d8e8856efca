#!/usr/bin/env bash
# The GPU checks for a lent CUDA machine, in one short run (see README, "Benchmarks").
# Uses the machine's own python3 with torch; the engine needs only torch and networkx.
set -u
export PYTHONPATH="$PWD"
python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, torch.cuda.get_device_name())"
python3 -m pytest -q -c /dev/null --rootdir . -p no:cacheprovider tests/engine 2>&1 | tail -4
python3 bench/validation_scaling.py 2>&1 | tail -3
python3 bench/compile_overhead.py --device all --max-seconds "${MAX_SECONDS:-15}" 2>&1 | tail -16
