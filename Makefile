# Two entry points for a fresh machine with python3 and make:
#   make quickstart   install ipsim in .venv and run the quickstart scenario
#   make test         install the test tools too and run lint and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: quickstart test install lint bench clean system-tools

# The suite drives a real browser (the HTML report) and Prometheus's promtool (the
# metrics backfill): both from Debian's packages, installed when missing (CI runs as root).
SYSTEM_TOOLS := /usr/bin/chromium /usr/bin/promtool
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

quickstart: $(VENV)/.installed
	$(BIN)/ipsim run scenarios/quickstart.yaml --force

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

system-tools:
	@missing=""; for tool in $(SYSTEM_TOOLS); do [ -x $$tool ] || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing chromium and prometheus (for$$missing)"; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends \
			chromium prometheus >/dev/null || exit 1; \
	fi

test: lint system-tools
	$(BIN)/python -m pytest

# Speed and memory figures (minutes; not part of the tests): see docs/performance.md.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/idle.py
	$(BIN)/python benchmarks/growth.py
	$(BIN)/python benchmarks/plan.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/replay.py
	$(BIN)/python benchmarks/pathologies.py

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
