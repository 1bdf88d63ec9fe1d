"""Rollout storage laid out [time, env, agent] for one policy group, and its minibatches.

A group's agents share parameters, so their transitions are stored side by side:
``[T, E, A, ...]``. For training, env and agent are merged into one batch axis
``N = E * A``; non-recurrent minibatches draw living transitions at random, recurrent ones
draw whole chunks of ``chunk_length`` consecutive steps of one (env, agent) sequence, with
the stored hidden state at the chunk start and a mask that removes dead and padded steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import overload

import torch
from torch import Tensor


@dataclass
class Minibatch:
    """Time-major training tensors ``[L, B, ...]`` (``L = 1`` without recurrence)."""

    observations: Tensor
    critic_observations: Tensor | None
    actor_extra: Tensor | None
    critic_extra: Tensor | None
    actions: Tensor
    old_log_probs: Tensor
    old_values: Tensor
    returns: Tensor
    advantages: Tensor
    mask: Tensor | None
    action_masks: Tensor | None
    actor_hidden: Tensor | None
    critic_hidden: Tensor | None
    episode_starts: Tensor | None


class RolloutStorage:
    """Preallocated tensors ``[T, E, A, ...]`` for one group, filled step by step."""

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        n_agents: int,
        observation_dim: int,
        critic_observation_dim: int | None,
        action_dim: int,
        mask_dim: int,
        hidden_size: int,
    ) -> None:
        shape = (n_steps, n_envs, n_agents)
        self.observations = torch.zeros(*shape, observation_dim)
        self.critic_observations = torch.zeros(*shape, critic_observation_dim) if critic_observation_dim else None
        self.actions = torch.zeros(*shape, action_dim)
        self.log_probs = torch.zeros(shape)
        self.value_outputs = torch.zeros(shape)
        self.rewards = torch.zeros(shape)
        self.terminated = torch.zeros(shape)
        self.truncated = torch.zeros(shape)
        self.alive = torch.zeros(shape)
        self.bootstrap_values = torch.zeros(shape)
        self.action_masks = torch.ones(*shape, mask_dim) if mask_dim else None
        self.actor_hidden = torch.zeros(*shape, hidden_size) if hidden_size else None
        self.critic_hidden = torch.zeros(*shape, hidden_size) if hidden_size else None
        self.episode_starts = torch.zeros(shape)
        self.final_value_outputs = torch.zeros(n_envs, n_agents)
        # numpy views sharing memory with the tensors: collection writes through them,
        # which costs far less per step than tensor indexing.
        self.arrays = {name: value.numpy() for name, value in vars(self).items() if isinstance(value, torch.Tensor)}


@dataclass
class TrainingBatch:
    """A group's whole rollout with advantages, as ``[T, N, ...]`` tensors (N = env x agent),
    and the random stream that shuffles its minibatches."""

    generator: torch.Generator
    observations: Tensor
    critic_observations: Tensor | None
    actor_extra: Tensor | None
    critic_extra: Tensor | None
    actions: Tensor
    old_log_probs: Tensor
    old_values: Tensor
    returns: Tensor
    advantages: Tensor
    alive: Tensor
    action_masks: Tensor | None
    actor_hidden: Tensor | None
    critic_hidden: Tensor | None
    episode_starts: Tensor

    def full(self, recurrent: bool) -> Minibatch:
        """The whole rollout as one minibatch."""
        if recurrent:
            return self._sequences(torch.arange(self.alive.shape[1]), 0, self.alive.shape[0])
        index = torch.nonzero(self.alive.reshape(-1) > 0).squeeze(-1)
        return self._flat(index)

    def minibatches(
        self, minibatch_size: int | None, generator: torch.Generator, recurrent: bool, chunk_length: int
    ) -> Iterator[Minibatch]:
        """One epoch of shuffled minibatches (``None`` size: the whole batch at once)."""
        if recurrent:
            yield from self._chunk_minibatches(minibatch_size, generator, chunk_length)
            return
        living = torch.nonzero(self.alive.reshape(-1) > 0).squeeze(-1)
        if living.numel() == 0:
            return
        order = living[torch.randperm(living.numel(), generator=generator).to(living.device)]
        size = living.numel() if minibatch_size is None else minibatch_size
        # One gather per epoch; each minibatch is then a slice of the shuffled rollout (the
        # same rows as gathering per minibatch, for a fraction of the indexing work).
        shuffled = self._flat(order)
        for start in range(0, order.numel(), size):
            yield shuffled if size >= order.numel() else _rows(shuffled, start, start + size)

    def _flat(self, index: Tensor) -> Minibatch:
        def take(x: Tensor | None) -> Tensor | None:
            if x is None:
                return None
            return x.reshape(-1, *x.shape[2:])[index].unsqueeze(0)

        return self._gathered(take, mask=None, actor_hidden=None, critic_hidden=None, episode_starts=None)

    def _gathered(self, take: Callable[[Tensor | None], Tensor | None], **sequence_fields: Tensor | None) -> Minibatch:
        """A minibatch of the per-step tensors gathered by ``take``; the fields that differ
        between flat rows and recurrent chunks (mask, hidden states, starts) come from the caller."""
        return Minibatch(
            observations=take(self.observations),
            critic_observations=take(self.critic_observations),
            actor_extra=take(self.actor_extra),
            critic_extra=take(self.critic_extra),
            actions=take(self.actions),
            old_log_probs=take(self.old_log_probs),
            old_values=take(self.old_values),
            returns=take(self.returns),
            advantages=take(self.advantages),
            action_masks=take(self.action_masks),
            **sequence_fields,
        )

    def _chunk_minibatches(
        self, minibatch_size: int | None, generator: torch.Generator, chunk_length: int
    ) -> Iterator[Minibatch]:
        steps, sequences = self.alive.shape[:2]
        chunk_starts = list(range(0, steps, chunk_length))
        pairs = torch.tensor([(start, sequence) for start in chunk_starts for sequence in range(sequences)])
        pairs = pairs[torch.randperm(pairs.shape[0], generator=generator)]
        per_batch = pairs.shape[0] if minibatch_size is None else max(1, minibatch_size // chunk_length)
        for first in range(0, pairs.shape[0], per_batch):
            yield self._chunks(pairs[first : first + per_batch], chunk_length)

    def _chunks(self, pairs: Tensor, chunk_length: int) -> Minibatch:
        """Gather chunks (start, sequence) into ``[L, B, ...]``, padding past the rollout end."""
        steps = self.alive.shape[0]
        pairs = pairs.to(self.alive.device)  # drawn on the CPU; gathered where the batch lives
        offsets = torch.arange(chunk_length, device=pairs.device).unsqueeze(1)
        time = pairs[:, 0].unsqueeze(0) + offsets
        valid = (time < steps).to(self.alive.dtype)
        time = time.clamp(max=steps - 1)
        sequence = pairs[:, 1].unsqueeze(0).expand_as(time)

        def take(x: Tensor | None) -> Tensor | None:
            return None if x is None else x[time, sequence]

        def first(x: Tensor | None) -> Tensor | None:
            return None if x is None else x[pairs[:, 0], pairs[:, 1]]

        return self._gathered(
            take,
            mask=take(self.alive) * valid,
            actor_hidden=first(self.actor_hidden),
            critic_hidden=first(self.critic_hidden),
            episode_starts=take(self.episode_starts),
        )

    def _sequences(self, sequences: Tensor, start: int, length: int) -> Minibatch:
        pairs = torch.stack([torch.full_like(sequences, start), sequences], dim=1)
        return self._chunks(pairs, length)


def _rows(minibatch: Minibatch, start: int, stop: int) -> Minibatch:
    """Rows ``start:stop`` of a flat (``L = 1``) minibatch, as views."""
    fields = {}
    for name in Minibatch.__dataclass_fields__:
        value = getattr(minibatch, name)
        fields[name] = value[:, start:stop] if isinstance(value, Tensor) else value
    return Minibatch(**fields)


@overload
def merge_env_agent(x: Tensor) -> Tensor: ...
@overload
def merge_env_agent(x: None) -> None: ...
def merge_env_agent(x: Tensor | None) -> Tensor | None:
    """``[T, E, A, ...]`` -> ``[T, E*A, ...]``."""
    if x is None:
        return None
    return x.reshape(x.shape[0], x.shape[1] * x.shape[2], *x.shape[3:])


__all__ = ["Minibatch", "RolloutStorage", "TrainingBatch", "merge_env_agent"]
