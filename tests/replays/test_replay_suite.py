"""Every environment of the suite records, restores exactly and draws through the same interface."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from replays import load_episode, record_episodes
from replays.playback import EpisodePlayer


@pytest.mark.parametrize("env_id", envs.ids())
def test_suite_environment_records_restores_and_draws(env_id, tmp_path):
    [path] = record_episodes(None, envs.make_factory(env_id), 1, tmp_path / f"{env_id}.npz", seed=1, max_steps=4)
    episode = load_episode(path)
    assert episode.env_id == env_id and episode.num_steps == 4
    player = EpisodePlayer(episode, "2d", 160, 120)
    try:
        pictures = [player.frame(index) for index in (0, 4)]
        restored = player.replayable.replay_frame()  # the world now holds frame 4
        for key, value in episode.frame(4).items():
            np.testing.assert_array_equal(np.asarray(restored[key]).astype(value.dtype), value, err_msg=key)
        assert all(picture.shape == (120, 160, 3) and picture.std() > 5 for picture in pictures)
        assert not np.array_equal(pictures[0], pictures[1])
    finally:
        player.close()
