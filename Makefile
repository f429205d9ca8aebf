# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint check-migrations bench cluster-check load-faults system-packages fuzz install \
	clean

# Reinstall only when a requirements file changed since the last install.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The demo: migrate, seed when the database holds no leads, start the task cluster and the web app.
run: $(STAMP)
	DEBUG=$${DEBUG:-true} ./scripts/run-demo

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Every benchmark at its required size (1,000,000 leads, 10,000,000 website events, 200 staff,
# 500,000 service opportunities), each on a throwaway PostgreSQL 15 it starts: about an hour on
# 2 cores. One JSON report on stdout and in bench/out/report.json. BENCH_ARGS=--quick: a smoke run.
bench: $(STAMP) system-packages
	$(BIN)/python bench/all.py $(BENCH_ARGS)

# dealercrm beyond one machine, on loopback (docs/deploy.md): a throwaway PostgreSQL, Redis,
# 2 gunicorn app servers behind nginx and 2 django-q2 task clusters. cluster-check: each lead
# routed once through reloads and restarts, each sweep acting once (a few minutes).
# load-faults: 8 clients with sweeps and reassignments, then PostgreSQL stopped, a task worker
# killed mid-sweep and Redis stopped under load (about 10 minutes). JSON on stdout; exit 1 when
# a check fails.
cluster-check: $(STAMP) system-packages
	$(BIN)/python bench/cluster_check.py $(BENCH_ARGS)

load-faults: $(STAMP) system-packages
	$(BIN)/python bench/load_faults.py $(BENCH_ARGS)

# The servers bench, cluster-check and load-faults start, from Debian; installed when missing
# (which needs root).
SYSTEM_PACKAGES := postgresql redis-server nginx
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing: apt-get install" $$missing >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q $$missing </dev/null; \
	fi

# Coverage-guided fuzzing of the ADF/XML reader with atheris (fuzz/README.md), for FUZZ_SECONDS
# (default 600). New inputs and any crash land in fuzz/.work/.
FUZZ_STAMP := $(VENV)/.fuzz-installed
$(FUZZ_STAMP): requirements-fuzz.txt $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-fuzz.txt
	touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	mkdir -p fuzz/.work/corpus
	PATH=$(CURDIR)/$(BIN):$$PATH fuzz/adf_fuzz.py fuzz/.work/corpus fuzz/corpus/adf \
	  -dict=fuzz/adf.dict -max_total_time=$${FUZZ_SECONDS:-600} -rss_limit_mb=2048 -timeout=5 \
	  -artifact_prefix=fuzz/.work/

lint: $(STAMP)
	$(BIN)/ruff check .

check-migrations: $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .pytest_cache
