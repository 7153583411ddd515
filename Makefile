# The README's commands. `make reproduce` runs the study; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
# The shared offline mirror, when it sits beside the checkout; else ./data (see data/README.md).
export UNLEARNLIB_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(abspath data))

.PHONY: reproduce test venv data-check clean-cache benchmark

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch and torchvision first: pinned CPU-usable builds (see README, "Installing PyTorch")
	$(BIN)/pip install torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -e ".[test]"
	touch $@

venv: $(BIN)/.installed

reproduce: venv
	$(BIN)/python -m unlearnlib data check
	$(BIN)/python -m unlearnlib reproduce --profile $(PROFILE)

test: venv
	$(BIN)/python -m pytest

data-check: venv
	$(BIN)/python -m unlearnlib data check -v

benchmark: venv
	$(BIN)/python benchmarks/training_throughput.py

clean-cache:
	rm -rf data/cache
