# One-command entry points; see README.md.
#   make run  [DATE=YYYY-MM-DD] [CONF='{"rows": 5000}']   one nightly run on generated data
#   make test                                             the whole pytest suite

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATE ?= $(shell date +%F)
CONF ?= {}

# The project root is on PYTHONPATH so DAGs import include.<package>, the Astronomer way.
export PYTHONPATH := $(CURDIR)
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
# LocalExecutor starts core.parallelism workers; the default 32 is far too many for a laptop.
export AIRFLOW__CORE__PARALLELISM := 4
export SECTOR_REPORT_DATA_DIR ?= $(CURDIR)/data
# The report viewer plugin serves the HTML reports under the data folder in the Airflow UI.
export AIRFLOW__REPORT_VIEWER__ROOT ?= $(SECTOR_REPORT_DATA_DIR)

.PHONY: run test lint install check-python check-java browser clean

run: check-java $(VENV)/.installed $(AIRFLOW_HOME)/airflow.db
	$(BIN)/airflow dags test nightly_sector_report $(DATE) --conf '$(CONF)'
	@# `airflow dags test` exits 0 even when the run fails: show exits non-zero if no report was published.
	$(BIN)/python -m include.sector_report show --date $(DATE)

test: check-java browser $(VENV)/.installed $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(VENV)/.installed

check-python:
	@command -v $(PYTHON) >/dev/null || { \
	  echo "$(PYTHON) was not found. This project needs Python 3.11 (Airflow 3.3 and PyFlink 2.3 wheels)."; \
	  echo "Install it (Debian/Ubuntu: apt-get install python3.11 python3.11-venv) or run: make PYTHON=/path/to/python3.11 ..."; \
	  exit 1; }

check-java:
	@command -v java >/dev/null || { \
	  echo "Java was not found. PyFlink 2.3 runs Flink in a JVM and needs Java 11, 17 or 21."; \
	  echo "Install it (Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless) and run make again."; \
	  exit 1; }
	@version=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1); \
	case "$$version" in 11|17|21) ;; *) \
	  echo "Java $$version found; PyFlink 2.3 needs Java 11, 17 or 21 (e.g. apt-get install openjdk-17-jre-headless)."; \
	  exit 1;; esac

# The report tests drive Debian's Chromium (Playwright uses it; it downloads no browser of its own).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk; \
	  else echo "The browser tests need Chromium: sudo apt-get install -y chromium fonts-noto-cjk"; exit 1; fi; }

$(VENV)/.installed: requirements.txt constraints.txt | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-test.txt -c constraints.txt
	touch $@

$(AIRFLOW_HOME)/airflow.db: $(VENV)/.installed
	$(BIN)/airflow db migrate

clean:
	rm -rf $(VENV) .airflow data .pytest_cache .ruff_cache .hypothesis
