"""Public API: determinism, save/load, continuing and exact resume, and bad input."""

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces
from learner_scripted_envs import DyingAgentsEnv

from agents import ALGORITHMS, IPPO, MAPPO, NPG, PPO, REINFORCE, TRPO, Learner, NonFiniteLossError, checkpoint
from agents.checkpoint import CheckpointError
from agents.core.distributions import UnsupportedSpaceError

SMALL = dict(n_envs=2, n_steps=32, n_epochs=2, minibatch_size=32)


def parameters(algo):
    return [p.detach().clone() for p in algo.models.parameters()]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x, y)


def test_registry_names_every_algorithm():
    assert ALGORITHMS == {"ppo": PPO, "ippo": IPPO, "mappo": MAPPO, "trpo": TRPO, "npg": NPG, "reinforce": REINFORCE}


def test_the_base_class_loads_the_algorithm_a_checkpoint_names(tmp_path):
    trpo = TRPO("CartPole-v1", n_envs=2, n_steps=32)
    trpo.learn(64)
    loaded = Learner.load(trpo.save(tmp_path / "trpo.pt"))
    assert type(loaded) is TRPO and loaded.steps == 64
    assert_same(parameters(trpo), parameters(loaded))
    assert {name: Learner.registry[cls.__name__] for name, cls in ALGORITHMS.items()} == ALGORITHMS
    state = trpo.state_dict()
    state["algorithm"] = "SAC"
    with pytest.raises(ValueError, match="unknown algorithm 'SAC' in checkpoint; known: .*'TRPO'"):
        Learner.load(checkpoint.save(state, tmp_path / "sac.pt"))


def test_same_seed_same_first_two_updates_and_another_seed_differs():
    runs = []
    for seed in (3, 3, 4):
        algo = PPO("CartPole-v1", seed=seed, **SMALL)
        algo.learn(2 * 64)
        assert algo.updates == 2
        runs.append(parameters(algo))
    assert_same(runs[0], runs[1])
    assert any(not torch.equal(x, y) for x, y in zip(runs[0], runs[2]))


def test_second_learn_call_continues_the_step_counter():
    algo = PPO("CartPole-v1", **SMALL)
    seen = []
    algo.learn(64, callback=lambda m: seen.append((m["steps"], m["updates"])))
    algo.learn(128, callback=lambda m: seen.append((m["steps"], m["updates"])))
    assert seen == [(64.0, 1.0), (128.0, 2.0), (192.0, 3.0)]
    assert algo.steps == 192


def test_callback_returning_false_stops_after_that_update():
    algo = PPO("CartPole-v1", **SMALL)
    algo.learn(64 * 10, callback=lambda m: m["updates"] < 2)
    assert algo.updates == 2


def test_save_and_load_reproduce_deterministic_actions(tmp_path):
    algo = PPO("CartPole-v1", **SMALL).learn(128)
    observations = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    before = [algo.act(o) for o in observations]
    path = algo.save(tmp_path / "ppo.pt")
    loaded = PPO.load(path)
    assert loaded.steps == 128 and loaded.updates == 2
    assert [loaded.act(o) for o in observations] == before
    assert_same(parameters(algo), parameters(loaded))


@pytest.mark.parametrize(
    "make",
    [
        lambda: PPO("CartPole-v1", seed=1, **SMALL),
        lambda: PPO("CartPole-v1", seed=1, normalize_observations=True, normalize_rewards=True, **SMALL),
        lambda: MAPPO("mpe2.simple_spread_v3", seed=1, n_envs=2, n_steps=10, n_epochs=2, chunk_length=5),
        lambda: TRPO(lambda: DyingAgentsEnv(), seed=1, n_envs=2, n_steps=8, critic_epochs=2),
    ],
    ids=["ppo-cartpole", "ppo-normalised", "mappo-recurrent-spread", "trpo-dying-agents"],
)
def test_resume_equals_uninterrupted(make, tmp_path):
    uninterrupted = make()
    batch = uninterrupted.config.n_envs * uninterrupted.config.n_steps
    uninterrupted.learn(4 * batch)

    first = make()
    first.learn(2 * batch)
    path = first.save(tmp_path / "half.pt")
    del first
    resumed = type(uninterrupted).load(path, env=None if isinstance(uninterrupted.env_id, str) else DyingAgentsEnv)
    resumed.learn(2 * batch)
    assert resumed.steps == uninterrupted.steps
    assert_same(parameters(resumed), parameters(uninterrupted))


