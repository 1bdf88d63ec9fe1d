"""IPPO and MAPPO on third-party PettingZoo environments (continuous actions, agents dying)
and on the arena's two-team quadrant game; adapters for Gymnasium and AEC environments."""

import importlib.util
import math

import gymnasium
import pytest
import torch
from learner_scripted_envs import DyingAgentsEnv, TwoTeamsEnv

from agents import IPPO, MAPPO
from agents.environments import GymnasiumParallelEnv, to_parallel


def losses_are_finite(metrics):
    losses = {k: v for k, v in metrics.items() if k.startswith("loss/")}
    return bool(losses) and all(math.isfinite(v) for v in losses.values())


@pytest.mark.parametrize("algorithm", [IPPO, MAPPO])
def test_continuous_actions_on_simple_spread(algorithm):
    import mpe2.simple_spread_v3 as spread

    algo = algorithm(lambda: spread.parallel_env(continuous_actions=True), n_envs=2, n_steps=30, n_epochs=2)
    metrics = []
    algo.learn(2 * 30 * 2, callback=metrics.append)
    assert algo.collector.slots[0].codec.action_dim == 5
    assert all(losses_are_finite(m) for m in metrics)


@pytest.mark.skipif(importlib.util.find_spec("Box2D") is None, reason="multiwalker needs Box2D, which is not installed")
@pytest.mark.parametrize("algorithm", [IPPO, MAPPO])
def test_multiwalker(algorithm):
    from pettingzoo.sisl import multiwalker_v9

    algo = algorithm(multiwalker_v9.parallel_env, n_envs=2, n_steps=20, n_epochs=2, chunk_length=10)
    metrics = []
    algo.learn(80, callback=metrics.append)
    assert all(losses_are_finite(m) for m in metrics)


@pytest.mark.parametrize("algorithm", [IPPO, MAPPO])
def test_knights_archers_zombies_with_agents_dying(algorithm):
    from pettingzoo.butterfly import knights_archers_zombies_v11 as kaz

    algo = algorithm(
        lambda: kaz.parallel_env(max_cycles=120, spawn_delay=2, max_zombies=20, line_death=True),
        n_envs=2,
        n_steps=60,
        n_epochs=2,
        chunk_length=10,
    )
    assert sorted(g.name for g in algo.policy_groups) == ["archer", "knight"]
    metrics, deaths = [], []

    def record(m):
        metrics.append(m)
        # An agent died mid-episode when it is dead while someone in its env is still alive.
        alive = [storage.alive for storage in algo.storages]
        anyone = sum(a.sum(dim=-1) for a in alive) > 0
        deaths.append(any(bool(((a == 0) & anyone.unsqueeze(-1)).any()) for a in alive))

    algo.learn(4 * 120, callback=record)
    assert all(losses_are_finite(m) for m in metrics)
    assert any(deaths)
    assert any("episode_return/archer" in m and "episode_return/knight" in m for m in metrics)


def test_two_teams_learn_their_own_opposed_rewards():
    algo = IPPO(TwoTeamsEnv, n_envs=2, n_steps=10, recurrent=False)
    assert [g.name for g in algo.policy_groups] == ["red", "blue"]
    metrics = []
    algo.learn(40, callback=metrics.append)
    red, blue = algo.storages
    assert float(red.rewards.sum()) == -float(blue.rewards.sum())
    for m in metrics:
        assert m["episode_return/red"] == pytest.approx(-m["episode_return/blue"])
        assert "loss/red/policy" in m and "loss/blue/policy" in m


@pytest.mark.skipif(importlib.util.find_spec("envs.hide_and_seek_v0") is None, reason="the arena is not available")
def test_two_team_self_play_on_the_quadrant_game():
    import envs.hide_and_seek_v0 as arena

    algo = MAPPO(lambda: arena.parallel_env("quadrant", horizon=20), n_envs=1, n_steps=20, n_epochs=2, chunk_length=10)
    assert {g.name for g in algo.policy_groups} == {"hider", "seeker"}
    assert algo.critic_mode == "state"
    metrics = []
    algo.learn(40, callback=metrics.append)
    assert len(metrics) == 2
    for m in metrics:
        assert losses_are_finite(m)
        assert "episode_return/hider" in m and "episode_return/seeker" in m


def test_gymnasium_env_is_a_one_agent_parallel_env():
    env = to_parallel(gymnasium.make("CartPole-v1"))
    assert isinstance(env, GymnasiumParallelEnv) and env.possible_agents == ["agent"]
    observations, _ = env.reset(seed=0)
    done = False
    steps = 0
    while not done:
        _, rewards, terminations, truncations, _ = env.step({"agent": 1})
        steps += 1
        done = terminations["agent"] or truncations["agent"]
    assert env.agents == [] and 5 < steps < 100


@pytest.mark.parametrize("algorithm_name", ["trpo", "npg", "reinforce"])
def test_every_update_rule_trains_teams_with_masks_deaths_and_recurrence(algorithm_name):
    from agents import ALGORITHMS

    algorithm = ALGORITHMS[algorithm_name]
    teams = algorithm(TwoTeamsEnv, n_envs=2, n_steps=10, critic_input="state")
    metrics = []
    teams.learn(40, callback=metrics.append)
    assert teams.critic_mode == "joined" and len(teams.policy_groups) == 2
    assert all(losses_are_finite(m) and "loss/red/value" in m for m in metrics)
    dying = algorithm(lambda: DyingAgentsEnv(masked=True), n_envs=2, n_steps=12, recurrent=True, chunk_length=4)
    before = [p.detach().clone() for p in dying.models[0].actor.parameters()]
    dying.learn(48)  # the environment raises on masked actions or actions for dead agents
    assert any(not torch.equal(a, b) for a, b in zip(before, dying.models[0].actor.parameters()))


class StatelessAfterTheEndEnv(DyingAgentsEnv):
    """Every agent terminates by step 3, after which ``state()`` fails (as multiwalker's does
    once its walkers are gone)."""

    def __init__(self):
        super().__init__(death_steps=(2, 3, 3))

    def state(self):
        if not self.agents:
            raise AttributeError("the walkers are gone")
        return super().state()


def test_a_state_critic_never_asks_for_the_state_of_an_episode_that_terminated():
    learner = MAPPO(StatelessAfterTheEndEnv, seed=0, n_envs=2, n_steps=8, critic_input="state")
    learner.learn(32)
    assert learner.steps == 32
