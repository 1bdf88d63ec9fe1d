"""The one actor-critic learner every algorithm is built on.

An algorithm is a ``Config`` class (what the critic sees, hyperparameters) plus an update
rule from :mod:`agents.rules`. The learner owns the environment copies, the policy groups
and their models, collection, advantage estimation, checkpoints and the public API
(``learn``, ``act``, ``save``, ``load``, ``state_dict``). Single-agent training is
multi-agent training with one agent named ``agent``.

Collection and ``act`` run on the CPU with the acting copy of the networks (``acting_models``);
the update runs on ``config.device`` with the learner copy (``models``) and its optimisers, which
are the acting copy itself on the CPU (see :mod:`agents.device`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch import Tensor, nn

from agents import checkpoint
from agents.acting import Policy
from agents.backends import BackendSetup, EnvIdFactory, InProcessBackend, RolloutBackend
from agents.collection import build_collection
from agents.config import LearnerConfig, build_config
from agents.core.finite import NonFiniteLossError
from agents.core.gae import compute_gae
from agents.core.normalization import RunningMeanStd, ValueNorm
from agents.device import copy_weights, learner_copy, resolve_device, state_on_cpu, to_device
from agents.diagnostics import CollapseWatch, explained_variance, rule_diagnostics
from agents.env_resolver import resolve_env
from agents.environments import SINGLE_AGENT_NAME, notice
from agents.groups import PolicyGroup
from agents.models import Actor, Critic, GroupModel, encoder_normalizers
from agents.plan import GroupPlan, plan_collection
from agents.rollout import Minibatch, RolloutStorage, TrainingBatch, merge_env_agent
from agents.rules.interface import Evaluation, Optimizers, UpdateRule
from agents.turn_collection import collector_for
from agents.update_threads import UpdateThreads

Callback = Callable[[dict[str, float]], "bool | None"]

__all__ = ["Callback", "GroupTraining", "Learner", "NonFiniteLossError"]


@dataclass
class GroupTraining:
    """One policy group as the learner trains it: what it is, its networks, its optimisers and
    its rollout storage."""

    plan: GroupPlan
    model: GroupModel
    optimizers: Optimizers
    storage: RolloutStorage
    #: How much of the variance of the last prepared returns the collected values explain.
    explained_variance: float = math.nan


class Learner:
    """Actor-critic learner over policy groups; subclasses choose ``Config`` and ``rule``."""

    Config: type[LearnerConfig] = LearnerConfig
    rule: ClassVar[UpdateRule]
    uses_critic: bool = True
    #: Every algorithm class by name, filled as subclasses are defined (checkpoints name theirs).
    registry: ClassVar[dict[str, type[Learner]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Learner.registry.setdefault(cls.__name__, cls)

    def __init__(self, env: Any, seed: int = 0, preset: str | None = None, **hyperparameters: Any) -> None:
        self.config = build_config(self.Config, preset, **hyperparameters)
        #: Where the update runs (rollouts always run on the CPU).
        self.device = resolve_device(self.config.device)
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
        self.collapse_watch = CollapseWatch()
        self._build(env)

    # ------------------------------------------------------------------------- building
    def _build(self, env: Any) -> None:
        config = self.config
        self.source = resolve_env(env)
        self.single_agent = self.source.single_agent
        self.envs = [self.source.make() for _ in range(config.n_envs)]
        self.possible_agents = list(self.envs[0].possible_agents)
        self.plan = plan_collection(self.envs[0], config)
        self.critic_mode = self.plan.critic_mode
        # The acting copy (CPU: collection and act) and the learner copy the update trains, with
        # its optimisers (the same modules when the device is the CPU). Both as one ModuleList of
        # all groups, for state dicts and parameter iteration.
        self.acting_models = nn.ModuleList([self._group_model(group) for group in self.plan.groups])
        self.models = learner_copy(self.acting_models, self.device)
        models = cast(list[GroupModel], list(self.models))
        # Running statistics that are not part of a group's networks (saved with them).
        self.statistics = nn.ModuleDict()
        reward_statistics = RunningMeanStd((1,)) if config.normalize_rewards else None
        if reward_statistics is not None:
            self.statistics["discounted_return"] = reward_statistics
        optimizers = [self.rule.make_optimizers(config, model) for model in models]
        self.collector, storages = build_collection(
            self.plan, self.envs, config.n_steps, self.generator, reward_statistics, collector_for(self.envs[0])
        )
        self.groups = [
            GroupTraining(plan, model, group_optimizers, storage)
            for plan, model, group_optimizers, storage in zip(self.plan.groups, models, optimizers, storages)
        ]
        self.policy = Policy(self.plan, cast(list[GroupModel], list(self.acting_models)), self.possible_agents)
        # Where collection runs: the learner's own env copies unless use_backend() says otherwise.
        self.backend: RolloutBackend = InProcessBackend()
        self.backend.bind(self._backend_setup(self.collector.state_dict(), collector_current=True))

    def _group_model(self, plan: GroupPlan) -> GroupModel:
        config = self.config
        actor = Actor(plan.layout, plan.group.action_space, plan.one_hot_size, config)
        critic = Critic(plan.critic_layout or plan.layout, plan.one_hot_size, config)
        return GroupModel(actor, critic, ValueNorm() if config.value_normalization else None)

    def _backend_setup(self, resume: dict[str, Any], collector_current: bool) -> BackendSetup:
        return BackendSetup(
            plan=self.plan,
            env_factory=EnvIdFactory(self.env_id) if self.env_id is not None else self.source.factory,
            n_envs=self.config.n_envs,
            n_steps=self.config.n_steps,
            seed=self.seed,
            models=self.acting_models,
            generator=self.generator,
            collector=self.collector,
            resume=resume,
            collector_current=collector_current,
        )

    # --------------------------------------------------------------------- the groups
    @property
    def policy_groups(self) -> list[PolicyGroup]:
        """The policy groups: which agents share parameters (see :mod:`agents.groups`)."""
        return self.plan.policy_groups

    @property
    def storages(self) -> list[RolloutStorage]:
        """Every group's rollout storage, in group order."""
        return [group.storage for group in self.groups]

    def model(self, g: int) -> GroupModel:
        """Actor, critic and value normaliser of group ``g``."""
        return self.groups[g].model

    def optimizers(self, g: int) -> Optimizers:
        """The named optimisers of group ``g``."""
        return self.groups[g].optimizers

    # ------------------------------------------------------------------------- training
    def learn(self, total_steps: int, callback: Callback | None = None) -> Learner:
        """Train for ``total_steps`` more environment steps (summed over env copies)."""
        if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
            raise ValueError(f"total_steps must be an integer >= 1, got {total_steps!r}")
        target = self.steps + total_steps
        batch_steps = self.config.n_envs * self.config.n_steps
        while self.steps < target:
            started = time.perf_counter()
            self.backend.collect(self.acting_models, self.statistics, self.storages, self.config.n_steps, self.updates)
            collected = time.perf_counter()
            self.steps += batch_steps
            snapshot = self._snapshot()
            try:
                batches = [self.prepare_batch(g) for g in range(len(self.groups))]
                # The groups share no parameters: their updates may run at the same time.
                updates = [partial(self.rule.update, self, g, batch) for g, batch in enumerate(batches)]
                stats, diagnostics = {}, {}
                for group, group_stats in zip(self.policy_groups, self.update_threads.run("groups", *updates)):
                    for name, value in group_stats.items():
                        key = f"loss/{name}" if len(self.groups) == 1 else f"loss/{group.name}/{name}"
                        stats[key] = value
                    diagnostics[group.name] = rule_diagnostics(group_stats)
            except NonFiniteLossError as error:
                self._restore(snapshot)
                self.steps -= batch_steps
                raise NonFiniteLossError(
                    f"non-finite loss at update {self.updates + 1} ({error}); training stopped and the "
                    f"parameters of update {self.updates} were kept"
                ) from None
            # Observation statistics change only between updates, so a rollout is collected and
            # trained on with the same normalisation (the ratio starts at exactly 1).
            self._update_observation_statistics(batches)
            copy_weights(self.models, self.acting_models)
            self.updates += 1
            finished = time.perf_counter()
            metrics = self._metrics(stats, batch_steps, finished - started, collected - started)
            self._add_diagnostics(metrics, diagnostics)
            if callback is not None and callback(metrics) is False:
                break
        return self

    def _add_diagnostics(self, metrics: dict[str, float], diagnostics: dict[str, dict[str, float]]) -> None:
        """``train/<group>/<name>`` for every group (see :mod:`agents.diagnostics`), and one
        warning line the first time a group's run looks collapsed."""
        for group in self.groups:
            name = group.plan.group.name
            found = dict(diagnostics.get(name, {}))
            if self.uses_critic:
                found["explained_variance"] = group.explained_variance
            for key, value in found.items():
                metrics[f"train/{name}/{key}"] = value
            warning = self.collapse_watch.observe(name, found, metrics.get(f"episode_return/{name}"))
            if warning is not None:
                metrics[f"train/{name}/collapse_warning"] = 1.0
                notice(warning)

    def _update_observation_statistics(self, batches: list[TrainingBatch]) -> None:
        """Merge each group's living observations of the rollout just trained on into the running
        statistics of its encoders (read from the batches, on the learner's device)."""
        for group, batch in zip(self.groups, batches):
            living = batch.alive.reshape(-1) > 0
            for encoder, normalizer in encoder_normalizers(group.model.actor):
                normalizer.update(encoder.select(batch.observations.reshape(-1, batch.observations.shape[-1])[living]))
            for encoder, normalizer in encoder_normalizers(group.model.critic):
                source = batch.critic_observations if batch.critic_observations is not None else batch.observations
                normalizer.update(encoder.select(source.reshape(-1, source.shape[-1])[living]))

    def _snapshot(self) -> dict[str, Any]:
        return {
            "models": {k: v.clone() for k, v in self.models.state_dict().items()},
            "statistics": {k: v.clone() for k, v in self.statistics.state_dict().items()},
            "optimizers": [checkpoint.clone_state(optimizers_state(group.optimizers)) for group in self.groups],
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self.models.load_state_dict(snapshot["models"])
        self.statistics.load_state_dict(snapshot["statistics"])
        for group, state in zip(self.groups, snapshot["optimizers"]):
            load_optimizers_state(group.optimizers, state)
        copy_weights(self.models, self.acting_models)

    def prepare_batch(self, g: int) -> TrainingBatch:
        """GAE per agent with death masking, advantage normalisation over living agents, on the
        learner's device: everything the update reads comes from the rollout moved there here."""
        config = self.config
        storage = to_device(self.groups[g].storage, self.device)
        model, plan = self.groups[g].model, self.groups[g].plan
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
                storage.rewards * alive,
                values,
                next_values,
                terminated,
                storage.truncated,
                config.gamma,
                config.gae_lambda,
            )
            advantages = advantages * alive
            living = alive > 0
            if self.uses_critic:
                self.groups[g].explained_variance = explained_variance(values, returns, living)
            if config.normalize_advantage and int(living.sum()) > 1:
                chosen = advantages[living]
                advantages = (advantages - chosen.mean()) / (chosen.std() + 1e-8) * alive
            targets = returns
            if model.value_norm is not None:
                model.value_norm.update(returns[living])
                targets = model.value_norm.normalize(returns)
        one_hot = None
        if plan.one_hot_size:
            size = plan.one_hot_size
            one_hot = torch.eye(size, device=self.device).expand(config.n_steps, config.n_envs, size, size)
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
        model = self.groups[g].model
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
        values, _ = self.groups[g].model.critic(
            critic_input, batch.critic_extra, batch.critic_hidden, batch.episode_starts
        )
        return values

    def _metrics(
        self, stats: dict[str, float], batch_steps: int, elapsed: float, collect_time: float
    ) -> dict[str, float]:
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

    def use_backend(self, backend: RolloutBackend) -> Learner:
        """Collect with ``backend`` from now on (see :mod:`agents.backends`); the env copies
        continue from where the current backend left them."""
        current = isinstance(self.backend, InProcessBackend)
        backend.bind(self._backend_setup(self.backend.state_dict(), collector_current=current))
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
        self.policy.reset()

    def act(self, observations: Any, deterministic: bool = True, action_masks: dict | None = None) -> Any:
        """Actions for observations: one observation -> one action (single agent), or a dict
        agent -> observation -> dict agent -> action. Recurrent policies keep their state per
        agent between calls until :meth:`reset_act_state`. An observation that does not fit its
        agent's space, or an action mask that allows nothing, is refused naming the agent."""
        single = self.single_agent and not (isinstance(observations, dict) and set(observations) == {SINGLE_AGENT_NAME})
        if single:
            observations = {SINGLE_AGENT_NAME: observations}
        actions = self.policy.act(observations, deterministic, action_masks)
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
            # The acting copy holds the learner copy's weights, on the CPU: a checkpoint loads anywhere.
            "models": self.acting_models.state_dict(),
            "statistics": self.statistics.state_dict(),
            "optimizers": state_on_cpu([optimizers_state(group.optimizers) for group in self.groups]),
            "torch_rng": torch.get_rng_state(),
            "generator": self.generator.get_state(),
            "collector": self.backend.state_dict(),
            "spaces": self._space_signature(),
        }

    def load_state_dict(self, state: dict[str, Any], source: str = "state dict") -> None:
        """Restore a state from :meth:`state_dict` (same algorithm, same spaces)."""
        checkpoint.check_compatible(state, self, source)
        self.models.load_state_dict(state["models"])
        copy_weights(self.models, self.acting_models)
        self.statistics.load_state_dict(state.get("statistics", {}))
        for group, saved in zip(self.groups, state["optimizers"]):
            # Optimizer.load_state_dict puts the state on its parameters' device.
            load_optimizers_state(group.optimizers, saved)
        self.steps = int(state["steps"])
        self.updates = int(state["updates"])
        self.generator.set_state(state["generator"])
        self.backend.load_state_dict(state["collector"])
        torch.set_rng_state(state["torch_rng"])
        self.reset_act_state()

    def _space_signature(self) -> dict[str, list[int]]:
        signature = {}
        for plan in self.plan.groups:
            name = plan.group.name
            signature[f"{name}/observation"] = [plan.layout.dim]
            signature[f"{name}/action"] = [plan.codec.action_dim, plan.codec.mask_dim]
            if plan.critic_layout is not None:
                signature[f"{name}/critic"] = [plan.critic_layout.dim]
        return signature

    def save(self, path: str | Path) -> Path:
        """Write :meth:`state_dict` to ``path`` atomically."""
        return checkpoint.save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | Path, env: Any = None, trust_code: bool = False, device: str | None = None) -> "Learner":
        """Rebuild a learner from a checkpoint; ``env`` is needed unless it was made from an id
        (a ``module:factory`` id the file names is made only with ``trust_code=True``).
        ``device`` (``auto``, ``cpu``, ``cuda``) replaces the saved one: checkpoints hold CPU
        tensors, so one trained on a GPU loads on any machine."""
        state = checkpoint.load(path)
        if state.get("algorithm") != cls.__name__ and cls is not Learner:
            raise ValueError(f"{path} holds a {state.get('algorithm')} checkpoint, not {cls.__name__}")
        if env is None:
            env = checkpoint.saved_environment(state, path, trust_code)
        algorithm = cls if cls is not Learner else _algorithm_class(state["algorithm"])
        config: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in state["config"].items()}
        if device is not None:
            config["device"] = device
        learner = algorithm(env, seed=int(state["seed"]), **config)
        learner.load_state_dict(state, source=str(path))
        return learner


def _algorithm_class(name: Any) -> type[Learner]:
    """The algorithm class a checkpoint names, from :attr:`Learner.registry`."""
    if not isinstance(name, str) or name not in Learner.registry:
        raise ValueError(f"unknown algorithm {name!r} in checkpoint; known: {sorted(Learner.registry)}")
    return Learner.registry[name]


def optimizers_state(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    """State dicts of a group's named optimisers."""
    return {name: optimizer.state_dict() for name, optimizer in optimizers.items()}


def load_optimizers_state(optimizers: dict[str, torch.optim.Optimizer], state: dict[str, Any]) -> None:
    """Load the state dicts written by :func:`optimizers_state`."""
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state[name])