def test_single_and_multi_agent_act_shapes():
    single = PPO("CartPole-v1", **SMALL)
    action = single.act(np.zeros(4, np.float32))
    assert action in (0, 1)
    multi = MAPPO("mpe2.simple_spread_v3", n_envs=1, n_steps=10)
    env = multi.envs[0]
    observations, _ = env.reset(seed=0)
    actions = multi.act(observations, deterministic=False)
    assert set(actions) == set(observations) and all(env.action_space(a).contains(actions[a]) for a in actions)


@pytest.mark.parametrize(
    "algorithm, field, value, words",
    [
        (PPO, "learning_rate", -1e-3, "learning_rate must be a finite number > 0"),
        (PPO, "clip_range", 0.0, "clip_range must be a finite number > 0"),
        (PPO, "gamma", 1.5, "gamma must be a number in (0, 1]"),
        (MAPPO, "gamma", 0.0, "gamma must be a number in (0, 1]"),
        (TRPO, "max_kl", -0.01, "max_kl must be a finite number > 0"),
        (NPG, "step_size", 0.0, "step_size must be a finite number > 0"),
        (PPO, "n_envs", 0, "n_envs must be an integer >= 1"),
    ],
)
def test_bad_hyperparameters_fail_before_any_environment_is_built(algorithm, field, value, words):
    built = []

    def factory():
        built.append(1)
        return gymnasium.make("CartPole-v1")

    with pytest.raises(ValueError) as error:
        algorithm(factory, **{field: value})
    assert words in str(error.value)
    assert built == []


def test_unknown_hyperparameter_lists_closest_names():
    with pytest.raises(ValueError, match="unknown hyperparameter 'lerning_rate'.*closest: learning_rate"):
        PPO("CartPole-v1", lerning_rate=1e-3)
    with pytest.raises(ValueError, match="unknown hyperparameter set \\(preset=\\) 'mpee'.*did you mean \\['mpe'\\]"):
        MAPPO("mpe2.simple_spread_v3", preset="mpee")


def test_unknown_environment_id_lists_close_matches():
    with pytest.raises(ValueError, match="unknown environment id 'CartPole-v9'.*CartPole-v1"):
        PPO("CartPole-v9")


class OddSpaces(DyingAgentsEnv):
    def __init__(self, observation=None, action=None):
        super().__init__()
        self._odd_observation, self._odd_action = observation, action

    def observation_space(self, agent):
        return (
            self._odd_observation if agent == "walker_1" and self._odd_observation else super().observation_space(agent)
        )

    def action_space(self, agent):
        return self._odd_action if agent == "walker_1" and self._odd_action else super().action_space(agent)


def test_unsupported_spaces_name_the_agent_and_the_space():
    with pytest.raises(ValueError, match="agent 'walker_1'.*Text"):
        PPO(lambda: OddSpaces(observation=spaces.Text(5)))
    with pytest.raises(UnsupportedSpaceError, match="agent 'walker_1'.*Text"):
        PPO(lambda: OddSpaces(action=spaces.Text(5)))


def test_agents_with_different_spaces_get_different_groups():
    algo = PPO(lambda: OddSpaces(action=spaces.Discrete(4)), n_steps=4)
    assert [g.agents for g in algo.policy_groups] == [["walker_0", "walker_2"], ["walker_1"]]


def test_corrupt_checkpoint_and_mismatched_spaces_are_refused(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt.pt"):
        PPO.load(corrupt)
    algo = PPO(lambda: DyingAgentsEnv(), n_steps=4)
    path = algo.save(tmp_path / "dying.pt")

    class Wider(DyingAgentsEnv):
        def observation_space(self, agent):
            return spaces.Box(-np.inf, np.inf, (6,), np.float32)

    with pytest.raises(CheckpointError, match=r"dying.pt.*checkpoint \[4\] vs environment \[6\]"):
        PPO.load(path, env=Wider)
    with pytest.raises(ValueError, match="pass env="):
        PPO.load(path)


def test_non_finite_loss_stops_with_the_update_number_and_keeps_the_last_good_parameters():
    algo = PPO(lambda: DyingAgentsEnv(nan_reward_at=9), n_envs=1, n_steps=6, minibatch_size=8)
    algo.learn(6)
    good = parameters(algo)
    with pytest.raises(NonFiniteLossError, match="at update 2.*update 1 were kept"):
        algo.learn(6)
    assert algo.updates == 1 and algo.steps == 6
    assert_same(parameters(algo), good)
