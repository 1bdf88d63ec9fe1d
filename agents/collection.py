"""Vectorised collection over N copies of a parallel environment.

Each step runs one batched forward pass per policy group over every (env, agent) slot,
sends actions only for living agents, autoresets an environment copy when all its agents
are gone, and bootstraps truncated agents from the value of their final observation.

Exact resume: per env copy the collector keeps the seed of its last reset and the flat
actions taken since; :meth:`Collector.load_state_dict` resets with that seed and replays
those actions, which restores the environment exactly for deterministic environments.

With a subgame curriculum (:mod:`agents.curriculum`) the collector offers visited states to it
while stepping and asks it at each reset whether to start from a stored state; the saved start
state of each env copy is part of the resume data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.acting import action_mask, actor_inputs, check_observation, one_hot_rows
from agents.core.distributions import ActionCodec
from agents.core.normalization import RunningMeanStd
from agents.curriculum import SavedState, SubgameCurriculum, decode_state, encode_state
from agents.groups import PolicyGroup
from agents.models import ACTION_MASK_KEY, GroupModel
from agents.plan import CollectionPlan, GroupPlan
from agents.rollout import RolloutStorage
from agents.turn_based import is_turn_based

EPISODE_STATS_KEY = "episode_stats"
#: Episode statistic: 1 for an episode the curriculum started from a stored state, else 0.
CURRICULUM_START_KEY = "curriculum_start"
# Rows per critic pass when a rollout's values are computed after collection: large enough to
# amortise the per-call cost, small enough to bound the activations of an entity model.
VALUE_PASS_ROWS = 8192


@dataclass
class PolicyOutput:
    """One group's acting pass over every (env, agent) slot: sampled actions, their
    log-probabilities, the critic's values (None when they are computed after the rollout), the
    action masks used, and the recurrent states before and after (None without a GRU)."""

    actions: Tensor
    log_probs: Tensor
    values: Tensor | None
    masks: Tensor | None
    actor_hidden_in: Tensor | None
    critic_hidden_in: Tensor | None
    actor_hidden_out: Tensor | None
    critic_hidden_out: Tensor | None


@dataclass
class GroupSlots:
    """Runtime state of one policy group across the env copies: [E, A] arrays."""

    plan: GroupPlan
    n_envs: int
    hidden_size: int
    # The plan's group and codec as plain attributes: collection reads them every step.
    group: PolicyGroup = field(init=False)
    codec: ActionCodec = field(init=False)
    observations: np.ndarray = field(init=False)
    critic_observations: np.ndarray | None = field(init=False)
    alive: np.ndarray = field(init=False)
    action_masks: np.ndarray | None = field(init=False)
    episode_starts: np.ndarray = field(init=False)
    actor_hidden: Tensor | None = field(init=False)
    critic_hidden: Tensor | None = field(init=False)
    one_hot: Tensor | None = field(init=False)
    uses_masks: bool = field(init=False)

    def __post_init__(self) -> None:
        e, a, plan = self.n_envs, self.plan.group.size, self.plan
        self.group, self.codec = plan.group, plan.codec
        self.observations = np.zeros((e, a, plan.layout.dim), dtype=np.float32)
        self.critic_observations = np.zeros((e, a, plan.critic_dim), dtype=np.float32) if plan.critic_dim else None
        self.alive = np.zeros((e, a), dtype=bool)
        self.action_masks = np.ones((e, a, plan.codec.mask_dim), dtype=np.float32) if plan.codec.mask_dim else None
        self.episode_starts = np.ones((e, a), dtype=bool)
        self.actor_hidden = torch.zeros(e * a, self.hidden_size) if self.hidden_size else None
        self.critic_hidden = torch.zeros(e * a, self.hidden_size) if self.hidden_size else None
        self.one_hot = one_hot_rows(plan, list(range(a)) * e)
        # Masks reach the network only once the environment has provided one.
        self.uses_masks = plan.mask_part is not None and self.action_masks is not None


@dataclass
class EpisodeTracker:
    """Per env copy: running returns per agent and length; finished episodes per update."""

    n_envs: int
    agents: list[str]
    returns: np.ndarray = field(init=False)
    lengths: np.ndarray = field(init=False)
    finished_returns: dict[str, list[float]] = field(default_factory=dict)
    finished_lengths: list[int] = field(default_factory=list)
    finished_stats: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.returns = np.zeros((self.n_envs, len(self.agents)), dtype=np.float64)
        self.lengths = np.zeros(self.n_envs, dtype=np.int64)

    def drain(self) -> tuple[dict[str, list[float]], list[int], dict[str, list[float]]]:
        """Finished episodes since the last call (and forget them)."""
        out = (self.finished_returns, self.finished_lengths, self.finished_stats)
        self.finished_returns, self.finished_lengths, self.finished_stats = {}, [], {}
        return out


@dataclass
class StepRecord:
    """What one collection step writes per group: the flat actions sent ``[E, A, D]`` and the
    storage rows of rewards, terminations and truncations that the environments fill."""

    actions: list[np.ndarray]
    rewards: list[np.ndarray]
    terminated: list[np.ndarray]
    truncated: list[np.ndarray]
    bootstrap_requests: list[list[tuple[int, int]]]


class Collector:
    """Steps N environment copies with the learner's group models and fills rollout storage."""

    #: Whether this collector plays turn-based environments (see :mod:`agents.turn_collection`).
    turn_based = False

    def __init__(
        self,
        envs: list[Any],
        groups: list[GroupPlan],
        critic_mode: str,
        hidden_size: int,
        generator: torch.Generator,
        reward_scaler: RewardScaler | None = None,
        curriculum: SubgameCurriculum | None = None,
    ) -> None:
        self.envs = envs
        self.n_envs = len(envs)
        self.critic_mode = critic_mode  # "observation", "state" or "joined"
        self.generator = generator
        self.agent_order = list(envs[0].possible_agents)
        self.agent_index = {agent: i for i, agent in enumerate(self.agent_order)}
        self.agent_slot = {
            agent: (g, plan.group.index[agent]) for g, plan in enumerate(groups) for agent in plan.group.agents
        }
        self.declared = set(self.agent_slot)
        self.slots = [GroupSlots(plan, self.n_envs, hidden_size) for plan in groups]
        self.tracker = EpisodeTracker(self.n_envs, self.agent_order)
        self.reset_seeds = np.zeros(self.n_envs, dtype=np.int64)
        # Per env copy, per step since its reset: (flat actions [A, D], alive [A]) of each group.
        self.histories: list[list[list[tuple[np.ndarray, np.ndarray]]]] = [[] for _ in range(self.n_envs)]
        self.final_critic_inputs: dict[tuple[int, int, int], np.ndarray] = {}
        self.hidden_size = hidden_size
        self.reward_scaler = reward_scaler
        self.curriculum = curriculum
        # Per env copy, the saved state its episode started from (None: a normal reset).
        self.start_states: list[SavedState | None] = [None] * self.n_envs
        self.started = False

    # ----------------------------------------------------------------------------- resets
    def _draw_seed(self) -> int:
        return int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator).item())

    def _reset_env(self, e: int, seed: int, start_state: SavedState | None = None) -> None:
        if start_state is None:
            observations, infos = self.envs[e].reset(seed=seed)
        else:
            observations, infos = self.envs[e].reset(seed=seed, options={"state": start_state})
        self.start_states[e] = start_state
        self.reset_seeds[e] = seed
        self.histories[e] = []
        for slots in self.slots:
            slots.alive[e] = False
            slots.episode_starts[e] = True
        self._write_observations(e, observations, infos)
        self.tracker.returns[e] = 0.0
        self.tracker.lengths[e] = 0

    def start(self) -> None:
        """Reset every env copy with seeds drawn from the learner's generator."""
        for e in range(self.n_envs):
            self._reset_env(e, self._draw_seed())
        self.started = True

    # ------------------------------------------------------------------------ observations
    def _write_observations(self, e: int, observations: dict, infos: dict, critic: bool = True) -> None:
        """Write env copy ``e``'s observations (and action masks) into the group slots, and the
        critic inputs unless ``critic`` is false: after an episode that ended without a truncated
        agent to bootstrap, the critic input is never read, and some environments (multiwalker)
        cannot give a ``state()`` once their episode is over."""
        living = set(self.envs[e].agents)
        if not living <= self.declared:
            self._refuse_undeclared(e, living)
        for slots in self.slots:
            names = slots.group.agents
            present = [i for i, agent in enumerate(names) if agent in living and agent in observations]
            # An agent that appears without a reset (a respawn) starts a new recurrent episode.
            for i in present:
                if not slots.alive[e, i]:
                    slots.episode_starts[e, i] = True
            slots.alive[e] = False
            slots.observations[e] = 0.0
            if present:
                flat = self._flatten_checked(slots, [names[i] for i in present], observations)
                slots.observations[e, present] = flat
                slots.alive[e, present] = True
            if slots.action_masks is not None:
                self._write_action_masks(slots, e, present, infos)
        if critic:
            self._write_critic_observations(e)

    @staticmethod
    def _flatten_checked(slots: GroupSlots, agents: list[str], observations: dict) -> np.ndarray:
        """The agents' observations flattened by the group's layout; one that does not fit its
        space is refused naming the agent and the space (checked only when flattening fails, so
        the check costs nothing while observations are well formed)."""
        try:
            return slots.plan.layout.flatten([observations[agent] for agent in agents])
        except (ValueError, TypeError, IndexError):
            for agent in agents:
                check_observation(slots.plan, agent, observations[agent])
            raise

    def _refuse_undeclared(self, e: int, living: set[str]) -> None:
        """An agent in ``env.agents`` that ``possible_agents`` does not declare has no policy."""
        undeclared = sorted(living - self.declared)
        raise ValueError(
            f"agents {undeclared} appeared in {type(self.envs[e]).__name__}.agents but are not in its "
            f"possible_agents {self.agent_order}; declare every agent that can appear in possible_agents"
        )

    def _write_action_masks(self, slots: GroupSlots, e: int, present: list[int], infos: dict) -> None:
        masks = slots.action_masks
        if masks is None:
            return
        masks[e] = 1.0
        for i in present:
            agent = slots.group.agents[i]
            given = infos.get(agent, {}).get(ACTION_MASK_KEY)
            if given is None and slots.plan.mask_part is None:
                continue
            mask = action_mask(slots.plan, agent, slots.observations[e, i], given)
            if mask is not None:
                masks[e, i] = mask
                slots.uses_masks = True

    def _write_critic_observations(self, e: int) -> None:
        if self.critic_mode == "observation":
            return
        if self.critic_mode == "state":
            state = np.asarray(self.envs[e].state(), dtype=np.float32).reshape(-1)
        else:
            state = np.concatenate([slots.observations[e].reshape(-1) for slots in self.slots])
        for slots in self.slots:
            if slots.critic_observations is not None:
                slots.critic_observations[e] = state

    # ------------------------------------------------------------------------------ forward
    def _critic_input(self, slots: GroupSlots) -> Tensor:
        source = slots.critic_observations if slots.critic_observations is not None else slots.observations
        return torch.from_numpy(source.reshape(1, -1, source.shape[-1]))

    @torch.inference_mode()
    def policy_step(self, models: list[GroupModel], with_values: bool = True) -> list[PolicyOutput]:
        """One batched forward pass per group over every (env, agent) slot: sampled actions,
        their log-probabilities, values (unless ``with_values`` is False), and the recurrent
        states before and after."""
        outputs = []
        for slots, model in zip(self.slots, models):
            n = self.n_envs * slots.group.size
            inputs = actor_inputs(
                slots.observations.reshape(n, -1),
                slots.one_hot,
                slots.action_masks.reshape(n, -1) if slots.uses_masks and slots.action_masks is not None else None,
                slots.actor_hidden,
                slots.episode_starts.reshape(n) if self.hidden_size else None,
            )
            # .forward: no hooks are used, and module dispatch is a visible share of a small pass.
            distribution, actor_hidden = model.actor.forward(
                inputs.observations, inputs.one_hot, inputs.hidden, inputs.episode_starts, inputs.action_masks
            )
            actions, log_probs = distribution.sample_with_log_prob()
            values, critic_hidden = None, None
            if with_values:
                values, critic_hidden = model.critic.forward(
                    self._critic_input(slots), inputs.one_hot, slots.critic_hidden, inputs.episode_starts
                )
            outputs.append(
                PolicyOutput(
                    actions=actions,
                    log_probs=log_probs,
                    values=values.reshape(-1) if values is not None else None,
                    masks=inputs.action_masks,
                    actor_hidden_in=slots.actor_hidden,
                    critic_hidden_in=slots.critic_hidden,
                    actor_hidden_out=actor_hidden,
                    critic_hidden_out=critic_hidden,
                )
            )
        return outputs

    @torch.no_grad()
    def current_values(self, models: list[GroupModel]) -> list[Tensor]:
        """Critic outputs ``[E, A]`` for the current observations (bootstrap at rollout end)."""
        values = []
        for slots, model in zip(self.slots, models):
            n = self.n_envs * slots.group.size
            starts = torch.from_numpy(slots.episode_starts.reshape(1, n).astype(np.float32))
            extra = slots.one_hot.unsqueeze(0) if slots.one_hot is not None else None
            output, _ = model.critic(self._critic_input(slots), extra, slots.critic_hidden, starts)
            values.append(output.reshape(self.n_envs, slots.group.size))
        return values

    @torch.inference_mode()
    def rollout_values(self, models: list[GroupModel], storages: list[RolloutStorage], n_steps: int) -> None:
        """The critic's outputs for every stored step, computed once the rollout is collected.

        A feed-forward critic's value of a step depends on that step's input alone, and the
        weights do not change during collection, so one pass over many steps gives the values a
        pass per step would, at a fraction of the cost. Rows go through in chunks of at most
        :data:`VALUE_PASS_ROWS`.
        """
        for slots, model, storage in zip(self.slots, models, storages):
            source = storage.critic_observations if storage.critic_observations is not None else storage.observations
            rows = self.n_envs * slots.group.size
            chunk = max(1, VALUE_PASS_ROWS // rows)
            for start in range(0, n_steps, chunk):
                stop = min(n_steps, start + chunk)
                inputs = source[start:stop].reshape(1, -1, source.shape[-1])
                extra = slots.one_hot.repeat(stop - start, 1).unsqueeze(0) if slots.one_hot is not None else None
                values, _ = model.critic.forward(inputs, extra, None, None)
                storage.value_outputs[start:stop] = values.reshape(stop - start, self.n_envs, slots.group.size)

    # --------------------------------------------------------------------------------- step
    def _env_actions(self, e: int, flat_actions: list[np.ndarray], env_actions: list[list[Any]]) -> dict[str, Any]:
        """The living agents' environment actions of env copy ``e``; records the flat actions for resume."""
        actions: dict[str, Any] = {}
        record = []
        for slots, flat, converted in zip(self.slots, flat_actions, env_actions):
            names, alive, offset = slots.group.agents, slots.alive[e], e * slots.group.size
            for i in np.flatnonzero(alive):
                actions[names[i]] = converted[offset + i]
            record.append((flat[e].copy(), alive.copy()))
        self.histories[e].append(record)
        return actions

    def _convert_actions(self, flat_actions: list[np.ndarray]) -> list[list[Any]]:
        """Environment actions of every (env, agent) slot, per group, converted in one batch."""
        return [
            slots.codec.to_env_batch(flat.reshape(-1, slots.codec.action_dim))
            for slots, flat in zip(self.slots, flat_actions)
        ]

    def collect(self, models: list[GroupModel], storages: list[RolloutStorage], n_steps: int) -> None:
        """Fill ``storages`` with ``n_steps`` steps of every env copy.

        Each step: the policies act on every slot (:meth:`policy_step`), what they saw and chose
        is stored (:meth:`_store_step`), every env copy steps and its rewards and endings are
        stored (:meth:`_step_env`), rewards are scaled, and truncated agents get the value of
        their final observation (:meth:`_bootstrap`). The values of the last observations close
        the rollout.
        """
        if not self.started:
            self.start()
        if self.curriculum is not None:
            self.curriculum.begin_rollout(self._draw_seed(), partial(self.critic_values, models))
        # A recurrent critic needs its hidden state step by step; a feed-forward one is run
        # over the whole rollout at the end (:meth:`rollout_values`).
        values_per_step = self.hidden_size > 0
        for t in range(n_steps):
            outputs = self.policy_step(models, with_values=values_per_step)
            step = self._store_step(storages, outputs, t)
            if self.curriculum is not None:
                self._offer_states(self.curriculum)
            env_actions = self._convert_actions(step.actions)
            for e in range(self.n_envs):
                self._step_env(e, step, env_actions)
            if self.reward_scaler is not None:
                alive = [storage.arrays["alive"][t] for storage in storages]
                self.reward_scaler.scale(step.rewards, alive, step.terminated, step.truncated)
            for g, storage in enumerate(storages):
                if step.bootstrap_requests[g]:
                    self._bootstrap(g, models[g], storage, t, step.bootstrap_requests[g])
        if not values_per_step:
            self.rollout_values(models, storages, n_steps)
        for storage, values in zip(storages, self.current_values(models)):
            storage.final_value_outputs.copy_(values)
        if self.curriculum is not None:
            self.curriculum.end_rollout(partial(self.critic_values, models))

    def _store_step(self, storages: list[RolloutStorage], outputs: list[PolicyOutput], t: int) -> StepRecord:
        """Store step ``t``'s inputs and outputs of every group; clear the rows the environments fill."""
        step = StepRecord([], [], [], [], [[] for _ in self.slots])
        for slots, storage, out in zip(self.slots, storages, outputs):
            shape = (self.n_envs, slots.group.size)
            arrays = storage.arrays
            arrays["observations"][t] = slots.observations
            if slots.critic_observations is not None:
                arrays["critic_observations"][t] = slots.critic_observations
            actions = out.actions.numpy().reshape(*shape, -1)
            arrays["actions"][t] = actions
            arrays["log_probs"][t] = out.log_probs.numpy().reshape(shape)
            if out.values is not None:
                arrays["value_outputs"][t] = out.values.numpy().reshape(shape)
            arrays["alive"][t] = slots.alive
            arrays["episode_starts"][t] = slots.episode_starts
            if out.masks is not None:
                arrays["action_masks"][t] = slots.action_masks
            if storage.actor_hidden is not None and storage.critic_hidden is not None:
                assert out.actor_hidden_in is not None and out.critic_hidden_in is not None
                storage.actor_hidden[t] = out.actor_hidden_in.reshape(*shape, -1)
                storage.critic_hidden[t] = out.critic_hidden_in.reshape(*shape, -1)
                slots.actor_hidden = out.actor_hidden_out
                slots.critic_hidden = out.critic_hidden_out
            slots.episode_starts[:] = False
            step.actions.append(actions)
            for name, rows in (
                ("rewards", step.rewards),
                ("terminated", step.terminated),
                ("truncated", step.truncated),
            ):
                row = arrays[name][t]
                row[:] = 0.0
                rows.append(row)
            arrays["bootstrap_values"][t] = 0.0
        return step

    def _step_env(self, e: int, step: StepRecord, env_actions: list[list[Any]]) -> None:
        """Step env copy ``e`` with its living agents' actions, store rewards and endings, keep
        the final critic input of truncated agents, and reset the copy when its episode is over."""
        env = self.envs[e]
        was_alive = [slots.alive[e].copy() for slots in self.slots]
        observations, rewards, terminations, truncations, infos = env.step(
            self._env_actions(e, step.actions, env_actions)
        )
        self.tracker.lengths[e] += 1
        self._store_rewards(e, rewards, was_alive, step)
        truncated_here = self._store_endings(e, terminations, truncations, infos, was_alive, step)
        episode_over = not env.agents
        self._write_observations(e, observations, infos, critic=truncated_here or not episode_over)
        if truncated_here:
            self._record_final(e, step.bootstrap_requests, observations)
        if episode_over:
            self._finish_episode(e)
            self._reset_env(e, self._draw_seed(), self.curriculum.start_state() if self.curriculum else None)

    def _store_rewards(self, e: int, rewards: dict[str, float], was_alive: list[np.ndarray], step: StepRecord) -> None:
        """Rewards of the agents that acted; others (dead, undeclared) are ignored."""
        for agent, reward in rewards.items():
            slot = self.agent_slot.get(agent)
            if slot is None or not was_alive[slot[0]][slot[1]]:
                continue
            g, i = slot
            step.rewards[g][e, i] = reward
            self.tracker.returns[e, self.agent_index[agent]] += reward

    def _store_endings(
        self, e: int, terminations: dict, truncations: dict, infos: dict, was_alive: list[np.ndarray], step: StepRecord
    ) -> bool:
        """Terminations and truncations of the agents that acted (an agent that left without
        either is terminated); episode statistics of those that ended. Returns whether any
        agent of this env copy was truncated (and needs a bootstrap value)."""
        agents = self.envs[e].agents
        truncated_here = False
        for agent, (g, i) in self.agent_slot.items():
            if not was_alive[g][i]:
                continue
            term = bool(terminations.get(agent, False))
            trunc = bool(truncations.get(agent, False)) and not term
            if agent not in agents and not trunc:
                term = True
            step.terminated[g][e, i] = term
            step.truncated[g][e, i] = trunc
            if trunc:
                step.bootstrap_requests[g].append((e, i))
                truncated_here = True
            stats = infos.get(agent, {}).get(EPISODE_STATS_KEY) if (term or trunc) else None
            if stats:
                for name, value in stats.items():
                    self.tracker.finished_stats.setdefault(name, []).append(float(value))
        return truncated_here

    # ---------------------------------------------------------------------------- bootstrap
    def _record_final(self, e: int, requests: list[list[tuple[int, int]]], observations: dict) -> None:
        """Keep the critic input of truncated agents' final observations before a reset."""
        joined = self._joined(observations) if self.critic_mode == "joined" else None
        for g, slots in enumerate(self.slots):
            for env_index, i in requests[g]:
                if env_index != e:
                    continue
                if self.critic_mode == "observation":
                    critic_input = slots.plan.layout.flatten([observations[slots.group.agents[i]]])[0]
                elif self.critic_mode == "state" and slots.critic_observations is not None:
                    critic_input = slots.critic_observations[e, i].copy()
                else:
                    assert joined is not None
                    critic_input = joined
                self.final_critic_inputs[(g, e, i)] = critic_input

    def _joined(self, observations: dict) -> np.ndarray:
        """Every agent's observation from ``observations`` (zeros if absent), joined."""
        parts = []
        for slots in self.slots:
            block = np.zeros((slots.group.size, slots.plan.layout.dim), dtype=np.float32)
            present = [i for i, agent in enumerate(slots.group.agents) if agent in observations]
            if present:
                block[present] = slots.plan.layout.flatten([observations[slots.group.agents[i]] for i in present])
            parts.append(block.reshape(-1))
        return np.concatenate(parts)

    @torch.no_grad()
    def _bootstrap(
        self, g: int, model: GroupModel, storage: RolloutStorage, t: int, requests: list[tuple[int, int]]
    ) -> None:
        slots = self.slots[g]
        inputs = np.stack([self.final_critic_inputs.pop((g, e, i)) for e, i in requests])
        x = torch.from_numpy(inputs).unsqueeze(0)
        index = torch.tensor([e * slots.group.size + i for e, i in requests])
        extra = slots.one_hot[index].unsqueeze(0) if slots.one_hot is not None else None
        hidden = None
        if storage.critic_hidden is not None and slots.critic_hidden is not None:
            # Hidden state after this step's critic pass, before any reset by the next episode.
            hidden = slots.critic_hidden[index]
        starts = torch.zeros(1, len(requests))
        values, _ = model.critic(x, extra, hidden, starts)
        for (e, i), value in zip(requests, values.reshape(-1)):
            storage.bootstrap_values[t, e, i] = value

    def _finish_episode(self, e: int) -> None:
        tracker = self.tracker
        for slots in self.slots:
            values = [tracker.returns[e, self.agent_index[agent]] for agent in slots.group.agents]
            tracker.finished_returns.setdefault(slots.group.name, []).append(float(np.mean(values)))
        tracker.finished_lengths.append(int(tracker.lengths[e]))
        if self.curriculum is not None:
            started_from_state = float(self.start_states[e] is not None)
            tracker.finished_stats.setdefault(CURRICULUM_START_KEY, []).append(started_from_state)

    # --------------------------------------------------------------------------- curriculum
    def _offer_states(self, curriculum: SubgameCurriculum) -> None:
        """Offer the states the env copies stand in now (chosen at the curriculum's rate) with
        what the critic sees there: the global state, or every agent's observation joined."""
        for e in range(self.n_envs):
            if not curriculum.wants_candidate():
                continue
            inputs = [
                (s.critic_observations if s.critic_observations is not None else s.observations)[e] for s in self.slots
            ]
            features = (
                inputs[0][0] if self.critic_mode != "observation" else np.concatenate([x.reshape(-1) for x in inputs])
            )
            curriculum.offer(self.envs[e].save_state(), features.copy(), inputs, [s.alive[e] for s in self.slots])

    @torch.no_grad()
    def critic_values(self, models: list[GroupModel], inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Critic values on the return scale of per-group inputs ``[N, A_g, C_g]`` (with a fresh
        recurrent state): per group ``[N, A_g]``."""
        values = []
        for slots, model, x in zip(self.slots, models, inputs):
            n, a = x.shape[0], x.shape[1]
            flat = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32).reshape(1, n * a, -1))
            extra = slots.one_hot[:a].repeat(n, 1).unsqueeze(0) if slots.one_hot is not None else None
            hidden = torch.zeros(n * a, self.hidden_size) if self.hidden_size else None
            output, _ = model.critic(flat, extra, hidden, torch.ones(1, n * a))
            values.append(model.denormalize(output).reshape(n, a).numpy().astype(np.float64))
        return values

    # ----------------------------------------------------------------------------- resume
    def state_dict(self) -> dict[str, Any]:
        """Reset seeds, actions since each reset, running returns and hidden states."""
        max_dim = max(slots.codec.action_dim for slots in self.slots)
        columns = [[self.agent_index[agent] for agent in slots.group.agents] for slots in self.slots]
        histories = []
        for e in range(self.n_envs):
            steps = len(self.histories[e])
            actions = np.zeros((steps, len(self.agent_order), max_dim), dtype=np.float32)
            present = np.zeros((steps, len(self.agent_order)), dtype=bool)
            if steps:
                for g, slots in enumerate(self.slots):
                    rows = np.stack([record[g][0] for record in self.histories[e]])  # [steps, A_g, D_g]
                    alive = np.stack([record[g][1] for record in self.histories[e]])  # [steps, A_g]
                    actions[:, columns[g], : slots.codec.action_dim] = np.where(alive[..., None], rows, 0.0)
                    present[:, columns[g]] = alive
            histories.append({"actions": torch.from_numpy(actions), "present": torch.from_numpy(present)})
        return {
            "started": self.started,
            "reset_seeds": torch.from_numpy(self.reset_seeds.copy()),
            "start_states": [None if saved is None else encode_state(saved) for saved in self.start_states],
            "histories": histories,
            "returns": torch.from_numpy(self.tracker.returns.copy()),
            "lengths": torch.from_numpy(self.tracker.lengths.copy()),
            "actor_hidden": [s.actor_hidden.clone() if s.actor_hidden is not None else None for s in self.slots],
            "critic_hidden": [s.critic_hidden.clone() if s.critic_hidden is not None else None for s in self.slots],
            "episode_starts": [torch.from_numpy(s.episode_starts.copy()) for s in self.slots],
            "discounted_returns": (
                [torch.from_numpy(r.copy()) for r in self.reward_scaler.returns]
                if self.reward_scaler is not None
                else None
            ),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild every env copy by resetting with its seed and replaying its actions."""
        self.started = bool(state["started"])
        if not self.started:
            return
        start_states = state.get("start_states") or [None] * self.n_envs
        for e in range(self.n_envs):
            seed = int(state["reset_seeds"][e])
            saved = start_states[e]
            if saved is None:
                self._reset_env(e, seed)
            else:
                self._reset_env(e, seed, decode_state(saved))
            history = state["histories"][e]
            for s in range(history["actions"].shape[0]):
                flat_actions = []
                for slots in self.slots:
                    flat = np.zeros((self.n_envs, slots.group.size, slots.codec.action_dim), dtype=np.float32)
                    for i, agent in enumerate(slots.group.agents):
                        a = self.agent_index[agent]
                        if bool(history["present"][s, a]):
                            flat[e, i] = history["actions"][s, a, : slots.codec.action_dim].numpy()
                    flat_actions.append(flat)
                env_actions = self._convert_actions(flat_actions)
                observations, _, _, _, infos = self.envs[e].step(self._env_actions(e, flat_actions, env_actions))
                self._write_observations(e, observations, infos)
        self._restore_running_state(state)

    def _restore_running_state(self, state: dict[str, Any]) -> None:
        """Episode returns and lengths, recurrent states and reward scaling as ``state_dict`` saved them."""
        self.tracker.returns[:] = state["returns"].numpy()
        self.tracker.lengths[:] = state["lengths"].numpy()
        for slots, actor_hidden, critic_hidden, starts in zip(
            self.slots, state["actor_hidden"], state["critic_hidden"], state["episode_starts"]
        ):
            slots.actor_hidden = actor_hidden.clone() if actor_hidden is not None else None
            slots.critic_hidden = critic_hidden.clone() if critic_hidden is not None else None
            slots.episode_starts[:] = starts.numpy()
        if self.reward_scaler is not None and state.get("discounted_returns") is not None:
            for running, saved in zip(self.reward_scaler.returns, state["discounted_returns"]):
                running[:] = saved.numpy()


class RewardScaler:
    """Divides rewards by the running standard deviation of each agent's discounted return
    (Gymnasium's ``NormalizeReward``, per (env, agent) slot; dead slots are left out)."""

    def __init__(self, statistics: Any, shapes: list[tuple[int, int]], gamma: float, epsilon: float = 1e-8) -> None:
        self.statistics = statistics  # a RunningMeanStd of shape (1,), saved with the learner's state
        self.returns = [np.zeros(shape, dtype=np.float64) for shape in shapes]
        self.gamma = gamma
        self.epsilon = epsilon

    def scale(self, rewards: list[np.ndarray], alive: list[np.ndarray], terminated: list, truncated: list) -> None:
        """Update the discounted returns and statistics, then scale ``rewards`` in place."""
        living = []
        for running, reward, is_alive in zip(self.returns, rewards, alive):
            running *= self.gamma
            running += reward
            running *= is_alive
            living.append(running[is_alive > 0])
        samples = np.concatenate(living)
        if samples.size:
            self.statistics.update(torch.from_numpy(samples.reshape(-1, 1)))
        std = float(np.sqrt(float(self.statistics.var.reshape(-1)[0]) + self.epsilon))
        for running, reward, term, trunc in zip(self.returns, rewards, terminated, truncated):
            reward /= std
            running *= 1.0 - np.maximum(term, trunc)


def build_collection(
    plan: CollectionPlan,
    envs: list[Any],
    n_steps: int,
    generator: torch.Generator,
    reward_statistics: RunningMeanStd | None,
    collector_class: type[Collector] = Collector,
) -> tuple[Collector, list[RolloutStorage]]:
    """A collector over ``envs`` and one rollout storage of ``n_steps`` steps per group.

    ``generator`` draws the reset seeds; ``reward_statistics`` (when rewards are normalised)
    is the running statistic of discounted returns the collector's reward scaler updates.
    ``collector_class`` is :func:`agents.turn_collection.collector_for` the environments.
    """
    if collector_class.turn_based != is_turn_based(envs[0]):
        raise TypeError(
            f"{collector_class.__name__} cannot collect from {type(envs[0]).__name__}; "
            "choose the collector with agents.turn_collection.collector_for(env)"
        )
    n_envs = len(envs)
    scaler = None
    if reward_statistics is not None:
        shapes = [(n_envs, group.group.size) for group in plan.groups]
        scaler = RewardScaler(reward_statistics, shapes, plan.gamma)
    curriculum = None
    if plan.curriculum is not None:
        curriculum = SubgameCurriculum(plan.curriculum, n_envs, n_steps)
    collector = collector_class(envs, plan.groups, plan.critic_mode, plan.hidden_size, generator, scaler, curriculum)
    storages = [
        RolloutStorage(
            n_steps,
            n_envs,
            group.group.size,
            group.layout.dim,
            group.critic_dim,
            group.codec.action_dim,
            group.codec.mask_dim,
            plan.hidden_size,
        )
        for group in plan.groups
    ]
    return collector, storages
