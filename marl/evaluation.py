"""Play whole episodes with a policy and summarise returns per team and episode statistics."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.groups import team_of
from marl.environments import EnvFactory, as_parallel, teams_of

Policy = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class EvaluationResult:
    """Per-episode returns of each team (mean over the team's agents), lengths and statistics."""

    teams: list[str]
    returns: dict[str, list[float]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    stats: dict[str, list[float]] = field(default_factory=dict)

    @property
    def episodes(self) -> int:
        """How many episodes were played."""
        return len(self.lengths)

    def mean_return(self, team: str) -> float:
        """The mean episode return of ``team``."""
        return float(np.mean(self.returns[team]))

    def summary(self, prefix: str = "eval/") -> dict[str, float]:
        """Flat metrics: mean and standard deviation of each team's return, length, statistics."""
        metrics: dict[str, float] = {}
        for team in self.teams:
            if not self.returns.get(team):
                continue
            values = np.asarray(self.returns[team], dtype=float)
            metrics[f"{prefix}return/{team}"] = float(values.mean())
            metrics[f"{prefix}return_std/{team}"] = float(values.std())
        metrics[f"{prefix}length"] = float(np.mean(self.lengths))
        for name, values in self.stats.items():
            metrics[f"{prefix}env/{name}"] = float(np.mean(values))
        return metrics

    def as_json(self) -> dict[str, Any]:
        """``{"episodes", "teams": {team: {"return_mean", "return_std"}}, "episode_stats": {name: mean}}``."""
        teams = {
            team: {"return_mean": float(np.mean(values)), "return_std": float(np.std(values))}
            for team, values in self.returns.items()
            if values
        }
        stats = {name: float(np.mean(values)) for name, values in sorted(self.stats.items())}
        return {"episodes": self.episodes, "teams": teams, "episode_stats": stats}


@contextmanager
def isolated_random_state() -> Iterator[None]:
    """Run a block without touching the global torch, numpy and Python random streams.

    Evaluating during training must not change what training does next, or a resumed run
    would differ from an uninterrupted one.
    """
    import torch

    numpy_state = np.random.get_state()
    python_state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)


class LearnerPolicy:
    """A trained learner's own acting policy (:class:`agents.acting.Policy`) as a dict-in,
    dict-out callable, with its greedy or sampling choice fixed; ``reset`` starts an episode.

    Environments are seen through the parallel view, where a Gymnasium task's one agent is
    called ``agent`` as in the learner, so observations go to the policy as they are.
    """

    def __init__(self, learner: Any, deterministic: bool = True) -> None:
        self.policy = learner.policy
        self.deterministic = deterministic

    def reset(self) -> None:
        """Forget the recurrent state kept between steps (a new episode starts)."""
        self.policy.reset()

    def __call__(self, observations: dict[str, Any]) -> dict[str, Any]:
        return self.policy.act(observations, self.deterministic)


def learner_policy(learner: Any, deterministic: bool = True) -> LearnerPolicy:
    """The policy of a trained learner (see :class:`LearnerPolicy`)."""
    return LearnerPolicy(learner, deterministic)


class TeamPolicy:
    """Each agent acts with its team's policy (``default`` for teams not listed).

    Every policy sees all observations (a centralised policy may need them) and only its own
    agents' actions are kept.
    """

    def __init__(self, policies: Mapping[str, Policy], default: Policy) -> None:
        self.policies = dict(policies)
        self.default = default

    def reset(self) -> None:
        """Reset every member policy."""
        for policy in [*self.policies.values(), self.default]:
            reset_policy(policy)

    def __call__(self, observations: dict[str, Any]) -> dict[str, Any]:
        actions: dict[str, Any] = {}
        by_policy: dict[int, dict[str, Any]] = {}
        for agent in observations:
            policy = self.policies.get(team_of(agent), self.default)
            if id(policy) not in by_policy:
                by_policy[id(policy)] = policy(observations)
            actions[agent] = by_policy[id(policy)][agent]
        return actions


ACTION_MASK_KEY = "action_mask"


class RandomPolicy:
    """Every agent acts uniformly at random over its action space, within its action mask.

    The mask is PettingZoo's: an observation ``{"observation": ..., "action_mask": ...}`` with
    one 0/1 entry per action (for a ``MultiDiscrete`` space, the entries of each dimension one
    after the other). Each agent samples from its own copy of its space, seeded from ``seed``,
    so the actions are reproducible and do not touch the global random streams.
    """

    def __init__(self, action_spaces: Mapping[str, Any], seed: int = 0) -> None:
        self.spaces: dict[str, Any] = {}
        for index, (agent, space) in enumerate(action_spaces.items()):
            own = copy.deepcopy(space)
            own.seed(seed + index)
            self.spaces[agent] = own

    def __call__(self, observations: dict[str, Any]) -> dict[str, Any]:
        return {agent: self.sample(agent, observation) for agent, observation in observations.items()}

    def sample(self, agent: str, observation: Any) -> Any:
        """One uniformly random action of ``agent`` that its observation's mask allows."""
        space = self.spaces[agent]
        mask = observation.get(ACTION_MASK_KEY) if isinstance(observation, Mapping) else None
        if mask is None:
            return space.sample()
        flat = np.asarray(mask).reshape(-1).astype(np.int8)
        if isinstance(space, spaces.Discrete):
            return space.sample(mask=flat)
        if isinstance(space, spaces.MultiDiscrete):
            bounds = np.cumsum(np.asarray(space.nvec).reshape(-1))[:-1]
            return space.sample(mask=tuple(np.split(flat, bounds)))
        return space.sample()


def random_policy(env_factory: EnvFactory, seed: int = 0) -> RandomPolicy:
    """A :class:`RandomPolicy` for every agent the environment can have."""
    env = as_parallel(env_factory())
    try:
        return RandomPolicy({agent: env.action_space(agent) for agent in env.possible_agents}, seed)
    finally:
        env.close()


def team_policy(policies: Mapping[str, Policy], default: Policy) -> TeamPolicy:
    """Agents of the teams in ``policies`` use those, everyone else ``default``."""
    return TeamPolicy(policies, default)


def reset_policy(policy: Policy) -> None:
    """Call ``policy.reset()`` when the policy keeps state across steps."""
    reset = getattr(policy, "reset", None)
    if callable(reset):
        reset()


def _episode_stats(infos: Mapping[str, Any]) -> dict[str, float]:
    """The environment's end-of-episode statistics (the first agent that reports them)."""
    for info in infos.values():
        stats = info.get("episode_stats") if isinstance(info, Mapping) else None
        if stats:
            return {str(key): float(value) for key, value in stats.items()}
    return {}


def run_episodes(
    env_factory: EnvFactory,
    policy: Policy,
    episodes: int,
    seed: int = 0,
    max_episode_steps: int = 100_000,
) -> EvaluationResult:
    """Play ``episodes`` episodes (seeds ``seed``, ``seed + 1``, ...) and collect the results."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    env = as_parallel(env_factory())
    try:
        teams = teams_of(list(env.possible_agents))
        result = EvaluationResult(teams, {team: [] for team in teams})
        for episode in range(episodes):
            observations, infos = env.reset(seed=seed + episode)
            reset_policy(policy)
            totals = {agent: 0.0 for agent in env.agents}
            stats: dict[str, float] = {}
            length = 0
            while env.agents and length < max_episode_steps:
                live = {agent: observations[agent] for agent in env.agents}
                actions = policy(live)
                observations, rewards, _, _, infos = env.step({agent: actions[agent] for agent in live})
                for agent, reward in rewards.items():
                    totals[agent] = totals.get(agent, 0.0) + float(reward)
                stats.update(_episode_stats(infos))
                length += 1
            for team in teams:
                members = [totals[agent] for agent in totals if team_of(agent) == team]
                if members:
                    result.returns[team].append(float(np.mean(members)))
            result.lengths.append(length)
            for name, value in stats.items():
                result.stats.setdefault(name, []).append(value)
        return result
    finally:
        env.close()


def format_evaluation(result: EvaluationResult) -> str:
    """A small table: mean ± std, min and max of each team's return; then episode statistics."""
    lines = [f"{result.episodes} episodes, mean length {np.mean(result.lengths):.1f}"]
    width = max(len(team) for team in result.teams)
    for team in result.teams:
        if not result.returns.get(team):
            continue
        values = np.asarray(result.returns[team])
        lines.append(
            f"  return {team:<{width}}  {values.mean():10.3f} ± {values.std():.3f}"
            f"   (min {values.min():.3f}, max {values.max():.3f})"
        )
    if result.stats:
        lines.append("episode statistics (mean ± std):")
        stat_width = max(len(name) for name in result.stats)
        for name, values in sorted(result.stats.items()):
            array = np.asarray(values)
            lines.append(f"  {name:<{stat_width}}  {array.mean():10.4g} ± {array.std():.4g}")
    return "\n".join(lines)
