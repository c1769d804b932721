# The README's commands. Each target creates .venv and installs the project when missing.
#
# Installs come from the lock files, never from a fresh resolution: every package pinned
# with its hashes (`pip install --require-hashes`), then the project itself with --no-deps.
#   requirements.lock        core + dev extras          (`make install`)
#   requirements-spark.lock  core + dev + spark extras  (`make install-spark`; pyspark ~490 MB)
# Both are written by `make lock` (uv, universal markers, Python 3.11, hashes of every file
# of each pinned release), the first constrained by the second so their pins agree.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
LOCK := requirements.lock
SPARK_LOCK := requirements-spark.lock
# `make lock` re-resolves everything to the newest releases pyproject.toml allows;
# `make lock LOCK_FLAGS=` keeps the current pins that still fit (after adding a dependency)
LOCK_FLAGS ?= --upgrade
# the build backend, locked too so the project's own install is reproducible
# (keep in step with [build-system] requires in pyproject.toml)
BUILD_REQUIRES := 'setuptools>=69' wheel
# uv reads none of pip's configuration; these keep any uv index settings of the machine
# out of the lock as well, so it resolves from the public index alone
UV_CLEAN := env -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_INDEX -u UV_DEFAULT_INDEX \
	-u UV_FIND_LINKS -u UV_CONSTRAINT -u UV_OVERRIDE -u UV_CONFIG_FILE

.PHONY: demo test test-slow test-reliability lint bench install install-spark lock audit clean

# Every locked release exactly as pinned (--require-hashes --no-deps: the lock is the whole
# resolution, so pip resolves nothing and an extra such as pandas[parquet] needs no pin of
# its own), then the project with --no-deps; `pip check` then fails on a lock that no
# longer satisfies pyproject.toml (run `make lock LOCK_FLAGS=`)
define install_from
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(1)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "make: $(1) does not satisfy pyproject.toml: run make lock LOCK_FLAGS=" >&2; exit 1; }
endef

$(STAMP): pyproject.toml $(LOCK)
	$(call install_from,$(LOCK))
	@rm -f $(SPARK_STAMP)
	@touch $(STAMP)

install: $(STAMP)

# the optional Spark engine (pyspark, ~490 MB; needs Java 17): its tests skip without it
$(SPARK_STAMP): $(STAMP) $(SPARK_LOCK)
	$(call install_from,$(SPARK_LOCK))
	@touch $(SPARK_STAMP)

install-spark: $(SPARK_STAMP)

lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet 'uv>=0.5'
	printf '%s\n' $(BUILD_REQUIRES) | $(UV_CLEAN) $(BIN)/uv pip compile --quiet --no-config \
		--universal --python-version 3.11 --generate-hashes $(LOCK_FLAGS) \
		--extra dev --extra spark pyproject.toml - -o $(SPARK_LOCK)
	printf '%s\n' $(BUILD_REQUIRES) | $(UV_CLEAN) $(BIN)/uv pip compile --quiet --no-config \
		--universal --python-version 3.11 --generate-hashes \
		--extra dev -c $(SPARK_LOCK) pyproject.toml - -o $(LOCK)
	@! grep -n 'file:' $(LOCK) $(SPARK_LOCK) \
		|| { echo "make lock: a local file URL got into the lock" >&2; exit 1; }
	@echo "make lock: wrote $(LOCK) and $(SPARK_LOCK); run make install && make test"

# known vulnerabilities in every locked release; skipped, saying so, where the vulnerability
# database cannot be reached (scripts/audit_lock.py tells that apart from a clean result)
audit: $(STAMP)
	$(BIN)/python scripts/audit_lock.py $(SPARK_LOCK)

demo: $(STAMP)
	$(BIN)/cintel demo

# one worker process per core (pytest-xdist, at most 4), each test file in one worker so its
# module fixtures are built once; `make test TEST_PARALLEL=` runs in one process
TEST_PARALLEL ?= -n auto --maxprocesses 4 --dist loadfile
# pytest exits 5 when it collected nothing: that is a failure here, said plainly
test: $(STAMP)
	@$(BIN)/python -m pytest -q $(TEST_PARALLEL) --durations=25; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m 'slow and not reliability'

# the reliability suite (~10-15 min): bench/reliability.py drives a real `cintel serve` on
# 127.0.0.1 and writes bench/results/reliability.json; the tests then hold each row to its
# target (issue 12). RELIABILITY_ARGS is passed to the harness (e.g. --only load,canary).
RELIABILITY_ARGS ?=
RELIABILITY_JSON := bench/results/reliability.json
test-reliability: $(STAMP)
	nice -n 10 $(BIN)/python bench/reliability.py --out $(RELIABILITY_JSON) $(RELIABILITY_ARGS) \
		|| echo "make test-reliability: rows miss their targets; the tests below name them"
	CINTEL_RELIABILITY_RESULTS=$(RELIABILITY_JSON) $(BIN)/python -m pytest -q -m reliability \
		tests/reliability

lint: $(STAMP)
	$(BIN)/ruff check training serving monitoring tests bench scripts
	$(BIN)/ruff format --check training serving monitoring tests bench scripts
	$(BIN)/mypy
	$(BIN)/mypy scripts

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .cintel build *.egg-info
