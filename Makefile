# Everything runs from a project-local virtualenv so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; pip runs again only when pyproject.toml is newer.
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: test test-fast serve bench venv catalogs

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q $(PYTEST_ARGS)

# The same without the tests marked slow (see pyproject.toml's markers): under a minute.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

serve: $(STAMP)
	$(BIN)/dxbot serve

bench: $(STAMP)
	@set -e; for f in benchmarks/bench_*.py; do \
		[ -e "$$f" ] || continue; \
		echo "== $$f"; \
		$(BIN)/python "$$f"; \
	done

# Re-extract message ids and merge them into every catalog (then translate the new entries).
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k tr --no-location --sort-output --omit-header \
		--project sme-dx-bot -o locales/dxbot.pot bot flows storage
	$(BIN)/pybabel update -i locales/dxbot.pot -d locales -D dxbot --no-fuzzy-matching \
		--ignore-obsolete --width 100
