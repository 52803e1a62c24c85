# Set-up and test entry points. Everything a fresh machine needs is installed here.
#   make test   - create .venv (CPU torch 2.13.0 + OpenMMLab stack), install us, run pytest
#   make demo   - the main job: appearance pretraining, then TSM-R18 vs TCM-R18 fine-tuned on
#                 the tempo videos; tables + robustness plot (DEMO_ARGS=--quick: plumbing)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install test test-fast demo clean

$(STAMP): requirements/cpu.txt requirements/tests.txt setup.py setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements/cpu.txt
	$(PIP) install -q --no-deps openmim==0.3.9
	$(PIP) install -q -r requirements/tests.txt
	$(PIP) install -q --no-build-isolation --no-deps .
	touch $(STAMP)

install: $(STAMP)
	$(PIP) install -q --no-build-isolation --no-deps --force-reinstall .

test: install
	$(PY) -m pytest -q --durations=25 tests

test-fast: install
	$(PY) -m pytest -q -m "not slow" tests

DEMO_ARGS ?=
demo: install
	$(PY) tools/run_tempo_demo.py $(DEMO_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
