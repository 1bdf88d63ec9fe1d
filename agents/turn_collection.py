"""Collection from turn-based (AEC) environments: each agent's own sequence of decisions.

In a turn-based game one agent acts per step (:class:`agents.turn_based.TurnBasedEnv`). The
agent whose turn it is acts on its own current observation and action mask; the rewards it
receives until its next turn (while the others move) belong to that decision; its decision is
complete when its next turn comes or its episode ends. Each (env copy, agent) slot of the
rollout storage therefore holds the agent's own decisions in order: row ``k`` of a slot is
its ``k``-th decision of the rollout, ``rewards`` the reward accumulated until its next turn,
``terminated`` set at its last decision of an episode. Generalised advantage estimation then
runs over each agent's own turns with the learner's ordinary code (:meth:`Learner.prepare_batch`).

At the end of a rollout, the agent whose turn it is closes its last decision with the value of
its current observation (a bootstrap, as at any rollout end); a waiting agent's last decision
is still open (its reward is not known yet), so it is carried into the next rollout as that
slot's first row, and the decision before it bootstraps from its value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.acting import action_mask, actor_inputs, check_observation
from agents.collection import EPISODE_STATS_KEY, Collector
from agents.models import ACTION_MASK_KEY, GroupModel
from agents.rollout import RolloutStorage
from agents.turn_based import is_turn_based

#: The storage fields a decision writes when it is taken (its outcome comes later).
DECISION_FIELDS = (
    "observations",
    "critic_observations",
    "actions",
    "log_probs",
    "value_outputs",
    "episode_starts",
    "action_masks",
    "actor_hidden",
    "critic_hidden",
)
#: The storage fields cleared before a rollout (the rest are only read where ``alive`` is set).
OUTCOME_FIELDS = ("alive", "rewards", "terminated", "truncated", "bootstrap_values", "value_outputs")

Slot = tuple[int, int]  # (group, index in group)


def collector_for(env: Any) -> type[Collector]:
    """The collector class for ``env``: :class:`TurnCollector` for a turn-based game."""
    return TurnCollector if is_turn_based(env) else Collector


class TurnCollector(Collector):
    """Steps N copies of a turn-based environment; one decision per env copy per step."""

    turn_based = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shapes = [(self.n_envs, slots.group.size) for slots in self.slots]
        #: Per group, the next free storage row of each (env, agent) slot.
        self.rows = [np.zeros(shape, dtype=np.int64) for shape in shapes]
        #: Per group, the storage row of each slot's decision awaiting its outcome (-1: none).
        self.open_rows = [np.full(shape, -1, dtype=np.int64) for shape in shapes]
        #: Per group, the reward each slot received since its open decision.
        self.pending = [np.zeros(shape, dtype=np.float64) for shape in shapes]
        #: Per group, the open decisions carried over from the last rollout: field -> [E, A, ...].
        self.carried: list[dict[str, np.ndarray]] = [{} for _ in self.slots]
        self.carried_present = [np.zeros(shape, dtype=bool) for shape in shapes]
        #: Per env copy, the slot whose turn it is.
        self.turn: list[Slot] = [(0, 0)] * self.n_envs
        #: Per env copy, (agent column, flat action) of each turn since the last reset.
        self.turn_histories: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(self.n_envs)]

    # ----------------------------------------------------------------------------- resets
    def _reset_env(self, e: int, seed: int) -> None:
        observations, infos = self.envs[e].reset(seed=seed)
        self.reset_seeds[e] = seed
        self.turn_histories[e] = []
        for g, slots in enumerate(self.slots):
            slots.episode_starts[e] = True
            self.pending[g][e] = 0.0
        self.tracker.returns[e] = 0.0
        self.tracker.lengths[e] = 0
        self._write_turn(e, observations, infos)

    def _write_turn(self, e: int, observations: dict, infos: dict) -> None:
        """Read the observation and mask of the agent whose turn it is in env copy ``e``."""
        env = self.envs[e]
        if not env.agents:
            raise ValueError(f"{type(env.aec_env).__name__} has no agent to act right after reset()")
        agent = env.agents[0]
        if agent not in self.agent_slot:
            self._refuse_undeclared(e, set(env.in_game()))
        g, i = self.agent_slot[agent]
        slots = self.slots[g]
        plan = slots.plan
        check_observation(plan, agent, observations[agent])
        for group_slots in self.slots:
            group_slots.alive[e] = False
        slots.alive[e, i] = True
        slots.observations[e, i] = plan.layout.flatten([observations[agent]])[0]
        if slots.action_masks is not None:
            given = infos.get(agent, {}).get(ACTION_MASK_KEY)
            mask = action_mask(plan, agent, slots.observations[e, i], given)
            slots.action_masks[e, i] = 1.0 if mask is None else mask
            slots.uses_masks = slots.uses_masks or mask is not None
        if slots.critic_observations is not None:
            slots.critic_observations[e, i] = self._critic_observation(e)
        self.turn[e] = (g, i)

    def _critic_observation(self, e: int, final: dict | None = None) -> np.ndarray:
        """What a centralised critic sees in env copy ``e`` now: the state, or every agent's
        current observation joined (``final`` observations of agents that just left, zeros for
        agents out of the game)."""
        env = self.envs[e]
        if self.critic_mode == "state":
            return np.asarray(env.state(), dtype=np.float32).reshape(-1)
        final = final or {}
        in_game = set(env.in_game())
        parts = []
        for slots in self.slots:
            block = np.zeros((slots.group.size, slots.plan.layout.dim), dtype=np.float32)
            for i, agent in enumerate(slots.group.agents):
                if agent in final:
                    block[i] = slots.plan.layout.flatten([final[agent]])[0]
                elif agent in in_game:
                    block[i] = slots.plan.layout.flatten([env.observe(agent)])[0]
            parts.append(block.reshape(-1))
        return np.concatenate(parts)

    # --------------------------------------------------------------------------- collect
    def collect(self, models: list[GroupModel], storages: list[RolloutStorage], n_steps: int) -> None:
        """Fill ``storages`` with ``n_steps`` turns of every env copy (see the module docstring)."""
        if not self.started:
            self.start()
        self._begin_rollout(storages)
        for _ in range(n_steps):
            env_actions = self._decide(models, storages)
            requests: list[list[tuple[int, int, np.ndarray]]] = [[] for _ in self.slots]
            for e in range(self.n_envs):
                self._play_turn(e, env_actions[e], storages, requests)
            for g, group_requests in enumerate(requests):
                if group_requests:
                    self._bootstrap_final(g, models[g], storages[g], group_requests)
        self._end_rollout(models, storages)

    def _begin_rollout(self, storages: list[RolloutStorage]) -> None:
        """Clear the storages and put each carried open decision in its slot's first row."""
        for g, storage in enumerate(storages):
            arrays = storage.arrays
            for name in OUTCOME_FIELDS:
                arrays[name][:] = 0.0
            if "action_masks" in arrays:
                arrays["action_masks"][:] = 1.0
            storage.final_value_outputs.zero_()
            self.rows[g][:] = 0
            self.open_rows[g][:] = -1
            present = self.carried_present[g]
            for name, values in self.carried[g].items():
                arrays[name][0][present] = values[present]
            self.rows[g][present] = 1
            self.open_rows[g][present] = 0
            present[:] = False

    @torch.no_grad()
    def _decide(self, models: list[GroupModel], storages: list[RolloutStorage]) -> list[Any]:
        """The acting agent of every env copy decides; its decision opens a row of its slot.
        Returns each env copy's environment action."""
        env_actions: list[Any] = [None] * self.n_envs
        for g, (slots, model, storage) in enumerate(zip(self.slots, models, storages)):
            envs = [e for e in range(self.n_envs) if self.turn[e][0] == g]
            if not envs:
                continue
            agents = [self.turn[e][1] for e in envs]
            flat = [e * slots.group.size + i for e, i in zip(envs, agents)]
            inputs = actor_inputs(
                slots.observations[envs, agents],
                slots.one_hot[flat] if slots.one_hot is not None else None,
                slots.action_masks[envs, agents] if slots.uses_masks and slots.action_masks is not None else None,
                slots.actor_hidden[flat] if slots.actor_hidden is not None else None,
                slots.episode_starts[envs, agents] if self.hidden_size else None,
            )
            distribution, actor_hidden = model.actor.forward(
                inputs.observations, inputs.one_hot, inputs.hidden, inputs.episode_starts, inputs.action_masks
            )
            actions, log_probs = distribution.sample_with_log_prob()
            critic_source = slots.critic_observations if slots.critic_observations is not None else slots.observations
            critic_hidden_in = slots.critic_hidden[flat] if slots.critic_hidden is not None else None
            values, critic_hidden = model.critic.forward(
                torch.from_numpy(critic_source[envs, agents]).unsqueeze(0),
                inputs.one_hot,
                critic_hidden_in,
                inputs.episode_starts,
            )
            actions_np = actions.numpy().reshape(len(envs), -1)
            self._open_decisions(
                g,
                storage,
                envs,
                agents,
                {
                    "observations": slots.observations[envs, agents],
                    "critic_observations": critic_source[envs, agents],
                    "actions": actions_np,
                    "log_probs": log_probs.numpy().reshape(-1),
                    "value_outputs": values.numpy().reshape(-1),
                    "episode_starts": slots.episode_starts[envs, agents],
                    "action_masks": slots.action_masks[envs, agents] if slots.action_masks is not None else None,
                    "actor_hidden": inputs.hidden.numpy() if inputs.hidden is not None else None,
                    "critic_hidden": critic_hidden_in.numpy() if critic_hidden_in is not None else None,
                },
            )
            if slots.actor_hidden is not None and actor_hidden is not None:
                slots.actor_hidden[flat] = actor_hidden
            if slots.critic_hidden is not None and critic_hidden is not None:
                slots.critic_hidden[flat] = critic_hidden
            slots.episode_starts[envs, agents] = False
            for e, i, row, env_action in zip(envs, agents, actions_np, slots.codec.to_env_batch(actions_np)):
                env_actions[e] = env_action
                self.turn_histories[e].append((self.agent_index[slots.group.agents[i]], row.copy()))
        return env_actions

    def _open_decisions(
        self, g: int, storage: RolloutStorage, envs: list[int], agents: list[int], fields: dict[str, Any]
    ) -> None:
        """Write the new decisions of group ``g``; the decision each replaces is complete."""
        arrays = storage.arrays
        rows = self.rows[g][envs, agents]
        if int(rows.max()) >= storage.alive.shape[0]:
            raise RuntimeError("a turn-based slot has more decisions than the rollout has rows")
        for name, values in fields.items():
            if values is not None and name in arrays:
                arrays[name][rows, envs, agents] = values
        for e, i, row in zip(envs, agents, rows):
            self._close(g, storage, e, i, terminated=False, truncated=False)
            self.open_rows[g][e, i] = row
            self.rows[g][e, i] = row + 1

    def _close(self, g: int, storage: RolloutStorage, e: int, i: int, terminated: bool, truncated: bool) -> int:
        """Complete slot (e, i)'s open decision with the reward received since; returns its row (-1: none)."""
        row = int(self.open_rows[g][e, i])
        if row >= 0:
            arrays = storage.arrays
            arrays["alive"][row, e, i] = 1.0
            arrays["rewards"][row, e, i] = self.pending[g][e, i]
            arrays["terminated"][row, e, i] = float(terminated)
            arrays["truncated"][row, e, i] = float(truncated)
        self.open_rows[g][e, i] = -1
        self.pending[g][e, i] = 0.0
        return row

    def _play_turn(
        self, e: int, env_action: Any, storages: list[RolloutStorage], requests: list[list[tuple[int, int, np.ndarray]]]
    ) -> None:
        """Play env copy ``e``'s turn; credit rewards, close the decisions of agents that left."""
        env = self.envs[e]
        acting = env.agents[0]
        observations, rewards, terminations, truncations, infos = env.step({acting: env_action})
        self.tracker.lengths[e] += 1
        for agent, reward in rewards.items():
            slot = self.agent_slot.get(agent)
            if slot is None:
                continue
            self.pending[slot[0]][e, slot[1]] += reward
            self.tracker.returns[e, self.agent_index[agent]] += reward
        for agent in terminations:
            term, trunc = bool(terminations[agent]), bool(truncations.get(agent, False))
            slot = self.agent_slot.get(agent)
            if slot is None or not (term or trunc):
                continue
            g, i = slot
            row = self._close(g, storages[g], e, i, terminated=term, truncated=trunc and not term)
            if trunc and not term and row >= 0:
                requests[g].append((e, i, self._final_critic_input(e, g, i, observations)))
            stats = infos.get(agent, {}).get(EPISODE_STATS_KEY)
            if stats:
                for name, value in stats.items():
                    self.tracker.finished_stats.setdefault(name, []).append(float(value))
        if not env.agents:
            self._finish_episode(e)
            self._reset_env(e, self._draw_seed())
        else:
            self._write_turn(e, observations, infos)

    def _final_critic_input(self, e: int, g: int, i: int, observations: dict) -> np.ndarray:
        """The critic input of a truncated agent's final observation (before any reset)."""
        agent = self.slots[g].group.agents[i]
        if self.critic_mode == "observation":
            return self.slots[g].plan.layout.flatten([observations[agent]])[0]
        return self._critic_observation(e, observations)

    @torch.no_grad()
    def _critic_values(
        self, g: int, model: GroupModel, where: list[tuple[int, int]], inputs: np.ndarray, continuing: bool
    ) -> Tensor:
        """The critic of group ``g`` on ``inputs [n, D]`` of the slots ``where`` (env, agent), from
        their current recurrent state (kept even if an episode start is flagged when ``continuing``)."""
        slots = self.slots[g]
        index = [e * slots.group.size + i for e, i in where]
        extra = slots.one_hot[index].unsqueeze(0) if slots.one_hot is not None else None
        hidden = slots.critic_hidden[index] if slots.critic_hidden is not None else None
        starts = torch.zeros(1, len(where))
        if not continuing:
            starts[0] = torch.from_numpy(slots.episode_starts[[e for e, _ in where], [i for _, i in where]])
        values, _ = model.critic(torch.from_numpy(inputs).unsqueeze(0), extra, hidden, starts)
        return values.reshape(-1)

    def _bootstrap_final(
        self, g: int, model: GroupModel, storage: RolloutStorage, requests: list[tuple[int, int, np.ndarray]]
    ) -> None:
        """Truncated agents' last decisions bootstrap from the value of their final observation."""
        where = [(e, i) for e, i, _ in requests]
        values = self._critic_values(g, model, where, np.stack([x for _, _, x in requests]), continuing=True)
        for (e, i, _), value in zip(requests, values):
            storage.arrays["bootstrap_values"][self.rows[g][e, i] - 1, e, i] = float(value)

    def _end_rollout(self, models: list[GroupModel], storages: list[RolloutStorage]) -> None:
        """Close the acting agents' decisions with the value of their turn; carry waiting agents'
        open decisions into the next rollout; scale rewards; cut the advantage recursion."""
        cuts: list[list[tuple[int, int, int, float]]] = [[] for _ in self.slots]  # (row, e, i, bootstrap)
        for g, (slots, model, storage) in enumerate(zip(self.slots, models, storages)):
            acting = [(e, self.turn[e][1]) for e in range(self.n_envs) if self.turn[e][0] == g]
            if acting:
                source = slots.critic_observations if slots.critic_observations is not None else slots.observations
                inputs = np.stack([source[e, i] for e, i in acting])
                for (e, i), value in zip(acting, self._critic_values(g, model, acting, inputs, continuing=False)):
                    row = self._close(g, storage, e, i, terminated=False, truncated=False)
                    if row >= 0:
                        cuts[g].append((row, e, i, float(value)))
            arrays = storage.arrays
            carried = {name: np.zeros_like(arrays[name][0]) for name in DECISION_FIELDS if arrays.get(name) is not None}
            present = self.carried_present[g]
            for e, i in zip(*np.nonzero(self.open_rows[g] >= 0)):
                row = int(self.open_rows[g][e, i])
                for name in carried:
                    carried[name][e, i] = arrays[name][row, e, i]
                present[e, i] = True
                previous = row - 1
                if previous >= 0 and arrays["alive"][previous, e, i] and not arrays["terminated"][previous, e, i]:
                    cuts[g].append((previous, e, i, float(arrays["value_outputs"][row, e, i])))
            self.carried[g] = carried
        if self.reward_scaler is not None:
            self._scale_rewards(storages)
        for storage, group_cuts in zip(storages, cuts):
            for row, e, i, value in group_cuts:
                storage.arrays["truncated"][row, e, i] = 1.0
                storage.arrays["bootstrap_values"][row, e, i] = value

    def _scale_rewards(self, storages: list[RolloutStorage]) -> None:
        """Divide rewards by the running std of each slot's discounted return over its own
        decisions (the reward scaler's rule, taken row by row)."""
        scaler = self.reward_scaler
        assert scaler is not None
        for t in range(storages[0].alive.shape[0]):
            living = [storage.arrays["alive"][t] > 0 for storage in storages]
            samples = []
            for running, storage, live in zip(scaler.returns, storages, living):
                running[live] = running[live] * scaler.gamma + storage.arrays["rewards"][t][live]
                samples.append(running[live])
            joined = np.concatenate(samples)
            if joined.size:
                scaler.statistics.update(torch.from_numpy(joined.reshape(-1, 1)))
            std = float(np.sqrt(float(scaler.statistics.var.reshape(-1)[0]) + scaler.epsilon))
            for running, storage, live in zip(scaler.returns, storages, living):
                storage.arrays["rewards"][t] /= std
                ended = live & ((storage.arrays["terminated"][t] > 0) | (storage.arrays["truncated"][t] > 0))
                running[ended] = 0.0

    # ----------------------------------------------------------------------------- resume
    def state_dict(self) -> dict[str, Any]:
        """The collector's resume data in :meth:`Collector.state_dict`'s format: each env copy's
        history holds one present agent per turn, plus the slots' pending rewards and the open
        decisions carried into the next rollout."""
        state = super().state_dict()
        columns = [[self.agent_index[agent] for agent in slots.group.agents] for slots in self.slots]
        max_dim = max(slots.codec.action_dim for slots in self.slots)
        for e, history in enumerate(state["histories"]):
            turns = self.turn_histories[e]
            actions = np.zeros((len(turns), len(self.agent_order), max_dim), dtype=np.float32)
            present = np.zeros((len(turns), len(self.agent_order)), dtype=bool)
            for s, (column, flat) in enumerate(turns):
                actions[s, column, : flat.size] = flat
                present[s, column] = True
            history["actions"] = torch.from_numpy(actions)
            history["present"] = torch.from_numpy(present)
            pending = np.zeros(len(self.agent_order), dtype=np.float64)
            for g, group_columns in enumerate(columns):
                pending[group_columns] = self.pending[g][e]
            history["pending"] = torch.from_numpy(pending)
            history["carried"] = [
                {name: torch.from_numpy(values[e].copy()) for name, values in self.carried[g].items()}
                for g in range(len(self.slots))
            ]
            history["carried_present"] = [
                torch.from_numpy(self.carried_present[g][e].copy()) for g in range(len(self.slots))
            ]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild every env copy by resetting with its seed and replaying its turns."""
        self.started = bool(state["started"])
        if not self.started:
            return
        for e in range(self.n_envs):
            self._reset_env(e, int(state["reset_seeds"][e]))
            history = state["histories"][e]
            for s in range(history["actions"].shape[0]):
                (column,) = np.flatnonzero(history["present"][s].numpy())
                agent = self.agent_order[int(column)]
                g, i = self.agent_slot[agent]
                codec = self.slots[g].codec
                flat = history["actions"][s, column, : codec.action_dim].numpy().reshape(1, -1)
                observations, _, _, _, infos = self.envs[e].step({agent: codec.to_env_batch(flat)[0]})
                self.turn_histories[e].append((int(column), flat[0].copy()))
                self._write_turn(e, observations, infos)
            for g, slots in enumerate(self.slots):
                columns = [self.agent_index[agent] for agent in slots.group.agents]
                self.pending[g][e] = history["pending"].numpy()[columns]
                self.carried_present[g][e] = history["carried_present"][g].numpy()
                for name, values in history["carried"][g].items():
                    if name not in self.carried[g]:
                        self.carried[g][name] = np.zeros((self.n_envs, *values.shape), dtype=values.numpy().dtype)
                    self.carried[g][name][e] = values.numpy()
        self._restore_running_state(state)
