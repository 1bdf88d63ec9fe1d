"""Every fast path of the arena agrees with the plain version it replaces, over seeded random
episodes of the quadrant game, the full game and each transfer task."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.hide_and_seek.arena import Arena
from envs.hide_and_seek.sensing import Senses
from envs.hide_and_seek.sensing_fast import ConeSenses

CASES = [
    ("hide_and_seek_v0", {"preset": "quadrant"}),
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


def _build(monkeypatch, senses_class: type[Senses], env_id: str, kwargs: dict):
    monkeypatch.setattr(Arena, "senses_class", senses_class)
    return envs.make(env_id, **kwargs)


def _assert_same_observations(plain: dict, fast: dict) -> None:
    assert plain.keys() == fast.keys()
    for agent, observation in plain.items():
        assert observation.keys() == fast[agent].keys()
        for key, value in observation.items():
            np.testing.assert_array_equal(fast[agent][key], value, err_msg=f"{agent} {key}")


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=[kw.get("preset", name) for name, kw in CASES])
def test_cone_first_sensing_sees_what_the_plain_sensing_sees(monkeypatch, env_id, kwargs):
    plain = _build(monkeypatch, Senses, env_id, kwargs)
    fast = _build(monkeypatch, ConeSenses, env_id, kwargs)
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
        plain_observations, plain_rewards, plain_ends, plain_cuts, _ = plain.step(actions)
        fast_observations, fast_rewards, fast_ends, fast_cuts, _ = fast.step(actions)
        assert (fast_rewards, fast_ends, fast_cuts) == (plain_rewards, plain_ends, plain_cuts)
    # the comparison saw things in sight, and rays the fast path left out that would have hit something
    assert seen > 0, "nothing was ever in sight"
    assert rays_left_out > 0, "the fast path cast every ray"
