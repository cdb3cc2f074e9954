# akhbar: `make run` and `make test` work from a fresh clone with only Python 3.11 and PyPI.
PYTHON ?= python3
UV_VERSION := 0.13.8
BOOTSTRAP := .uv-bootstrap
UV := $(or $(shell command -v uv 2>/dev/null),$(BOOTSTRAP)/bin/uv)
VENV := .venv
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup run test test-fast bench lint schema-doc train-ner gazetteer clean

setup: $(VENV)/.synced

$(BOOTSTRAP)/bin/uv:
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet uv==$(UV_VERSION)

# uv installs exactly what uv.lock says (--frozen: never re-resolve).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m flows.prefect_home
	@touch $@

run: setup
	$(VENV)/bin/akhbar run
	@echo
	@echo "Example query (warehouse/queries/top_entities.sql):"
	$(VENV)/bin/akhbar sql "$$(cat warehouse/queries/top_entities.sql)"

# Everything, in one pytest run (so never "no tests collected"), on two workers: most tests are
# end-to-end runs that keep one core busy. A test file stays on one worker (module fixtures).
TEST_WORKERS ?= 2
test: setup
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

# The fast tier: unit tests and in-process runs without Prefect (markers in pyproject.toml).
test-fast: setup
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile -m "not e2e and not slow"

lint: setup
	$(VENV)/bin/ruff check .

# warehouse/SCHEMA.md from transforms/schema.py and warehouse/ddl.py (a test checks it is current).
schema-doc: setup
	$(VENV)/bin/python -m warehouse.schema_doc

bench: setup
	$(VENV)/bin/python -m tests.bench

train-ner: setup
	$(UV) sync --frozen --python $(PYTHON) --group train
	$(VENV)/bin/python -m transforms.ner.training.train

gazetteer: setup
	$(VENV)/bin/python -m transforms.data.build_gazetteer

clean:
	rm -rf $(VENV) $(BOOTSTRAP) warehouse/local
