# Every target sets itself up: a .venv is created and the project installed into it on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export SDL_VIDEODRIVER ?= dummy

.PHONY: install test test-slow train bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	# The CPU build of torch first, so that nothing pulls a CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --timeout 900

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

train: $(STAMP)
	# A short self-play MAPPO run on the arena's quadrant game, then a video of the trained teams.
	$(BIN)/marl train hide_and_seek_v0 --out runs/quadrant --overwrite --video

clean:
	rm -rf $(VENV) runs build *.egg-info
