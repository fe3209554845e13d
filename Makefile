# Two commands: `make run` (demo on http://127.0.0.1:8000) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
DEV_ENV := DJANGO_DEBUG=true

.PHONY: run test install lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py seed_demo
	@echo ""
	@echo "  CPO Portal: http://127.0.0.1:8000/  (stop with Ctrl-C)"
	@echo ""
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	$(PY) -m pytest --durations=15

bench: $(STAMP)
	@test -n "$(DATABASE_URL)" || (echo "Set DATABASE_URL to a PostgreSQL database (the benchmark measures PostgreSQL)." && exit 2)
	$(DEV_ENV) $(PY) manage.py migrate --noinput -v0
	$(DEV_ENV) $(PY) bench/cdr_import.py --charges 100000
	$(DEV_ENV) $(PY) bench/monthly_close.py --operators 1000 --charges 1000 --workers 2
	$(DEV_ENV) $(PY) bench/dashboards.py --runs 5

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
