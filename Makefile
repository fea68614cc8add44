# One-command entry points; see README.md and docs/development.md.
#   make run  [DATE=YYYY-MM-DD] [CONF='{"rows": 5000}']   one nightly run on generated data
#   make run-month [MONTH=YYYY-MM]                        the month-to-date rollup of the published days
#   make test                                             lint, types and every tier of tests (what CI runs)
#   make test-fast                                        the unit tier but the distributions' copies: no JVM, server or browser
#   make test-integration / test-system / test-compose    one heavier tier (docs/development.md "Tests by tier")
#   make test-system-deployment / test-system-rest        the system tier's halves, as make test runs them
#   make screenshots                                      the browser tests' screenshots into docs/screenshots/
#   make bench [ROWS=1e3,1e6,1e7] [REPEATS=3]             Flink against PySpark, DuckDB and pandas
#   make clean                                            delete .venv, .airflow/ and data/ (every report made here)

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATE ?= $(shell date +%F)
CONF ?= {}
# CONF and the dates reach the commands through the environment, never pasted into a shell line,
# and CONF unexpanded by make: any JSON (quotes, apostrophes, spaces, `$`, Korean) arrives unchanged.
export RUN_CONF := $(value CONF)
export RUN_DATE := $(DATE)
export RUN_LOGICAL_DATE := $(LOGICAL_DATE)
MONTH ?= $(shell date +%Y-%m)
export RUN_MONTH := $(MONTH)

AIRFLOW_HOME ?= $(CURDIR)/.airflow
# Airflow's environment for local runs (tools/local_env.py, as the tests and benchmarks have it): the commands that
# run Airflow or the package run under it. SECTOR_REPORT_DATA_DIR, SECTOR_REPORT_FLINK_TARGET and
# SECTOR_REPORT_SOURCE from the environment (or make's command line) are kept.
LOCAL_ENV := $(BIN)/python -m tools.local_env --home "$(AIRFLOW_HOME)" --

FLINK_REST_PORT ?= 8081
FLINK_WORKDIR := $(CURDIR)/.flink-cluster
# The session cluster's TaskManager process size (the same as docker-compose.yaml's).
FLINK_TM_MEMORY ?= 2g

.PHONY: run run-month test test-fast test-unit test-integration test-system test-system-deployment test-system-rest test-compose standin-images lint install check-python check-java test-system-deps airflow stop unpause trigger flink-cluster flink-stop \
	bench bench-flink bench-dag profile-flink screenshots clean

# One line per task as it ends, then the summary table and the report's path (or the failed task's error);
# Airflow's own log of the run goes to a file. `airflow dags test` exits 0 even when the run fails: show exits
# non-zero if no report was published.
export RUN_LOG = $(AIRFLOW_HOME)/logs/make-run/nightly_sector_report-$(DATE).log
run: check-java $(VENV)/.installed $(AIRFLOW_HOME)/airflow.db
	@$(LOCAL_ENV) $(BIN)/python -m tools.dags_test nightly_sector_report "$$RUN_DATE" --conf "$$RUN_CONF" --log "$$RUN_LOG"
	@$(LOCAL_ENV) $(BIN)/python -m include.sector_report show --date "$$RUN_DATE" --conf "$$RUN_CONF" --log "$$RUN_LOG"

# The month-to-date rollup of the published days of MONTH, printed like make run's table.
export RUN_MONTH_LOG = $(AIRFLOW_HOME)/logs/make-run/monthly_sector_report-$(MONTH).log
run-month: check-java $(VENV)/.installed $(AIRFLOW_HOME)/airflow.db
	@$(LOCAL_ENV) $(BIN)/python -m tools.dags_test monthly_sector_report "$$RUN_DATE" --conf "{\"month\": \"$$RUN_MONTH\"}" \
	  --log "$$RUN_MONTH_LOG"
	@$(LOCAL_ENV) $(BIN)/python -m include.sector_report show-month --month "$$RUN_MONTH" --log "$$RUN_MONTH_LOG"

