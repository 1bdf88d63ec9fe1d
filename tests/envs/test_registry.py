"""The registry resolves every kind of id, lists only what exists, and explains unknown ids."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test

import envs
from envs import registry
from envs.navigation import NavigationEnv

DOCS_ENVS = Path(__file__).resolve().parents[2] / "docs" / "envs"


@pytest.fixture
def example_on_path(monkeypatch):
    """Put the documented custom-environment example on ``sys.path``."""
    monkeypatch.syspath_prepend(str(DOCS_ENVS))
    yield
    sys.modules.pop("custom_env_example", None)


def test_ids_lists_exactly_the_registered_environments_whose_module_exists():
    listed = envs.ids()
    assert "navigation_v0" in listed
    for env_id, entry in registry._SUITE.items():
        assert (env_id in listed) == (importlib.util.find_spec(entry.module) is not None)
    arena_file = Path(envs.__file__).parent / "hide_and_seek_v0.py"
    assert ("hide_and_seek_v0" in listed) == arena_file.exists()


def test_listing_ids_imports_no_environment():
    code = (
        "import sys, envs; envs.ids(); envs.describe('navigation_v0');"
        "print(any(m in sys.modules for m in ('mujoco', 'envs.navigation_v0', 'envs.hide_and_seek_v0', 'torch')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_suite_id_builds_our_parallel_env_with_kwargs():
    env = envs.make("navigation_v0", n_agents=4, max_cycles=7)
    assert isinstance(env, NavigationEnv) and isinstance(env, ParallelEnv)
    assert env.possible_agents == [f"agent_{i}" for i in range(4)]
    assert env.config.max_cycles == 7
    assert envs.describe("navigation_v0") == registry._SUITE["navigation_v0"].description


def test_pettingzoo_module_paths_give_their_parallel_env():
    spread = envs.make("mpe2.simple_spread_v3", N=2, max_cycles=5)
    assert isinstance(spread, ParallelEnv)
    assert spread.possible_agents == ["agent_0", "agent_1"]
    spread.reset(seed=0)
    spread.close()
    kaz = envs.make("pettingzoo.butterfly.knights_archers_zombies_v11", num_archers=1, num_knights=1)
    assert isinstance(kaz, ParallelEnv) and len(kaz.possible_agents) == 2
    kaz.close()
    assert envs.describe("mpe2.simple_spread_v3").endswith("Simple Spread")


def test_gymnasium_ids_give_gymnasium_envs_with_kwargs():
    env = envs.make("CartPole-v1", max_episode_steps=3)
    assert isinstance(env, gymnasium.Env)
    env.reset(seed=0)
    for _ in range(3):
        _, _, terminated, truncated, _ = env.step(0)
    assert truncated or terminated
    assert "CartPole-v1" in envs.describe("CartPole-v1")


def test_module_factory_ids_load_the_documented_custom_environment(example_on_path):
    env = envs.make("custom_env_example:parallel_env", n_agents=3, size=4)
    assert type(env).__name__ == "MeetingPointEnv" and len(env.possible_agents) == 3
    parallel_api_test(env, num_cycles=40)
    assert envs.describe("custom_env_example:parallel_env").startswith("The factory that")


def test_custom_environment_example_follows_its_rules(example_on_path):
    env = envs.make("custom_env_example:parallel_env", n_agents=2, size=3, max_cycles=10)
    env.reset(seed=0)
    env.cells = np.array([[0, 0], [2, 0]])
    # Agent 0 moves right, agent 1 left: cells (1, 0) and (1, 0) coincide, the team has met.
    _, rewards, terminations, truncations, infos = env.step({"walker_0": 2, "walker_1": 1})
    assert rewards == {"walker_0": 0.0, "walker_1": 0.0}
    assert all(terminations.values()) and not any(truncations.values())
    assert infos["walker_0"]["episode_stats"] == {"met": 1.0, "steps": 1.0}
    env.reset(seed=0)
    env.cells = np.array([[0, 0], [2, 2]])
    observations, rewards, terminations, _, _ = env.step({"walker_0": 1, "walker_1": 4})  # both into the border
    assert rewards["walker_0"] == -1.0 and not any(terminations.values())
    np.testing.assert_array_equal(observations["walker_1"], [2, 2, 0, 0])


def test_make_factory_is_lazy_picklable_and_builds_fresh_envs():
    factory = envs.make_factory("navigation_v0", n_agents=2)
    restored = pickle.loads(pickle.dumps(factory))
    first, second = factory(), restored()
    assert first is not second
    assert first.possible_agents == second.possible_agents == ["agent_0", "agent_1"]
    with pytest.raises(ValueError, match="navigation_v0"):
        envs.make_factory("navigation_v9")


def test_make_factory_checks_arguments_before_building(example_on_path):
    with pytest.raises(ValueError, match="did you mean n_agents"):
        envs.make_factory("navigation_v0", n_agent=2)
    with pytest.raises(ValueError, match="max_cycles must be an integer >= 1"):
        envs.make_factory("navigation_v0", max_cycles=0)
    with pytest.raises(ValueError, match=r"takes no argument 'n' \(did you mean N\?\)"):
        envs.make_factory("mpe2.simple_spread_v3", n=3)
    with pytest.raises(ValueError, match="did you mean n_agents"):
        envs.make_factory("custom_env_example:parallel_env", n_agent=3)
    assert envs.make_factory("mpe2.simple_spread_v3", N=2)().possible_agents == ["agent_0", "agent_1"]


@pytest.mark.parametrize(
    ("bad_id", "suggestion"),
    [
        ("navigation_v1", "navigation_v0"),
        ("navigaton_v0", "navigation_v0"),
        ("CartPol-v1", "CartPole-v1"),
        ("mpe2.simple_spred_v3", "mpe2.simple_spread_v3"),
        ("pettingzoo.sisl.multiwalker_v8", "pettingzoo.sisl.multiwalker_v9"),
        ("knights_archers_zombies_v10", "pettingzoo.butterfly.knights_archers_zombies_v11"),
        ("envs.navigation_v0:paralel_env", "envs.navigation_v0:parallel_env"),
    ],
)
def test_unknown_ids_raise_with_close_matches(bad_id, suggestion):
    with pytest.raises(ValueError) as error:
        envs.make(bad_id)
    message = str(error.value)
    assert bad_id in message
    assert suggestion in message.split("Did you mean")[-1] or f"did you mean {suggestion}" in message


def test_unknown_module_and_empty_ids():
    with pytest.raises(ValueError, match="unknown environment id 'nosuchpackage.nowhere:factory'"):
        envs.make("nosuchpackage.nowhere:factory")
    with pytest.raises(ValueError, match="non-empty string"):
        envs.make("")
    with pytest.raises(ValueError, match="has neither parallel_env"):
        envs.make("envs.scene")
    with pytest.raises(ValueError, match="neither parallel_env"):
        envs.make_factory("envs.scene")  # refused before any worker builds it


def test_suite_entry_without_its_module_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(registry, "_SUITE", dict(registry._SUITE))
    registry.register("imaginary_v0", "envs.imaginary_v0", "Not written yet.")
    assert "imaginary_v0" not in envs.ids()
    with pytest.raises(ValueError, match="not in this installation"):
        envs.make("imaginary_v0")


def test_register_adds_a_suite_id(monkeypatch, example_on_path):
    monkeypatch.setattr(registry, "_SUITE", dict(registry._SUITE))
    envs.register("meeting_point_v0", "custom_env_example", "Agents meet on one grid cell.")
    assert "meeting_point_v0" in envs.ids()
    assert type(envs.make("meeting_point_v0")).__name__ == "MeetingPointEnv"
    with pytest.raises(ValueError, match="already registered"):
        envs.register("meeting_point_v0", "somewhere_else", "Duplicate.")
    with pytest.raises(ValueError, match="plain identifier"):
        envs.register("bad id", "custom_env_example", "Spaces are not allowed.")


def test_summaries_describe_agents_and_spaces():
    rows = envs.summaries()
    assert [row.env_id for row in rows] == envs.ids()
    navigation = next(row for row in rows if row.env_id == "navigation_v0")
    assert navigation.agents == "3: agent_0, agent_1, agent_2"
    assert navigation.observation_space == "Box([-inf, inf], (14,), float32)"
    assert navigation.action_space == "Discrete(5)"
    assert navigation.description == envs.describe("navigation_v0")
    (cartpole,) = envs.summaries(["CartPole-v1"])
    assert cartpole.agents == "(single agent)" and cartpole.action_space == "Discrete(2)"


def test_space_summary_of_structured_spaces():
    space = spaces.Dict({"pos": spaces.Box(0, 1, (3,)), "move": spaces.MultiDiscrete([3, 3, 2])})
    assert envs.space_summary(space) == "Dict(move: MultiDiscrete([3, 3, 2]), pos: Box([0, 1], (3,), float32))"
    assert envs.space_summary(spaces.Tuple((spaces.Discrete(4, start=1), spaces.MultiBinary(2)))) == (
        "Tuple(Discrete(4, start=1), MultiBinary(2))"
    )


def test_code_reference_tells_ids_that_name_code_without_importing_them():
    before = set(sys.modules)
    for env_id in (
        "navigation_v0",
        "CartPole-v1",
        "mpe2.simple_spread_v3",
        "pettingzoo.sisl.multiwalker_v9",
        "envs.navigation_v0",
        "no_such_suite_id_v0",
    ):
        assert registry.code_reference(env_id) is None, env_id
    assert registry.code_reference("os:system") == "'system' of module 'os'"
    assert registry.code_reference("a_package_never_imported.envs_v0") == "module 'a_package_never_imported.envs_v0'"
    assert registry.code_reference("pettingzoo.x:system") is not None  # a factory form is code, whatever its module
    assert registry.code_reference("a_package_never_imported:make") is not None
    assert "a_package_never_imported" not in set(sys.modules) - before


def test_a_program_can_trust_one_factory_id_it_imports_itself(example_on_path):
    env_id = "custom_env_example:parallel_env"
    assert registry.code_reference(env_id) is not None
    registry.trust_env_id(env_id)
    try:
        assert registry.code_reference(env_id) is None
        assert registry.code_reference("custom_env_example:other") is not None  # exactly that id
    finally:
        registry._TRUSTED_IDS.discard(env_id)
    with pytest.raises(ValueError, match="takes a 'package.module:factory' id"):
        registry.trust_env_id("navigation_v0")
