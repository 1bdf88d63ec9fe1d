"""The one actor-critic learner every algorithm is built on.

An algorithm is a ``Config`` class (what the critic sees, hyperparameters) plus an update
rule from :mod:`agents.rules`. The learner owns the environment copies, the policy groups
and their models, collection, advantage estimation, checkpoints and the public API
(``learn``, ``act``, ``save``, ``load``, ``state_dict``). Single-agent training is
multi-agent training with one agent named ``agent``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn

from agents import checkpoint
from agents.backends import InProcessBackend, RolloutBackend
from agents.collection import Collector, RewardScaler
from agents.config import LearnerConfig, build_config
from agents.core.distributions import ActionCodec, UnsupportedSpaceError
from agents.core.gae import compute_gae
from agents.core.normalization import RunningMeanStd, ValueNorm
from agents.environments import SINGLE_AGENT_NAME, has_state, notice, resolve_env
from agents.groups import PolicyGroup, build_policy_groups
from agents.models import Actor, Critic, ObservationLayout, encoder_normalizers
from agents.rollout import Minibatch, RolloutStorage, TrainingBatch, merge_env_agent
from agents.update_threads import UpdateThreads

Callback = Callable[[dict[str, float]], "bool | None"]


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stops and the last good parameters stay."""


def ensure_finite(name: str, value: Tensor) -> None:
    """Raise :class:`NonFiniteLossError` if ``value`` is not finite."""
    if not bool(torch.isfinite(value).all()):
        raise NonFiniteLossError(f"{name} is {float(value.detach().reshape(-1)[0])}")


class GroupModel(nn.Module):
    """Actor, critic and (optionally) the value normaliser of one policy group."""

    def __init__(self, actor: Actor, critic: Critic, value_norm: ValueNorm | None) -> None:
        super().__init__()
        self.actor = actor
        self.critic = critic
        self.value_norm = value_norm

    def denormalize(self, values: Tensor) -> Tensor:
        """Critic outputs on the return scale."""
        return self.value_norm.denormalize(values) if self.value_norm is not None else values


@dataclass
class Evaluation:
    """Log-probabilities, entropies and values of a minibatch under the current parameters."""

    distribution: Any
    log_probs: Tensor
    entropy: Tensor
    values: Tensor | None


