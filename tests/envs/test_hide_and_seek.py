"""The hide-and-seek arena against PettingZoo's API, seeding, bad input, replays and rendering."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test

from envs.hide_and_seek import world
from envs.hide_and_seek_v0 import env as aec_env
from envs.hide_and_seek_v0 import parallel_env
from envs.scene import Circle, Replayable, Segment, Wedge

FRAME_KEYS = {
    "qpos",
    "agent_pos",
    "agent_yaw",
    "box_pos",
    "box_yaw",
    "box_lock_team",
    "ramp_pos",
    "ramp_yaw",
    "ramp_lock_team",
    "grabbed",
    "seen",
    "hidden",
    "prep",
}
STATIC_KEYS = {"team", "box_exists", "ramp_exists", "box_size", "walls", "floor_size"}


def _random_actions(env, rng: np.random.Generator) -> dict:
    return {
        agent: {"movement": rng.integers(0, 11, size=3), "grab": int(rng.integers(2)), "lock": int(rng.integers(2))}
        for agent in env.agents
    }


def _rollout(seed: int, steps: int = 200, preset: str = "quadrant") -> list[np.ndarray]:
    """Concatenated observations and rewards of ``steps`` random-action steps (resets included)."""
    env = parallel_env(preset)
    rng = np.random.default_rng(seed)
    observations, _ = env.reset(seed=seed)
    trace = []
    for _ in range(steps):
        if not env.agents:
            observations, _ = env.reset()
        observations, rewards, _, _, _ = env.step(_random_actions(env, rng))
        for agent in sorted(observations):
            trace.append(np.concatenate([v.ravel() for _, v in sorted(observations[agent].items())]))
        trace.append(np.array([rewards[a] for a in sorted(rewards)]))
    return trace


def test_parallel_api_quadrant():
    parallel_api_test(parallel_env("quadrant"), num_cycles=100)


def test_parallel_api_full_game_flat_actions():
    parallel_api_test(parallel_env("full_game", flat_actions=True, horizon=40), num_cycles=60)


def test_parallel_api_continuous_movement():
    env = parallel_env("quadrant", continuous_actions=True, horizon=30)
    parallel_api_test(env, num_cycles=40)
    env.reset(seed=0)
    still = {"movement": np.zeros(3, dtype=np.float32), "grab": 0, "lock": 0}
    with pytest.raises(ValueError, match="hider_1"):
        env.step({"hider_0": still, "hider_1": {"movement": np.array([0.0, 1.5, 0.0]), "grab": 0, "lock": 0}})
    with pytest.raises(ValueError, match="seeker_0"):
        env.step({"hider_0": still, "seeker_0": {"movement": np.zeros(3), "grab": 0.5, "lock": 0}})
    with pytest.raises(ValueError, match="seeker_1"):
        env.step({"seeker_1": {"movement": np.array([np.nan, 0.0, 0.0]), "grab": 0, "lock": 0}})
    start = env.replay_frame()["agent_pos"][0, :2].copy()
    for _ in range(5):
        env.step({"hider_0": {"movement": np.array([0.9, 0.0, 0.0]), "grab": 0, "lock": 0}})
    assert env.replay_frame()["agent_pos"][0, 0] - start[0] > 0.3  # full x force moves it along +x
    flat = parallel_env("quadrant", continuous_actions=True, flat_actions=True).action_space("hider_0")
    assert list(flat.low) == pytest.approx([-0.9, -0.9, -0.9, 0.0, 0.0])
    assert list(flat.high) == pytest.approx([0.9, 0.9, 0.9, 1.0, 1.0])


def test_aec_api():
    api_test(aec_env("quadrant", horizon=30), num_cycles=40)


@pytest.mark.parametrize("preset", ["quadrant", "full_game"])
def test_same_seed_same_trajectory_for_200_steps_and_different_seeds_differ(preset):
    first, second, other = _rollout(3, preset=preset), _rollout(3, preset=preset), _rollout(4, preset=preset)
    assert len(first) == len(second)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(first, other))


def test_spaces_match_the_specification():
    env = parallel_env("full_game")
    space = env.observation_space("hider_0")
    assert space["self"].shape == (10,)
    assert space["agents"].shape == (5, 10) and space["agents_mask"].shape == (5,)
    assert space["boxes"].shape == (9, 15) and space["boxes_mask"].shape == (9,)
    assert space["ramps"].shape == (2, 15) and space["ramps_mask"].shape == (2,)
    assert space["lidar"].shape == (30,)
    action = env.action_space("seeker_2")
    assert list(action["movement"].nvec) == [11, 11, 11]
    assert action["grab"].n == 2 and action["lock"].n == 2
    flat = parallel_env("quadrant", flat_actions=True).action_space("hider_0")
    assert list(flat.nvec) == [11, 11, 11, 2, 2]
    observations, _ = env.reset(seed=0)
    state = env.state()
    assert state.shape == env.state_space.shape and state.dtype == np.float32 and np.isfinite(state).all()
    for agent, obs in observations.items():
        assert space.contains(obs), agent
    # the full game samples counts per episode inside the configured ranges
    counts = set()
    for seed in range(12):
        env.reset(seed=seed)
        hiders = sum(a.startswith("hider") for a in env.agents)
        seekers = len(env.agents) - hiders
        boxes = int(env.object_present[:9].sum())
        assert 1 <= hiders <= 3 and 1 <= seekers <= 3 and 3 <= boxes <= 9
        counts.add((hiders, seekers, boxes))
    assert len(counts) > 3


def test_reset_never_recompiles_and_keeps_the_model():
    env = parallel_env("full_game")
    env.reset(seed=0)
    model = env.model
    compiled = world.compile_count()
    for seed in range(20):
        env.reset(seed=seed)
        assert env.model is model
    other = parallel_env("full_game")  # a second environment of the same world: no compilation
    other.reset(seed=1)
    assert world.compile_count() == compiled
    # ... and its own copy of the model, so layouts never leak between environments
    assert other.model is not env.model
    walls = env.model.geom_pos[env.index.wall_geom].copy()
    other.reset(seed=2)
    assert np.array_equal(env.model.geom_pos[env.index.wall_geom], walls)


def test_episode_ends_by_truncation_with_statistics_and_stepping_after_end_asks_for_reset():
    env = parallel_env("quadrant", horizon=12)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for step in range(12):
        _, _, terminations, truncations, infos = env.step(_random_actions(env, rng))
        assert not any(terminations.values())
        assert all(truncations.values()) == (step == 11)
    stats = infos["hider_0"]["episode_stats"]
    expected = {
        "max_box_move_prep",
        "max_box_move",
        "num_box_lock_prep",
        "num_box_lock",
        "max_ramp_move_prep",
        "max_ramp_move",
        "num_ramp_lock_prep",
        "num_ramp_lock",
        "hidden_fraction",
    }
    assert set(stats) == expected and all(isinstance(v, float) for v in stats.values())
    assert 0.0 <= stats["hidden_fraction"] <= 1.0
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"scenario": "quadrnt"}, "quadrant"),
        ({"n_hiders": 0}, "n_hiders"),
        ({"n_seekers": (2, 1)}, "n_seekers"),
        ({"horizon": 0}, "horizon"),
        ({"prep_fraction": 1.5}, "prep_fraction"),
        ({"n_boxes": 40}, "n_boxes"),
        ({"scenario": "quadrant", "n_boxes": 16, "n_ramps": 8}, "floor"),
        ({"door_dropout": -0.1}, "door_dropout"),
        ({"horizn": 10}, "horizon"),
        ({"render_mode": "video"}, "render_mode"),
    ],
)
def test_bad_arguments_name_the_argument_and_range(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        parallel_env(**kwargs)


def test_unknown_preset_lists_close_matches():
    with pytest.raises(ValueError, match="quadrant"):
        parallel_env("quadrnt")


def test_bad_actions_name_the_agent():
    env = parallel_env("quadrant")
    env.reset(seed=0)
    good = {"movement": np.array([5, 5, 5]), "grab": 0, "lock": 0}
    with pytest.raises(ValueError, match="seeker_1"):
        env.step({"hider_0": good, "seeker_1": {"movement": np.array([5, 11, 5]), "grab": 0, "lock": 0}})
    with pytest.raises(ValueError, match="hider_1"):
        env.step({"hider_1": {"movement": np.array([5, 5]), "grab": 0, "lock": 0}})
    with pytest.raises(ValueError, match="hider_0"):
        env.step({"hider_0": {"movement": np.array([5, 5, 5]), "grab": 2, "lock": 0}})
    with pytest.raises(ValueError, match="hider_7"):
        env.step({"hider_7": good})
    flat = parallel_env("quadrant", flat_actions=True)
    flat.reset(seed=0)
    with pytest.raises(ValueError, match="hider_0"):
        flat.step({"hider_0": np.array([1, 2, 3])})


def test_physics_divergence_truncates_with_physics_error_and_finite_observations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warning log to the working directory
    env = parallel_env("quadrant")
    env.reset(seed=0)
    env.data.qvel[:] = 1e12  # a blown-up simulation
    observations, rewards, _, truncations, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert all(truncations.values())
    assert all(info.get("physics_error") is True for info in infos.values())
    assert all("episode_stats" in info for info in infos.values())
    for obs in observations.values():
        assert all(np.isfinite(v).all() for v in obs.values())
    assert np.isfinite(env.state()).all()
    assert env.agents == []


def test_replay_frames_have_the_contract_keys_and_restore_the_world():
    env = parallel_env("quadrant")
    assert isinstance(env, Replayable)
    env.reset(seed=5)
    static = env.replay_static()
    assert STATIC_KEYS <= set(static)
    rng = np.random.default_rng(1)
    frames = [env.replay_frame()]
    for _ in range(30):
        env.step(_random_actions(env, rng))
        frames.append(env.replay_frame())
    assert FRAME_KEYS <= set(frames[0])
    for key in FRAME_KEYS:
        assert all(np.shape(f[key]) == np.shape(frames[0][key]) for f in frames), key
    assert frames[0]["seen"].shape == (4, 4) and frames[0]["box_pos"].shape == (2, 3)
    assert frames[0]["prep"] == 1.0 and static["walls"].shape[1] == 4
    other = parallel_env("quadrant")
    other.reset(seed=99)
    other.restore_replay_frame(static, frames[10])
    assert np.allclose(other.replay_frame()["agent_pos"], frames[10]["agent_pos"])
    assert np.array_equal(other.replay_frame()["box_lock_team"], frames[10]["box_lock_team"])
    assert np.array_equal(other.replay_static()["walls"], static["walls"])


def test_scene_draws_bodies_and_overlay_layers():
    env = parallel_env(
        "empty", n_hiders=1, n_seekers=1, n_boxes=1, n_ramps=1, outer_walls_probability=1.0, prep_fraction=0.0
    )
    env.reset(seed=0)
    env.arrange(
        agents={"seeker_0": (1.0, 3.0, 0.0), "hider_0": (3.0, 3.0, 0.0)},
        boxes={0: (3.0, 1.0, 0.3)},
        ramps={0: (3.0, 5.0, 0.0)},
    )
    env.step(
        {
            "seeker_0": {"movement": np.array([5, 5, 5]), "grab": 0, "lock": 0},
            "hider_0": {"movement": np.array([5, 5, 5]), "grab": 0, "lock": 0},
        }
    )
    scene = env.scene()
    layers = {shape.layer for shape in scene.shapes}
    assert {"body", "lidar", "vision", "sight"} <= layers
    agents = [s for s in scene.shapes if isinstance(s, Circle)]
    assert len(agents) == 2 and all(s.heading is not None for s in agents)
    assert sum(isinstance(s, Wedge) for s in scene.shapes) == 2
    sight = [s for s in scene.shapes if isinstance(s, Segment) and s.layer == "sight"]
    assert len(sight) == 1 and sight[0].start[0] == pytest.approx(1.0, abs=0.05)


def test_rgb_array_rendering_gives_a_frame_of_the_right_size():
    env = parallel_env("quadrant", render_mode="rgb_array", render_size=(96, 128), render_overlays=True)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (96, 128, 3) and frame.dtype == np.uint8
    assert frame.std() > 10.0  # not blank
    blue = (frame[..., 2].astype(int) - frame[..., 0].astype(int)) > 60
    red = (frame[..., 0].astype(int) - frame[..., 2].astype(int)) > 60
    assert blue.any() and red.any()  # hiders and seekers are visible
    env.close()
    tracking = parallel_env(
        "quadrant", render_mode="rgb_array", render_size=(64, 64), render_camera="track", render_track_agent=2
    )
    tracking.reset(seed=0)
    close_up = tracking.render()
    assert close_up.shape == (64, 64, 3) and not np.array_equal(close_up, frame[:64, :64])
    assert ((close_up[..., 0].astype(int) - close_up[..., 2].astype(int)) > 60).any()  # the tracked seeker
    tracking.close()


def test_flat_observations_concatenate_the_dict_fields_in_the_documented_order():
    flat_env = parallel_env("full_game", flat_observations=True)
    dict_env = parallel_env("full_game")
    flat_obs, _ = flat_env.reset(seed=3)
    dict_obs, _ = dict_env.reset(seed=3)
    keys = flat_env.observation_keys()
    assert keys[0] == "self" and keys[-1] == "lidar"
    for agent in dict_env.agents:
        expected = np.concatenate([np.ravel(dict_obs[agent][key]) for key in keys])
        assert np.array_equal(flat_obs[agent], expected)
        assert flat_env.observation_space(agent).contains(flat_obs[agent])


@pytest.mark.parametrize("wrapper", ["agent_indicator_v0", "frame_stack_v2", "clip_actions_v0"])
def test_supersuit_wrapped_arena_passes_the_api_test(wrapper):
    supersuit = pytest.importorskip("supersuit")
    kwargs = {"flat_observations": True, "horizon": 20}
    if wrapper == "clip_actions_v0":
        kwargs.update(continuous_actions=True, flat_actions=True)
    env = parallel_env("quadrant", **kwargs)
    wrapped = {
        "agent_indicator_v0": lambda e: supersuit.agent_indicator_v0(e),
        "frame_stack_v2": lambda e: supersuit.frame_stack_v2(e, 2),
        "clip_actions_v0": lambda e: supersuit.clip_actions_v0(e),
    }[wrapper](env)
    parallel_api_test(wrapped, num_cycles=25)


def test_flat_continuous_actions_press_buttons_above_one_half():
    env = parallel_env(
        "empty",
        n_hiders=1,
        n_seekers=1,
        n_boxes=1,
        n_elongated_boxes=0,
        n_ramps=0,
        prep_fraction=0.0,
        continuous_actions=True,
        flat_actions=True,
    )
    env.reset(seed=0)
    env.arrange(agents={"hider_0": (2.05, 3.0, 0.0), "seeker_0": (5.0, 5.5, np.pi / 2)}, boxes={0: (2.5, 3.0, 0.0)})
    env.step({"hider_0": np.array([0.0, 0.0, 0.0, 0.4, 0.7], dtype=np.float32)})
    assert env.replay_frame()["box_lock_team"][0] == 0 and env.replay_frame()["grabbed"][0] == -1
    with pytest.raises(ValueError, match="hider_0"):
        env.step({"hider_0": np.array([0.0, 0.0, 0.0, 1.5, 0.0])})


def _floor_pixels(frame: np.ndarray) -> np.ndarray:
    """The middle of an overhead frame: the empty floor's centre, seen from straight above."""
    height, width = frame.shape[:2]
    return frame[height // 2 - 6 : height // 2 + 6, width // 2 - 6 : width // 2 + 6]


def test_rgb_array_floor_is_drawn_and_cameras_are_offered():
    env = parallel_env(
        "empty", n_hiders=1, n_seekers=1, n_boxes=0, n_ramps=0, render_mode="rgb_array", render_size=(120, 120)
    )
    env.reset(seed=0)
    env.arrange(agents={"hider_0": (0.8, 0.8, 0.0), "seeker_0": (5.2, 5.2, 0.0)})
    assert env.render_cameras == ("overhead", "oblique", "track")
    frame = env.render()
    floor = _floor_pixels(frame)
    assert floor.mean() > 150  # the floor (geom groups 3 and 4) is lit, not black
    hidden_floor = env._renderer.option.geomgroup[world.GROUP_PARKED]
    assert hidden_floor == 0 and all(env._renderer.option.geomgroup[g] == 1 for g in range(5))
    pictures = {}
    for camera in env.render_cameras:
        env.render_camera = camera
        pictures[camera] = env.render()
        assert pictures[camera].shape == (120, 120, 3) and pictures[camera].std() > 10.0
    assert not np.array_equal(pictures["overhead"], pictures["oblique"])
    with pytest.raises(ValueError, match="oblique"):
        env.render_camera = "obliqe"
    env.close()


def test_replay_frames_carry_the_step_number_and_restores_reuse_the_layout(monkeypatch):
    env = parallel_env("quadrant")
    env.reset(seed=2)
    static = env.replay_static()
    rng = np.random.default_rng(0)
    frames = [env.replay_frame()]
    for _ in range(5):
        env.step(_random_actions(env, rng))
        frames.append(env.replay_frame())
    assert [int(f["step"]) for f in frames] == [0, 1, 2, 3, 4, 5]
    other = parallel_env("quadrant")
    other.reset(seed=9)
    writes = []
    original = world.set_walls
    monkeypatch.setattr(world, "set_walls", lambda *args: (writes.append(1), original(*args))[1])
    for frame in frames:
        other.restore_replay_frame(static, frame)
        assert int(other.replay_frame()["step"]) == int(frame["step"])
        assert other.scene().caption.startswith(f"step {int(frame['step'])}")
    assert len(writes) == 1  # the walls of one episode are written once
    assert np.array_equal(other.replay_static()["walls"], static["walls"])
    other.reset(seed=10)  # a new layout in between: the next restore writes the walls again
    writes.clear()
    other.restore_replay_frame(static, frames[0])
    assert len(writes) == 1
    assert np.allclose(
        other.model.geom_pos[other.index.wall_geom[: len(static["walls"])], :2],
        (static["walls"][:, :2] + static["walls"][:, 2:]) / 2,
    )


def test_observations_match_an_independent_reading_of_the_world():
    env = parallel_env("full_game")
    env.reset(seed=6)
    rng = np.random.default_rng(6)
    for _ in range(30):
        observations, *_ = env.step(_random_actions(env, rng))
    A, B = env.n_agent_slots, env.n_box_slots
    pose = env.data.qpos.reshape(-1, 4)
    velocity = env.data.qvel.reshape(-1, 4)
    seen = env.in_sight
    lock_team, locker = env.rules.lock_team, env.rules.locker
    size = np.concatenate([env.replay_static()["box_size"], env.replay_static()["ramp_size"]])
    # the scene exercises the masks: agents and objects seen and unseen, slots absent
    assert seen[:, :A].any() and seen[:, A:].any() and not seen[env.agent_present].all()
    assert not (env.agent_present.all() and env.object_present.all())

    def agent_fields(j):
        heading = (pose[j, 3] + np.pi) % (2 * np.pi) - np.pi
        # wrappers/prep_phase.py: PreparationPhase.observation
        prep = min(env.step_count / (env.config.prep_fraction * env.config.horizon + 1e-5), 1.0)
        return np.array([*pose[j, :3], heading, *velocity[j], float(env.team[j] == 0), prep], dtype=np.float32)

    for agent, obs in observations.items():
        i = env.agent_slot[agent]
        assert np.array_equal(obs["self"], agent_fields(i))
        others = [j for j in range(A) if j != i]
        for k, j in enumerate(others):
            expected = agent_fields(j) if seen[i, j] else np.zeros(10, np.float32)
            assert np.array_equal(obs["agents"][k], expected), (agent, j)
            assert obs["agents_mask"][k] == float(seen[i, j])
            assert obs["agents_exist"][k] == float(env.agent_present[j])
        for o in range(env.n_objects):
            p = pose[A + o]
            expected = np.array(
                [
                    *p[:3],
                    np.cos(p[3]),
                    np.sin(p[3]),
                    *velocity[A + o],
                    *size[o],
                    locker[o] == i,
                    lock_team[o] == env.team[i],
                    lock_team[o] >= 0,
                ],
                dtype=np.float32,
            )
            key, row = ("boxes", o) if o < B else ("ramps", o - B)
            assert np.array_equal(obs[key][row], expected if seen[i, A + o] else np.zeros(15, np.float32)), (agent, o)
            assert obs[f"{key}_mask"][row] == float(seen[i, A + o])
            assert obs[f"{key}_exist"][row] == float(env.object_present[o])
        assert np.array_equal(obs["lidar"], env.lidar[i].astype(np.float32))
    # each step hands out new arrays: what the caller kept does not change
    kept = {agent: {key: value.copy() for key, value in obs.items()} for agent, obs in observations.items()}
    env.step(_random_actions(env, rng))
    assert all(np.array_equal(observations[a][k], kept[a][k]) for a in kept for k in kept[a])
