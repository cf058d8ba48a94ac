# Every install step lives here: `make test` works from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
TORCH_PIN := torch==2.13.0

.PHONY: test lint install bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first, pinned: a bare torch requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install $(TORCH_PIN)
	$(PY) -m pip install -e ".[torch,lightning,plot,io,test,bench]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -n 2 -q

bench: $(STAMP)
	$(PY) -m bench

bench-quick: $(STAMP)
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) build *.egg-info