# The tiers (docs/development.md "Tests by tier"): the folders of each, in the project and its distributions.
UNIT_TESTS := $(wildcard tests/unit plugins/*/tests/unit)
INTEGRATION_TESTS := $(wildcard tests/integration plugins/*/tests/integration)
SYSTEM_TESTS := $(wildcard tests/system plugins/*/tests/system)
# JUNIT=<file>: the tier's JUnit XML report (make test's table reads it).
PYTEST := $(LOCAL_ENV) $(BIN)/python -m pytest -p no:cacheprovider $(if $(JUNIT),--junitxml=$(JUNIT))

# Lint and every tier in two lanes side by side (the system tier's halves apart: lint, unit, test_deployment.py and
# compose in one; integration and the rest of the system tier in the other), stopping at the first that fails; then
# one table of each step's count and time (tools/suite.py).
test: check-java test-system-deps $(VENV)/.installed-test
	@$(BIN)/python -m tools.suite lint unit integration system-deployment system-rest compose

# The unit tier with few property-test examples: no JVM, server, browser or Debian package. Without the check that
# each distribution passes its tests from a copy of its folder (test_distributions.py: two more pytest runs beside
# the others), which make test-unit and make test run.
test-fast: $(VENV)/.installed-test
	$(PYTEST) $(UNIT_TESTS) --hypothesis-profile=quick --ignore=tests/unit/test_distributions.py

# The unit tier with the property tests' full examples.
test-unit: $(VENV)/.installed-test
	$(PYTEST) $(UNIT_TESTS)

# Tests that start a JVM: Flink jobs on a MiniCluster or a session cluster, `airflow dags test` of whole nights.
test-integration: check-java $(VENV)/.installed-test
	$(PYTEST) $(INTEGRATION_TESTS)

# Tests that start Airflow's servers on PostgreSQL, Flink, SMTP and Chromium: the deployment as operators meet it.
test-system: check-java test-system-deps $(VENV)/.installed-test
	$(PYTEST) $(SYSTEM_TESTS) -m "not compose"

# The system tier's two halves, which `make test` runs in different lanes: test_deployment.py (the production shapes
# on one shared deployment, half the tier's time), and the rest.
SYSTEM_DEPLOYMENT_TESTS := tests/system/test_deployment.py
test-system-deployment: check-java test-system-deps $(VENV)/.installed-test
	$(PYTEST) $(SYSTEM_DEPLOYMENT_TESTS)

test-system-rest: check-java test-system-deps $(VENV)/.installed-test
	$(PYTEST) $(SYSTEM_TESTS) -m "not compose" $(addprefix --ignore=,$(SYSTEM_DEPLOYMENT_TESTS))

# docker-compose.yaml brought up on podman with the stand-in images (as root): a night, a restart, down and up.
test-compose: check-java test-system-deps $(VENV)/.installed-test
	$(PYTEST) $(SYSTEM_TESTS) -m compose

# The browser tests' screenshots (reports, month, run tabs; desktop and phone) into docs/screenshots/.
screenshots: check-java test-system-deps $(VENV)/.installed-test
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PYTEST) tests/system/test_report_ui.py -k readers_find

# Local Airflow with the UI (api-server, scheduler, dag-processor, triggerer) on the embedded defaults
# (SQLite: fine for one person; concurrent CLI writes beside it, e.g. `airflow backfill create`, want PostgreSQL).
airflow: check-java $(VENV)/.installed $(AIRFLOW_HOME)/airflow.db
	$(LOCAL_ENV) $(BIN)/python -m include.sector_report take-over
	$(LOCAL_ENV) $(BIN)/python -m tools.airflow_local start

stop:
	$(LOCAL_ENV) $(BIN)/python -m tools.airflow_local stop

# Against the running `make airflow`: turn the package on (the nights, their deadline, the month rollup that
# their Asset triggers, the restatements corrected files start: Airflow creates every DAG paused), or trigger a run now.
PACKAGE_DAGS := nightly_sector_report nightly_sector_report_deadline monthly_sector_report sector_report_restatement \
  sector_report_withdrawal
# Waits for the dag-processor to have parsed them: `airflow dags unpause` of a DAG not parsed yet does nothing.
unpause:
	$(LOCAL_ENV) $(BIN)/python -m tools.airflow_local unpause $(PACKAGE_DAGS)

trigger:
	$(LOCAL_ENV) $(BIN)/airflow dags trigger nightly_sector_report --conf "$$RUN_CONF" $(if $(LOGICAL_DATE),--logical-date "$$RUN_LOGICAL_DATE")

# A real Flink session cluster from the PyFlink wheel, registered as flink_default for target=remote.
flink-cluster: check-java $(VENV)/.installed $(AIRFLOW_HOME)/airflow.db
	$(LOCAL_ENV) $(BIN)/python -m airflow_flink_sql.session_cluster start --workdir $(FLINK_WORKDIR) --rest-port $(FLINK_REST_PORT) \
	  --taskmanager-memory $(FLINK_TM_MEMORY)
	-$(LOCAL_ENV) $(BIN)/airflow connections delete flink_default >/dev/null 2>&1
	$(LOCAL_ENV) $(BIN)/airflow connections add flink_default --conn-type flink --conn-host localhost --conn-port $(FLINK_REST_PORT)
	@echo "Run on it with SECTOR_REPORT_FLINK_TARGET=remote (make run / make airflow)."

flink-stop:
	$(LOCAL_ENV) $(BIN)/python -m airflow_flink_sql.session_cluster stop --workdir $(FLINK_WORKDIR)

# Benchmarks (see benchmarks/): results go to benchmarks/results/.
ROWS ?= 1e3,1e6,1e7
REPEATS ?= 3
bench: check-java $(VENV)/.installed-bench
	$(LOCAL_ENV) $(BIN)/python -m benchmarks.engines --rows $(ROWS) --repeats $(REPEATS)

bench-flink: check-java $(VENV)/.installed-bench
	$(LOCAL_ENV) $(BIN)/python -m benchmarks.flink_tuning --repeats $(REPEATS)

bench-dag: check-java $(VENV)/.installed-bench
	$(LOCAL_ENV) $(BIN)/python -m benchmarks.dag_run

profile-flink: check-java $(VENV)/.installed-bench
	$(LOCAL_ENV) $(BIN)/python -m benchmarks.profile_flink

$(VENV)/.installed-bench: benchmarks/requirements.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt -c constraints.txt
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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

# What the tests drive besides Python: Debian's Chromium (Playwright downloads no browser of its own),
# a PostgreSQL server (metadata DB test), and docker-compose on podman with debootstrap for the compose tier.
TEST_DEBIAN_PACKAGES := chromium fonts-noto-cjk postgresql docker-compose podman debootstrap
# podman's default container limits ask more open files and processes than this machine allows ("error setting
# rlimits"): its containers get the machine's hard limit of open files and at most 16384 processes.
CONTAINERS_CONF := /etc/containers/containers.conf
test-system-deps:
	@missing=$$(for p in $(TEST_DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "The tests need these Debian packages: sudo apt-get install -y $$missing"; exit 1; fi; fi
	@if ! grep -qs default_ulimits $(CONTAINERS_CONF); then \
	  nproc=$$(ulimit -Hu); [ "$$nproc" = unlimited ] || [ "$$nproc" -gt 16384 ] && nproc=16384; \
	  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
	    $$(ulimit -Hn) $$(ulimit -Hn) $$nproc $$nproc > $(CONTAINERS_CONF); fi

# Local stand-ins for the images docker-compose.yaml names, where no image registry is reachable (as root):
# `docker-compose --env-file .standins.env up -d` then uses them (docs/deployment.md).
standin-images: test-system-deps $(VENV)/.installed
	$(BIN)/python -m tools.standin_images --env-file .standins.env

# The Airflow extensions are installed editable: a change to plugins/ is live without reinstalling.
DISTRIBUTIONS := plugins/flink-sql plugins/report-kit
# A distribution's version is its package's __version__: a new one reinstalls it.
$(VENV)/.installed: requirements.txt constraints.txt $(foreach d,$(DISTRIBUTIONS),$(d)/pyproject.toml $(wildcard $(d)/src/*/__init__.py)) \
  | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt $(foreach d,$(DISTRIBUTIONS),-e $(d))
	touch $@

# With each distribution's own test extra: what its tests need, run here or alone in its folder.
$(VENV)/.installed-test: requirements-test.txt $(foreach d,$(DISTRIBUTIONS),$(d)/pyproject.toml) $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-test.txt -c constraints.txt \
	  $(foreach d,$(DISTRIBUTIONS),-e '$(d)[test]')
	touch $@

# Quiet unless it fails: its log is kept beside the database.
$(AIRFLOW_HOME)/airflow.db: $(VENV)/.installed
	@mkdir -p $(AIRFLOW_HOME)
	@echo "Creating Airflow's metadata database in $(AIRFLOW_HOME) (log: $(AIRFLOW_HOME)/db-migrate.log)"
	@$(LOCAL_ENV) $(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }

# Back to a fresh clone: the virtualenv, Airflow's home (metadata DB, logs), the session cluster's folder and the
# data folder, so every night's and month's report, revision and quarantine made here is deleted too.
clean:
	rm -rf $(VENV) .airflow .flink-cluster data .pytest_cache .ruff_cache .hypothesis .test-results
