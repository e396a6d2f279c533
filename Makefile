# Vetrina — one-command setup, run and test. Every target works on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
HOST    ?= 127.0.0.1
PORT    ?= 8080
CROWD   ?= 12

.PHONY: run setup test test-fast system-deps lint bench-grid bench-crowd clean

run: setup
	$(BIN)/vetrina serve --demo --host $(HOST) --port $(PORT) --crowd $(CROWD)

# Python packages into .venv, npm packages for the web client and the interop test.
setup: $(BIN)/.installed client_web/node_modules/.installed tests/node/node_modules/.installed

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

client_web/node_modules/.installed: client_web/package.json client_web/package-lock.json
	cd client_web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

tests/node/node_modules/.installed: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# redis-server and chromium come from Debian when missing (the tests use the real ones).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing fonts-dejavu-core; \
	fi

lint: setup
	$(BIN)/mypy

# Two workers: the suite mostly waits on sockets, servers and the browser (~0.4 of a core
# busy on average), so two at once take minutes less on two cores. The benchmark smokes
# (the crowd benchmark's p99 budget) run alone afterwards, not beside another worker.
test: setup system-deps
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 -m "not serial"
	$(BIN)/python -m pytest -q -p no:cacheprovider -m serial

test-fast: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 -m "not browser and not serial"

bench-grid: setup
	$(BIN)/python loadtests/bench_grid.py

bench-crowd: setup
	$(BIN)/python loadtests/bench_crowd.py --plot docs/bench_crowd.png

clean:
	rm -rf $(VENV) client_web/node_modules tests/node/node_modules
