"""Observations of any structure as flat float32 vectors, and where each piece sits in them.

The learner stores and feeds observations as flat vectors; the encoders read the structure
back from the :class:`Part` list. Dict and Tuple spaces nest to any depth: every leaf is a
part named by its path (``"observation/boxes"``, ``"sensors/0"``), in the space's own order,
which is the order Gymnasium's ``spaces.flatten`` uses. Leaves:

- Box, MultiBinary, MultiDiscrete: their values, flattened (an entity list ``name [N, F]`` and
  its ``name_mask [N]`` are two such parts side by side, at any depth);
- Discrete: a one-hot of width ``n`` (``start`` is subtracted).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

#: PettingZoo's convention: ``{"observation": ..., "action_mask": ...}``.
ACTION_MASK_KEY = "action_mask"
#: Separates the keys of a nested part's path in its name.
PATH_SEPARATOR = "/"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Part:
    """One leaf of a flattened observation: its name (``None`` for an unstructured space), shape,
    slice of the flat vector, path of keys and indices into the observation, and one-hot width
    (Discrete leaves inside a structure)."""

    key: str | None
    shape: tuple[int, ...]
    start: int
    stop: int
    path: Path = ()
    one_hot: int | None = None
    one_hot_start: int = 0


class ObservationLayout:
    """Flattens observations of ``space`` (Dict and Tuple nested in any way) into float32 rows."""

    def __init__(self, space: spaces.Space, owner: str = "agent") -> None:
        self.space = space
        self.owner = owner
        self.parts: list[Part] = []
        self.discrete_n: int | None = None
        self.discrete_start = 0
        if isinstance(space, (spaces.Dict, spaces.Tuple)):
            self.dim = self._add_leaves(space, (), 0)
        else:
            shape = _shape_of(space, owner)
            if isinstance(space, spaces.Discrete):
                self.discrete_n = int(space.n)
                self.discrete_start = int(space.start)
            size = int(np.prod(shape)) if shape else 1
            self.parts.append(Part(None, shape, 0, size))
            self.dim = size
        # One reader per part: a plain item lookup (C-fast) for a top-level leaf, else the walk.
        self._readers = [
            operator.itemgetter(part.path[0])
            if len(part.path) == 1 and part.one_hot is None
            else functools.partial(self._leaf, part=part)
            for part in self.parts
        ]

    def _add_leaves(self, space: spaces.Space, path: Path, offset: int) -> int:
        """Append the leaves of ``space`` found under ``path`` from ``offset``; the next offset."""
        if isinstance(space, spaces.Dict):
            children: list[tuple[str | int, spaces.Space]] = list(space.spaces.items())
        elif isinstance(space, spaces.Tuple):
            children = list(enumerate(space.spaces))
        else:
            name = PATH_SEPARATOR.join(str(step) for step in path)
            shape = _shape_of(space, f"{self.owner}: observation part {name!r}")
            size = int(np.prod(shape)) if shape else 1
            if isinstance(space, spaces.Discrete):
                self.parts.append(Part(name, shape, offset, offset + size, path, int(space.n), int(space.start)))
            else:
                self.parts.append(Part(name, shape, offset, offset + size, path))
            return offset + size
        for step, child in children:
            offset = self._add_leaves(child, path + (step,), offset)
        return offset

    def part(self, key: str) -> Part | None:
        """The part named ``key`` (its path joined by ``/``), if any."""
        for part in self.parts:
            if part.key == key:
                return part
        return None

    def subspace(self, part: Part) -> spaces.Space:
        """The leaf space ``part`` was made from."""
        space = self.space
        for step in part.path:
            space = space[step]
        return space

    def flatten(self, observations: list) -> np.ndarray:
        """Stack a list of observations into ``[n, dim]`` float32."""
        n = len(observations)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.discrete_n is not None:
            out = np.zeros((n, self.discrete_n), dtype=np.float32)
            index = np.asarray(observations, dtype=np.int64) - self.discrete_start
            if index.min() < 0 or index.max() >= self.discrete_n:
                raise ValueError(f"{self.owner}: a Discrete observation is outside its {self.discrete_n} values")
            out[np.arange(n), index] = 1.0
            return out
        if self.parts[0].key is None:
            return np.asarray(observations, dtype=np.float32).reshape(n, self.dim)
        try:
            leaves = [read(observation) for observation in observations for read in self._readers]
        except (KeyError, IndexError, TypeError):
            raise ValueError(self._missing_part(observations)) from None
        # Every part of every observation, each flattened, in one call: the layout's order.
        flat = np.concatenate(leaves, axis=None, dtype=np.float32)
        if flat.size != n * self.dim:
            sizes = {part.key: int(np.size(self._leaf(observations[0], part))) for part in self.parts}
            expected = {part.key: part.stop - part.start for part in self.parts}
            raise ValueError(
                f"{self.owner}: observation parts have sizes {sizes}, but the observation space gives {expected}"
            )
        return flat.reshape(n, self.dim)

    def _leaf(self, observation: object, part: Part) -> object:
        """The value of ``part`` in one observation (a one-hot row for a Discrete leaf)."""
        value = observation
        for step in part.path:
            value = value[step]  # type: ignore[index]
        if part.one_hot is None:
            return value
        row = np.zeros(part.one_hot, dtype=np.float32)
        row[int(value) - part.one_hot_start] = 1.0  # type: ignore[call-overload]
        return row

    def _missing_part(self, observations: list) -> str:
        """Which part of which observation could not be read, for one clear error line."""
        for observation in observations:
            for part in self.parts:
                try:
                    self._leaf(observation, part)
                except (KeyError, IndexError, TypeError):
                    return (
                        f"{self.owner}: the observation has no part {part.key!r} that its space {self.space} declares"
                    )
        return f"{self.owner}: the observation does not follow its space {self.space}"


def _shape_of(space: spaces.Space, owner: str) -> tuple[int, ...]:
    if isinstance(space, (spaces.Box, spaces.MultiBinary, spaces.MultiDiscrete)):
        return tuple(int(s) for s in space.shape)
    if isinstance(space, spaces.Discrete):
        return (int(space.n),)
    raise ValueError(
        f"unsupported observation space for {owner}: {space!r}; supported: Box, Discrete, MultiBinary, "
        "MultiDiscrete, and Dict and Tuple of these nested in any way (entity lists as name/name_mask pairs)"
    )
