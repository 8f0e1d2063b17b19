# Two commands: `make run` (the whole stack with Đắk Lắk demo data) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -q

.PHONY: run test lint deps system-deps screenshots bench clean

# `make run PROVINCES=all` (or PROVINCES=66,56) serves several provinces from one stack.
run: deps
	$(if $(PROVINCES),FIELDREPORT_PROVINCES=$(PROVINCES) )$(PY) scripts/stack.py run

test: deps lint
	$(PY) scripts/stack.py test $(PYTEST_ARGS)

# ruff (layout and lint rules) and mypy, all configured in pyproject.toml.
lint: deps
	$(VENV)/bin/ruff format --check fieldreport workers scripts tests bench config wsgi.py
	$(VENV)/bin/ruff check fieldreport workers scripts tests bench config wsgi.py
	$(VENV)/bin/mypy

deps: system-deps $(VENV)/.installed

system-deps:
	@WITH_BROWSER=1 scripts/system-deps.sh

# Development and CI install the tests and tools too; production installs requirements.txt only.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

screenshots: deps
	$(PY) scripts/stack.py test -q tests/e2e/test_browser.py tests/e2e/test_console_browser.py --screenshots docs/screenshots

# Every benchmark at 1,000,000 reports (generated once into BENCH_DB and reused): one table.
BENCH_DB ?= postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport_bench
BENCH_REDIS ?= redis://127.0.0.1:6379/3
BENCH_ARGS ?=
bench: deps
	nice -n 10 $(PY) bench/all.py --database-url $(BENCH_DB) --redis-url $(BENCH_REDIS) $(BENCH_ARGS)

clean:
	rm -rf var
