# Liaison: `make run` serves the demo program, `make test` runs the whole suite.
# Both work on a fresh Debian machine: they install what is missing first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := wsgi

# Debian packages the app (WeasyPrint) and the tests (chromium, PostgreSQL, poppler) need.
APT_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	poppler-utils chromium libatomic1 postgresql wrk

.PHONY: run test test-sqlite test-postgresql lint format bench system-deps deps translations \
	extract-messages clean

run: deps translations
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask liaison seed-demo
	@echo "Liaison is at http://127.0.0.1:5000 (coordinator@example.org / liaison-demo)"
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# Both databases at once, one per core: the SQLite run shows its progress, the PostgreSQL run's
# output follows when both are done (it is also kept in instance/test-postgresql.log).
test: system-deps deps translations lint
	@mkdir -p instance
	@$(BIN)/pytest --db=postgresql -p no:cacheprovider --output=instance/test-results-postgresql \
		> instance/test-postgresql.log 2>&1 & postgresql=$$!; \
	trap 'kill $$postgresql 2>/dev/null' INT TERM; \
	$(BIN)/pytest --db=sqlite; sqlite=$$?; \
	wait $$postgresql; postgresql_status=$$?; \
	echo; echo "=== PostgreSQL ==="; cat instance/test-postgresql.log; \
	test $$sqlite -eq 0 && test $$postgresql_status -eq 0

test-sqlite: deps translations
	$(BIN)/pytest --db=sqlite

test-postgresql: system-deps deps translations
	$(BIN)/pytest --db=postgresql

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: system-deps deps translations
	$(BIN)/python -m benchmarks

# Installs the Debian packages that are missing (needs root or sudo; a no-op when all are there).
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

deps: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Compiled catalogs (.mo) are build output, made from the committed .po files.
translations: deps
	$(BIN)/pybabel -q compile -f -d liaison/translations

extract-messages: deps
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
		--ignore-dirs='.* __pycache__' --no-location --sort-output --project=Liaison \
		-o liaison/translations/messages.pot .
	$(BIN)/pybabel -q update -i liaison/translations/messages.pot -d liaison/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
