"""Per-agent GAE with deaths, death masking, action masks, agent ids and critic inputs,
checked against independent computations on environments with known rules."""

import numpy as np
import pytest
import torch
from learner_scripted_envs import DyingAgentsEnv

from agents import IPPO, MAPPO, PPO
from agents.core.objectives import clipped_surrogate_loss, entropy_bonus, value_loss

GAMMA, LAM = 0.9, 0.8


def collect(algo):
    algo.collector.collect(list(algo.models), algo.storages, algo.config.n_steps)
    return algo.storages[0]


def plain_gae(rewards, values, alive, terminated, truncated, bootstrap, final_values):
    """Per (env, agent) sequence, a plain backward loop over the agent's own life."""
    steps, n_envs, n_agents = rewards.shape
    advantages = np.zeros_like(rewards)
    for e in range(n_envs):
        for a in range(n_agents):
            running = 0.0
            for t in reversed(range(steps)):
                if not alive[t, e, a]:
                    running = 0.0
                    continue
                if terminated[t, e, a]:
                    next_value, carry = 0.0, 0.0
                elif truncated[t, e, a]:
                    next_value, carry = bootstrap[t, e, a], 0.0
                else:
                    next_value = values[t + 1, e, a] if t + 1 < steps else final_values[e, a]
                    carry = running
                delta = rewards[t, e, a] + GAMMA * next_value - values[t, e, a]
                running = delta + GAMMA * LAM * carry
                advantages[t, e, a] = running
    return advantages


def test_agents_die_at_their_steps_and_gae_matches_a_plain_loop():
    algo = PPO(lambda: DyingAgentsEnv(), n_envs=2, n_steps=14, gamma=GAMMA, gae_lambda=LAM, normalize_advantage=False)
    storage = collect(algo)
    alive = storage.alive.numpy().astype(bool)
    # Episode of 6 steps: walker_0 lives steps 1-2, walker_1 steps 1-4, walker_2 all 6.
    expected = np.zeros((14, 3), dtype=bool)
    for start in (0, 6, 12):
        for a, life in enumerate((2, 4, 6)):
            expected[start : min(start + life, 14), a] = True
    assert (alive == expected[:, None, :]).all()
    assert storage.terminated[1, :, 0].eq(1).all() and storage.terminated[3, :, 1].eq(1).all()
    assert storage.truncated[5, :, 2].eq(1).all() and storage.truncated[5, :, :2].eq(0).all()
    # Rewards follow the rule (i + 1) + 0.1 t + 0.01 a for the living, zero for the dead.
    t_in_episode = (np.arange(14) % 6 + 1)[:, None, None]
    actions = storage.actions[..., 0].numpy()
    rule = (np.arange(3) + 1)[None, None, :] + 0.1 * t_in_episode + 0.01 * actions
    assert np.allclose(storage.rewards.numpy(), np.where(alive, rule, 0.0), atol=1e-5)

    batch = algo.prepare_batch(0)
    values = storage.value_outputs.numpy()
    reference = plain_gae(
        storage.rewards.numpy(),
        values,
        alive,
        storage.terminated.numpy(),
        storage.truncated.numpy(),
        storage.bootstrap_values.numpy(),
        storage.final_value_outputs.numpy(),
    )
    assert not algo.config.value_normalization  # so the batch's value targets are the returns themselves
    advantages = batch.advantages.reshape(14, 2, 3).numpy()
    returns = batch.returns.reshape(14, 2, 3).numpy()
    assert np.allclose(advantages, reference, atol=1e-5)
    assert np.allclose(returns[alive], (reference + values)[alive], atol=1e-5)
    assert int(batch.alive.sum()) == int(alive.sum())


def test_truncated_agents_bootstrap_from_their_final_observation():
    algo = PPO(lambda: DyingAgentsEnv(noisy=False), n_envs=1, n_steps=8)
    storage = collect(algo)
    # walker_2 is truncated at step 6: its bootstrap is V(final observation at t=6), not 0
    # and not the value of the first observation of the next episode.
    final_observation = torch.tensor([[[0.6, 2.0, 1.0, 0.0]]])
    with torch.no_grad():
        expected, _ = algo.models[0].critic(final_observation, torch.eye(3)[2].reshape(1, 1, 3))
        first_of_next, _ = algo.models[0].critic(
            torch.tensor([[[0.0, 2.0, 1.0, 0.0]]]), torch.eye(3)[2].reshape(1, 1, 3)
        )
    assert torch.allclose(storage.bootstrap_values[5, 0, 2], expected.reshape(()), atol=1e-6)
    assert not torch.allclose(expected, first_of_next)
    assert torch.allclose(storage.value_outputs[6, 0, 2], first_of_next.reshape(()), atol=1e-6)
    assert storage.bootstrap_values[:5].abs().sum() == 0 and storage.bootstrap_values[5, 0, :2].abs().sum() == 0


