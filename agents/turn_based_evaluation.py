"""Games of a trained policy against a uniformly random player, on every seat in turn.

The yardstick for two-player turn-based games (tic-tac-toe, connect four): a policy trained
by self-play should win most games against a player that picks uniformly among its legal
moves, whichever seat it plays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.environments import to_parallel
from agents.turn_based import current_action_mask


@dataclass
class GameResults:
    """Wins, draws and losses of a policy over a number of games."""

    wins: int = 0
    draws: int = 0
    losses: int = 0

    @property
    def games(self) -> int:
        """Games played."""
        return self.wins + self.draws + self.losses

    @property
    def win_rate(self) -> float:
        """Share of games won (draws and losses count against)."""
        return self.wins / max(self.games, 1)

    def __str__(self) -> str:
        return (
            f"{self.games} games: {self.wins} wins, {self.draws} draws, {self.losses} losses "
            f"(win rate {self.win_rate:.1%})"
        )


def play_against_random(
    learner: Any, env_factory: Callable[[], Any], games: int, seed: int = 0, deterministic: bool = True
) -> tuple[GameResults, dict[str, GameResults]]:
    """Play ``games`` games of ``learner`` against a uniformly random legal player.

    Game ``k`` seats the learner as ``possible_agents[k % n]`` and is reset with ``seed + k``;
    every other seat picks uniformly among the moves its action mask allows. The outcome is
    the sign of the learner's summed reward. Returns the totals and the results per seat.
    """
    if games < 1:
        raise ValueError(f"games must be >= 1, got {games}")
    env = to_parallel(env_factory())
    seats = list(env.possible_agents)
    per_seat = {seat: GameResults() for seat in seats}
    total = GameResults()
    rng = np.random.default_rng(seed)
    try:
        for k in range(games):
            seat = seats[k % len(seats)]
            outcome = _play_one(learner, env, seat, seed + k, rng, deterministic)
            for results in (total, per_seat[seat]):
                if outcome > 0:
                    results.wins += 1
                elif outcome < 0:
                    results.losses += 1
                else:
                    results.draws += 1
    finally:
        env.close()
    return total, per_seat


def _play_one(learner: Any, env: Any, seat: str, seed: int, rng: np.random.Generator, deterministic: bool) -> float:
    """One game; the learner's summed reward."""
    observations, infos = env.reset(seed=seed)
    learner.reset_act_state()
    total = 0.0
    while env.agents:
        agent = env.agents[0]
        if agent == seat:
            action = learner.act({agent: observations[agent]}, deterministic=deterministic)[agent]
        else:
            action = _random_legal(env.action_space(agent), observations[agent], infos.get(agent, {}), rng)
        observations, rewards, _, _, infos = env.step({agent: action})
        total += float(rewards.get(seat, 0.0))
    return total


def _random_legal(space: Any, observation: Any, info: dict, rng: np.random.Generator) -> Any:
    """A uniformly random move among those the mask allows (any move without a mask)."""
    mask = current_action_mask(observation, info)
    if mask is None:
        return space.sample()
    return int(rng.choice(np.flatnonzero(mask))) + int(getattr(space, "start", 0))
