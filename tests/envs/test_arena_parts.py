"""The arena composed of parts: a game replaces hide and seek without subclassing, the state is
the observations' features, and renderers read a public view."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
from arena_scenes import STILL

import envs
from envs.hide_and_seek import HideAndSeekEnv
from envs.hide_and_seek.observations import AGENT_FEATURES, OBJECT_FEATURES
from envs.hide_and_seek.tasks import TaskGame, make_task


class StayNearTheCentre(TaskGame):
    """A game of one's own: minus the agent's distance from the floor's centre, every step."""

    name = "stay_near_the_centre_v0"
    defaults = dict(scenario="empty", n_boxes=1, n_elongated_boxes=0, n_ramps=0, horizon=20)

    def rewards(self, in_prep: bool) -> tuple[np.ndarray, bool]:
        centre = self.config.floor_size / 2.0
        distance = float(np.hypot(*(self.agent_xy() - centre)))
        return np.full(self.env.n_agent_slots, -distance), distance < 0.05


def test_a_game_of_ones_own_scores_the_arena_without_subclassing_it():
    env = make_task(StayNearTheCentre)
    assert type(env) is HideAndSeekEnv and env.metadata["name"] == "stay_near_the_centre_v0"
    assert env.possible_agents == ["agent_0"]
    env.reset(seed=0)
    env.arrange(agents={"agent_0": (4.0, 3.0, 0.0)})
    _, rewards, terminations, *_ = env.step({"agent_0": STILL})
    x, y = env.agent_pose[0, :2]
    assert rewards["agent_0"] == pytest.approx(-np.hypot(x - 3.0, y - 3.0)) and rewards["agent_0"] < -0.9
    assert not terminations["agent_0"]
    env.arrange(agents={"agent_0": (3.0, 3.0, 0.0)})
    _, rewards, terminations, _, infos = env.step({"agent_0": STILL})
    assert terminations["agent_0"] and rewards["agent_0"] > -0.05
    assert set(infos["agent_0"]["episode_stats"]) == {"max_box_move", "num_box_lock", "max_ramp_move", "num_ramp_lock"}


@pytest.mark.parametrize("preset", ["quadrant", "full_game"])
def test_the_state_holds_every_slots_observed_features(preset):
    env = envs.make("hide_and_seek_v0", preset=preset)
    observations, _ = env.reset(seed=3)
    for _ in range(40):
        observations, *_ = env.step({agent: env.action_space(agent).sample() for agent in env.agents})
    state = env.state()
    A, n_objects = env.n_agent_slots, env.n_objects
    agents = state[: A * (AGENT_FEATURES + 1)].reshape(A, AGENT_FEATURES + 1)
    objects = state[A * (AGENT_FEATURES + 1) : -2].reshape(n_objects, OBJECT_FEATURES)
    for name, observation in observations.items():
        slot = env.agent_slot[name]
        np.testing.assert_array_equal(agents[slot, :AGENT_FEATURES], observation["self"])
        seen = observation["boxes_mask"] > 0  # what an agent sees of a box is the state's box, less the lock flags
        np.testing.assert_array_equal(objects[: env.n_box_slots][seen, :12], observation["boxes"][seen, :12])
    np.testing.assert_array_equal(agents[:, AGENT_FEATURES], env.agent_present)
    np.testing.assert_array_equal(objects[:, 14], env.object_present)
    assert (agents[~env.agent_present][:, :AGENT_FEATURES] == 0).all()
    assert state[-1] == pytest.approx(env.step_count / env.config.horizon)


def test_renderers_and_games_read_no_private_state_and_no_code_compares_scenario_names():
    package = pathlib.Path(envs.__file__).parent / "hide_and_seek"
    for module in ("rendering.py", "game.py", "tasks.py"):
        source = (package / module).read_text()
        assert not re.search(r"\benv\._", source), f"{module} reads the environment's private state"
    for module in package.glob("*.py"):
        assert not re.search(r"scenario\s*==|scenario\s+in\s", module.read_text()), module.name


def test_a_game_given_by_name_is_one_clear_error():
    with pytest.raises(ValueError, match="game must be a class or function"):
        envs.make("hide_and_seek_v0", game="LockAndReturn")
