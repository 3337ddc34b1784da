# meta-agent — the two commands: `make demo` and `make test` (both bootstrap .venv).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
export LITELLM_LOCAL_MODEL_COST_MAP := True
PYTEST_ARGS ?=

.PHONY: install demo ui test bench lint validate clean-state

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

## demo: migrate, simulate a 30-day fleet, ingest it, materialize every asset (embedded SQLite)
demo: install
	$(BIN)/meta-agent demo

## ui: the Dagster UI (and daemon) on the same DAGSTER_HOME as the demo
ui: install
	$(BIN)/dagster dev -w workspace.yaml

## test: the whole suite; starts PostgreSQL and the container engine when installed (CI=true: required)
test: install
	@set -e; \
	if [ -z "$$META_AGENT_TEST_PG_URL" ] && command -v pg_lsclusters >/dev/null 2>&1; then \
	  META_AGENT_TEST_PG_URL=$$(scripts/pg-test-setup.sh) && export META_AGENT_TEST_PG_URL; \
	fi; \
	if [ -z "$$DOCKER_HOST" ] && command -v podman >/dev/null 2>&1; then \
	  DOCKER_HOST=$$(scripts/container-engine.sh) && export DOCKER_HOST \
	    || echo "make test: the container engine did not start; container tests skip (fail under CI=true)" >&2; \
	fi; \
	$(BIN)/pytest $(PYTEST_ARGS)

## bench: every benchmark in benchmarks/ (prints figures; never asserts timings)
bench: install
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

lint: install
	$(BIN)/ruff check meta_agent meta_agent_defs meta_agent_demo meta_agent_launch tests benchmarks scripts

validate: install
	$(BIN)/dagster definitions validate -w workspace.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs

## clean-state: forget the embedded instance and ops database (keeps dagster.yaml)
clean-state:
	find dagster_home -mindepth 1 ! -name '*.yaml' -prune -exec rm -rf {} +
