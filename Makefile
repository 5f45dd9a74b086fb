# Two commands: `make run` sets up and starts the tutor; `make test` sets up and passes the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install system-deps run test test-fast bench check clean

install: $(STAMP)

# torch first (the CPU wheel that lies on these machines), then the project with its pinned dependencies.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian packages the tests need (chromium for the browser test), installed only when missing.
system-deps:
	./scripts/system-deps.sh

run: install
	$(BIN)/tutor ingest
	$(BIN)/streamlit run app.py --server.port 8501 --server.headless true --browser.gatherUsageStats false

test: install system-deps
	$(BIN)/tutor corpus check
	$(BIN)/python -m pytest
	# The evaluation gate on the embedded default (evals/README.md): its own index, reports in data/eval/report.
	TUTOR_PATHS__DATA_DIR=data/eval $(BIN)/tutor ingest --quiet
	TUTOR_PATHS__DATA_DIR=data/eval $(BIN)/tutor eval --gate --quiet --out data/eval/report

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not server and not browser"

check: install
	$(BIN)/tutor corpus check

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) data