@pytest.mark.parametrize("recurrent", [False, True])
def test_dead_agent_data_has_exactly_zero_gradient(recurrent):
    algo = PPO(
        lambda: DyingAgentsEnv(),
        n_envs=2,
        n_steps=10,
        recurrent=recurrent,
        chunk_length=5,
        value_clip_range=0.2,
        entropy_coef=0.01,
    )
    collect(algo)
    batch = algo.prepare_batch(0)

    def gradients(batch):
        algo.models.zero_grad()
        minibatch = batch.full(recurrent)
        evaluation = algo.evaluate(0, minibatch)
        policy, _ = clipped_surrogate_loss(
            evaluation.log_probs, minibatch.old_log_probs, minibatch.advantages, 0.2, minibatch.mask
        )
        critic = value_loss(evaluation.values, minibatch.old_values, minibatch.returns, 0.2, 10.0, minibatch.mask)
        loss = policy + 0.5 * critic - 0.01 * entropy_bonus(evaluation.entropy, minibatch.mask)
        loss.backward()
        return [p.grad.clone() for p in algo.models.parameters() if p.grad is not None]

    before = gradients(batch)
    dead = batch.alive == 0
    assert dead.any()
    generator = torch.Generator().manual_seed(5)
    for name in ("observations", "old_log_probs", "old_values", "returns", "advantages", "actions"):
        tensor = getattr(batch, name)
        if name == "actions":
            noise = torch.randint(1, 3, tensor.shape, generator=generator).float()
            tensor = tensor.remainder(3)
        else:
            noise = torch.randn(tensor.shape, generator=generator) * 3
        mask = dead.reshape(*dead.shape, *([1] * (tensor.dim() - 2)))
        perturbed = tensor + noise
        if name == "actions":
            perturbed = perturbed.remainder(3)
        setattr(batch, name, torch.where(mask, perturbed, tensor))
    after = gradients(batch)
    assert len(before) == len(after) > 0
    # Recurrent chunks do pass dead steps through the GRU, but a dead step is the last one of
    # its agent's episode run, so nothing living comes after it within the same episode.
    for g0, g1 in zip(before, after):
        assert torch.equal(g0, g1)


def test_masked_actions_are_never_sampled_and_have_zero_probability():
    algo = PPO(lambda: DyingAgentsEnv(masked=True), n_envs=3, n_steps=30)
    storage = collect(algo)  # the environment raises on a masked action or a dead agent's action
    alive = storage.alive.bool()
    masks = storage.action_masks
    taken = storage.actions[..., 0].long()
    allowed = masks.gather(-1, taken.unsqueeze(-1)).squeeze(-1)
    assert allowed[alive].eq(1).all()
    t_in_episode = torch.arange(30) % 6
    forbidden = (t_in_episode % 3).reshape(30, 1, 1).expand(30, 3, 3)
    assert masks.gather(-1, forbidden.unsqueeze(-1)).squeeze(-1)[alive].eq(0).all()
    batch = algo.prepare_batch(0)
    minibatch = batch.full(False)
    minibatch.actions = batch.full(False).actions.clone()
    steps = t_in_episode.reshape(30, 1, 1).expand(30, 3, 3).reshape(30, 9)[batch.alive > 0]
    minibatch.actions[0, :, 0] = (steps % 3).float()
    evaluation = algo.evaluate(0, minibatch)
    assert torch.exp(evaluation.log_probs).eq(0).all()


def test_agent_id_one_hots_follow_the_group_order():
    algo = MAPPO(lambda: DyingAgentsEnv(), n_envs=2, n_steps=6, recurrent=False)
    collect(algo)
    batch = algo.prepare_batch(0)
    group = algo.policy_groups[0]
    assert group.agents == ["walker_0", "walker_1", "walker_2"]
    # Batch axis is env-major: sequence n = env * A + agent.
    for n in range(batch.actor_extra.shape[1]):
        expected = torch.zeros(3)
        expected[n % 3] = 1
        assert torch.equal(batch.actor_extra[:, n], expected.expand(6, 3))
        assert torch.equal(batch.critic_extra[:, n], expected.expand(6, 3))
    assert algo.models[0].actor.trunk.mlp.input_dim == 4 + 3


def test_mappo_critic_sees_the_state_and_ippo_critic_the_observation():
    mappo = MAPPO(lambda: DyingAgentsEnv(), n_envs=1, n_steps=6, recurrent=False)
    storage = collect(mappo)
    assert mappo.critic_mode == "state"
    t = torch.arange(6).float()
    for step in range(6):
        alive_flags = storage.alive[step, 0]
        expected = torch.tensor([t[step], *alive_flags.tolist(), 7.0])
        for agent in range(3):
            assert torch.equal(storage.critic_observations[step, 0, agent], expected)
    assert mappo.models[0].critic.trunk.mlp.input_dim == 5 + 3

    ippo = IPPO(lambda: DyingAgentsEnv(), n_envs=1, n_steps=6, recurrent=False)
    storage = collect(ippo)
    assert ippo.critic_mode == "observation" and storage.critic_observations is None
    minibatch = ippo.prepare_batch(0).full(False)
    assert minibatch.critic_observations is None  # evaluate() feeds the observations to the critic
    assert ippo.models[0].critic.trunk.mlp.input_dim == 4 + 3


