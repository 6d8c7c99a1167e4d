# docgen: `make demo` builds the example job, `make test` runs the tests.
# Both work on a fresh Debian machine: they install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SYSTEM_STAMP := $(VENV)/.system-stamp

.PHONY: demo test lint bench bench-quick system-deps clean

# The example's seal key: made here when missing, outside the output folder, git-ignored.
DEMO_KEY := input/keys/demo.key

demo: $(STAMP) $(DEMO_KEY)
	$(BIN)/docgen build input/job.toml
	$(BIN)/docgen mail input/job.toml --drafts
	$(BIN)/docgen verify output/gol-paycare-2026

$(DEMO_KEY): | $(STAMP)
	$(BIN)/docgen keys new demo --dir input/keys --issuer "Formazione Valdelsa (chiave dimostrativa)"

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check docgen tests bench scripts

lint: $(STAMP)
	$(BIN)/ruff check docgen tests bench scripts

bench: $(STAMP) $(DEMO_KEY)
	$(BIN)/python bench/run.py

bench-quick: $(STAMP) $(DEMO_KEY)
	$(BIN)/python bench/run.py --quick

system-deps:
	PYTHON=$(PYTHON) scripts/system-deps.sh

$(SYSTEM_STAMP): scripts/system-deps.sh
	PYTHON=$(PYTHON) scripts/system-deps.sh
	@mkdir -p $(VENV) && touch $@

$(BIN)/python: | $(SYSTEM_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml $(SYSTEM_STAMP) | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) output/*/ .pytest_cache
