"""Episodes recorded by another version of the arena are refused with one line, not drawn wrongly."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.hide_and_seek.environment import ARENA_VERSION
from replays import record_episodes


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("arena_version")
    [path] = record_episodes(None, envs.make_factory("hide_and_seek_v0", horizon=4), 1, folder / "arena.npz", seed=2)
    return path


def without_version(path, target):
    """A copy of the episode file as an earlier arena wrote it: no ``arena_version`` in its static data
    (and, like every file of that time, replay format 1, without a digest)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files if key not in ("static/arena_version", "digest")}
    arrays["format_version"] = np.array(1, dtype=np.int32)
    np.savez_compressed(target, **arrays)
    return target


def test_static_data_carries_the_arena_version(recorded):
    with np.load(recorded, allow_pickle=False) as archive:
        assert int(archive["static/arena_version"]) == ARENA_VERSION


def test_restoring_a_frame_of_another_arena_version_is_one_clear_error():
    env = envs.make("hide_and_seek_v0", horizon=4)
    env.reset(seed=0)
    static, frame = env.replay_static(), env.replay_frame()
    del static["arena_version"]
    with pytest.raises(ValueError, match="arena version 1 .* record the episode again"):
        env.restore_replay_frame(static, frame)


def test_marl_replay_refuses_an_old_arena_episode_with_one_line(recorded, tmp_path, capsys):
    from marl.cli import main

    old = without_version(recorded, tmp_path / "old.npz")
    assert main(["replay", str(old), "--out", str(tmp_path / "old.mp4")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "arena version 1" in error
    assert not (tmp_path / "old.mp4").exists()