def test_joined_critic_input_ignores_the_state_and_prints_no_notice(capsys):
    algo = MAPPO(lambda: DyingAgentsEnv(), n_envs=1, n_steps=6, recurrent=False, critic_input="joined")
    assert algo.critic_mode == "joined"
    assert capsys.readouterr().err == ""
    storage = collect(algo)
    for step in range(6):
        joined = storage.observations[step, 0].reshape(-1)
        for agent in range(3):
            assert torch.equal(storage.critic_observations[step, 0, agent], joined)
    assert algo.models[0].critic.trunk.mlp.input_dim == 12 + 3


def test_missing_state_falls_back_to_joined_observations_with_a_notice(capsys):
    class NoState(DyingAgentsEnv):
        state_space = None

        def __init__(self):
            super().__init__()
            self.state_space = None

    class QuietNoState(NoState):
        def __init__(self):
            super().__init__()
            self.noisy = False

    algo = MAPPO(QuietNoState, n_envs=1, n_steps=8, recurrent=False)
    assert algo.critic_mode == "joined"
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1 and "joined" in notice[0]
    storage = collect(algo)
    joined = storage.observations[0, 0].reshape(-1)
    assert torch.equal(storage.critic_observations[0, 0, 1], joined)
    # Dead agents are zeros in the joined input; the truncated walker_2 bootstraps from the
    # joined final observations (its own final observation, the dead ones zero).
    assert storage.critic_observations[3, 0, 0, :4].abs().sum() == 0
    final = torch.zeros(1, 1, 12)
    final[0, 0, 8:] = torch.tensor([0.6, 2.0, 1.0, 0.0])
    with torch.no_grad():
        expected, _ = algo.models[0].critic(final, torch.eye(3)[2].reshape(1, 1, 3))
    assert torch.allclose(storage.bootstrap_values[5, 0, 2], expected.reshape(()), atol=1e-6)


def test_reward_normalisation_divides_by_the_std_of_discounted_returns():
    algo = PPO(lambda: DyingAgentsEnv(noisy=False), n_envs=2, n_steps=12, gamma=0.5, normalize_rewards=True)
    storage = collect(algo)
    alive = storage.alive.numpy().astype(bool)
    t_in_episode = (np.arange(12) % 6 + 1)[:, None, None]
    raw = (np.arange(3) + 1)[None, None, :] + 0.1 * t_in_episode + 0.01 * storage.actions[..., 0].numpy()
    raw = np.where(alive, raw, 0.0)
    # Independent computation: per slot discounted returns, running variance over living slots.
    returns = np.zeros((2, 3))
    samples, expected = [], np.zeros_like(raw)
    for t in range(12):
        returns = (returns * 0.5 + raw[t]) * alive[t]
        samples.extend(returns[alive[t]].tolist())
        expected[t] = raw[t] / np.sqrt(np.var(samples) + 1e-8)
        done = np.maximum(storage.terminated[t].numpy(), storage.truncated[t].numpy())
        returns *= 1 - done
    assert np.allclose(storage.rewards.numpy(), expected, rtol=1e-4, atol=1e-6)
    # Reported returns stay on the environment's scale.
    finished, _, _ = algo.collector.tracker.drain()
    assert finished["walker"][0] == pytest.approx(raw[0:6, 0].sum(axis=0).mean(), rel=1e-5)


@pytest.mark.parametrize("algorithm", [MAPPO, IPPO])
@pytest.mark.parametrize("pass_rows", [8192, 7])
def test_values_computed_after_the_rollout_equal_a_critic_pass_per_step(monkeypatch, algorithm, pass_rows):
    monkeypatch.setattr("agents.collection.VALUE_PASS_ROWS", pass_rows)
    algo = algorithm(lambda: DyingAgentsEnv(), n_envs=2, n_steps=9, recurrent=False)
    storage = collect(algo)
    critic = algo.models[0].critic
    source = storage.critic_observations if storage.critic_observations is not None else storage.observations
    with torch.no_grad():
        for step in range(9):
            for e in range(2):
                for agent in range(3):
                    one_hot = torch.eye(3)[agent].reshape(1, 1, 3)
                    value, _ = critic(source[step, e, agent].reshape(1, 1, -1), one_hot)
                    assert storage.value_outputs[step, e, agent] == pytest.approx(value.item(), abs=1e-5)
    assert storage.value_outputs.abs().sum() > 0
