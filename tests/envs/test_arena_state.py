"""Saved states of the arena: ``save_state()`` and ``reset(options={"state": ...})`` continue an
episode exactly, and a state the arena cannot continue is one clear ``ValueError``."""

from __future__ import annotations

import numpy as np
import pytest
from arena_scenes import act

import envs
from envs.hide_and_seek_v0 import parallel_env

TASKS = ["lock_and_return_v0", "sequential_lock_v0", "blueprint_construction_v0", "shelter_construction_v0"]


def random_actions(env, rng: np.random.Generator) -> dict:
    """Random movement with grab and lock pressed often, so that grabs and locks come and go."""
    return {a: act(rng.integers(0, 11, size=3), int(rng.random() < 0.5), int(rng.random() < 0.3)) for a in env.agents}


def quadrant_episode_with_a_held_and_locked_box(seed: int = 4):
    """The quadrant game, a hider pressed against box 0 holding it and a second hider locking box 1."""
    env = parallel_env(preset="quadrant")
    env.reset(seed=seed)
    env.arrange(
        agents={"hider_0": (2.05, 3.0, 0.0), "hider_1": (3.55, 1.5, 0.0)},
        boxes={0: (2.5, 3.0, 0.0), 1: (4.0, 1.5, 0.0)},
    )
    for _ in range(3):
        observations, *_ = env.step(
            {"hider_0": act((2, 5, 5), grab=1), "hider_1": act(lock=1), "seeker_0": act(), "seeker_1": act()}
        )
    return env, observations


def assert_same_continuation(
    env, restored, rng: np.random.Generator, current: dict, restored_observations: dict
) -> int:
    """The restored copy observes what the original last observed; then both step with the same
    actions to the end of the episode. Returns the number of steps compared."""
    for agent, observation in current.items():
        for key, value in observation.items():
            np.testing.assert_allclose(restored_observations[agent][key], value, atol=1e-6, err_msg=key)
    steps = 0
    while env.agents:
        actions = random_actions(env, rng)
        expected, found = env.step(actions), restored.step(actions)
        steps += 1
        for agent in expected[0]:
            for key, value in expected[0][agent].items():
                np.testing.assert_allclose(found[0][agent][key], value, atol=1e-6, err_msg=f"{key} at step {steps}")
        assert found[1] == pytest.approx(expected[1], abs=1e-9)
        assert found[2] == expected[2] and found[3] == expected[3]
        np.testing.assert_allclose(restored.state(), env.state(), atol=1e-6)
    assert not restored.agents
    agent = env.possible_agents[0]
    assert found[4][agent]["episode_stats"] == pytest.approx(expected[4][agent]["episode_stats"], abs=1e-9)
    return steps


# saved in the preparation phase, after its last step (32) before the statistics' step (33), and after it
@pytest.mark.parametrize("extra_steps", [0, 29, 40])
def test_a_restored_copy_continues_exactly_like_the_original(extra_steps):
    env, current = quadrant_episode_with_a_held_and_locked_box()
    rng = np.random.default_rng(extra_steps)
    for _ in range(extra_steps):
        current, *_ = env.step(random_actions(env, rng))
    frame = env.replay_frame()
    if extra_steps == 0:  # the grab and lock the scene set up are part of the saved state
        assert frame["grabbed"][0] == 0 and frame["box_lock_team"][1] == 0
    saved = env.save_state()
    assert all(isinstance(value, np.ndarray) and value.dtype != object for value in saved.values())
    restored = parallel_env(preset="quadrant")
    observations, infos = restored.reset(options={"state": saved})
    assert restored.agents == env.agents and set(infos) == set(env.agents)
    assert restored.step_count == env.step_count
    np.testing.assert_array_equal(restored.walls, env.walls)
    steps = assert_same_continuation(env, restored, np.random.default_rng(7), current, observations)
    assert steps == env.config.horizon - 3 - extra_steps


