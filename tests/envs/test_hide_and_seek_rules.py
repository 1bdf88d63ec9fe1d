"""Scripted scenes that check each rule of the arena against its geometry."""

from __future__ import annotations

import numpy as np
import pytest
from arena_scenes import STILL, act, scene_env

from envs.hide_and_seek_v0 import parallel_env

INNER_WALL = 0.5


def box_xy(env, slot=0) -> np.ndarray:
    return env.replay_frame()["box_pos"][slot, :2].copy()


def test_grab_welds_the_box_and_drags_it():
    env = scene_env(n_boxes=1)
    # the hider faces the box 0.2 m from its centre (inside the 0.25 m reach)
    env.arrange(agents={"hider_0": (2.05, 3.0, 0.0), "seeker_0": (5.0, 5.5, np.pi / 2)}, boxes={0: (2.5, 3.0, 0.0)})
    start_agent = env.replay_frame()["agent_pos"][0, :2].copy()
    start_box = box_xy(env)
    for _ in range(8):  # pull towards -x while holding grab
        env.step({"hider_0": act((0, 5, 5), grab=1), "seeker_0": STILL})
    frame = env.replay_frame()
    assert frame["grabbed"][0] == 0
    agent_move = frame["agent_pos"][0, :2] - start_agent
    box_move = frame["box_pos"][0, :2] - start_box
    assert agent_move[0] < -0.5
    assert box_move == pytest.approx(agent_move, abs=0.05)
    # released: the hider walks off and the box stays behind
    env.step({"hider_0": act((5, 5, 5), grab=0), "seeker_0": STILL})
    released = box_xy(env)
    for _ in range(6):
        env.step({"hider_0": act((0, 5, 5)), "seeker_0": STILL})
    assert env.replay_frame()["grabbed"][0] == -1
    assert np.linalg.norm(box_xy(env) - released) < 0.05


def test_grab_needs_reach_and_sight():
    env = scene_env(n_boxes=1)
    # in reach but facing away: not visible, so not grabbed
    env.arrange(agents={"hider_0": (2.05, 3.0, np.pi), "seeker_0": (5.0, 5.5, np.pi / 2)}, boxes={0: (2.5, 3.0, 0.0)})
    env.step({"hider_0": act(grab=1), "seeker_0": STILL})
    assert env.replay_frame()["grabbed"][0] == -1
    # visible but 0.3 m from the agent's centre: out of reach
    env.arrange(agents={"hider_0": (1.95, 3.0, 0.0)}, boxes={0: (2.5, 3.0, 0.0)})
    env.step({"hider_0": act(grab=1), "seeker_0": STILL})
    assert env.replay_frame()["grabbed"][0] == -1


def test_lock_freezes_the_box_and_only_the_locking_team_unlocks():
    env = scene_env(n_hiders=2, n_seekers=1, n_boxes=1)
    env.arrange(
        agents={"hider_0": (2.05, 3.0, 0.0), "hider_1": (2.5, 4.5, -np.pi / 2), "seeker_0": (2.95, 3.0, np.pi)},
        boxes={0: (2.5, 3.0, 0.0)},
    )
    env.step({"hider_0": act(lock=1), "hider_1": STILL, "seeker_0": STILL})
    assert env.replay_frame()["box_lock_team"][0] == 0
    locked_at = box_xy(env)
    # hider_0 walks off still pressing lock; the seeker pushes at full force, tries to grab,
    # presses lock and stands idle: the box neither moves nor unlocks
    for lock in (0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0):
        observations, *_ = env.step(
            {"hider_0": act((0, 5, 5), lock=1), "hider_1": STILL, "seeker_0": act((0, 5, 5), grab=1, lock=lock)}
        )
    frame = env.replay_frame()
    assert frame["box_lock_team"][0] == 0
    assert frame["grabbed"][2] == 0  # a locked box can be grabbed (manipulation.py never checks), and still holds
    assert np.linalg.norm(box_xy(env) - locked_at) < 0.02
    assert observations["seeker_0"]["boxes"][0, 12:15] == pytest.approx([0.0, 0.0, 1.0])
    # hider_1 walks up to the box pressing lock (it stays locked), then lets go: it unlocks
    for _ in range(10):
        observations, *_ = env.step({"hider_0": STILL, "hider_1": act((5, 0, 5), lock=1), "seeker_0": STILL})
    assert env.replay_frame()["box_lock_team"][0] == 0
    assert observations["hider_1"]["boxes"][0, 12:15] == pytest.approx([0.0, 1.0, 1.0])  # my team's, not mine
    assert np.linalg.norm(box_xy(env) - locked_at) < 0.02
    env.step({"hider_0": STILL, "hider_1": STILL, "seeker_0": STILL})
    assert env.replay_frame()["box_lock_team"][0] == -1
    # unlocked, the box can be pushed again
    for _ in range(6):
        env.step({"hider_0": STILL, "hider_1": STILL, "seeker_0": act((0, 5, 5))})
    assert np.linalg.norm(box_xy(env) - locked_at) > 0.2


