"""Acting: the one place that assembles a policy's inputs, and the policy object for acting.

Collection (every env copy at once) and :class:`Policy` (a trained learner's ``act``) feed a
group's actor the same things, assembled here: the flat observations, the agent-id one-hots,
the action masks (from the observation's ``"action_mask"`` part, else from what the
environment or the caller gave, else none) and the recurrent state. Inputs are time-major with
one step: ``[1, n, ...]`` for ``n`` (env, agent) slots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from agents.models import GroupModel
from agents.plan import CollectionPlan, GroupPlan


class ActionMaskError(ValueError):
    """An agent's action mask allows no action: sampling would send a forbidden one."""


@dataclass
class ActorInputs:
    """One step of a group's actor inputs for ``n`` slots (tensors share memory where they can)."""

    observations: Tensor
    one_hot: Tensor | None
    action_masks: Tensor | None
    hidden: Tensor | None
    episode_starts: Tensor | None


def actor_inputs(
    observations: np.ndarray,
    one_hot: Tensor | None,
    action_masks: np.ndarray | None,
    hidden: Tensor | None,
    episode_starts: np.ndarray | None,
) -> ActorInputs:
    """Time-major actor inputs from ``observations [n, D]``, one-hot rows ``[n, size]``, masks
    ``[n, M]``, hidden state ``[n, H]`` and episode-start flags ``[n]``."""
    n = observations.shape[0]
    return ActorInputs(
        observations=torch.from_numpy(observations.reshape(1, n, -1)),
        one_hot=one_hot.unsqueeze(0) if one_hot is not None else None,
        action_masks=torch.from_numpy(action_masks.reshape(1, n, -1)) if action_masks is not None else None,
        hidden=hidden,
        episode_starts=(
            torch.from_numpy(episode_starts.reshape(1, n).astype(np.float32)) if episode_starts is not None else None
        ),
    )


def one_hot_rows(plan: GroupPlan, indices: list[int]) -> Tensor | None:
    """The agent-id one-hots of the group's agents at ``indices`` (None when the group has none)."""
    if not plan.one_hot_size:
        return None
    return torch.eye(plan.one_hot_size)[indices]


def action_mask(plan: GroupPlan, agent: str, observation: np.ndarray, given: Any = None) -> np.ndarray | None:
    """The action mask of ``agent``: the ``"action_mask"`` part of its flat ``observation``, else
    ``given`` (from ``infos`` or the caller), else None. A mask that allows no action, or of the
    wrong width, is refused naming the agent and its action space."""
    part = plan.mask_part
    if part is not None:
        mask = observation[part.start : part.stop]
    elif given is not None:
        mask = np.asarray(given, dtype=np.float32).reshape(-1)
    else:
        return None
    if mask.shape != (plan.codec.mask_dim,):
        raise ActionMaskError(
            f"agent {agent!r}: action mask has {mask.size} entries, but its action space "
            f"{plan.group.action_space} needs {plan.codec.mask_dim}"
        )
    if not mask.any():
        raise ActionMaskError(
            f"agent {agent!r}: the action mask allows no action of its action space {plan.group.action_space}; "
            "an acting agent needs at least one allowed action (remove the agent from env.agents when it "
            "cannot act)"
        )
    return mask


def check_observation(plan: GroupPlan, agent: str, observation: Any) -> None:
    """Refuse an observation that does not fit ``agent``'s declared observation space (wrong
    structure, shape or type, or a discrete value out of range), naming the agent and the space.

    Box bounds are not enforced: environments often emit values a little outside them.
    """
    space = plan.group.observation_space
    problem = _observation_problem(space, observation)
    if problem is not None:
        raise ValueError(f"agent {agent!r}: observation {problem}; its observation space is {space}")


