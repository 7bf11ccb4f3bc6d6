# Development tasks. Needs Python 3.11+, Java 17+ and Maven; everything else is installed here.
SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KAFKA := scripts/kafka.sh
LINT_PATHS = $(wildcard dagger tests examples benchmarks reliability)
PYTEST_ARGS ?=

.PHONY: help venv kafka kafka-fetch kafka-stop lint test demo order-demo bench bench-scale reliability mutation

help:
	@echo "make demo        run the pizza demo on a local Kafka broker"
	@echo "make order-demo  run the order demo (every task type) on a local Kafka broker"
	@echo "make bench       run the pizza benchmark on a local Kafka broker"
	@echo "make bench-scale run the scale benchmark (many waiting workflows and timers) on a local Kafka broker"
	@echo "make reliability run the fault suite (several workers, crashes, a broker restart, poison)"
	@echo "make test        lint, then run all tests on a local Kafka broker"
	@echo "make lint        ruff + mypy"
	@echo "make mutation    mutation-test dagger/tasks and dagger/store against tests/unit (mutmut), list the survivors"
	@echo "make kafka       start the local broker (make kafka-stop stops it)"
	@echo "make venv        create $(VENV) and install the project with its dev extras"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "Python 3.11+ required (PYTHON=$(PYTHON))" >&2; exit 1; }; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

kafka-fetch:
	@$(KAFKA) fetch

kafka: kafka-fetch
	@$(KAFKA) start

kafka-stop:
	@$(KAFKA) stop

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy dagger examples reliability benchmarks

# The broker is stopped however pytest ends; pytest's exit code 5 (no tests collected) fails too.
test: venv kafka-fetch lint
	@trap '$(KAFKA) stop' EXIT; \
	$(KAFKA) start && $(BIN)/pytest $(PYTEST_ARGS) tests || { \
	  rc=$$?; [ $$rc -eq 5 ] && echo "pytest collected no tests" >&2; exit $$rc; }

demo: venv kafka-fetch
	@trap '$(KAFKA) stop' EXIT; $(KAFKA) start && $(BIN)/python -m examples.pizza

order-demo: venv kafka-fetch
	@trap '$(KAFKA) stop' EXIT; $(KAFKA) start && $(BIN)/python -m examples.order

BENCH_ARGS ?= --workflows 1000 --runs 5
BENCH_OUT ?= .bench
bench: venv kafka-fetch
	@trap '$(KAFKA) stop' EXIT; $(KAFKA) start && $(BIN)/python -m benchmarks.pizza $(BENCH_ARGS) \
	  --json $(BENCH_OUT)/pizza.json --plot $(BENCH_OUT)/pizza.png

SCALE_ARGS ?= --waiting 1000,100000 --future-timers 1000,100000
bench-scale: venv kafka-fetch
	@trap '$(KAFKA) stop' EXIT; $(KAFKA) start && $(BIN)/python -m benchmarks.scale $(SCALE_ARGS) \
	  --json $(BENCH_OUT)/scale.json

RELIABILITY_ARGS ?= --workflows 1000
reliability: venv kafka-fetch
	@trap '$(KAFKA) stop' EXIT; $(KAFKA) start && $(BIN)/python -m reliability $(RELIABILITY_ARGS)

# Mutation testing gets a venv of its own: mutmut before 3.8.1 reads a test attribute pytest 9.2 no longer has, and
# 3.8.1 needs a newer click than faust-streaming allows, so it runs mutmut 3.7 with pytest 8.
MUTATION_VENV := .venv-mutation
MUTATION_BIN := $(MUTATION_VENV)/bin
MUTATION_STAMP := $(MUTATION_VENV)/.installed
# One mutant at a time: the unit tests are quick, and the machines have two cores.
MUTMUT_ARGS ?= --max-children 1

$(MUTATION_STAMP): pyproject.toml
	@if [ ! -x $(MUTATION_BIN)/python ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "Python 3.11+ required (PYTHON=$(PYTHON))" >&2; exit 1; }; \
	  $(PYTHON) -m venv $(MUTATION_VENV); \
	fi
	$(MUTATION_BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' 'mutmut>=3.7,<3.8' 'pytest>=8,<9'
	@touch $@

# mutmut keeps which tests reach which mutant in mutants/; a fresh copy never reuses stale answers.
mutation: $(MUTATION_STAMP)
	rm -rf mutants
	$(MUTATION_BIN)/mutmut run $(MUTMUT_ARGS)
	$(MUTATION_BIN)/mutmut results