def test_seekers_frozen_and_rewards_zero_during_preparation():
    env = scene_env(n_hiders=1, n_seekers=2, prep_fraction=0.5, horizon=20)
    env.arrange(agents={"hider_0": (1.0, 1.0, 0.0), "seeker_0": (3.0, 3.0, np.pi), "seeker_1": (4.0, 4.0, 0.0)})
    start = env.replay_frame()["agent_pos"].copy()
    for step in range(20):
        actions = {a: act((10, 0, 10), grab=1, lock=1) for a in env.agents}
        observations, rewards, _, _, _ = env.step(actions)
        positions = env.replay_frame()["agent_pos"]
        if step < 10:
            assert all(r == 0.0 for r in rewards.values())
            assert np.allclose(positions[1:, :2], start[1:, :2], atol=1e-6)
            assert env.replay_frame()["prep"] == 1.0 or step == 9
            # wrappers/prep_phase.py: min(1, steps / (prep_time + 1e-5)), below 1 at the last step
            assert observations["seeker_0"]["self"][9] == np.float32((step + 1) / (10 + 1e-5))
            assert observations["seeker_0"]["self"][9] < 1.0
        else:
            assert all(abs(r) >= 1.0 for r in rewards.values())
            assert observations["seeker_0"]["self"][9] == 1.0
    assert np.linalg.norm(positions[1] - start[1]) > 0.5  # seekers move once preparation is over
    assert np.linalg.norm(positions[0] - start[0]) > 0.5  # the hider moved all along


def _look(env, seeker_pose, hider_xy, walls=None, boxes=None):
    env.arrange(agents={"seeker_0": seeker_pose, "hider_0": (*hider_xy, 0.0)}, walls=walls, boxes=boxes)
    return env.step({"seeker_0": STILL, "hider_0": STILL})


def test_reward_is_zero_sum_by_visibility_and_walls_and_boxes_block_sight():
    outer = np.array([[0, 0, 6, 0, 4], [0, 6, 6, 6, 4], [0, 0, 0, 6, 4], [6, 0, 6, 6, 4]], float)
    env = scene_env(n_boxes=1)
    park_box = {0: (5.5, 0.5, 0.0)}
    observations, rewards, *_ = _look(env, (1.0, 3.0, 0.0), (4.0, 3.0), walls=outer, boxes=park_box)
    assert rewards == {"hider_0": -1.0, "seeker_0": 1.0}
    assert observations["seeker_0"]["agents_mask"][0] == 1.0
    assert observations["seeker_0"]["agents"][0, :2] == pytest.approx([4.0, 3.0], abs=0.02)
    # an inner wall between them blocks the line of sight
    wall = np.vstack([outer, [[2.5, 1.0, 2.5, 5.0, INNER_WALL]]])
    observations, rewards, *_ = _look(env, (1.0, 3.0, 0.0), (4.0, 3.0), walls=wall, boxes=park_box)
    assert rewards == {"hider_0": 1.0, "seeker_0": -1.0}
    assert observations["seeker_0"]["agents_mask"][0] == 0.0
    assert not observations["seeker_0"]["agents"][0].any()  # unseen agents are not revealed
    # so does a box
    observations, rewards, *_ = _look(env, (1.0, 3.0, 0.0), (4.0, 3.0), walls=outer, boxes={0: (2.5, 3.0, 0.0)})
    assert rewards == {"hider_0": 1.0, "seeker_0": -1.0}
    assert observations["seeker_0"]["boxes_mask"][0] == 1.0  # the box itself is seen


