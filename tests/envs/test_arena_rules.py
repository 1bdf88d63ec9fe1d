"""The arena's rules as the original game has them, checked in MuJoCo with scripted actions.

Each test names the original file the rule comes from (multi-agent-emergence-environments
``mae_envs/`` and mujoco-worldgen ``assets/``).
"""

from __future__ import annotations

import arena_scenes
import mujoco
import numpy as np
import pytest
from arena_scenes import STILL, act

from envs.hide_and_seek import world as W
from envs.hide_and_seek.layouts import GridWall, grid_walls_to_metres, outside_walls
from envs.hide_and_seek_v0 import parallel_env


def scene_env(*args, **kwargs):
    """:func:`arena_scenes.scene_env` with four spare walls."""
    return arena_scenes.scene_env(*args, **{"extra_wall_slots": 4, **kwargs})


def door_walls() -> np.ndarray:
    """Outer walls and a wall across the floor at x = 3.1 m with a 2-cell door centred on y = 3.0 m."""
    walls = outside_walls(30) + [GridWall((15, 0), (15, 13)), GridWall((15, 16), (15, 29))]
    return grid_walls_to_metres(walls, 0.2)


def test_top_speed_and_turn_rate_match_the_particle_hinge_agent():
    # particle_hinge/main.xml: damping 10, gear 100, control 0.9; floor friction 0.2 under
    # gravity 50: (90 - 10) N / 10 = 8 m/s and 90 / 10 = 9 rad/s
    env = scene_env(outer_walls_probability=0.0, play_area=18.0)
    env.arrange(agents={"hider_0": (-4.0, 3.0, 0.0), "seeker_0": (3.0, 5.5, 0.0)}, walls=np.zeros((0, 5)))
    speeds, turns = [], []
    for _ in range(12):
        env.step({"hider_0": act((10, 5, 10)), "seeker_0": STILL})
        speeds.append(env.data.qvel[0])
        turns.append(env.data.qvel[3])
    assert np.mean(speeds[-4:]) == pytest.approx(8.0, rel=0.1)
    assert np.mean(turns[-4:]) == pytest.approx(9.0, rel=0.1)


def test_agents_carry_the_two_arm_spheres_and_the_original_damping():
    env = scene_env(n_boxes=1, n_ramps=1)
    m, idx = env.model, env.index
    arms = idx.agent_arm_geom[0]
    assert m.geom_size[arms, 0] == pytest.approx([0.05, 0.05])
    assert (m.geom_contype[arms] == 1).all()
    assert (m.geom_pos[arms, 0] > 0).all()  # at the front, on either side
    assert m.geom_pos[arms, 1] == pytest.approx([-0.13, 0.13])
    dof = np.arange(4 * env.n_entities).reshape(env.n_entities, 4)
    assert m.dof_damping[dof[0]] == pytest.approx([10, 10, 1, 10])  # agents: x, y, z, hinge
    assert m.dof_damping[dof[2]] == pytest.approx([0.01] * 4)  # boxes: worldgen obj_util.py
    assert m.dof_damping[dof[3]] == pytest.approx([0.1] * 4)  # ramps: assets/xmls/ramp/main.xml


@pytest.mark.parametrize("preset, friction", [("full_game", 1.0), ("quadrant", 0.01)])
def test_wall_friction_follows_the_scenario(preset, friction):
    env = parallel_env(preset)
    env.reset(seed=3)
    walls = env.index.wall_geom[env.model.geom_contype[env.index.wall_geom] > 0]
    assert env.model.geom_friction[walls, 0] == pytest.approx(np.full(walls.size, friction))


def test_an_agent_pushes_a_cube_through_a_door():
    env = scene_env(n_boxes=1)
    env.arrange(
        agents={"hider_0": (1.8, 3.0, 0.0), "seeker_0": (1.0, 5.5, 0.0)}, boxes={0: (2.4, 3.0, 0.0)}, walls=door_walls()
    )
    for _ in range(20):
        env.step({"hider_0": act((8, 5, 5)), "seeker_0": STILL})
    box = env.replay_frame()["box_pos"][0]
    assert box[0] > 3.1 + 0.05 + 0.25  # wholly through the wall
    assert abs(box[1] - 3.0) < 0.1


def test_an_agent_drags_a_ramp_through_a_door():
    env = scene_env(n_ramps=1)
    # the agent faces the ramp on its -x side and walks backwards through the door, holding it
    env.arrange(
        agents={"hider_0": (2.5, 3.0, np.pi), "seeker_0": (1.0, 5.5, 0.0)},
        ramps={0: (2.05, 3.0, 0.0)},
        walls=door_walls(),
    )
    for _ in range(25):
        env.step({"hider_0": act((7, 5, 5), grab=1), "seeker_0": STILL})
    frame = env.replay_frame()
    assert frame["grabbed"][0] == 0  # boxes come first; the one ramp is object 0 here
    assert frame["ramp_pos"][0, 0] > 3.1 + 0.05 + 0.25
    assert frame["agent_pos"][0, 0] > frame["ramp_pos"][0, 0]


