# The two commands of the quick start: `make report` and `make test`.
PYTHON ?= python3
# auto: uv when it can be had (from the venv, PATH or PyPI), else pip; or force uv / pip.
INSTALLER ?= auto
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := $(VENV)/share/jupyter/kernels/crm/kernel.json

.PHONY: venv kernel report test lint lab student clean benchmarks profile

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python scripts/install.py --venv $(VENV) --installer $(INSTALLER) -- -e '.[test]'
	touch $(STAMP)

kernel: $(KERNEL)

# One BLAS/OpenMP thread per kernel: the arrays are small, and on a shared 2-core machine
# (or with notebooks running side by side) extra threads oversubscribe the cores.
$(KERNEL): $(STAMP) Makefile
	$(BIN)/python -m ipykernel install --prefix "$(CURDIR)/$(VENV)" --name crm --display-name "Python (crm)" \
		--env OMP_NUM_THREADS 1 --env OPENBLAS_NUM_THREADS 1 --env MKL_NUM_THREADS 1 > /dev/null

report: venv kernel
	$(BIN)/crm-report $(ARGS)

test: venv kernel
	$(BIN)/python -m ruff check crm_lib tests benchmarks notebooks scheduling scripts
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: venv
	$(BIN)/python -m ruff check crm_lib tests benchmarks notebooks scheduling scripts

lab: venv kernel
	JUPYTER_PATH="$(CURDIR)/$(VENV)/share/jupyter" $(BIN)/jupyter lab notebooks/

profile: venv kernel
	$(BIN)/python benchmarks/notebook_profile.py $(ARGS)

benchmarks: venv kernel
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf data/processed/* data/quarantine/* reports/.staging-*

student: venv
	$(BIN)/python -m crm_lib.student
