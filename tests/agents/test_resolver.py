"""One resolver for ids: the learner makes every id the command line makes, through the registry
that the suite advertises (an entry point, or its module when no entry point is installed)."""

from __future__ import annotations

import importlib.metadata
import pickle
import sys
import types

import pytest
from pettingzoo import AECEnv

import envs
from agents import IPPO, MAPPO, PPO, env_resolver
from agents.env_resolver import REGISTRY_GROUP, code_reference, environment_registry, factory_from_id
from envs import registry as suite_registry


def entry_points_returning(*entries):
    """A stand-in for ``importlib.metadata.entry_points`` that knows only ``entries``."""

    def entry_points(group=None):
        return [entry for entry in entries if entry.group == group]

    return entry_points


@pytest.fixture
def without_entry_point(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points_returning())


@pytest.fixture
def with_entry_point(monkeypatch):
    entry = importlib.metadata.EntryPoint(name="suite", value="envs.registry", group=REGISTRY_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points_returning(entry))


@pytest.mark.parametrize("installed", ["with_entry_point", "without_entry_point"])
def test_suite_ids_train_from_the_python_api(installed, request):
    request.getfixturevalue(installed)
    assert environment_registry() is suite_registry
    learner = MAPPO("navigation_v0", n_steps=10, n_envs=2)
    assert learner.possible_agents == envs.make("navigation_v0").possible_agents
    learner.learn(20)
    assert learner.steps >= 20


def test_the_entry_point_decides_which_registry_resolves(monkeypatch):
    """A registry advertised through the group is used, not the suite's module looked up by name."""
    calls = []
    fake = types.ModuleType("fake_environment_registry")
    fake.make_factory = lambda env_id: calls.append(env_id) or (lambda: envs.make("CartPole-v1"))
    fake.code_reference = lambda env_id: "always code"
    monkeypatch.setitem(sys.modules, "fake_environment_registry", fake)
    entry = importlib.metadata.EntryPoint(name="a_fake", value="fake_environment_registry", group=REGISTRY_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points_returning(entry))
    assert PPO("anything_v0", n_steps=10).single_agent
    assert calls == ["anything_v0"] and code_reference("CartPole-v1") == "always code"


def test_without_any_registry_only_gymnasium_ids_resolve(monkeypatch, without_entry_point):
    monkeypatch.setattr(env_resolver, "FALLBACK_REGISTRY", "no_such_package_anywhere.registry")
    assert environment_registry() is None
    assert PPO("CartPole-v1", n_steps=10).single_agent
    with pytest.raises(ValueError, match="unknown environment id 'navigation_v0': no environment registry"):
        factory_from_id("navigation_v0")
    assert code_reference("CartPole-v1") is None
    assert code_reference("navigation_v0") is not None  # nothing vouches for it


@pytest.mark.parametrize(
    "env_id, agents",
    [
        ("navigation_v0", ["agent_0", "agent_1", "agent_2"]),
        ("CartPole-v1", ["agent"]),
        ("mpe2.simple_spread_v3", ["agent_0", "agent_1", "agent_2"]),
        ("pettingzoo.classic.tictactoe_v3", ["player_1", "player_2"]),
        ("classic/tictactoe_v3", ["player_1", "player_2"]),
        ("envs.navigation_v0:parallel_env", ["agent_0", "agent_1", "agent_2"]),
    ],
)
def test_every_kind_of_id_resolves_the_same_for_learner_and_registry(env_id, agents):
    learner = IPPO(env_id, n_steps=10)
    assert learner.possible_agents == agents
    made = envs.make(env_id)
    assert list(getattr(made, "possible_agents", ["agent"])) == agents


def test_turn_based_modules_give_their_aec_env():
    assert isinstance(envs.make("classic/tictactoe_v3").unwrapped, AECEnv)
    assert envs.make_factory("classic/tictactoe_v3", render_mode=None)().possible_agents == ["player_1", "player_2"]
    with pytest.raises(ValueError, match="takes no argument 'board'"):
        envs.make_factory("classic/tictactoe_v3", board=3)


def test_factories_from_ids_are_picklable_for_remote_workers():
    factory = factory_from_id("navigation_v0")
    assert pickle.loads(pickle.dumps(factory))().possible_agents == ["agent_0", "agent_1", "agent_2"]


def test_unknown_ids_are_one_error_with_close_matches():
    with pytest.raises(ValueError, match="unknown environment id 'navigation_v1'.*navigation_v0"):
        MAPPO("navigation_v1")
    with pytest.raises(ValueError, match="unknown environment id 'classic/tictactoe_v9'.*tictactoe_v3"):
        IPPO("classic/tictactoe_v9")


def test_the_trust_check_is_the_registry_s():
    """Checkpoints ask the same question as config files and replays, answered in one place."""
    for env_id in (
        "navigation_v0",
        "CartPole-v1",
        "classic/tictactoe_v3",
        "pettingzoo.classic.tictactoe_v3",
        "os:system",
        "os.path",
        "envs.registry:make",
        "unknown_plain_id_v0",
    ):
        assert code_reference(env_id) == suite_registry.code_reference(env_id), env_id
    assert code_reference("classic/tictactoe_v3") is None
    assert code_reference("os:system") is not None