def test_a_grab_drops_when_the_object_leaves_reach():
    env = scene_env(n_boxes=1)
    env.arrange(agents={"hider_0": (2.05, 3.0, 0.0), "seeker_0": (5.0, 5.5, np.pi / 2)}, boxes={0: (2.5, 3.0, 0.0)})
    env.step({"hider_0": act(grab=1), "seeker_0": STILL})
    assert env.replay_frame()["grabbed"][0] == 0
    # the box is knocked 1 m away with the weld still on: the next step's check drops the grab
    box_dof = 4 * env.n_agent_slots
    env.data.qpos[box_dof + 1] += 1.0
    mujoco.mj_forward(env.model, env.data)
    env.step({"hider_0": act(grab=1), "seeker_0": STILL})
    assert env.replay_frame()["grabbed"][0] == -1
    assert env.replay_frame()["box_pos"][0, 1] == pytest.approx(4.0, abs=0.05)  # not pulled back


def test_a_grab_drops_when_the_object_leaves_sight():
    env = scene_env(n_boxes=1)
    env.arrange(agents={"hider_0": (2.05, 3.0, 0.0), "seeker_0": (5.0, 5.5, np.pi / 2)}, boxes={0: (2.5, 3.0, 0.0)})
    env.step({"hider_0": act(grab=1), "seeker_0": STILL})
    assert env.rules.grabbed[0] == 0
    # manipulation.py re-chooses the grab every step among objects in sight (MaskActionWrapper)
    visible = np.zeros((env.n_agent_slots, env.n_objects), dtype=bool)
    env.rules.apply([True, False], [False, False], visible, np.random.default_rng(0))
    assert env.rules.grabbed[0] == -1
    assert not env.data.eq_active[env.index.grab_eq[0, 0]]


def test_a_grab_moves_to_a_closer_object():
    env = scene_env(n_boxes=2)
    env.arrange(
        agents={"hider_0": (2.05, 3.0, 0.0), "seeker_0": (5.0, 5.5, np.pi / 2)},
        boxes={0: (2.5, 3.0, 0.0), 1: (4.0, 3.0, 0.0)},
    )
    env.step({"hider_0": act(grab=1), "seeker_0": STILL})
    assert env.rules.grabbed[0] == 0
    visible = np.ones((env.n_agent_slots, env.n_objects), dtype=bool)
    env.data.qpos[4 * env.n_agent_slots + 4] = 2.05 + 0.2 + 0.25 - 0.05  # box 1 slid closer than box 0
    env.data.qpos[4 * env.n_agent_slots + 5] = 3.0
    env.data.qpos[4 * env.n_agent_slots] = 2.6
    mujoco.mj_kinematics(env.model, env.data)
    env.rules.apply([True, False], [False, False], visible, np.random.default_rng(0))
    assert env.rules.grabbed[0] == 1


SIDES = {
    "left": (2.55, 3.0, 0.0),
    "right": (3.45, 3.0, np.pi),
    "below": (3.0, 2.55, np.pi / 2),
    "above": (3.0, 3.45, -np.pi / 2),
}


def lock_scene():
    """Two hiders and two seekers around a cube at (3, 3), each 0.2 m from its faces, all seeing it."""
    env = scene_env(n_hiders=2, n_seekers=2, n_boxes=1)
    env.arrange(
        agents={
            "hider_0": (1.0, 1.0, 0.0),
            "hider_1": (1.0, 5.0, 0.0),
            "seeker_0": (5.0, 1.0, np.pi),
            "seeker_1": (5.0, 5.0, np.pi),
        },
        boxes={0: (3.0, 3.0, 0.0)},
    )
    return env


def place(env, **where):
    """Move the named agents next to the box (``SIDES``) and the others far away, then sense."""
    far = {
        "hider_0": (1.0, 1.0, 0.0),
        "hider_1": (1.0, 5.0, 0.0),
        "seeker_0": (5.0, 1.0, np.pi),
        "seeker_1": (5.0, 5.0, np.pi),
    }
    pose = env.data.qpos.reshape(env.n_entities, 4)
    for agent, spot in far.items():
        x, y, yaw = SIDES[where[agent]] if agent in where else spot
        pose[env.agent_slot[agent]] = (x, y, W.AGENT_RADIUS, yaw)
    env.data.qvel[:] = 0.0
    mujoco.mj_forward(env.model, env.data)
    env.arena.sense()
    env.game.sensed()


def press(env, **buttons) -> int:
    """One step with the given lock buttons (1 pressing, 0 idle); returns the box's lock team."""
    env.step({agent: act(lock=buttons.get(agent, 0)) for agent in env.agents})
    return int(env.replay_frame()["box_lock_team"][0])


