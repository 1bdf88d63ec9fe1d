"""A two-team game for the evaluation tests, small enough to learn in a few hundred steps.

Two one-agent teams (red, blue) pick a number from 0..3 each step and are paid that number;
the action mask allows only 1 and 3. Statistics: how often red picked 3 (``red_threes``) and how
many picks of either agent broke the mask (``illegal``). Run folders name it
``pick_game:make_env`` (so they need ``--trust-code``).
"""

import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from tiny_flags import tiny_flags

from marl.cli import main


class PickEnv(ParallelEnv):
    metadata: ClassVar[dict[str, Any]] = {"name": "pick_v0"}

    def __init__(self, horizon=5):
        self.possible_agents = ["red_0", "blue_0"]
        self.horizon = horizon
        self.mask = np.array([0, 1, 0, 1], dtype=np.int8)

    def observation_space(self, agent):
        return spaces.Dict(
            {"observation": spaces.Box(0.0, 1.0, (2,), np.float32), "action_mask": spaces.Box(0, 1, (4,), np.int8)}
        )

    def action_space(self, agent):
        return spaces.Discrete(4)

    def _observe(self):
        time = np.array([self.t / self.horizon, 1.0], dtype=np.float32)
        return {agent: {"observation": time, "action_mask": self.mask.copy()} for agent in self.agents}

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.t = 0
        self.threes = 0
        self.illegal = 0
        return self._observe(), {agent: {} for agent in self.agents}

    def step(self, actions):
        self.t += 1
        rewards = {agent: float(actions[agent]) for agent in self.agents}
        self.threes += int(actions["red_0"] == 3)
        self.illegal += sum(int(self.mask[actions[agent]] == 0) for agent in self.agents)
        done = self.t >= self.horizon
        infos = {agent: {} for agent in self.agents}
        if done:
            for info in infos.values():
                info["episode_stats"] = {"red_threes": float(self.threes), "illegal": float(self.illegal)}
        observations = self._observe()
        if done:
            self.agents = []
        return observations, rewards, dict.fromkeys(rewards, False), dict.fromkeys(rewards, done), infos


def make_env(horizon=5):
    return PickEnv(horizon)


# Helpers for the tests that train and evaluate it.
TINY = tiny_flags("--algo", "ippo", "--steps", 256, algo__recurrent="false")


def cli(capsys: Any, *args: Any) -> tuple[int, str, str]:
    """Run ``marl`` in-process; returns (exit code, stdout, stderr)."""
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


HERE = str(Path(__file__).resolve().parent)


def train_pick_game(out: Path, *extra: Any) -> None:
    """Train the pick game (``pick_game.py`` beside this file) into ``out``."""
    added = HERE not in sys.path
    if added:
        sys.path.insert(0, HERE)
    try:
        assert main([str(arg) for arg in ["train", "pick_game:make_env", "--out", out, *TINY, *extra]]) == 0
    finally:
        if added:
            sys.path.remove(HERE)
