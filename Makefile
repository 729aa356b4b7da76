# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test venv lint typecheck pytest migrate seed serve messages screenshots bench clean browser-deps

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## make demo: venv, install, migrate, demo data, serve on http://127.0.0.1:8000 (SQLite, in-process Celery)
demo: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py seed_demo --if-empty
	@echo ""
	@echo "  Open http://$(HOST):$(PORT)/  (demo logins above; password for all: demo-pass-2025)"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: ruff, mypy and the whole pytest suite (PostgreSQL and Redis; see README)
test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# Browser tests drive Debian's Chromium; install it where we may (root with apt).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; fi

## make screenshots: docs/screenshots/{store_list,diagnosis}.png, taken by the browser test
screenshots: $(STAMP) browser-deps
	@# A CJK font, so the Chinese in the pictures is drawn (the tests read text, not pixels).
	@if ! fc-list 2>/dev/null | grep -qi "noto.*cjk" && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -qq fonts-noto-cjk >/dev/null; fi
	KPI_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/kpitree/test_browser.py -q

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var
	$(BIN)/python manage.py compilemessages --ignore=.venv

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/diagnosis.py

clean:
	rm -rf var/db.sqlite3 var/media var/test-media
