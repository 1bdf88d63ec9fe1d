"""A subgame curriculum for self-play: start a share of episodes from visited states whose values
are still moving (SACL).

SACL is "Subgame Automatic Curriculum Learning" (Chen, Xu et al., "Accelerate Multi-Agent
Reinforcement Learning in Zero-Sum Games with Subgame Curriculum Learning", AAAI 2024,
arXiv 2310.04796; the authors' code is github.com/jiayu-ch15/SACL, ``onpolicy/utils/
curriculum_buffer.py`` and ``onpolicy/runner/competitive/*_curriculum_*runner.py``). A subgame is
the game started from one state; SACL resets a share of episodes to visited states where the
value estimate is far from settled, so that learning spends its samples where it still changes.
What this module does, and where it follows or simplifies the paper:

- **Which states are kept.** The authors insert every visited state of every env copy into a
  temporary list and, after each update, merge it with the buffer and cut the union back to
  ``curriculum_buffer_size`` by farthest point sampling over the min-max normalised state vectors
  (``update_method="fps"``, the diversity-keeping "particle-based sampler" of the paper). Here
  each visited step is a candidate with probability ``buffer_size / (n_envs * n_steps)`` (so about
  one buffer's worth of candidates per rollout, which bounds the sampling's cost), and the merge
  is the same farthest point sampling, over the critic's input (the global state for MAPPO;
  every agent's observation joined for a critic that sees observations).
- **How states are weighted.** The paper's metric approximates the squared distance of a state's
  value to its equilibrium value by ``alpha * ||V_t(s) - V_{t-1}(s)||^2 + beta * Var_ensemble(V_t(s))``:
  how far the value moved over the last update plus the disagreement of a critic ensemble
  (``sample_metric="ensemble_var_add_bias"``; the value change is the mean over agents of the
  squared change of the denormalised values, the other team's negated). This learner has one
  critic per team, not an ensemble, so only the value-change term is kept: each state carries
  the values the critic gave it when last seen (at collection, then at every refresh), and
  before each rollout its weight becomes the mean, over the agents alive in it, of the squared
  change to the current critic's values, which then become the values last seen. As in the
  authors' code, values are taken with a fresh recurrent state (zeros, an episode start).
- **How starts are drawn.** At each reset, with probability ``curriculum_probability`` (the
  authors' ``prob_curriculum``, 0.7 in all their scripts) the episode starts from a buffer state
  drawn with probability proportional to its weight (uniformly while every weight is zero);
  otherwise, and while the buffer is empty, it is a normal reset.

The buffer lives beside each collector: the in-process collector, or each rollout worker over
its own env copies. It is not saved in checkpoints: a resumed run starts with an empty buffer
(the env copies themselves resume exactly, their start states travel in the checkpoint).
Evaluation never uses it.

An environment takes part through a small protocol (:class:`ResettableEnv`):
``save_state() -> dict[str, np.ndarray]`` (plain numeric arrays) and
``reset(seed=..., options={"state": saved})``; :func:`check_resettable` refuses any other up
front.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

#: The curricula ``LearnerConfig.curriculum`` names.
CURRICULA = ("none", "sacl")

#: Critic values of per-group inputs ``[N, A_g, C_g]``: per group ``[N, A_g]`` on the return scale.
ValueFunction = Callable[[list[np.ndarray]], list[np.ndarray]]

SavedState = dict[str, np.ndarray]


class ResettableEnv(Protocol):
    """An environment a curriculum can start from a saved state."""

    def save_state(self) -> SavedState:
        """The running episode as a dict of plain numeric arrays."""
        ...

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """A new episode; with ``options={"state": saved}`` it continues from ``saved``."""
        ...


def check_resettable(env: Any) -> None:
    """Refuse, with one ``ValueError``, an environment that cannot start from a saved state.

    It must have ``save_state()`` returning plain numeric arrays, and its ``reset`` must take
    one back (tried once on ``env``).
    """
    name = type(env).__name__
    save_state = getattr(env, "save_state", None)
    if not callable(save_state):
        raise ValueError(
            f"curriculum='sacl' starts episodes from saved states, but {name} has no save_state(); give the "
            "environment save_state() and reset(options={'state': ...}) (see agents.curriculum), or set "
            "curriculum='none'"
        )
    try:
        env.reset(seed=0)
        saved = save_state()
        if not isinstance(saved, dict) or not all(
            isinstance(value, np.ndarray) and value.dtype.kind in "biuf" for value in saved.values()
        ):
            raise TypeError("save_state() must return a dict of numeric numpy arrays")
        env.reset(seed=0, options={"state": saved})
    except (TypeError, ValueError, RuntimeError, NotImplementedError) as error:
        raise ValueError(
            f"curriculum='sacl' starts episodes from saved states, but {name} cannot save and restore one: "
            f"{error}; set curriculum='none'"
        ) from None


@dataclass(frozen=True)
class CurriculumSettings:
    """The curriculum's settings, as collection receives them (plain, picklable data)."""

    probability: float
    buffer_size: int