@pytest.mark.parametrize(
    ("angle_degrees", "seen"),
    [(0, True), (60, True), (66, True), (70, False), (120, False), (180, False), (-60, True), (-75, False)],
)
def test_vision_cone_is_135_degrees(angle_degrees, seen):
    env = scene_env()
    angle = np.radians(angle_degrees)
    hider = (3.0 + 1.5 * np.cos(angle), 3.0 + 1.5 * np.sin(angle))
    observations, rewards, *_ = _look(env, (3.0, 3.0, 0.0), hider)
    assert (observations["seeker_0"]["agents_mask"][0] == 1.0) == seen
    assert rewards["seeker_0"] == (1.0 if seen else -1.0)


def test_lidar_measures_the_distance_to_walls():
    env = scene_env(lidar_rays=4)
    walls = np.array([[0, 0, 6, 0, 4], [0, 6, 6, 6, 4], [0, 0, 0, 6, 4], [6, 0, 6, 6, 4]], float)
    observations = env.arrange(agents={"hider_0": (2.0, 3.5, 0.0), "seeker_0": (5.0, 0.5, 0.0)}, walls=walls)
    # rays at 0, 90, 180 and 270 degrees; the walls' inner faces lie 0.05 m inside their centre lines
    assert observations["hider_0"]["lidar"] == pytest.approx([3.95, 2.45, 1.95, 3.45], abs=1e-4)
    # a wall placed 1 m to the right shortens the first ray
    inner = np.vstack([walls, [[3.0, 2.0, 3.0, 5.0, INNER_WALL]]])
    observations = env.arrange(walls=inner)
    assert observations["hider_0"]["lidar"][0] == pytest.approx(0.95, abs=1e-4)
    # beyond the range the lidar reads the range
    open_env = scene_env(lidar_rays=4, outer_walls_probability=0.0, lidar_range=2.0)
    observations = open_env.arrange(
        agents={"hider_0": (3.0, 3.0, 0.0), "seeker_0": (0.5, 0.5, 0.0)}, walls=np.zeros((0, 5))
    )
    assert observations["hider_0"]["lidar"] == pytest.approx([2.0, 2.0, 2.0, 2.0])


def test_agent_outside_the_play_area_gets_minus_ten_instead_of_the_game_reward():
    # wrappers/limit_mvmnt.py: RestrictAgentsRect replaces the reward, it does not add to it
    env = scene_env(outer_walls_probability=0.0)
    env.arrange(agents={"hider_0": (-1.0, 3.0, 0.0), "seeker_0": (3.0, 3.0, 0.0)}, walls=np.zeros((0, 5)))
    _, rewards, *_ = env.step({"hider_0": STILL, "seeker_0": STILL})
    assert rewards == {"hider_0": -10.0, "seeker_0": -1.0}


def test_objects_pushed_out_cost_in_the_quadrant_game():
    env = scene_env(outer_walls_probability=0.0, n_boxes=1, objects_out_penalty=True)
    env.arrange(
        agents={"hider_0": (3.0, 3.0, np.pi), "seeker_0": (3.0, 2.0, 0.0)},
        boxes={0: (7.0, 3.0, 0.0)},
        walls=np.zeros((0, 5)),
    )
    _, rewards, *_ = env.step({"hider_0": STILL, "seeker_0": STILL})
    assert rewards == {"hider_0": -10.0, "seeker_0": -10.0}


def _random_play(total: int) -> int:
    """Random actions over all scenarios; every observation finite, every agent in the world."""
    rng = np.random.default_rng(total)
    steps = 0
    for preset, share in (("quadrant", 0.5), ("full_game", 0.3), ("empty", 0.2)):
        env = parallel_env(preset)
        env.reset(seed=steps)
        for _ in range(int(total * share)):
            if not env.agents:
                env.reset()
            actions = {a: act(rng.integers(0, 11, 3), int(rng.integers(2)), int(rng.integers(2))) for a in env.agents}
            observations, _, _, _, infos = env.step(actions)
            steps += 1
            for obs in observations.values():
                assert all(np.isfinite(v).all() for v in obs.values())
            assert np.isfinite(env.state()).all()
            assert all(not info.get("physics_error") for info in infos.values())
            frame = env.replay_frame()
            present = env.replay_static()["agent_exists"]
            assert (np.abs(frame["agent_pos"][present, :2] - 3.0) < env.config.play_area).all()
            heights = frame["agent_pos"][present, 2]
            assert ((heights > 0.05) & (heights < 2.0)).all()  # on the floor or on an object, never through it
    return steps


