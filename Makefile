# The README's commands. `make reproduce` runs the study; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
# The shared offline mirror, when it sits beside the checkout; else ./data (see data/README.md).
export UNLEARNLIB_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(abspath data))

.PHONY: reproduce figures reproduce-scratch test test-fast venv data-check clean-cache benchmark

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch and torchvision first: pinned CPU-usable builds (see README, "Installing PyTorch")
	$(BIN)/pip install torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -e ".[test]"
	touch $@

venv: $(BIN)/.installed

# On Dask: `make reproduce DASK_WORKERS=N` (a local cluster) or DASK_SCHEDULER=tcp://host:8786 (see
# README, "On a cluster"): the pending rows are computed on the workers, then the notebooks render from the ledger.
DASK_WORKERS ?=
DASK_SCHEDULER ?=
DASK_OPTIONS := $(if $(DASK_WORKERS),--dask-workers $(DASK_WORKERS)) $(if $(DASK_SCHEDULER),--dask-scheduler $(DASK_SCHEDULER))
# Prints the plan (what the ledger lacks, with its estimated cost), computes it, appending row by
# row, then renders every notebook.
reproduce: venv
	$(BIN)/python -m unlearnlib data check
	$(BIN)/python -m unlearnlib reproduce --profile $(PROFILE) --plan
	$(BIN)/python -m unlearnlib reproduce --profile $(PROFILE) $(DASK_OPTIONS)

# Renders every notebook, its HTML export, every figure and table and figures/report.html from the
# committed ledger alone; trains nothing. Unchanged results rewrite the same bytes (.ci/run checks it).
figures: venv
	$(BIN)/python -m unlearnlib reproduce --profile $(PROFILE) --from-ledger

# Recomputes everything, ignoring the committed ledger and the model cache (SCRATCH is a new folder).
SCRATCH ?= $(abspath scratch-run)
reproduce-scratch: venv
	UNLEARNLIB_LEDGER_DIR=$(SCRATCH)/ledger UNLEARNLIB_CACHE_DIR=$(SCRATCH)/cache \
		$(BIN)/python -m unlearnlib reproduce --profile $(PROFILE) --output-dir $(SCRATCH)/rendered

test: venv
	$(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

data-check: venv
	$(BIN)/python -m unlearnlib data check -v

benchmark: venv
	$(BIN)/python benchmarks/training_throughput.py

clean-cache:
	rm -rf data/cache