def _observation_problem(space: spaces.Space, value: Any) -> str | None:
    """What is wrong with ``value`` as an element of ``space`` (None: nothing)."""
    if isinstance(space, spaces.Dict):
        if not isinstance(value, Mapping):
            return f"is a {type(value).__name__}, not a dict"
        missing = [key for key in space.spaces if key not in value]
        if missing:
            return f"lacks the keys {missing}"
        for key, subspace in space.spaces.items():
            problem = _observation_problem(subspace, value[key])
            if problem is not None:
                return f"key {key!r} {problem}"
        return None
    if isinstance(space, spaces.Tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(space.spaces):
            return f"is a {type(value).__name__}, not a tuple of {len(space.spaces)}"
        for index, subspace in enumerate(space.spaces):
            problem = _observation_problem(subspace, value[index])
            if problem is not None:
                return f"item {index} {problem}"
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return f"is a {type(value).__name__}, not an array"
    if array.dtype.kind not in "biuf":
        return f"has dtype {array.dtype}, not a number type"
    if isinstance(space, spaces.Discrete):
        if array.shape != () or array.dtype.kind == "f" or not space.start <= int(array) < space.start + space.n:
            return f"is {value!r}, not an integer in [{space.start}, {space.start + space.n})"
        return None
    expected = space.shape or ()
    if array.shape != expected:
        return f"has shape {tuple(array.shape)}, expected {tuple(expected)}"
    if isinstance(space, (spaces.MultiBinary, spaces.MultiDiscrete)) and not space.contains(array.astype(space.dtype)):
        return f"has values outside {space}"
    return None


class Policy:
    """A learner's policies for acting: observations of some agents in, their actions out.

    Each group's actor runs once per call on the rows of its agents present; recurrent
    policies keep their state per agent between calls until :meth:`reset`.
    """

    def __init__(self, plan: CollectionPlan, models: list[GroupModel], possible_agents: list[str]) -> None:
        self.plan = plan
        self.models = models
        self.possible_agents = possible_agents
        self.slot = {
            agent: (g, group.group.index[agent]) for g, group in enumerate(plan.groups) for agent in group.group.agents
        }
        self.hidden: dict[str, Tensor] = {}

    def reset(self) -> None:
        """Forget the recurrent state kept per agent."""
        self.hidden = {}

    @torch.no_grad()
    def act(
        self, observations: dict[str, Any], deterministic: bool = True, action_masks: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Environment actions for the agents in ``observations`` (dict agent -> observation)."""
        unknown = [agent for agent in observations if agent not in self.slot]
        if unknown:
            raise ValueError(f"unknown agents {unknown}; this policy knows {self.possible_agents}")
        actions: dict[str, Any] = {}
        for plan, model in zip(self.plan.groups, self.models):
            names = [agent for agent in plan.group.agents if agent in observations]
            if names:
                chosen = self._group_actions(plan, model, names, observations, deterministic, action_masks or {})
                actions.update(zip(names, chosen))
        return actions

    def _group_actions(
        self,
        plan: GroupPlan,
        model: GroupModel,
        names: list[str],
        observations: dict[str, Any],
        deterministic: bool,
        given_masks: dict[str, Any],
    ) -> list[Any]:
        for agent in names:
            check_observation(plan, agent, observations[agent])
        flat = plan.layout.flatten([observations[agent] for agent in names])
        masks = None
        if plan.codec.mask_dim:
            rows = [action_mask(plan, agent, row, given_masks.get(agent)) for agent, row in zip(names, flat)]
            masks = np.stack([row if row is not None else np.ones(plan.codec.mask_dim, np.float32) for row in rows])
        hidden = starts = None
        if self.plan.hidden_size:
            hidden = torch.stack([self.hidden.get(agent, torch.zeros(self.plan.hidden_size)) for agent in names])
            starts = np.zeros(len(names), dtype=bool)
        inputs = actor_inputs(flat, one_hot_rows(plan, [plan.group.index[a] for a in names]), masks, hidden, starts)
        distribution, new_hidden = model.actor(
            inputs.observations, inputs.one_hot, inputs.hidden, inputs.episode_starts, inputs.action_masks
        )
        chosen = distribution.mode() if deterministic else distribution.sample()
        if new_hidden is not None:
            for row, agent in enumerate(names):
                self.hidden[agent] = new_hidden[row].clone()
        return plan.codec.to_env_batch(chosen.reshape(len(names), -1).numpy())