def farthest_point_sample(features: np.ndarray, count: int, first: int) -> np.ndarray:
    """Indices of ``count`` rows of ``features`` chosen greedily, each the farthest (Euclidean,
    after min-max normalising every column as the authors do) from those already chosen,
    starting from row ``first``."""
    n = features.shape[0]
    if count >= n:
        return np.arange(n)
    low, high = features.min(axis=0), features.max(axis=0)
    points = (features - low) / (high - low + 1e-10)
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = first
    distance = np.full(n, np.inf)
    for k in range(1, count):
        step = points - points[chosen[k - 1]]
        np.minimum(distance, np.einsum("ij,ij->i", step, step), out=distance)
        chosen[k] = int(np.argmax(distance))
    return chosen


def value_change_weights(previous: list[np.ndarray], current: list[np.ndarray], alive: list[np.ndarray]) -> np.ndarray:
    """Per state, the mean over the agents alive in it of the squared change of their values
    (SACL's ``||V_t(s) - V_{t-1}(s)||^2`` term); 0 for a state with nobody alive."""
    squares = np.concatenate([np.square(now - before) * live for before, now, live in zip(previous, current, alive)], 1)
    living = np.concatenate(alive, axis=1).sum(axis=1)
    return np.divide(squares.sum(axis=1), living, out=np.zeros(len(living)), where=living > 0)


def start_probabilities(weights: np.ndarray) -> np.ndarray:
    """Probability of drawing each state: proportional to its weight, uniform when all are zero."""
    total = float(weights.sum())
    if not np.isfinite(total) or total <= 0.0:
        return np.full(len(weights), 1.0 / len(weights))
    return weights / total


@dataclass
class Entries:
    """States with what weighting them needs, one row each: the saved states, the features that
    keep them diverse ``[N, D]``, and per policy group the critic's inputs ``[N, A_g, C_g]``, who
    was alive ``[N, A_g]`` and the values last seen ``[N, A_g]``."""

    states: list[SavedState]
    features: np.ndarray
    critic_inputs: list[np.ndarray]
    alive: list[np.ndarray]
    values: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.states)

    def take(self, rows: np.ndarray) -> Entries:
        """The entries at ``rows``."""
        return Entries(
            [self.states[i] for i in rows.tolist()],
            self.features[rows],
            [x[rows] for x in self.critic_inputs],
            [x[rows] for x in self.alive],
            [x[rows] for x in self.values],
        )

    @staticmethod
    def join(first: Entries, second: Entries) -> Entries:
        """``first``'s rows, then ``second``'s."""
        return Entries(
            first.states + second.states,
            np.concatenate([first.features, second.features]),
            [np.concatenate(pair) for pair in zip(first.critic_inputs, second.critic_inputs)],
            [np.concatenate(pair) for pair in zip(first.alive, second.alive)],
            [np.concatenate(pair) for pair in zip(first.values, second.values)],
        )


