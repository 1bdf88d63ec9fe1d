# Every target sets itself up: a .venv is created and the project installed into it on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_INDEX ?=

export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export SDL_VIDEODRIVER ?= dummy

#: The Python code ruff checks and formats (all of it); mypy's files are listed in pyproject.toml.
LINT_PATHS := agents envs marl replays benchmarks tests docs/repository_site.py

.PHONY: install lint docs dist test test-slow train demo clean

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

docs: $(STAMP)
	# The documentation site in site/, from README.md, docs/, benchmarks/README.md and CHANGELOG.md
	# (mkdocs.yml); strict, so a relative link or anchor that leads nowhere stops the build.
	$(BIN)/mkdocs build --strict

dist: $(STAMP)
	# The sdist and the wheel in dist/, built in an isolated environment as a release is.
	$(BIN)/python -m build --outdir dist

test: lint docs
	$(BIN)/python -m pytest -q -n 2 --timeout 900

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

train: $(STAMP)
	# A short self-play MAPPO run on the arena's quadrant game, then a video of the trained teams.
	$(BIN)/marl train hide_and_seek_v0 --out runs/quadrant --overwrite --video

demo: $(STAMP)
	# Fresh episodes of the shipped quadrant policy, rendered to MP4 in runs/demo/videos/. The
	# policy plays in a copy of pretrained/quadrant, so the shipped folder is never written to.
	rm -rf runs/demo && mkdir -p runs && cp -r pretrained/quadrant runs/demo && rm -rf runs/demo/replays
	$(BIN)/marl eval runs/demo --record --episodes 2 --seed 1000
	$(BIN)/marl replay runs/demo --renderer 3d --out runs/demo/videos/

clean:
	rm -rf $(VENV) runs build dist site *.egg-info
