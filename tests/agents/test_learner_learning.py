"""Learning checks: PPO solves CartPole, TRPO/NPG/REINFORCE improve and their updates move
the right way, MAPPO beats a random policy on simple_spread."""

import gymnasium
import numpy as np
import pytest
import torch

from agents import MAPPO, NPG, PPO, REINFORCE, TRPO


def evaluate(algo, episodes=20):
    env = gymnasium.make("CartPole-v1")
    returns = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=10_000 + episode)
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(algo.act(observation, deterministic=True))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def test_ppo_reaches_475_on_cartpole():
    algo = PPO(
        "CartPole-v1",
        seed=0,
        n_envs=8,
        n_steps=64,
        minibatch_size=256,
        n_epochs=10,
        gamma=0.98,
        gae_lambda=0.8,
        learning_rate=1e-3,
    )
    recent: list[float] = []

    def record(metrics):
        if "episode_return" in metrics:
            recent.append(metrics["episode_return"])

    score = 0.0
    while algo.steps < 100_000:
        algo.learn(8 * 64 * 10, callback=record)
        if np.mean(recent[-5:]) >= 450:
            score = evaluate(algo)
            if score >= 475:
                break
    assert score >= 475, f"mean deterministic return {score} after {algo.steps} steps"


def short_run(algorithm, steps, **kwargs):
    algo = algorithm("CartPole-v1", seed=0, n_envs=4, n_steps=256, **kwargs)
    returns = []
    algo.learn(steps, callback=lambda m: returns.append(m.get("episode_return", np.nan)))
    return algo, returns


@pytest.mark.parametrize("algorithm", [TRPO, NPG])
def test_natural_gradient_methods_improve_on_cartpole(algorithm):
    _, returns = short_run(algorithm, 12 * 1024)
    assert returns[0] < 30  # a random policy balances about 22 steps
    assert np.nanmean(returns[-2:]) > 100


def test_reinforce_improves_on_cartpole():
    _, returns = short_run(REINFORCE, 12 * 1024, learning_rate=1e-2)
    assert np.nanmean(returns[-2:]) > 2 * returns[0]


def one_update_stats(algorithm, **kwargs):
    stats = []
    algo = algorithm("CartPole-v1", seed=1, n_envs=2, n_steps=256, critic_epochs=1, **kwargs)
    before = [p.detach().clone() for p in algo.models[0].actor.parameters()]
    algo.learn(512, callback=lambda m: stats.append(m))
    moved = any(not torch.equal(a, b) for a, b in zip(before, algo.models[0].actor.parameters()))
    return stats[0], moved


def test_trpo_step_improves_the_surrogate_within_the_trust_region():
    stats, moved = one_update_stats(TRPO, max_kl=0.01)
    assert stats["loss/line_search_accepted"] == 1.0 and moved
    assert 0 < stats["loss/kl"] <= 0.01
    assert stats["loss/improvement"] > 0


def test_npg_step_has_the_peters_size_and_improves_the_surrogate():
    alpha = 0.05
    stats, moved = one_update_stats(NPG, step_size=alpha)
    assert moved and stats["loss/improvement"] > 0
    # With F^-1 g the step's quadratic KL is alpha^2 / 2; the true KL is close to it.
    assert stats["loss/kl"] == pytest.approx(alpha**2 / 2, rel=0.5)


def test_reinforce_step_raises_the_log_likelihood_of_positive_advantage_actions():
    algo = REINFORCE("CartPole-v1", seed=2, n_envs=2, n_steps=128, learning_rate=1e-2, critic_epochs=1)
    algo.collector.collect(list(algo.models), algo.storages, 128)
    batch = algo.prepare_batch(0)
    minibatch = batch.full(False)
    with torch.no_grad():
        before = (algo.evaluate(0, minibatch, with_values=False).log_probs * minibatch.advantages).mean()
    algo.rule.update(algo, 0, batch)
    with torch.no_grad():
        after = (algo.evaluate(0, minibatch, with_values=False).log_probs * minibatch.advantages).mean()
    assert after > before


def random_spread_return(episodes=256):
    import mpe2.simple_spread_v3 as spread

    env = spread.parallel_env()
    totals = []
    for episode in range(episodes):
        env.reset(seed=episode)
        rng = np.random.default_rng(episode)
        total = 0.0
        while env.agents:
            _, rewards, _, _, _ = env.step({a: int(rng.integers(5)) for a in env.agents})
            total += float(np.mean(list(rewards.values())))
        totals.append(total)
    return float(np.mean(totals)), float(np.std(totals) / np.sqrt(episodes))


def test_mappo_beats_a_random_policy_on_simple_spread():
    random_mean, random_error = random_spread_return()
    algo = MAPPO(
        "mpe2.simple_spread_v3",
        seed=0,
        preset="mpe",
        n_envs=32,
        recurrent=False,
        n_epochs=15,
        learning_rate=1e-3,
        critic_learning_rate=1e-3,
    )
    returns = []
    algo.learn(32 * 25 * 45, callback=lambda m: returns.append(m["episode_return"]))
    trained = float(np.mean(returns[-3:]))
    assert trained > random_mean + max(2.0, 3 * random_error), (trained, random_mean)


@pytest.mark.slow
def test_recurrent_mappo_with_the_mpe_preset_beats_a_random_policy():
    random_mean, random_error = random_spread_return()
    algo = MAPPO("mpe2.simple_spread_v3", seed=0, preset="mpe", n_envs=32)
    returns = []
    algo.learn(32 * 25 * 30, callback=lambda m: returns.append(m["episode_return"]))
    assert float(np.mean(returns[-3:])) > random_mean + max(3.0, 2 * random_error)
