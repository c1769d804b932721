# The README's commands. Each target creates .venv and installs the project when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench install install-spark clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# the optional Spark engine (pyspark, ~490 MB; needs Java 17): its tests skip without it
install-spark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'

demo: $(STAMP)
	$(BIN)/cintel demo

# pytest exits 5 when it collected nothing: that is a failure here, said plainly
test: $(STAMP)
	@$(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check training serving monitoring tests bench scripts
	$(BIN)/ruff format --check training serving monitoring tests bench scripts
	$(BIN)/mypy
	$(BIN)/mypy scripts

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .cintel build *.egg-info
