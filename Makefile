# tfcolor: `make quickstart` prepares the embedded sample photos and trains on them,
# `make test` runs the test suite. Both create .venv and install tfcolor first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: quickstart test bench clean

# uv installs the wheels in parallel (and compiles their bytecode on every core): about 20 s
# against pip's 55 s. uv reads no pip.conf: where it cannot install (a private index, no uv
# on the index), pip does it.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing tfcolor and its dependencies into $(VENV) (uv; pip if uv cannot)"
	@{ $(PY) -m pip install --quiet uv && \
	  $(PY) -m uv pip install --quiet --compile-bytecode --python $(PY) -e '.[test,beam]'; } || \
	  { echo "uv could not install tfcolor; pip installs it"; \
	    $(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet -e '.[test,beam]'; }
	touch $(STAMP)

quickstart: $(STAMP)
	$(PY) -m data_prep.samples --output_dir=runs/quickstart/data --image_size=64 --store_size=72
	$(PY) -m tfcolor.train --flagfile=experiments/quickstart.flags

# Two worker processes, a test module each (module fixtures built once); the suite is CPU-bound
# (commands fork from a process that imported TensorFlow once: tests/launcher.py).
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder

bench: $(STAMP)
	$(PY) -m bench.bench_color
	$(PY) -m bench.bench_reader
	$(PY) -m bench.bench_prep --images=3000 --repeats=2 --runners=local,beam
	$(PY) -m bench.bench_tflite --with_transposed
	$(PY) -m bench.bench_evaluate
	$(PY) -m bench.bench_matmul_conv
	$(PY) -m bench.bench_train_step --size=256 --batches=4,1 --steps=8 --repeats=3
	$(PY) -m bench.bench_train_step --size=32 --batches=64 --steps=20 --repeats=3

clean:
	rm -rf $(VENV) runs *.egg-info
