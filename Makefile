# Rosenblatt: `make run` launches the app, `make test` runs the whole suite offscreen,
# `make test-fast` all but the end-to-end tests marked `slow` (see README, Tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast bench clean

install: $(STAMP)

# pip + venv only; constraints.txt pins torch 2.13.0 (the CPU build on disk) and PySide6 6.11.3.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,onnx,tensorboard]"
	touch $(STAMP)

run: install
	$(VENV)/bin/rosenblatt

# pytest-xdist workers, one per core of the 2-core machines this runs on (0: one process).
# --dist loadfile keeps a file's tests, and so its module fixtures (trained runs), on one worker.
TEST_WORKERS ?= 2
PYTEST := QT_QPA_PLATFORM=offscreen PYQTGRAPH_QT_LIB=PySide6 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

test: install
	$(PYTEST) -q

test-fast: install
	$(PYTEST) -q -m "not slow"

bench: install
	-$(PY) bench/validation_scaling.py
	-$(PY) bench/compile_overhead.py
	-$(PY) bench/trainer_overhead.py
	-$(PY) bench/patches_overhead.py
	-$(PY) bench/shapes_drawing.py
	-QT_QPA_PLATFORM=offscreen $(PY) bench/canvas_scale.py
	-QT_QPA_PLATFORM=offscreen PYQTGRAPH_QT_LIB=PySide6 $(PY) bench/edit_at_scale.py
	-QT_QPA_PLATFORM=offscreen PYQTGRAPH_QT_LIB=PySide6 $(PY) bench/curves_scale.py
	-QT_QPA_PLATFORM=offscreen PYQTGRAPH_QT_LIB=PySide6 $(PY) bench/gui_training.py

clean:
	rm -rf $(VENV) build *.egg-info
