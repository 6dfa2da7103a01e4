# The two commands of the quick start: `make report` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := $(VENV)/share/jupyter/kernels/crm/kernel.json

.PHONY: venv kernel report test lint lab student clean benchmarks

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

kernel: $(KERNEL)

$(KERNEL): $(STAMP)
	$(BIN)/python -m ipykernel install --prefix "$(CURDIR)/$(VENV)" --name crm --display-name "Python (crm)" > /dev/null

report: venv kernel
	$(BIN)/crm-report $(ARGS)

test: venv kernel
	$(BIN)/python -m ruff check crm_lib tests benchmarks notebooks scheduling
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: venv
	$(BIN)/python -m ruff check crm_lib tests benchmarks notebooks scheduling

lab: venv kernel
	JUPYTER_PATH="$(CURDIR)/$(VENV)/share/jupyter" $(BIN)/jupyter lab notebooks/

benchmarks: venv kernel
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf data/processed/* data/quarantine/* reports/.staging-*

student: venv
	$(BIN)/python -m crm_lib.student
