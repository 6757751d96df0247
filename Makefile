# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build that this project's machines carry on disk. On a GPU machine pick your CUDA build,
# e.g. `make install TORCH='torch --index-url https://download.pytorch.org/whl/cu128'`.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
LIMIT  ?= 20

.PHONY: install demo test lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Evaluate the embedded tiny-ja model on every task (first $(LIMIT) items each) and print the summary.
demo: install
	$(VENV)/bin/kentei tiny
	$(VENV)/bin/kentei tasks validate
	$(VENV)/bin/kentei run --model tiny-ja --tasks all --limit $(LIMIT)

## Run the whole test suite (CI runs exactly this).
test: install
	$(VENV)/bin/ruff check kentei scorers tests bench tasks
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check kentei scorers tests bench tasks

clean:
	rm -rf $(VENV) build dist *.egg-info