def task_scene(task: str, env) -> None:
    """Give the task state of its own to carry: a box locked (the lock tasks), sites and the cylinder
    moved by a scripted scene (the construction tasks)."""
    if task in ("lock_and_return_v0", "sequential_lock_v0"):
        box = int(env.game.order[0])
        x, y = env.object_pose[box, :2]
        x, yaw = (x - 0.45, 0.0) if x > 1.0 else (x + 0.45, np.pi)  # facing the box
        env.arrange(agents={"agent_0": (x, y, yaw)})
        for _ in range(3):
            env.step({"agent_0": act(lock=1)})
        assert env.rules.lock_team[box] == 0
    elif task == "blueprint_construction_v0":
        present = np.zeros(env.game.n_sites[1], dtype=bool)
        present[:2] = True
        env.game.place_sites(np.array([[2.0, 2.5]] + [[4.0, 3.5]] * (len(present) - 1)), present)
    else:
        env.game.move_cylinder(np.array([2.2, 3.7, 0.25]), 0.8)


@pytest.mark.parametrize("task", TASKS)
def test_a_restored_transfer_task_continues_exactly_like_the_original(task):
    env = envs.make(task)
    env.reset(seed=3)
    task_scene(task, env)
    rng = np.random.default_rng(3)
    for _ in range(20):
        current, *_ = env.step(random_actions(env, rng))
    saved = env.save_state()
    assert any(key.startswith("game_") for key in saved) and all(isinstance(v, np.ndarray) for v in saved.values())
    restored = envs.make(task)
    restored.reset(seed=8)  # another layout first
    observations, _ = restored.reset(options={"state": saved})
    assert restored.step_count == env.step_count
    steps = assert_same_continuation(env, restored, np.random.default_rng(9), current, observations)
    assert steps > 0


def test_a_restore_rebuilds_the_layout_over_another_episode_and_a_seed_starts_a_fresh_stream():
    env = parallel_env(preset="quadrant")
    env.reset(seed=11)
    env.step({a: act() for a in env.agents})
    saved = env.save_state()
    restored = parallel_env(preset="quadrant")
    restored.reset(seed=99)  # another layout first
    restored.reset(seed=5, options={"state": saved})
    np.testing.assert_array_equal(restored.walls, env.walls)
    np.testing.assert_array_equal(restored.replay_frame()["qpos"], env.replay_frame()["qpos"])
    # a state saved from the restored copy rebuilds the same layout again
    again = parallel_env(preset="quadrant")
    again.reset(options={"state": restored.save_state()})
    np.testing.assert_array_equal(again.walls, env.walls)
    assert again.step_count == 1


def test_saving_needs_a_running_episode():
    env = parallel_env(preset="quadrant")
    with pytest.raises(RuntimeError, match="running episode"):
        env.save_state()


def saved_quadrant_state() -> dict:
    env = parallel_env(preset="quadrant")
    env.reset(seed=2)
    return env.save_state()


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda s: s.update(qpos=s["qpos"][:-1]), "qpos has shape"),
        (lambda s: s.pop("qvel"), "lacks qvel"),
        (lambda s: s.update(state_version=np.array(99)), "version 99"),
        (lambda s: s.update(step=np.array(500)), "outside the episode"),
    ],
)
def test_a_spoiled_state_is_one_clear_error(spoil, message):
    saved = saved_quadrant_state()
    spoil(saved)
    with pytest.raises(ValueError, match=message):
        parallel_env(preset="quadrant").reset(options={"state": saved})


def test_a_state_of_another_configuration_is_refused():
    saved = saved_quadrant_state()
    with pytest.raises(ValueError, match="another configuration"):
        parallel_env(preset="quadrant", horizon=100).reset(options={"state": saved})
    with pytest.raises(ValueError, match="another configuration"):
        parallel_env(preset="full_game").reset(options={"state": saved})
    with pytest.raises(ValueError, match="dict of arrays"):
        parallel_env(preset="quadrant").reset(options={"state": [1, 2]})


def test_a_layout_seed_that_rebuilds_other_walls_is_refused():
    saved = saved_quadrant_state()
    saved["walls"] = saved["walls"] + 0.5
    env = parallel_env(preset="quadrant")
    with pytest.raises(ValueError, match="another layout"):
        env.reset(options={"state": saved})
    with pytest.raises(RuntimeError, match="reset"):  # no half-restored episode to step
        env.step({})
