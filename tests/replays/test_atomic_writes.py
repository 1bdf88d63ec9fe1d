"""replays writes episodes and videos through one atomic writer: the old file or the new one."""

from __future__ import annotations

import os

import numpy as np
import pytest

from replays.file_format import atomic_path
from replays.video import write_video


def test_a_finished_block_replaces_the_file(tmp_path):
    path = tmp_path / "sub" / "out.bin"
    with atomic_path(path) as temporary:
        temporary.write_bytes(b"new")
        assert not path.exists()
    assert path.read_bytes() == b"new"
    assert [p.name for p in path.parent.iterdir()] == ["out.bin"]


def test_a_failed_block_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_video_without_frames_leaves_the_previous_video(tmp_path):
    path = tmp_path / "episode.gif"
    write_video([np.zeros((32, 32, 3), np.uint8)] * 2, path, fps=10, video_format="gif")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="no frames"):
        write_video([], path, fps=10, video_format="gif")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["episode.gif"]


def test_a_new_file_gets_the_umask_mode_and_a_replaced_file_keeps_its_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.bin"
        with atomic_path(fresh) as temporary:
            temporary.write_bytes(b"new")
        assert fresh.stat().st_mode & 0o777 == 0o644  # what open() gives, not mkstemp's private 0600
        kept = tmp_path / "kept.bin"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        with atomic_path(kept) as temporary:
            temporary.write_bytes(b"new")
        assert kept.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)