def test_lock_precedence_all_lock_team_specific():
    env = lock_scene()
    # never locked: the "last locker" is agent 0, a hider; an idle hider in reach blocks a seeker's lock
    place(env, hider_0="left", seeker_0="right")
    assert press(env, seeker_0=1) == -1
    # ...while an idle seeker does not block a hider's lock
    place(env, hider_0="left", seeker_0="right")
    assert press(env, hider_0=1) == 0
    # an opponent pressing on a locked box changes nothing
    place(env, hider_0="left", seeker_0="right")
    assert press(env, hider_0=1, seeker_0=1) == 0
    # unlocking comes before locking: an idle hider unlocks although a seeker presses, and the
    # seeker cannot lock it in the same step
    place(env, hider_1="below", seeker_0="right")
    assert press(env, seeker_0=1) == -1
    # with no hider near, the seeker locks it; now seekers own it
    place(env, seeker_0="right")
    assert press(env, seeker_0=1) == 1
    # an idle hider cannot unlock a seekers' lock, an idle seeker can
    place(env, hider_0="left", seeker_0="right")
    assert press(env, seeker_0=1) == 1
    place(env, hider_0="left", seeker_1="above")
    assert press(env, hider_0=1) == -1
    # last locked by a seeker: an idle seeker blocks the hiders, an idle hider no longer blocks the seekers
    place(env, hider_0="left", seeker_1="above")
    assert press(env, hider_0=1) == -1
    place(env, hider_0="left", seeker_0="right")
    assert press(env, seeker_0=1) == 1


def test_the_locker_is_drawn_at_random_among_those_pressing():
    env = lock_scene()
    lockers = set()
    for trial in range(12):
        env.reset(seed=trial)
        env.arrange(
            agents={
                "hider_0": (1.0, 1.0, 0.0),
                "hider_1": (1.0, 5.0, 0.0),
                "seeker_0": (5.0, 1.0, np.pi),
                "seeker_1": (5.0, 5.0, np.pi),
            },
            boxes={0: (3.0, 3.0, 0.0)},
        )
        place(env, hider_0="left", hider_1="right")
        press(env, hider_0=1, hider_1=1)
        lockers.add(int(env.rules.locker[0]))
    assert lockers == {0, 1}


def test_out_of_the_quadrant_play_area_is_minus_ten_instead_of_the_game_reward():
    env = parallel_env("quadrant", prep_fraction=0.0, extra_wall_slots=0)
    env.reset(seed=0)
    pose = {
        "hider_0": (1.0, 1.0, 0.0),
        "hider_1": (1.0, 2.0, 0.0),
        "seeker_0": (5.0, 5.0, 0.0),
        "seeker_1": (5.95, 5.0, 0.0),
    }  # restrict_rect [0.1, 0.1, 5.9, 5.9]: seeker_1 is out
    env.arrange(agents=pose, walls=np.zeros((0, 5)))
    _, rewards, *_ = env.step({agent: STILL for agent in env.agents})
    assert rewards["seeker_1"] == -10.0
    assert {rewards[a] for a in ("hider_0", "hider_1", "seeker_0")} <= {1.0, -1.0}
    # an object out costs every agent -10 (penalize_objects_out)
    env.arrange(agents={**pose, "seeker_1": (5.0, 4.0, 0.0)}, boxes={0: (6.2, 3.0, 0.0)})
    _, rewards, *_ = env.step({agent: STILL for agent in env.agents})
    assert set(rewards.values()) == {-10.0}


def test_statistics_take_the_displacement_at_the_end_of_each_phase():
    # TrackStatWrapper: box displacement at the end of preparation and of the episode, not the largest
    env = scene_env(n_boxes=1, prep_fraction=0.5, horizon=24)
    env.arrange(agents={"hider_0": (2.05, 3.0, 0.0), "seeker_0": (5.5, 5.5, np.pi / 2)}, boxes={0: (2.5, 3.0, 0.0)})
    start = env.replay_frame()["box_pos"][0].copy()
    # drag the box off and back during the 12 preparation steps, then on in step 13: TrackStatWrapper
    # takes the "_prep" statistics at the first prep_obs == 1.0, 13 / (12 + 1e-5) (prep_phase.py)
    for move in [(0, 5, 5)] * 3 + [(10, 5, 5)] * 2 + [(5, 5, 5)] * 7 + [(0, 5, 5)]:
        env.step({"hider_0": act(move, grab=1), "seeker_0": STILL})
    mid = env.replay_frame()["box_pos"][0].copy()
    assert env.step_count == 13 and np.linalg.norm(mid - start) > 0.05  # step 13 moved the box
    for _ in range(11):
        *_, infos = env.step({"hider_0": act((0, 5, 5), grab=1), "seeker_0": STILL})
    stats = infos["hider_0"]["episode_stats"]
    end = env.replay_frame()["box_pos"][0]
    assert stats["max_box_move_prep"] == pytest.approx(np.linalg.norm(mid - start), abs=1e-6)
    assert stats["max_box_move"] == pytest.approx(np.linalg.norm(end - start), abs=1e-6)
