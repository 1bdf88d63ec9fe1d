"""One recorded episode in memory: metadata, static arrays, per-step frames and the agents' data.

Frames are stacked over time: ``frames[key]`` has shape ``[steps + 1, ...]`` (index 0 is the
state after ``reset``, index ``t`` the state after the ``t``-th step). Per-step agent data
(``actions``, ``rewards``, ``terminations``, ``truncations``, ``active``) has ``steps`` rows,
row ``t`` describing the step that led from frame ``t`` to frame ``t + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Episode:
    """A recorded episode; build it with :func:`replays.load_episode` or the recorder."""

    env_id: str | None
    env_kwargs: dict[str, Any]
    seed: int | None
    agents: list[str]
    static: dict[str, np.ndarray]
    frames: dict[str, np.ndarray]
    actions: np.ndarray  # [steps, agents, max_action_dim] float32, NaN where absent or padded
    action_dims: np.ndarray  # [agents] length of each agent's flat action
    rewards: np.ndarray  # [steps, agents] float32 (0 where the agent was absent)
    terminations: np.ndarray  # [steps, agents] bool
    truncations: np.ndarray  # [steps, agents] bool
    active: np.ndarray  # [steps, agents] bool: the agent acted in that step
    episode_stats: dict[str, float] = field(default_factory=dict)
    fps: float = 15.0
    source: str | None = None  # the file the episode was loaded from, for messages
    #: Whether playback may make ``env_id`` when it names code (``module:factory``): True for
    #: episodes recorded in this program, what ``load_episode(trust_code=...)`` says for files.
    code_trusted: bool = True

    def __post_init__(self) -> None:
        steps = self.num_steps
        for key, array in self.frames.items():
            if array.shape[0] != steps + 1:
                raise ValueError(
                    f"frame array {key!r} has {array.shape[0]} rows; an episode of {steps} steps "
                    f"needs {steps + 1} (the reset frame plus one per step)"
                )
        for name in ("rewards", "terminations", "truncations", "active"):
            array = getattr(self, name)
            if array.shape != (steps, len(self.agents)):
                raise ValueError(f"{name} has shape {array.shape}; expected {(steps, len(self.agents))}")

    @property
    def num_steps(self) -> int:
        """Number of environment steps (one fewer than the number of frames)."""
        return int(self.actions.shape[0])

    @property
    def num_frames(self) -> int:
        """Number of recorded frames: the reset frame plus one per step."""
        return self.num_steps + 1

    def frame(self, index: int) -> dict[str, np.ndarray]:
        """The frame at ``index`` (0 = after reset) as a dict of arrays."""
        if not -self.num_frames <= index < self.num_frames:
            raise IndexError(f"frame index {index} out of range [0, {self.num_frames - 1}]")
        return {key: array[index] for key, array in self.frames.items()}

    def agent_action(self, step: int, agent: str) -> np.ndarray:
        """The flat action ``agent`` took in step ``step`` (without padding)."""
        column = self.agents.index(agent)
        return self.actions[step, column, : int(self.action_dims[column])]

    def returns(self) -> dict[str, float]:
        """Undiscounted return of each agent over the episode."""
        totals = self.rewards.sum(axis=0)
        return {agent: float(total) for agent, total in zip(self.agents, totals)}

    def describe(self) -> str:
        """A one-line summary for listings."""
        name = self.source or "episode"
        env = self.env_id or "unknown env"
        return f"{name}: {env}, seed {self.seed}, {self.num_steps} steps, {len(self.agents)} agents"
