"""Turn-based (AEC) collection: each agent acts on its own current observation and mask when its
turn comes, and each agent's transitions hold its own decisions with the rewards it received
until its next turn."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces
from learner_scripted_envs import DyingAgentsEnv
from pettingzoo import AECEnv

from agents import IPPO, PPO, REINFORCE
from agents.acting import ActionMaskError
from agents.environments import to_parallel
from agents.turn_based import TurnBasedEnv

FINAL_BONUS = 100.0


class ScriptedTurnGame(AECEnv):
    """Two players alternate; a game lasts ``3 + seed % 4`` turns, so env copies fall out of step.

    Observation of either player: ``[turn, own index, the other's last action]`` with an action
    mask allowing actions ``turn % 3`` and ``(turn + 1) % 3`` of ``Discrete(3)`` (a mask read one
    turn early is wrong). After the move at turn ``t`` with action ``a`` the mover receives 1 and
    the waiting player ``10 (t + 1) + a``; the last move adds ``+100`` to the mover and ``-100``
    to the other. The game raises on a move its current mask forbids, and logs every move. With
    ``stranger_at``, an undeclared agent ``stranger`` takes the turn at that turn.
    """

    metadata = {"name": "scripted_turns_v0", "render_modes": [], "is_parallelizable": False}

    def __init__(self, empty_mask_at: int | None = None, truncate: bool = False, stranger_at: int | None = None):
        super().__init__()
        self.possible_agents = ["player_0", "player_1"]
        self.empty_mask_at = empty_mask_at
        self.stranger_at = stranger_at
        self.truncate = truncate
        self.log: list[dict] = []
        self.episode = -1
        self._observation_space = spaces.Dict(
            {"observation": spaces.Box(0, 1000, (3,), np.float32), "action_mask": spaces.MultiBinary(3)}
        )

    def observation_space(self, agent):
        return self._observation_space

    def action_space(self, agent):
        return spaces.Discrete(3)

    def reset(self, seed=None, options=None):
        self.length = 3 + (seed or 0) % 4
        self.turn = 0
        self.episode += 1
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self.last_action = dict.fromkeys(self.agents, 0)
        self.agent_selection = "player_0"

    def _mask(self):
        mask = np.zeros(3, dtype=np.int8)
        if self.turn != self.empty_mask_at:
            mask[[self.turn % 3, (self.turn + 1) % 3]] = 1
        return mask

    def observe(self, agent):
        other = self.possible_agents[1 - self.possible_agents.index(agent)]
        vector = np.array([self.turn, self.possible_agents.index(agent), self.last_action[other]], np.float32)
        return {"observation": vector, "action_mask": self._mask()}

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            return self._was_dead_step(action)
        observation = self.observe(agent)
        if not observation["action_mask"][action]:
            raise AssertionError(f"illegal move {action} by {agent} at turn {self.turn}")
        other = self.possible_agents[1 - self.possible_agents.index(agent)]
        self.rewards = {agent: 1.0, other: 10.0 * (self.turn + 1) + action}
        last = self.turn == self.length - 1
        if last:
            self.rewards[agent] += FINAL_BONUS
            self.rewards[other] -= FINAL_BONUS
            ended = self.truncations if self.truncate else self.terminations
            for name in self.agents:
                ended[name] = True
        self.log.append(
            {
                "episode": self.episode,
                "agent": agent,
                "action": int(action),
                "observation": observation,
                "rewards": dict(self.rewards),
                "last": last,
            }
        )
        self.last_action[agent] = int(action)
        self.turn += 1
        self.agent_selection = other
        if self.turn == self.stranger_at:
            self.agents.append("stranger")
            self.agent_selection = "stranger"
        self._accumulate_rewards()


def expected_decisions(log: list[dict]) -> dict[str, list[dict]]:
    """Each agent's decisions from a game's log: observation, action, the reward it received from
    its move until its next move (or the episode's end), and whether it was its last decision."""
    decisions: dict[str, list[dict]] = {"player_0": [], "player_1": []}
    for index, move in enumerate(log):
        agent = move["agent"]
        reward = 0.0
        for later in log[index:]:
            if later["episode"] != move["episode"] or (later is not move and later["agent"] == agent):
                break
            reward += later["rewards"].get(agent, 0.0)
        episode_moves = [m for m in log[index + 1 :] if m["episode"] == move["episode"]]
        final = not any(m["agent"] == agent for m in episode_moves) and any(m["last"] for m in [move, *episode_moves])
        decisions[agent].append({**move, "reward": reward, "final": final})
    return decisions


def stored_rows(learner, e: int, agent: str) -> list[dict]:
    """The living storage rows of ``agent`` in env copy ``e``, in order."""
    g = next(g for g, plan in enumerate(learner.plan.groups) if agent in plan.group.index)
    plan = learner.plan.groups[g]
    i = plan.group.index[agent]
    storage = learner.storages[g]
    rows = []
    for t in range(storage.alive.shape[0]):
        if storage.alive[t, e, i] > 0:
            rows.append(
                {
                    "observation": storage.observations[t, e, i].numpy().copy(),
                    "mask": storage.action_masks[t, e, i].numpy().copy(),
                    "action": int(plan.codec.to_env_batch(storage.actions[t, e, i].numpy().reshape(1, -1))[0]),
                    "reward": float(storage.rewards[t, e, i]),
                    "terminated": bool(storage.terminated[t, e, i]),
                    "truncated": bool(storage.truncated[t, e, i]),
                    "bootstrap": float(storage.bootstrap_values[t, e, i]),
                    "value": float(storage.value_outputs[t, e, i]),
                    "row": t,
                }
            )
    return rows


@pytest.mark.parametrize("sharing", ["auto", "agent"])
def test_each_agent_holds_its_own_decisions_masks_and_accumulated_rewards(sharing):
    """Self-play with one policy for both seats (and a seat one-hot), or one policy per seat."""
    learner = IPPO(ScriptedTurnGame, seed=3, n_envs=3, n_steps=9, n_epochs=1, recurrent=False, policy_sharing=sharing)
    assert [plan.one_hot_size for plan in learner.plan.groups] == ([2] if sharing == "auto" else [0, 0])
    layout = learner.plan.groups[0].layout
    rollouts, to_act = [], []
    for _ in range(2):
        learner.learn(27)
        rollouts.append({(e, a): stored_rows(learner, e, a) for e in range(3) for a in learner.possible_agents})
        to_act.append([env.agents[0] for env in learner.envs])
    # The copies play games of different lengths, so different agents act side by side.
    assert len({agent for turn in to_act for agent in turn}) == 2 and any(len(set(turn)) == 2 for turn in to_act)
    for e in range(3):
        expected = expected_decisions(learner.envs[e].aec_env.log)
        for agent in learner.possible_agents:
            first, second = rollouts[0][(e, agent)], rollouts[1][(e, agent)]
            rows, decisions = first + second, expected[agent]
            # Only a waiting agent's last decision is still open (its reward is not known yet).
            still_open = agent != to_act[1][e] and bool(decisions) and not decisions[-1]["final"]
            assert len(rows) == len(decisions) - int(still_open)
            for row, decision in zip(rows, decisions):
                assert np.array_equal(row["observation"], layout.flatten([decision["observation"]])[0])
                assert np.array_equal(row["mask"], decision["observation"]["action_mask"])
                assert row["action"] == decision["action"]
                assert row["reward"] == pytest.approx(decision["reward"])
                assert row["terminated"] == decision["final"]
                assert not row["truncated"] or row is first[-1] or row is second[-1]
            if first and not first[-1]["terminated"]:
                # The rollout ended inside an episode: the agent's last closed decision bootstraps.
                assert first[-1]["truncated"]
                if agent != to_act[0][e]:
                    # A waiting agent's open decision was carried over as the first row of the next
                    # rollout, and the decision before it bootstraps from that decision's value.
                    assert second[0]["row"] == 0
                    assert first[-1]["bootstrap"] == pytest.approx(second[0]["value"])


def test_advantages_run_over_each_agents_own_turns():
    """Without a critic, gamma 0.9 and lambda 1, an advantage is the discounted sum of the agent's
    own rewards over its later decisions up to the episode's end or the rollout's end."""
    gamma = 0.9
    learner = REINFORCE(
        ScriptedTurnGame,
        seed=5,
        n_envs=2,
        n_steps=11,
        gamma=gamma,
        gae_lambda=1.0,
        normalize_advantage=False,
        baseline=False,
    )
    learner.learn(22)
    batch = learner.prepare_batch(0)
    storage, size = learner.storages[0], learner.plan.groups[0].group.size
    advantages = batch.advantages.reshape(storage.alive.shape)
    checked = 0
    for e in range(2):
        for i in range(size):
            live = [t for t in range(storage.alive.shape[0]) if storage.alive[t, e, i] > 0]
            running = 0.0
            for t in reversed(live):
                if storage.terminated[t, e, i] or storage.truncated[t, e, i]:
                    running = 0.0
                running = float(storage.rewards[t, e, i]) + gamma * running
                assert float(advantages[t, e, i]) == pytest.approx(running, rel=1e-5)
                checked += 1
    assert checked >= 10


def test_tictactoe_collection_never_makes_an_illegal_move(capsys):
    # The default (recurrent) IPPO, several copies side by side, thousands of turns.
    learner = IPPO("pettingzoo.classic.tictactoe_v3", seed=0, n_envs=4, n_steps=500, n_epochs=1)
    metrics = []
    learner.learn(2000, callback=metrics.append)
    output = capsys.readouterr()
    assert "Illegal move" not in output.out + output.err
    # A game ends after at least 5 moves unless a move was illegal (which ends it at once).
    assert metrics[-1]["episodes"] > 100 and metrics[-1]["episode_length"] >= 5
    storage = learner.storages[0]
    legal = storage.action_masks.gather(-1, storage.actions.long()).squeeze(-1)
    assert bool(((legal > 0) | (storage.alive == 0)).all())
    # One decision per turn: every turn of the rollout is a stored decision, but the waiting
    # agents' last ones (at most one per copy), which are carried into the next rollout.
    assert 2000 - 4 <= int(storage.alive.sum()) <= 2000


def test_a_move_the_acting_agents_mask_forbids_never_reaches_the_game():
    env = to_parallel(ScriptedTurnGame())
    assert isinstance(env, TurnBasedEnv)
    observations, _ = env.reset(seed=0)
    assert list(observations) == ["player_0"] and env.agents == ["player_0"]
    with pytest.raises(ValueError, match=r"agent 'player_0': action 2 is forbidden by its action mask.*\[0, 1\]"):
        env.step({"player_0": 2})
    with pytest.raises(ValueError, match="the agent whose turn it is"):
        env.step({"player_1": 0})
    observations, rewards, _, _, _ = env.step({"player_0": 1})
    assert env.agents == ["player_1"] and list(observations) == ["player_1"]
    assert rewards == {"player_0": 1.0, "player_1": 11.0}
    assert env.aec_env.log[-1]["action"] == 1 and len(env.aec_env.log) == 1


def test_an_acting_agent_whose_mask_allows_nothing_is_refused_by_name():
    learner = IPPO(lambda: ScriptedTurnGame(empty_mask_at=1), seed=0, n_steps=8, n_epochs=1, recurrent=False)
    with pytest.raises(ActionMaskError, match="agent 'player_1': the action mask allows no action"):
        learner.learn(8)


def test_an_undeclared_agent_whose_turn_comes_is_refused_by_name():
    learner = IPPO(lambda: ScriptedTurnGame(stranger_at=2), seed=0, n_steps=8, n_epochs=1, recurrent=False)
    with pytest.raises(ValueError, match=r"agents \['stranger'\] appeared .* not in its possible_agents"):
        learner.learn(8)


def test_the_collector_must_match_the_environment():
    from agents.collection import Collector, build_collection

    learner = IPPO(ScriptedTurnGame, n_steps=8, recurrent=False)
    with pytest.raises(TypeError, match="Collector cannot collect from TurnBasedEnv; choose .*collector_for"):
        build_collection(learner.plan, learner.envs, 8, torch.Generator(), None, Collector)


def test_agents_of_a_simultaneous_game_played_in_turns_keep_their_own_lives():
    """``DyingAgentsEnv`` played through PettingZoo's AEC conversion: walker_0 lives 2 cycles,
    walker_1 4, walker_2 6 (then truncated): 12 turns per episode, one decision per turn."""
    from pettingzoo.utils.conversions import parallel_to_aec

    def make():
        aec = parallel_to_aec(DyingAgentsEnv())
        aec.metadata = {**aec.metadata, "is_parallelizable": False}
        return aec

    ppo = PPO(make, n_steps=24, n_epochs=1)
    ppo.learn(24)
    storage = ppo.storages[0]
    assert storage.alive[:, 0].sum(dim=0).tolist() == [4, 8, 12]
    assert storage.terminated[:, 0].sum(dim=0).tolist() == [2, 2, 0]
    # walker_2 is truncated: its last decision bootstraps from the value of its final observation.
    truncated = storage.truncated[:, 0, 2] > 0
    assert int(truncated.sum()) == 2 and bool((storage.bootstrap_values[:, 0, 2][truncated] != 0).all())


def test_resume_replays_the_turns_and_carries_open_decisions():
    def make():
        return IPPO(ScriptedTurnGame, seed=7, n_envs=2, n_steps=10, n_epochs=1, chunk_length=5)

    names = ("observations", "actions", "log_probs", "rewards", "alive", "terminated", "truncated", "bootstrap_values")
    original = make()
    original.learn(20)
    # Both seats hold a decision carried into the next rollout in one of the copies.
    assert original.collector.carried_present[0].any()
    state = copy.deepcopy(original.state_dict())  # the state holds the live parameters
    original.learn(20)
    expected = {name: stored_decisions(original.storages[0], name) for name in names}
    resumed = make()
    resumed.load_state_dict(state)  # also restores torch's random state that the policy samples with
    resumed.learn(20)
    for name in names:
        assert torch.equal(stored_decisions(resumed.storages[0], name), expected[name]), name


def stored_decisions(storage, name: str) -> torch.Tensor:
    """A storage field on the rows that hold decisions (the other rows keep stale data)."""
    value, alive = getattr(storage, name), storage.alive
    return value * alive.reshape(*alive.shape, *([1] * (value.dim() - alive.dim())))


@pytest.mark.parametrize("workers", [1, 2])
def test_rollout_workers_collect_turns_as_the_learner_does(workers):
    """Workers (in this process) step the env copies with the same turn-based collector: one
    worker gives the in-process rollout bit for bit, reward scaling included; two split the copies."""
    from agents.backends import LocalWorkerPool, RemoteBackend

    def make():
        return IPPO("pettingzoo.classic.tictactoe_v3", seed=2, n_envs=4, n_steps=30, n_epochs=1, normalize_rewards=True)

    reference = make()
    reference.learn(240)
    remote = make().use_backend(RemoteBackend(LocalWorkerPool(), workers))  # made after: same torch seed
    remote.learn(240)
    names = ("observations", "actions", "rewards", "alive", "terminated", "truncated", "bootstrap_values")
    if workers == 1:
        for name in names:
            assert torch.equal(
                stored_decisions(reference.storages[0], name), stored_decisions(remote.storages[0], name)
            )
    assert 120 - 4 <= int(remote.storages[0].alive.sum()) <= 120
    remote.close()
