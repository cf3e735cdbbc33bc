# The two commands of the README's quickstart. Each creates the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test venv lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/.installed

## demo: train an MLP on the embedded digits and print its test accuracy
demo: venv
	$(BIN)/chainrule train

## test: run the test suite
test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/python -m ruff check chainrule tests benchmarks examples

## bench: side-by-side benchmarks against PyTorch (pip install torch==2.13.0 first)
bench: venv
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/overhead.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/mlp.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/kernels.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
