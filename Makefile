# Two commands: `make demo` and `make test`. Both build .venv on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LINT_DIRS := $(wildcard src tests benchmarks examples)

.PHONY: demo test lint typecheck pytest install dev docs clean browser deploy-tools java screenshots

# Playwright (a dev dependency) drives Debian's Chromium; it never downloads a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
CHROMIUM := /usr/bin/chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# An editable install leaves src/ without bytecode, and where PYTHONDONTWRITEBYTECODE is set
# (this machine) every command would compile each module it imports again (~0.25 s of a
# check): compiled here, as pip compiles an installed package.
COMPILE := $(BIN)/python -m compileall -q src

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(COMPILE)
	touch $@

# The demo's extra: the official openai SDK, the client of the LLM act's gateway calls.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[demo]'
	$(COMPILE)
	touch $(VENV)/.installed $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	$(COMPILE)
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

# One workspace holds the heart-disease and LLM acts; the dashboard shows it last (and
# stays up until Ctrl-C only in a terminal).
demo: $(VENV)/.installed-demo
	@dir=$$(mktemp -d /tmp/modelward-demo-XXXXXX) && \
	$(BIN)/python examples/heart-disease/demo.py $$dir && \
	$(BIN)/python examples/penguins/demo.py && \
	$(BIN)/python examples/llm/demo.py $$dir && \
	$(BIN)/python examples/dashboard.py $$dir

lint: dev
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

typecheck: dev
	$(BIN)/mypy

# One worker per core and one more (a third of a worker's time is spent waiting on the
# servers its tests start: 2 cores sat 28 % idle with 2 workers, 2 % with 3), each test file
# on one worker (its module fixtures built once).
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_ARGS ?= -n $(WORKERS) --dist loadfile --durations=40

# The /docs test renders the page in Chromium: installed here when missing and run as root
# (a fresh CI machine); otherwise that test skips, saying why.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium); \
		else \
			echo "$(CHROMIUM) is missing and this is not root: the /docs browser test will skip"; \
		fi; \
	fi

# The ops kit's tests (tests/deploy/) run Debian's nginx (`nginx -t`, a balancer in front of
# two replicas) and promtool (the prometheus package): installed here when missing and run
# as root; otherwise those tests skip, saying why.
NGINX := /usr/sbin/nginx
PROMTOOL := /usr/bin/promtool
deploy-tools:
	@missing=""; \
	[ -x $(NGINX) ] || missing="$$missing nginx"; \
	[ -x $(PROMTOOL) ] || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get install -y -q --no-install-recommends $$missing \
				|| (apt-get update -q && apt-get install -y -q --no-install-recommends $$missing); \
		else \
			echo "missing:$$missing and this is not root: the deploy/ kit's tests of them will skip"; \
		fi; \
	fi

# The Spark engine's tests (tests/monitor/test_spark_engine.py) run PySpark on local[2],
# which needs Java 17 or newer: Debian's headless JRE, installed here when missing (as root);
# otherwise those tests skip, saying why.
java:
	@if ! command -v java >/dev/null 2>&1 && [ -z "$$JAVA_HOME" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get install -y -q --no-install-recommends openjdk-17-jre-headless \
				|| (apt-get update -q && apt-get install -y -q --no-install-recommends openjdk-17-jre-headless); \
		else \
			echo "java is missing and this is not root: the Spark engine's tests will skip"; \
		fi; \
	fi

# pytest exit code 5 means no test was collected: a broken setup, never a pass.
pytest: dev browser deploy-tools java
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the setup is broken"; exit 1; fi; \
	exit $$rc

test: lint typecheck pytest

# The dashboard's screenshots in docs/screenshots/, taken by its browser tests.
screenshots: dev browser
	MODELWARD_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/ui/test_screenshots.py

docs: $(VENV)/.installed
	TYPER_USE_RICH=0 COLUMNS=100 $(BIN)/python -m modelward.cli.reference > docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