class Learner:
    """Actor-critic learner over policy groups; subclasses choose ``Config`` and ``rule``."""

    Config: type[LearnerConfig] = LearnerConfig
    rule: Any = None
    uses_critic: bool = True

    def __init__(self, env: Any, seed: int = 0, preset: str | None = None, **hyperparameters: Any) -> None:
        self.config = build_config(self.Config, preset, **hyperparameters)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = seed
        self.preset = preset
        if self.config.torch_threads is not None:
            torch.set_num_threads(self.config.torch_threads)
        self.env_id = env if isinstance(env, str) else None
        self.steps = 0
        self.updates = 0
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.update_threads = UpdateThreads(self.config.update_threads)
        self._build(env)

    # ------------------------------------------------------------------------- building
    def _build(self, env: Any) -> None:
        config = self.config
        self.source = resolve_env(env)
        self.single_agent = self.source.single_agent
        self.envs = [self.source.make() for _ in range(config.n_envs)]
        probe = self.envs[0]
        self.possible_agents = list(probe.possible_agents)
        self.policy_groups: list[PolicyGroup] = build_policy_groups(
            self.possible_agents, probe.observation_space, probe.action_space, config.policy_sharing
        )
        layouts = []
        for group in self.policy_groups:
            agent = group.agents[0]
            layouts.append(ObservationLayout(group.observation_space, owner=f"agent {agent!r}"))
            try:
                ActionCodec(group.action_space)
            except UnsupportedSpaceError as error:
                raise UnsupportedSpaceError(f"agent {agent!r}: {error}") from None
        self.critic_mode = "observation"
        critic_layouts: list[ObservationLayout | None] = [None] * len(self.policy_groups)
        if config.critic_input in ("state", "joined"):
            if config.critic_input == "state" and has_state(probe) and self._state_works(probe):
                self.critic_mode = "state"
                state_layout = ObservationLayout(probe.state_space, owner="state()")
            else:
                self.critic_mode = "joined"
                width = sum(layout.dim * group.size for layout, group in zip(layouts, self.policy_groups))
                state_layout = ObservationLayout(spaces.Box(-np.inf, np.inf, (width,), np.float32), owner="joined")
                if config.critic_input == "state":
                    notice(
                        f"{type(probe).__name__} has no state(); the centralised critic sees all agents' "
                        "observations joined"
                    )
            critic_layouts = [state_layout] * len(self.policy_groups)
        self.layouts = layouts
        self.critic_layouts = critic_layouts
        hidden = config.recurrent_hidden_size if config.recurrent else 0
        models = []
        for group, layout, critic_layout in zip(self.policy_groups, layouts, critic_layouts):
            extra = group.size if (config.agent_id_one_hot and group.size > 1) else 0
            actor = Actor(layout, group.action_space, extra, config)
            critic = Critic(critic_layout or layout, extra, config)
            models.append(GroupModel(actor, critic, ValueNorm() if config.value_normalization else None))
        self.models = nn.ModuleList(models)
        # Running statistics that are not part of a group's networks (saved with them).
        self.statistics = nn.ModuleDict()
        reward_scaler = None
        if config.normalize_rewards:
            self.statistics["discounted_return"] = RunningMeanStd((1,))
            shapes = [(config.n_envs, group.size) for group in self.policy_groups]
            reward_scaler = RewardScaler(self.statistics["discounted_return"], shapes, config.gamma)
        self.optimizers = [self.rule.make_optimizers(self, model) for model in self.models]
        self.collector = Collector(
            self.source, self.envs, self.policy_groups, layouts, critic_layouts, self.critic_mode,
            config.agent_id_one_hot, hidden, self.generator, reward_scaler,
        )
        # Where collection runs: the learner's own env copies unless use_backend() says otherwise.
        self.backend: RolloutBackend = InProcessBackend()
        self.backend.bind(self)
        self.storages = [
            RolloutStorage(
                config.n_steps, config.n_envs, group.size, layout.dim,
                critic_layout.dim if critic_layout is not None else None,
                slots.codec.action_dim, slots.codec.mask_dim, hidden,
            )
            for group, layout, critic_layout, slots in zip(self.policy_groups, layouts, critic_layouts, self.collector.slots)
        ]
        self._act_hidden: dict[str, tuple[Tensor | None, bool]] = {}

    @staticmethod
    def _state_works(env: Any) -> bool:
        try:
            env.reset(seed=0)
            env.state()
        except (NotImplementedError, AttributeError):
            return False
        return True

    # ------------------------------------------------------------------------- training
    def learn(self, total_steps: int, callback: Callback | None = None) -> "Learner":
        """Train for ``total_steps`` more environment steps (summed over env copies)."""
        if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
            raise ValueError(f"total_steps must be an integer >= 1, got {total_steps!r}")
        target = self.steps + total_steps
        batch_steps = self.config.n_envs * self.config.n_steps
        while self.steps < target:
            started = time.perf_counter()
            self.backend.collect(self.models, self.statistics, self.storages, self.config.n_steps, self.updates)
            collected = time.perf_counter()
            self.steps += batch_steps
            snapshot = self._snapshot()
            try:
                batches = [self.prepare_batch(g) for g in range(len(self.policy_groups))]
                # The groups share no parameters: their updates may run at the same time.
                updates = [partial(self.rule.update, self, g, batch) for g, batch in enumerate(batches)]
                stats = {}
                for group, group_stats in zip(self.policy_groups, self.update_threads.run("groups", *updates)):
                    for name, value in group_stats.items():
                        key = f"loss/{name}" if len(self.policy_groups) == 1 else f"loss/{group.name}/{name}"
                        stats[key] = value
            except NonFiniteLossError as error:
                self._restore(snapshot)
                self.steps -= batch_steps
                raise NonFiniteLossError(
                    f"non-finite loss at update {self.updates + 1} ({error}); training stopped and the "
                    f"parameters of update {self.updates} were kept"
                ) from None
            # Observation statistics change only between updates, so a rollout is collected and
            # trained on with the same normalisation (the ratio starts at exactly 1).
            self._update_observation_statistics()
            self.updates += 1
            finished = time.perf_counter()
            metrics = self._metrics(stats, batch_steps, finished - started, collected - started)
            if callback is not None and callback(metrics) is False:
                break
        return self

    def _update_observation_statistics(self) -> None:
        for model, storage in zip(self.models, self.storages):
            for encoder, normalizer in encoder_normalizers(model.actor):
                living = storage.alive.reshape(-1) > 0
                normalizer.update(encoder.select(storage.observations.reshape(-1, storage.observations.shape[-1])[living]))
            for encoder, normalizer in encoder_normalizers(model.critic):
                source = storage.critic_observations if storage.critic_observations is not None else storage.observations
                living = storage.alive.reshape(-1) > 0
                normalizer.update(encoder.select(source.reshape(-1, source.shape[-1])[living]))

    def _snapshot(self) -> dict[str, Any]:
        return {
            "models": {k: v.clone() for k, v in self.models.state_dict().items()},
            "statistics": {k: v.clone() for k, v in self.statistics.state_dict().items()},
            "optimizers": [checkpoint.clone_state(optimizers_state(o)) for o in self.optimizers],
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self.models.load_state_dict(snapshot["models"])
        self.statistics.load_state_dict(snapshot["statistics"])
        for optimizers, state in zip(self.optimizers, snapshot["optimizers"]):
            load_optimizers_state(optimizers, state)

    def prepare_batch(self, g: int) -> TrainingBatch:
        """GAE per agent with death masking, advantage normalisation over living agents."""
        config = self.config
        storage = self.storages[g]
        model = self.models[g]
        alive = storage.alive
        with torch.no_grad():
            if self.uses_critic:
                values = model.denormalize(storage.value_outputs) * alive
                final = model.denormalize(storage.final_value_outputs)
                bootstrap = model.denormalize(storage.bootstrap_values) * storage.truncated
            else:
                values = torch.zeros_like(alive)
                final = torch.zeros_like(storage.final_value_outputs)
                bootstrap = torch.zeros_like(alive)
            continuing = alive * (1 - storage.terminated) * (1 - storage.truncated)
            following = torch.cat([values[1:], final.unsqueeze(0)], dim=0)
            next_values = following * continuing + bootstrap
            terminated = torch.maximum(storage.terminated, 1 - alive)
            advantages, returns = compute_gae(
                storage.rewards * alive, values, next_values, terminated, storage.truncated, config.gamma, config.gae_lambda
            )
            advantages = advantages * alive
            living = alive > 0
            if config.normalize_advantage and int(living.sum()) > 1:
                chosen = advantages[living]
                advantages = (advantages - chosen.mean()) / (chosen.std() + 1e-8) * alive
            targets = returns
            if model.value_norm is not None:
                model.value_norm.update(returns[living])
                targets = model.value_norm.normalize(returns)
        storage.advantages.copy_(advantages)
        storage.returns.copy_(returns)
        group = self.policy_groups[g]
        one_hot = None
        if self.collector.slots[g].one_hot is not None:
            one_hot = torch.eye(group.size).expand(config.n_steps, config.n_envs, group.size, group.size)
        # Each batch shuffles with its own stream, drawn here, so groups can update in any order.
        shuffle_seed = int(torch.randint(0, 2**62, (1,), generator=self.generator))
        return TrainingBatch(
            generator=torch.Generator().manual_seed(shuffle_seed),
            observations=merge_env_agent(storage.observations),
            critic_observations=merge_env_agent(storage.critic_observations),
            actor_extra=merge_env_agent(one_hot),
            critic_extra=merge_env_agent(one_hot),
            actions=merge_env_agent(storage.actions),
            old_log_probs=merge_env_agent(storage.log_probs),
            old_values=merge_env_agent(storage.value_outputs),
            returns=merge_env_agent(targets),
            advantages=merge_env_agent(advantages),
            alive=merge_env_agent(alive),
            action_masks=merge_env_agent(storage.action_masks),
            actor_hidden=merge_env_agent(storage.actor_hidden),
            critic_hidden=merge_env_agent(storage.critic_hidden),
            episode_starts=merge_env_agent(storage.episode_starts),
        )

    def evaluate(self, g: int, batch: Minibatch, with_values: bool = True) -> Evaluation:
        """The current policy (and value) on a minibatch; shapes ``[L, B]``."""
        model = self.models[g]
        steps, size = batch.actions.shape[:2]
        distribution, _ = model.actor(
            batch.observations, batch.actor_extra, batch.actor_hidden, batch.episode_starts, batch.action_masks
        )
        actions = batch.actions.reshape(steps * size, -1)
        log_probs = distribution.log_prob(actions).reshape(steps, size)
        entropy = distribution.entropy().reshape(steps, size)
        values = self.values(g, batch) if with_values else None
        return Evaluation(distribution, log_probs, entropy, values)

    def values(self, g: int, batch: Minibatch) -> Tensor:
        """The current value function of group ``g`` on a minibatch; shape ``[L, B]``."""
        critic_input = batch.critic_observations if batch.critic_observations is not None else batch.observations
        values, _ = self.models[g].critic(critic_input, batch.critic_extra, batch.critic_hidden, batch.episode_starts)
        return values

    def _metrics(self, stats: dict[str, float], batch_steps: int, elapsed: float, collect_time: float) -> dict[str, float]:
        returns, lengths, env_stats = self.backend.drain_episodes()
        metrics: dict[str, float] = {
            "steps": float(self.steps),
            "updates": float(self.updates),
            "steps_per_second": batch_steps / max(elapsed, 1e-9),
            "collection_seconds": collect_time,
            "update_seconds": elapsed - collect_time,
        }
        all_returns = []
        for name, values in returns.items():
            metrics[f"episode_return/{name}"] = float(np.mean(values))
            all_returns.extend(values)
        if all_returns:
            metrics["episode_return"] = float(np.mean(all_returns))
            metrics["episodes"] = float(len(lengths))
        if lengths:
            metrics["episode_length"] = float(np.mean(lengths))
        for name, values in env_stats.items():
            metrics[f"env/{name}"] = float(np.mean(values))
        metrics.update(stats)
        metrics.update(self.backend.metrics())
        return metrics

    def use_backend(self, backend: RolloutBackend) -> "Learner":
        """Collect with ``backend`` from now on (see :mod:`agents.backends`); the env copies
        continue from where the current backend left them."""
        backend.bind(self)
        previous, self.backend = self.backend, backend
        previous.close()
        return self

    def close(self) -> None:
        """Stop the backend's workers (the in-process backend has none) and the update's threads."""
        self.backend.close()
        self.update_threads.close()

    # -------------------------------------------------------------------------- acting
    def reset_act_state(self) -> None:
        """Forget the recurrent state that :meth:`act` keeps per agent between calls."""
        self._act_hidden = {}

    @torch.no_grad()
    def act(self, observations: Any, deterministic: bool = True, action_masks: dict | None = None) -> Any:
        """Actions for observations: one observation -> one action (single agent), or a dict
        agent -> observation -> dict agent -> action. Recurrent policies keep their state per
        agent between calls until :meth:`reset_act_state`."""
        single = self.single_agent and not (isinstance(observations, dict) and set(observations) == {SINGLE_AGENT_NAME})
        if single:
            observations = {SINGLE_AGENT_NAME: observations}
        unknown = [agent for agent in observations if agent not in self.collector.agent_slot]
        if unknown:
            raise ValueError(f"unknown agents {unknown}; this policy knows {self.possible_agents}")
        actions: dict[str, Any] = {}
        for g, (group, model, slots) in enumerate(zip(self.policy_groups, self.models, self.collector.slots)):
            names = [agent for agent in group.agents if agent in observations]
            if not names:
                continue
            flat = torch.from_numpy(self.layouts[g].flatten([observations[a] for a in names])).unsqueeze(0)
            extra = None
            if slots.one_hot is not None:
                extra = torch.eye(group.size)[[group.index[a] for a in names]].unsqueeze(0)
            mask = None
            if slots.codec.mask_dim:
                rows = []
                for a, row in zip(names, flat[0]):
                    part = slots.mask_part
                    if part is not None:
                        rows.append(row[part.start : part.stop])
                    elif action_masks is not None and a in action_masks:
                        rows.append(torch.as_tensor(np.asarray(action_masks[a], dtype=np.float32)).reshape(-1))
                    else:
                        rows.append(torch.ones(slots.codec.mask_dim))
                mask = torch.stack(rows).unsqueeze(0)
            hidden, starts = None, None
            if self.config.recurrent:
                hidden = torch.stack(
                    [self._act_hidden.get(a, torch.zeros(self.config.recurrent_hidden_size)) for a in names]
                )
                starts = torch.zeros(1, len(names))
            distribution, new_hidden = model.actor(flat, extra, hidden, starts, mask)
            chosen = distribution.mode() if deterministic else distribution.sample()
            env_actions = slots.codec.to_env_batch(chosen.reshape(len(names), -1).numpy())
            for row, agent in enumerate(names):
                actions[agent] = env_actions[row]
                if new_hidden is not None:
                    self._act_hidden[agent] = new_hidden[row].clone()
        return actions[SINGLE_AGENT_NAME] if single else actions

    # ---------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Full training state: parameters, optimisers, normalisers, RNGs, counters, env resume data."""
        return {
            "format": checkpoint.FORMAT_VERSION,
            "algorithm": type(self).__name__,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "env_id": self.env_id,
            "steps": self.steps,
            "updates": self.updates,
            "models": self.models.state_dict(),
            "statistics": self.statistics.state_dict(),
            "optimizers": [optimizers_state(o) for o in self.optimizers],
            "torch_rng": torch.get_rng_state(),
            "generator": self.generator.get_state(),
            "collector": self.backend.state_dict(),
            "spaces": self._space_signature(),
        }

    def load_state_dict(self, state: dict[str, Any], source: str = "state dict") -> None:
        """Restore a state from :meth:`state_dict` (same algorithm, same spaces)."""
        checkpoint.check_compatible(state, self, source)
        self.models.load_state_dict(state["models"])
        self.statistics.load_state_dict(state.get("statistics", {}))
        for optimizers, saved in zip(self.optimizers, state["optimizers"]):
            load_optimizers_state(optimizers, saved)
        self.steps = int(state["steps"])
        self.updates = int(state["updates"])
        self.generator.set_state(state["generator"])
        self.backend.load_state_dict(state["collector"])
        torch.set_rng_state(state["torch_rng"])
        self.reset_act_state()

    def _space_signature(self) -> dict[str, list[int]]:
        signature = {}
        for g, group in enumerate(self.policy_groups):
            signature[f"{group.name}/observation"] = [self.layouts[g].dim]
            signature[f"{group.name}/action"] = [self.collector.slots[g].codec.action_dim, self.collector.slots[g].codec.mask_dim]
            if self.critic_layouts[g] is not None:
                signature[f"{group.name}/critic"] = [self.critic_layouts[g].dim]
        return signature

    def save(self, path: str | Path) -> Path:
        """Write :meth:`state_dict` to ``path`` atomically."""
        return checkpoint.save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | Path, env: Any = None, trust_code: bool = False) -> "Learner":
        """Rebuild a learner from a checkpoint; ``env`` is needed unless it was made from an id
        (a ``module:factory`` id the file names is made only with ``trust_code=True``)."""
        state = checkpoint.load(path)
        if state.get("algorithm") != cls.__name__ and cls is not Learner:
            raise ValueError(f"{path} holds a {state.get('algorithm')} checkpoint, not {cls.__name__}")
        if env is None:
            env = checkpoint.saved_environment(state, path, trust_code)
        algorithm = cls if cls is not Learner else _algorithm_class(state["algorithm"])
        config = {k: tuple(v) if isinstance(v, list) else v for k, v in state["config"].items()}
        learner = algorithm(env, seed=int(state["seed"]), **config)
        learner.load_state_dict(state, source=str(path))
        return learner


def _algorithm_class(name: str) -> type[Learner]:
    from agents.algorithms import ALGORITHMS

    for cls in ALGORITHMS.values():
        if cls.__name__ == name:
            return cls
    raise ValueError(f"unknown algorithm {name!r} in checkpoint")


def optimizers_state(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    """State dicts of a group's named optimisers."""
    return {name: optimizer.state_dict() for name, optimizer in optimizers.items()}


def load_optimizers_state(optimizers: dict[str, torch.optim.Optimizer], state: dict[str, Any]) -> None:
    """Load the state dicts written by :func:`optimizers_state`."""
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state[name])
