# The two commands of the README's quickstart, and the project's checks. Each target creates the
# virtual environment on first use and installs what it needs (pyproject.toml's extras).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test venv lint docs bench fuzz crash clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The tools of one extra, installed once per change of pyproject.toml.
$(BIN)/.installed-%: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	touch $@

venv: $(BIN)/.installed

## demo: train an MLP on the embedded digits and print its test accuracy
demo: venv
	$(BIN)/chainrule train

## test: run the test suite, docstring examples included
test: venv
	$(BIN)/python -m pytest

## lint: ruff, and mypy as configured in pyproject.toml (strict on the core)
lint: $(BIN)/.installed-lint
	$(BIN)/ruff check chainrule tests benchmarks examples docs
	$(BIN)/mypy

## docs: the API reference from the docstrings, into site/ (any warning fails the build)
docs: $(BIN)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## bench: side-by-side benchmarks against PyTorch (pip install torch==2.13.0 first)
bench: venv
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/overhead.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/mlp.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/cnn.py --threads 1
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/rnn.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/kernels.py

## fuzz: five minutes of mutation fuzzing of every loader of user files; inputs and outcomes
fuzz: venv
	cd tests && PYTHONPATH=$(CURDIR) $(abspath $(BIN))/python -m fuzz.campaign --seconds 300

## crash: kill training 20 times per scenario (CLI, cr.fit); the resumed runs must be bitwise equal
crash: venv
	cd tests && PYTHONPATH=$(CURDIR) $(abspath $(BIN))/python -m crash.harness --kills 20

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache
