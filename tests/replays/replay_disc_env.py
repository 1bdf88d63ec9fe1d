"""A small Replayable ParallelEnv for the replay tests: discs that move on a square floor.

Each agent is a disc pushed by a Discrete(5) action (stay, +x, -x, +y, -y). Team 0 discs
(hiders) and team 1 discs (seekers); a seeker "sees" a hider within ``sight_range``. There is
one box (a square) that a disc pushes when it overlaps it, so statistics have something to
measure. ``render_mode="rgb_array"`` draws a small numpy image from one of two cameras.
"""

from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.registry import trust_env_id
from envs.scene import Circle, Polygon, Scene, Segment, Wedge

# The tests that import this module make it from the episode files they record.
trust_env_id(f"{__name__}:parallel_env")

MOVES = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float64)


class DiscEnv(ParallelEnv):
    """Discs on a floor; implements envs.scene.Replayable."""

    metadata = {"name": "replay_disc_v0", "render_modes": ["rgb_array"], "render_fps": 10, "is_parallelizable": True}

    def __init__(
        self,
        n_hiders: int = 1,
        n_seekers: int = 1,
        max_steps: int = 30,
        render_mode: str | None = None,
        image_size: tuple[int, int] = (64, 48),
    ) -> None:
        self.possible_agents = [f"hider_{i}" for i in range(n_hiders)] + [f"seeker_{i}" for i in range(n_seekers)]
        self.team = np.array([0] * n_hiders + [1] * n_seekers, dtype=np.int64)
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.image_size = image_size
        self.render_cameras = ("overhead", "corner")
        self.render_camera = "overhead"
        self.half_size = 2.0
        self.sight_range = 1.5
        self.agents: list[str] = []
        self.positions = np.zeros((len(self.possible_agents), 2))
        self.box = np.zeros(2)
        self.box_lock = np.int64(-1)
        self.step_count = 0

    @functools.cache  # noqa: B019 (a few environments per test, each space built once)
    def observation_space(self, agent):
        return spaces.Box(-10, 10, shape=(2 * len(self.possible_agents) + 2,), dtype=np.float32)

    @functools.cache  # noqa: B019 (a few environments per test, each space built once)
    def action_space(self, agent):
        return spaces.Discrete(5)

    def _observations(self):
        flat = np.concatenate([self.positions.ravel(), self.box]).astype(np.float32)
        return {agent: flat.copy() for agent in self.agents}

    def reset(self, seed=None, options=None):
        rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.positions = rng.uniform(-1.5, 1.5, size=(len(self.agents), 2))
        self.box = rng.uniform(-1.0, 1.0, size=2)
        self.box_lock = np.int64(-1)
        self.step_count = 0
        return self._observations(), {agent: {} for agent in self.agents}

    def _seen(self):
        distance = np.linalg.norm(self.positions[:, None] - self.positions[None], axis=-1)
        seen = (distance < self.sight_range) & (self.team[:, None] == 1) & (self.team[None, :] == 0)
        return seen

    def step(self, actions):
        for index, agent in enumerate(self.possible_agents):
            if agent in actions:
                self.positions[index] += 0.1 * MOVES[int(actions[agent])]
        self.positions = np.clip(self.positions, -self.half_size, self.half_size)
        for position in self.positions:
            if np.all(np.abs(position - self.box) < 0.3):
                self.box += 0.05 * np.sign(position - self.box) * -1
        self.step_count += 1
        hidden = not self._seen().any()
        rewards = {
            agent: (1.0 if hidden else -1.0) * (1 if self.team[i] == 0 else -1) for i, agent in enumerate(self.agents)
        }
        done = self.step_count >= self.max_steps
        terminations = {agent: False for agent in self.agents}
        truncations = {agent: done for agent in self.agents}
        observations = self._observations()
        infos = {agent: ({"episode_stats": {"hidden_fraction": 0.5}} if done else {}) for agent in self.agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    # Replayable
    def replay_static(self):
        return {
            "team": self.team.copy(),
            "floor_size": np.array(2 * self.half_size),
            "box_exists": np.array([True]),
            "walls": np.array([[-2, -2, 2, -2], [2, -2, 2, 2]], dtype=np.float64),
        }

    def replay_frame(self):
        seen = self._seen()
        return {
            "agent_pos": np.concatenate([self.positions, np.zeros((len(self.positions), 1))], axis=1),
            "box_pos": np.array([[self.box[0], self.box[1], 0.25]]),
            "box_lock_team": np.array([self.box_lock]),
            "seen": seen,
            "hidden": np.array(not seen.any()),
            "step": np.array(self.step_count, dtype=np.int64),
        }

    def restore_replay_frame(self, static, frame):
        self.team = np.asarray(static["team"]).astype(np.int64)
        self.positions = np.asarray(frame["agent_pos"], dtype=np.float64)[:, :2].copy()
        self.box = np.asarray(frame["box_pos"], dtype=np.float64)[0, :2].copy()
        self.box_lock = np.int64(np.asarray(frame["box_lock_team"])[0])
        self.step_count = int(frame["step"])

    def scene(self):
        shapes = []
        h = 0.25
        x, y = self.box
        shapes.append(Polygon(((x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h)), (150, 110, 60)))
        seen = self._seen()
        for index, position in enumerate(self.positions):
            color = (40, 90, 220) if self.team[index] == 0 else (220, 60, 40)
            shapes.append(Wedge(tuple(position), self.sight_range, 0.0, 1.2, color))
            shapes.append(Circle(tuple(position), 0.15, color, heading=0.0))
        for i, j in zip(*np.nonzero(seen)):
            shapes.append(
                Segment(tuple(self.positions[i]), tuple(self.positions[j]), (0, 0, 0), layer="sight", width=2)
            )
        return Scene(bounds=(-2.0, -2.0, 2.0, 2.0), shapes=shapes, caption="discs")

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        width, height = self.image_size
        image = np.full((height, width, 3), 30 if self.render_camera == "overhead" else 90, dtype=np.uint8)
        for index, position in enumerate(self.positions):
            column = int((position[0] + 2) / 4 * (width - 4))
            row = int((2 - position[1]) / 4 * (height - 4))
            image[row : row + 4, column : column + 4] = (255, 255, 0) if self.team[index] == 0 else (255, 0, 255)
        return image

    def close(self):
        pass


def parallel_env(**kwargs) -> DiscEnv:
    """Factory used by the replay tests (env id ``replay_disc_env:parallel_env``)."""
    return DiscEnv(**kwargs)
