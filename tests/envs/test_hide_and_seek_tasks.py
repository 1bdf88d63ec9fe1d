"""The transfer tasks on the arena engine: API, seeding and each task's reward rule."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from arena_scenes import STILL, act
from pettingzoo.test import api_test, parallel_api_test

TASKS = ["lock_and_return_v0", "sequential_lock_v0", "blueprint_construction_v0", "shelter_construction_v0"]


def make(name: str, **kwargs):
    return importlib.import_module(f"envs.{name}").parallel_env(**kwargs)


@pytest.mark.parametrize("name", TASKS)
def test_parallel_api(name):
    env = make(name, horizon=25)
    assert env.metadata["name"] == name and env.possible_agents == ["agent_0"]
    parallel_api_test(env, num_cycles=30)


def test_aec_api_on_a_task():
    api_test(importlib.import_module("envs.blueprint_construction_v0").env(horizon=20), num_cycles=25)


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_same_rewards_and_different_seeds_differ(name):
    def rollout(seed):
        env = make(name, horizon=40)
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        trace = []
        while env.agents:
            action = act(rng.integers(0, 11, 3), int(rng.integers(2)), int(rng.integers(2)))
            observations, rewards, *_ = env.step({"agent_0": action})
            trace.append(np.concatenate([[rewards["agent_0"]], observations["agent_0"]["self"]]))
        return np.array(trace)

    assert np.array_equal(rollout(1), rollout(1))
    assert not np.array_equal(rollout(1), rollout(2))


def test_lock_and_return_rewards_the_lock_and_the_return():
    env = make("lock_and_return_v0", scenario="empty", outer_walls_probability=1.0)
    env.reset(seed=0)
    env.arrange(agents={"agent_0": (2.05, 3.0, 0.0)}, boxes={0: (2.5, 3.0, 0.0)})
    _, rewards, *_ = env.step({"agent_0": act(lock=1)})
    # lock_and_return.jsonnet: lock reward 5, the 0.45 m to the locked target times 0.5, success 1
    # (still at the spawn point)
    assert rewards["agent_0"] == pytest.approx(5.0 + 0.45 * 0.5 + 1.0, abs=0.01)
    spawn = np.array([2.05, 3.0])
    previous = np.linalg.norm(env.replay_frame()["agent_pos"][0, :2] - spawn)
    for _ in range(4):  # walking away (lock held, the box stays locked) undoes the return
        _, rewards, *_ = env.step({"agent_0": act((0, 5, 5), lock=1)})
        distance = np.linalg.norm(env.replay_frame()["agent_pos"][0, :2] - spawn)
        success = 1.0 if distance <= 0.1 else 0.0
        assert rewards["agent_0"] == pytest.approx(-0.5 * (distance - previous) + success, abs=1e-6)
        previous = distance
    assert previous > 0.3 and rewards["agent_0"] < 0


def test_sequential_lock_only_the_next_box_in_order_locks():
    env = make("sequential_lock_v0", scenario="empty", n_boxes=2, n_ramps=0)
    env.reset(seed=0)
    first, second = (int(b) for b in env.game.order)
    assert (first, second) == (0, 1)  # box_locking.py: LockObjectsTask(fixed_order=True)
    placements = {second: (2.5, 3.0, 0.0), first: (4.5, 1.0, 0.0)}
    env.arrange(agents={"agent_0": (2.05, 3.0, 0.0)}, boxes=placements)
    _, rewards, *_ = env.step({"agent_0": act(lock=1)})
    assert env.replay_frame()["box_lock_team"][second] == -1
    assert rewards["agent_0"] < 1.0  # no lock reward
    env.arrange(agents={"agent_0": (4.05, 1.0, 0.0)})
    _, rewards, *_ = env.step({"agent_0": act(lock=1)})
    assert env.replay_frame()["box_lock_team"][first] == 0
    assert rewards["agent_0"] > 5.0


def _blueprint_reward(box_corners, site_corners, alpha=-1.5, scale=0.05):
    """construction_dense with use_corners, written out: per site corner, the smooth minimum over box
    corners (3D points: ConstructionDistancesWrapper measures site_xpos)."""
    per_corner = []
    for site in site_corners:
        distances = [float(np.linalg.norm(box - site)) for box in box_corners]
        weights = [np.exp(alpha * d) for d in distances]
        per_corner.append(sum(d * w for d, w in zip(distances, weights)) / sum(weights))
    return -scale * np.mean(per_corner)


def _square_corners(x, y, z=0.25, half=0.25):
    """Corners of a square at height z: a site's (marked at site_height 0.25) or a resting cube's."""
    return np.array([(x + dx, y + dy, z) for dx in (-half, half) for dy in (-half, half)])


def test_blueprint_reward_follows_box_corners_to_site_corners_and_completion_ends_the_episode():
    env = make("blueprint_construction_v0", n_sites=1, n_boxes=1)
    env.reset(seed=0)
    env.arrange(agents={"agent_0": (1.0, 1.0, 0.0)}, boxes={0: (3.0, 4.0, 0.0)})
    env.game.place_sites(np.array([[3.0, 3.0]]), np.array([True]))
    observations, rewards, terminations, *_ = env.step({"agent_0": STILL})
    box = env.replay_frame()["box_pos"][0]
    expected = _blueprint_reward(_square_corners(*box), _square_corners(3.0, 3.0))
    assert rewards["agent_0"] == pytest.approx(expected, abs=1e-6)
    assert not terminations["agent_0"]
    assert observations["agent_0"]["sites"][0] == pytest.approx([3.0, 3.0])
    # a box centre within 0.1 m but turned: its corners miss the site's, so not complete
    env.arrange(boxes={0: (3.05, 3.0, 0.5)})
    _, rewards, terminations, *_ = env.step({"agent_0": STILL})
    assert not terminations["agent_0"]
    env.arrange(boxes={0: (3.05, 3.0, 0.0)})
    _, rewards, terminations, truncations, infos = env.step({"agent_0": STILL})
    box = env.replay_frame()["box_pos"][0]
    # blueprint.jsonnet: construction_completed pays 3 per site and ends the episode
    expected = 3.0 + _blueprint_reward(_square_corners(*box), _square_corners(3.0, 3.0))
    assert rewards["agent_0"] == pytest.approx(expected, abs=1e-6)
    assert terminations["agent_0"] and not truncations["agent_0"]
    assert "episode_stats" in infos["agent_0"] and env.agents == []


def _blocked_by_rectangle(starts, center, low, high, samples=4000):
    """Independent check: which segments start -> center pass through an axis-aligned rectangle."""
    t = np.linspace(0.0, 1.0, samples)[None, :, None]
    points = starts[:, None, :] + t * (center[None, None, :] - starts[:, None, :])
    inside = ((points >= low) & (points <= high)).all(-1)
    return inside.any(1)


def test_shelter_reward_counts_rays_reaching_the_cylinder():
    env = make("shelter_construction_v0", n_boxes=1, n_elongated_boxes=1, rays_per_side=30, reward_scale=1.0)
    env.reset(seed=0)
    env.game.move_cylinder(np.array([3.0, 3.0, 0.25]), 0.5)
    env.arrange(agents={"agent_0": (-2.0, -2.0, 0.0)}, boxes={0: (3.0, 8.0, 0.0)})  # nothing in the way
    _, rewards, *_ = env.step({"agent_0": STILL})
    assert rewards["agent_0"] == -120.0
    size = env.replay_static()["box_size"][0]
    along_x = 0.0 if size[0] > size[1] else np.pi / 2  # the elongated box is drawn along x or y
    env.arrange(boxes={0: (3.0, 3.9, along_x)})  # an elongated box lying along x just above the cylinder
    _, rewards, *_ = env.step({"agent_0": STILL})
    box = env.replay_frame()["box_pos"][0, :2]
    half = np.array([0.825, 0.075])
    center = np.array([3.0, 3.0])
    # rays grazing a corner within a millimetre may go either way
    starts = env.game.ray_starts[:, :2]
    surely = _blocked_by_rectangle(starts, center, box - half + 1e-3, box + half - 1e-3).sum()
    maybe = _blocked_by_rectangle(starts, center, box - half - 1e-3, box + half + 1e-3).sum()
    assert 20 < surely <= maybe < surely + 4
    assert -(120 - surely) <= rewards["agent_0"] <= -(120 - maybe)
