"""Every fast path of the arena agrees with the plain version it replaces, over seeded random
episodes of the quadrant game (Dict and flat observations), the full game and each transfer task."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.hide_and_seek.arena import Arena
from envs.hide_and_seek.sensing import Senses
from envs.hide_and_seek.sensing_fast import ConeSenses

CASES = [
    ("hide_and_seek_v0", {"preset": "quadrant"}),
    ("hide_and_seek_v0", {"preset": "quadrant", "flat_observations": True}),
    ("hide_and_seek_v0", {"preset": "full_game"}),
    ("lock_and_return_v0", {}),
    ("sequential_lock_v0", {}),
    ("blueprint_construction_v0", {}),
    ("shelter_construction_v0", {}),
]
STEPS = 160


def _actions(env, rng: np.random.Generator) -> dict:
    """Random moves, and grab and lock pressed half the time, so that grabs and locks happen."""
    return {
        agent: {"movement": rng.integers(0, 11, size=3), "grab": int(rng.integers(2)), "lock": int(rng.integers(2))}
        for agent in env.agents
    }


def _build(monkeypatch, fast: bool, env_id: str, kwargs: dict):
    """The environment with every fast path (``fast``) or every plain version they replace."""
    monkeypatch.setattr(Arena, "senses_class", ConeSenses if fast else Senses)
    return envs.make(env_id, **kwargs)


def _assert_same_observations(plain: dict, fast: dict) -> None:
    assert plain.keys() == fast.keys()
    for agent, observation in plain.items():
        if not isinstance(observation, dict):  # flat observations
            assert fast[agent].dtype == observation.dtype
            np.testing.assert_array_equal(fast[agent], observation, err_msg=agent)
            continue
        assert observation.keys() == fast[agent].keys()
        for key, value in observation.items():
            np.testing.assert_array_equal(fast[agent][key], value, err_msg=f"{agent} {key}")


CASE_IDS = ["quadrant", "quadrant-flat", "full_game", *(name for name, _ in CASES[3:])]


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=CASE_IDS)
def test_fast_paths_give_what_the_plain_versions_give(monkeypatch, env_id, kwargs):
    plain = _build(monkeypatch, False, env_id, kwargs)
    fast = _build(monkeypatch, True, env_id, kwargs)
    assert type(plain.senses) is Senses and type(fast.senses) is ConeSenses
    rng = np.random.default_rng(0)
    seen = rays_left_out = 0
    episode = 0
    plain_observations, _ = plain.reset(seed=episode)
    fast_observations, _ = fast.reset(seed=episode)
    for _ in range(STEPS):
        if not plain.agents:
            episode += 1
            plain_observations, _ = plain.reset(seed=episode)
            fast_observations, _ = fast.reset(seed=episode)
        _assert_same_observations(plain_observations, fast_observations)
        np.testing.assert_array_equal(fast.senses.lidar, plain.senses.lidar)
        np.testing.assert_array_equal(fast.senses.in_sight, plain.senses.in_sight)
        np.testing.assert_array_equal(fast.senses.cone, plain.senses.cone)
        np.testing.assert_array_equal(fast.state(), plain.state())
        seen += int(plain.senses.in_sight.sum())
        L = plain.senses.lidar_rays
        rays_left_out += int(((fast.senses.geom_ids[:, L:] < 0) & (plain.senses.geom_ids[:, L:] >= 0)).sum())
        actions = _actions(plain, rng)
        plain_observations, plain_rewards, plain_ends, plain_cuts, plain_infos = plain.step(actions)
        fast_observations, fast_rewards, fast_ends, fast_cuts, fast_infos = fast.step(actions)
        assert (fast_rewards, fast_ends, fast_cuts, fast_infos) == (plain_rewards, plain_ends, plain_cuts, plain_infos)
    # the comparison saw things in sight, and rays the fast path left out that would have hit something
    assert seen > 0, "nothing was ever in sight"
    assert rays_left_out > 0, "the fast path cast every ray"