class StateBuffer:
    """At most ``capacity`` visited states, kept diverse, each weighted by how far its values moved."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: Entries | None = None
        self.weights = np.zeros(0)
        self._pending: list[tuple[SavedState, np.ndarray, list[np.ndarray], list[np.ndarray]]] = []
        self._candidates: Entries | None = None  # pending states with the values of the critic that saw them

    def __len__(self) -> int:
        return 0 if self.entries is None else len(self.entries)

    def offer(
        self, state: SavedState, features: np.ndarray, critic_inputs: list[np.ndarray], alive: list[np.ndarray]
    ) -> None:
        """A visited state for the buffer (valued by :meth:`value_candidates`, merged by :meth:`refresh`)."""
        self._pending.append((state, features, [x.copy() for x in critic_inputs], [x.copy() for x in alive]))

    def value_candidates(self, value_of: ValueFunction) -> None:
        """Give the offered states the values of the critic that collected them."""
        if not self._pending:
            return
        states, features, inputs, alive = zip(*self._pending)
        self._pending = []
        critic_inputs = [np.stack(group) for group in zip(*inputs)]
        entries = Entries(
            list(states),
            np.stack(features),
            critic_inputs,
            [np.stack(group) for group in zip(*alive)],
            value_of(critic_inputs),
        )
        self._candidates = entries if self._candidates is None else Entries.join(self._candidates, entries)

    def refresh(self, value_of: ValueFunction, rng: np.random.Generator) -> None:
        """Merge the valued candidates, cut back to ``capacity`` by farthest point sampling, and
        weight every state by the change of its values from last seen to ``value_of`` now."""
        if self._candidates is not None:
            merged = self._candidates if self.entries is None else Entries.join(self.entries, self._candidates)
            self._candidates = None
            if len(merged) > self.capacity:
                first = int(rng.integers(len(merged)))
                merged = merged.take(farthest_point_sample(merged.features, self.capacity, first))
            self.entries = merged
        if self.entries is None:
            return
        now = value_of(self.entries.critic_inputs)
        self.weights = value_change_weights(self.entries.values, now, self.entries.alive)
        self.entries.values = now

    def draw(self, rng: np.random.Generator) -> SavedState:
        """A stored state, drawn with probability proportional to its weight."""
        if self.entries is None:
            raise RuntimeError("the state buffer is empty")
        index = int(rng.choice(len(self.entries), p=start_probabilities(self.weights)))
        return self.entries.states[index]


class SubgameCurriculum:
    """SACL for one collector: offers visited states, refreshes weights, chooses episode starts.

    The collector calls :meth:`begin_rollout` before a rollout (with a seed from its own random
    stream and the current critic), :meth:`wants_candidate` and :meth:`offer` while stepping,
    :meth:`start_state` at each reset and :meth:`end_rollout` after the rollout.
    """

    def __init__(self, settings: CurriculumSettings, n_envs: int, n_steps: int) -> None:
        self.settings = settings
        self.buffer = StateBuffer(settings.buffer_size)
        self.candidate_probability = min(1.0, settings.buffer_size / (n_envs * n_steps))
        self.rng = np.random.default_rng(0)

    def begin_rollout(self, seed: int, value_of: ValueFunction) -> None:
        """Seed this rollout's draws and refresh the buffer's weights from the current critic."""
        self.rng = np.random.default_rng(seed)
        self.buffer.refresh(value_of, self.rng)

    def wants_candidate(self) -> bool:
        """Whether this visited step becomes a candidate for the buffer."""
        return bool(self.rng.random() < self.candidate_probability)

    def offer(
        self, state: SavedState, features: np.ndarray, critic_inputs: list[np.ndarray], alive: list[np.ndarray]
    ) -> None:
        """A visited state (with the critic's inputs per group and who is alive) for the buffer."""
        self.buffer.offer(state, features, critic_inputs, alive)

    def end_rollout(self, value_of: ValueFunction) -> None:
        """Value the rollout's candidates with the critic that collected them."""
        self.buffer.value_candidates(value_of)

    def start_state(self) -> SavedState | None:
        """The state the next episode starts from, or None for a normal reset."""
        use = self.rng.random() < self.settings.probability
        if not use or len(self.buffer) == 0:
            return None
        return self.buffer.draw(self.rng)


def encode_state(state: SavedState) -> dict[str, dict[str, Any]]:
    """A saved state as checkpoint data: per array its dtype name, shape and bytes (a uint8
    tensor), which ``torch.load(weights_only=True)`` reads back without running any code."""
    return {
        key: {
            "dtype": value.dtype.str,
            "shape": list(value.shape),
            "data": torch.from_numpy(np.ascontiguousarray(value).view(np.uint8).reshape(-1).copy()),
        }
        for key, value in state.items()
    }


def decode_state(encoded: dict[str, dict[str, Any]]) -> SavedState:
    """The saved state :func:`encode_state` encoded; a non-numeric dtype is refused."""
    state = {}
    for key, entry in encoded.items():
        dtype = np.dtype(str(entry["dtype"]))
        if dtype.kind not in "biuf":
            raise ValueError(f"checkpoint: the saved start state's {key!r} has dtype {dtype}, not a numeric one")
        data = entry["data"].numpy().tobytes()
        state[key] = np.frombuffer(data, dtype=dtype).reshape([int(n) for n in entry["shape"]]).copy()
    return state
