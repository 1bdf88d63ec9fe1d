"""Adapters that let SuperSuit's Box-only wrappers reach environments with structured observations."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


def flatten_observations_v0(env: Any) -> Any:
    """Flatten every agent's observation (Dict, Tuple, Discrete, ...) into one float32 Box vector.

    Works on parallel and AEC environments (it is SuperSuit's ``observation_lambda_v0`` with
    Gymnasium's ``flatten``). Dict entries are concatenated in the space's key order, Discrete
    values become one-hot. Afterwards ``black_death_v3``, ``agent_indicator_v0`` and
    ``frame_stack_v2`` apply.
    """
    from supersuit import observation_lambda_v0

    def flatten_space(space: spaces.Space) -> spaces.Box:
        flat = spaces.flatten_space(space)
        return spaces.Box(flat.low.astype(np.float32), flat.high.astype(np.float32), dtype=np.float32)

    def flatten_observation(observation: Any, space: spaces.Space) -> np.ndarray:
        return spaces.flatten(space, observation).astype(np.float32)

    return observation_lambda_v0(env, flatten_observation, flatten_space)


def black_death_v3(env: Any) -> Any:
    """SuperSuit's ``black_death_v3`` with the episode end fixed for time limits.

    Black death keeps agents that leave an episode early in ``env.agents``, with zero
    observations and zero rewards, so that every step has every agent. SuperSuit 3.11 ends the
    wrapped episode only when every agent is terminated *and* truncated at once, so an episode
    that ends by its time limit (all truncated, none terminated) never ends and the next step
    reaches an environment that has finished (fixed upstream in SuperSuit pull request 265).
    Here the episode ends when every remaining agent is terminated *or* truncated, and the
    termination and truncation flags are reported separately. Parallel environments with Box
    observations only, as in SuperSuit.
    """
    from supersuit.multiagent_wrappers.black_death import black_death_par

    class BlackDeath(black_death_par):
        def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
            live = self.env.agents
            observations, rewards, terminations, truncations, infos = self.env.step(
                {agent: actions[agent] for agent in live}
            )
            gone = [agent for agent in self.agents if agent not in observations]
            for agent in gone:
                observations[agent] = np.zeros_like(self.observation_space(agent).low)
                rewards[agent] = 0.0
                infos[agent] = {}
            terminated = np.fromiter((terminations.get(a, False) for a in live), dtype=bool, count=len(live))
            truncated = np.fromiter((truncations.get(a, False) for a in live), dtype=bool, count=len(live))
            episode_over = bool((terminated | truncated).all())
            # Only the time limit truncates; an episode that ends otherwise terminates.
            timed_out = episode_over and bool(truncated.any()) and not bool(terminated.all())
            agents = list(self.agents)
            terminations_out = dict.fromkeys(agents, episode_over and not timed_out)
            truncations_out = dict.fromkeys(agents, timed_out)
            if episode_over:
                self.agents = []
            return observations, rewards, terminations_out, truncations_out, infos

    return BlackDeath(env)
