"""Fixtures of the security tests: a small trained run, a recorded replay, and the canary."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import canary_factory
import pytest
from crafted import CANARY_MODULES, HERE, TINY

from marl.cli import main


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A CartPole run folder of 64 steps (config.yaml, latest.pt, best.pt, metrics)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", "CartPole-v1", "--steps", "64", "--out", str(run), *TINY]) == 0
    return run


@pytest.fixture()
def run_copy(trained_run, tmp_path) -> Path:
    """A fresh copy of the trained run to edit."""
    target = tmp_path / "run"
    shutil.copytree(trained_run, target)
    return target


@pytest.fixture(scope="session")
def recorded_replay(tmp_path_factory) -> Path:
    """A five-step navigation_v0 episode file."""
    import envs
    from replays import record_episodes

    folder = tmp_path_factory.mktemp("replay")
    [path] = record_episodes(None, envs.make_factory("navigation_v0", max_cycles=5), 1, folder / "nav.npz", seed=3)
    return path


@pytest.fixture(scope="session")
def recorded_arena(tmp_path_factory) -> Path:
    """A ten-step hide-and-seek episode file (quadrant game)."""
    import envs
    from replays import record_episodes

    folder = tmp_path_factory.mktemp("arena")
    [path] = record_episodes(
        None, envs.make_factory("hide_and_seek_v0", preset="quadrant", horizon=10), 1, folder / "arena.npz", seed=1
    )
    return path


@pytest.fixture()
def canary(tmp_path, monkeypatch) -> Path:
    """The mark file the canary modules write to; they are forgotten so an import runs them again."""
    marker = tmp_path / "canary-ran"
    monkeypatch.setenv(canary_factory.MARKER_VARIABLE, str(marker))
    monkeypatch.syspath_prepend(str(HERE))
    for name in CANARY_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    return marker
