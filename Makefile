# Every install step lives here: `make test` works from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
TORCH_PIN := torch==2.13.0

.PHONY: test lint install bench bench-quick bench-peers clean demo

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first, pinned: a bare torch requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install $(TORCH_PIN)
	$(PY) -m pip install -e ".[torch,lightning,plot,io,test,testing,bench,dask]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -n 2 -q

# Benchmarks (bench/): each entry in a fresh process; markdown on stdout, JSON in bench/results/.
# Extra options through BENCH_ARGS, e.g. `make bench BENCH_ARGS="--size 200x512x512"`.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m bench --scaling $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(PY) -m bench --quick $(BENCH_ARGS)

# The same suite with the heavy peers (anomalib 2.7.0, ADEval, OpenCV) in a separate environment.
# anomalib needs torchvision; torch 2.14.1 + torchvision 0.29.1 install from local wheels here.
PEERS_VENV ?= .venv-peers
PEERS_PY := $(PEERS_VENV)/bin/python
PEERS_STAMP := $(PEERS_VENV)/.installed-peers
PEERS_TORCH_PIN := torch==2.14.1 torchvision==0.29.1

$(PEERS_STAMP): pyproject.toml
	test -x $(PEERS_PY) || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_PY) -m pip install --upgrade pip
	$(PEERS_PY) -m pip install $(PEERS_TORCH_PIN)
	$(PEERS_PY) -m pip install $(PEERS_TORCH_PIN) anomalib==2.7.0 adeval
	$(PEERS_PY) -m pip install $(PEERS_TORCH_PIN) -e ".[torch,bench]"
	touch $(PEERS_STAMP)

bench-peers: $(PEERS_STAMP)
	$(PEERS_PY) -m bench --scaling $(BENCH_ARGS)

# Set up (as `install`), then evaluate a synthetic MVTec AD-layout set written on the fly.
demo: $(STAMP)
	$(VENV)/bin/anomaly-metrics demo

clean:
	rm -rf $(VENV) build *.egg-info

# Optional, not in CI: our torch classes and functional helpers against anomalib 2.7.0 on random
# batches, then an anomalib model (Padim) trained and tested with our Evaluator. Builds
# .venv-parity (torch 2.14.1 + torchvision 0.29.1 from the local wheels, then anomalib 2.7.0).
PARITY_VENV ?= .venv-parity
.PHONY: parity
parity:
	test -x $(PARITY_VENV)/bin/python || $(PYTHON) -m venv $(PARITY_VENV)
	$(PARITY_VENV)/bin/python -m pip install torch==2.14.1 torchvision==0.29.1
	$(PARITY_VENV)/bin/python -m pip install anomalib==2.7.0 -e ".[torch]"
	$(PARITY_VENV)/bin/python adapters/parity/parity.py --json $(PARITY_VENV)/parity.json
	$(PARITY_VENV)/bin/python adapters/parity/engine_check.py