def test_random_play_stays_finite_and_inside_the_world():
    assert _random_play(3200) == 3200


@pytest.mark.slow
def test_ten_thousand_random_steps_stay_finite_and_inside_the_world():
    assert _random_play(10_000) == 10_000


def test_lidar_matches_independent_single_ray_casts_in_random_scenes():
    import mujoco

    from envs.hide_and_seek.world import RAY_GROUPS

    env = parallel_env("full_game", outer_walls_probability=1.0)
    for seed in range(4):
        observations, _ = env.reset(seed=seed)
        positions = env.replay_frame()["agent_pos"]
        for agent in env.agents:
            slot = env.agent_slot[agent]
            for k, direction in enumerate(env.senses.lidar_directions):
                geom = np.zeros(1, dtype=np.int32)
                distance = mujoco.mj_ray(
                    env.model,
                    env.data,
                    positions[slot],
                    direction,
                    RAY_GROUPS,
                    1,
                    int(env.index.agent_body[slot]),
                    geom,
                )
                expected = min(distance, 6.0) if geom[0] >= 0 else 6.0
                assert observations[agent]["lidar"][k] == pytest.approx(expected, abs=1e-4), (seed, agent, k)


def test_walls_moved_between_episodes_and_resized_boxes_still_collide():
    env = scene_env(n_boxes=1, n_elongated_boxes=1)
    walls = np.array(
        [[0, 0, 6, 0, 4], [0, 6, 6, 6, 4], [0, 0, 0, 6, 4], [6, 0, 6, 6, 4], [3.0, 0.5, 3.0, 2.5, INNER_WALL]], float
    )
    env.arrange(
        agents={"hider_0": (2.0, 1.5, 0.0), "seeker_0": (1.0, 5.0, 0.0)}, boxes={0: (4.5, 4.0, 0.0)}, walls=walls
    )
    for _ in range(15):  # run into the inner wall at x = 3
        env.step({"hider_0": act((10, 5, 5)), "seeker_0": STILL})
    assert env.replay_frame()["agent_pos"][0, 0] < 3.0 - 0.05 - 0.15 + 0.02
    # the far end of an elongated box (1.65 m along x) is solid: pushing it moves the box
    size = env.replay_static()["box_size"][0]
    along_x = 0.0 if size[0] > size[1] else np.pi / 2  # the elongated box drawn along x or y
    env.arrange(agents={"hider_0": (5.2, 3.0, np.pi / 2)}, boxes={0: (4.5, 4.0, along_x)})  # beyond a cube's reach
    start = box_xy(env)
    for _ in range(14):
        env.step({"hider_0": act((5, 10, 5)), "seeker_0": STILL})
    # struck at its end, the box is knocked aside and turned
    assert box_xy(env)[1] - start[1] > 0.05
    assert abs(env.replay_frame()["box_yaw"][0] - along_x) > 0.3


def test_episode_statistics_follow_the_episode():
    env = scene_env(n_boxes=1, prep_fraction=0.5, horizon=12)
    env.arrange(agents={"hider_0": (2.05, 3.0, 0.0), "seeker_0": (5.5, 5.5, np.pi / 2)}, boxes={0: (2.5, 3.0, 0.0)})
    start = box_xy(env)
    for _ in range(6):  # preparation: drag the box
        env.step({"hider_0": act((0, 5, 5), grab=1), "seeker_0": STILL})
    infos = {}
    for step in range(6):  # afterwards: lock it where it is and stay, the seeker looks away
        _, _, _, _, infos = env.step({"hider_0": act(lock=1), "seeker_0": STILL})
        if step == 0:  # TrackStatWrapper's end of preparation: step 7, the first with prep_obs == 1.0
            dragged = np.linalg.norm(box_xy(env) - start)
    stats = infos["hider_0"]["episode_stats"]
    assert stats["max_box_move_prep"] == pytest.approx(dragged, abs=1e-6) and dragged > 0.5
    # the lock of step 7 counts in the preparation statistics, as in the original
    assert stats["num_box_lock_prep"] == 1.0 and stats["num_box_lock"] == 1.0
    assert stats["max_box_move"] == pytest.approx(np.linalg.norm(box_xy(env) - start), abs=0.02)
    assert stats["hidden_fraction"] == 1.0
    assert stats["max_ramp_move"] == 0.0 and stats["num_ramp_lock"] == 0.0
