"""Turn-based (AEC) environments seen one turn at a time.

In a PettingZoo AEC game (tic-tac-toe, connect four, ...) one agent acts at a time, the one
in ``agent_selection``, and the board it sees and its action mask are only valid at its own
turn. :class:`TurnBasedEnv` shows such a game through the parallel protocol the learner
speaks, one turn per ``step``: ``agents`` holds exactly the agent whose turn it is, ``reset``
and ``step`` return its current observation, and ``step`` takes its action only. The rewards
every agent received during the turn are summed from ``env.rewards`` after each AEC step, as
PettingZoo's own ``aec_to_parallel`` does. Agents whose episode ended are stepped out with a
``None`` action within the same turn and reported terminated or truncated, with their final
observation. :mod:`agents.turn_collection` turns these turns into each agent's own sequence of
decisions for training.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from agents.models import ACTION_MASK_KEY

TurnResult = tuple[dict, dict, dict, dict, dict]


class TurnBasedEnv:
    """An AEC environment as a parallel one in which exactly one agent acts per step."""

    #: Marks the turn-by-turn view for collection (see :func:`is_turn_based`).
    turn_based = True

    def __init__(self, aec_env: Any) -> None:
        self.aec_env = aec_env
        self.possible_agents = list(aec_env.possible_agents)
        self.agents: list[str] = []
        self.metadata = dict(getattr(aec_env, "metadata", {}) or {})
        self.render_mode = getattr(aec_env, "render_mode", None)
        self._observation: Any = None
        self._info: dict = {}

    @property
    def state_space(self) -> gymnasium.Space | None:
        """The AEC environment's state space, if it declares one."""
        return getattr(self.aec_env, "state_space", None)

    def observation_space(self, agent: str) -> gymnasium.Space:
        """The AEC environment's observation space of ``agent``."""
        return self.aec_env.observation_space(agent)

    def action_space(self, agent: str) -> gymnasium.Space:
        """The AEC environment's action space of ``agent``."""
        return self.aec_env.action_space(agent)

    def observe(self, agent: str) -> Any:
        """``agent``'s observation of the game as it stands now (whoever's turn it is)."""
        return self.aec_env.observe(agent)

    def in_game(self) -> list[str]:
        """Every agent still in the episode, acting or waiting for its turn."""
        return list(self.aec_env.agents)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset; the observation and info of the agent whose turn comes first."""
        self.aec_env.reset(seed=seed, options=options)
        observations: dict[str, Any] = {}
        infos: dict[str, dict] = {}
        self._step_out_finished(observations, {}, {}, {}, infos)
        self._next_turn(observations, infos)
        return observations, infos

    def step(self, actions: dict[str, Any]) -> TurnResult:
        """Play the turn of the agent in ``agents`` with ``actions[agent]``.

        Returns, as the parallel API does, the next agent's observation (plus the final
        observation of every agent that left), the rewards every agent received during the
        turn, and the terminations, truncations and infos of the agents that were in the game.
        """
        if not self.agents:
            raise RuntimeError("the episode is over: call reset() before step()")
        agent = self.agents[0]
        if agent not in actions:
            raise ValueError(
                f"step() needs the action of {agent!r}, the agent whose turn it is (got actions of {sorted(actions)})"
            )
        action = actions[agent]
        self._refuse_forbidden(agent, action)
        env = self.aec_env
        in_game = list(env.agents)
        rewards = {name: 0.0 for name in in_game}
        terminations = {name: False for name in in_game}
        truncations = {name: False for name in in_game}
        observations: dict[str, Any] = {}
        infos: dict[str, dict] = {}
        env.step(action)
        self._add_rewards(rewards)
        self._step_out_finished(observations, rewards, terminations, truncations, infos)
        for name in in_game:
            # An agent that left without a terminated or truncated flag ended its episode.
            if name not in env.agents and not truncations[name]:
                terminations[name] = True
        self._next_turn(observations, infos)
        return observations, rewards, terminations, truncations, infos

    def _add_rewards(self, rewards: dict[str, float]) -> None:
        for name, reward in self.aec_env.rewards.items():
            rewards[name] = rewards.get(name, 0.0) + float(reward)

    def _step_out_finished(
        self, observations: dict, rewards: dict, terminations: dict, truncations: dict, infos: dict
    ) -> None:
        """Step every selected agent whose episode ended with ``None`` (PettingZoo's dead step)."""
        env = self.aec_env
        while env.agents:
            name = env.agent_selection
            terminated = bool(env.terminations.get(name, False))
            truncated = bool(env.truncations.get(name, False)) and not terminated
            if not (terminated or truncated):
                return
            observations[name] = env.observe(name)
            infos[name] = dict(env.infos.get(name, {}))
            terminations[name] = terminated
            truncations[name] = truncated
            env.step(None)
            self._add_rewards(rewards)

    def _next_turn(self, observations: dict, infos: dict) -> None:
        env = self.aec_env
        if not env.agents:
            self.agents = []
            return
        name = env.agent_selection
        if name not in self.possible_agents:
            raise ValueError(
                f"agents [{name!r}] appeared in {type(env).__name__}.agents (its turn came) but are not in its "
                f"possible_agents {self.possible_agents}; declare every agent that can appear in possible_agents"
            )
        self._observation = env.observe(name)
        self._info = dict(env.infos.get(name, {}))
        observations[name] = self._observation
        infos[name] = self._info
        self.agents = [name]

    def _refuse_forbidden(self, agent: str, action: Any) -> None:
        """A discrete action that the acting agent's own action mask forbids never reaches the game."""
        space = self.action_space(agent)
        if not isinstance(space, gymnasium.spaces.Discrete):
            return
        mask = current_action_mask(self._observation, self._info)
        if mask is None:
            return
        index = int(np.asarray(action)) - int(space.start)
        if not 0 <= index < mask.size or not mask[index]:
            allowed = np.flatnonzero(mask) + int(space.start)
            raise ValueError(
                f"agent {agent!r}: action {action!r} is forbidden by its action mask (allowed now: "
                f"{allowed.tolist()}); act on the observation and mask of the agent whose turn it is"
            )

    def state(self) -> np.ndarray:
        """The AEC environment's global state."""
        return self.aec_env.state()

    def render(self) -> Any:
        """Render the AEC environment."""
        return self.aec_env.render()

    def close(self) -> None:
        """Close the AEC environment."""
        self.aec_env.close()


def current_action_mask(observation: Any, info: dict) -> np.ndarray | None:
    """The action mask carried by an observation dict's ``"action_mask"`` key or by the info."""
    if isinstance(observation, dict) and ACTION_MASK_KEY in observation:
        return np.asarray(observation[ACTION_MASK_KEY]).reshape(-1)
    given = info.get(ACTION_MASK_KEY)
    return None if given is None else np.asarray(given).reshape(-1)


def is_turn_based(env: Any) -> bool:
    """Whether ``env`` is the turn-by-turn view of an AEC environment."""
    return bool(getattr(env, "turn_based", False))
