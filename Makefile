# Every target sets itself up: a .venv is created and the project installed into it on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_INDEX ?=

export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export SDL_VIDEODRIVER ?= dummy

#: Code checked by ruff (lint and format) this round; mypy's files are listed in pyproject.toml.
LINT_PATHS := agents tests/agents tests/core tests/test_design.py

.PHONY: install lint test test-slow train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	# The CPU build of torch first, so that nothing pulls a CUDA build (pyproject.toml accepts a
	# range of versions; this is the one the fast paths and the suite were checked on). Where pip's
	# index serves a CUDA build, point it at the CPU wheels:
	# make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
	$(BIN)/pip install torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -n 2 --timeout 900

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

train: $(STAMP)
	# A short self-play MAPPO run on the arena's quadrant game, then a video of the trained teams.
	$(BIN)/marl train hide_and_seek_v0 --out runs/quadrant --overwrite --video

clean:
	rm -rf $(VENV) runs build *.egg-info
