"""Broken episode files give a clear ReplayFormatError that names the file."""

from __future__ import annotations

import numpy as np
import pytest
import replay_disc_env

from replays import ReplayFormatError, load_episode, record_episodes
from replays.file_format import episode_arrays


@pytest.fixture()
def recorded(tmp_path):
    [path] = record_episodes(
        None,
        lambda: replay_disc_env.parallel_env(max_steps=10),
        1,
        tmp_path / "good.npz",
        env_id="replay_disc_env:parallel_env",
    )
    return path


def test_truncated_file_names_the_file(recorded):
    data = recorded.read_bytes()
    broken = recorded.with_name("truncated.npz")
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReplayFormatError, match="truncated.npz.*corrupt or truncated"):
        load_episode(broken)


def test_corrupt_bytes_name_the_file(recorded):
    data = bytearray(recorded.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(200)  # zero a stretch of compressed data
    broken = recorded.with_name("corrupt.npz")
    broken.write_bytes(bytes(data))
    with pytest.raises(ReplayFormatError, match="corrupt.npz"):
        load_episode(broken)


def test_not_an_archive(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(ReplayFormatError, match="text.npz"):
        load_episode(path)


def test_wrong_version_and_missing_keys(recorded, tmp_path):
    episode = load_episode(recorded)
    arrays = episode_arrays(episode)
    arrays["format_version"] = np.array(99, dtype=np.int32)
    newer = tmp_path / "newer.npz"
    np.savez_compressed(newer, **arrays)
    with pytest.raises(ReplayFormatError, match=r"newer.npz: replay format version 99.*reads versions 1, 2"):
        load_episode(newer)
    del arrays["rewards"]
    arrays["format_version"] = np.array(1, dtype=np.int32)
    partial = tmp_path / "partial.npz"
    np.savez_compressed(partial, **arrays)
    with pytest.raises(ReplayFormatError, match=r"partial.npz.*missing keys \['rewards'\]"):
        load_episode(partial)


def test_pickled_arrays_are_never_loaded(recorded, tmp_path):
    arrays = episode_arrays(load_episode(recorded))
    arrays["frame/agent_pos"] = np.array([object()] * arrays["frame/agent_pos"].shape[0], dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez_compressed(path, **arrays)
    with pytest.raises(ReplayFormatError, match="pickled.npz"):
        load_episode(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_episode(tmp_path / "absent.npz")


def test_atomic_write_leaves_no_temporary_files(recorded):
    assert sorted(p.name for p in recorded.parent.iterdir()) == ["good.npz"]
