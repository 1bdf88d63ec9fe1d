"""Flat numeric form of an agent's action for storage (numpy only, any Gymnasium space).

Discrete and MultiBinary parts are stored as their integer values (not one-hot), Box parts
as their raveled floats, Dict and Tuple spaces as the concatenation of their parts in the
space's own order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


def flat_action_dim(space: spaces.Space) -> int:
    """Number of floats needed to store one action of ``space``."""
    if isinstance(space, spaces.Discrete):
        return 1
    if isinstance(space, (spaces.MultiDiscrete, spaces.MultiBinary, spaces.Box)):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Dict):
        return sum(flat_action_dim(part) for part in space.spaces.values())
    if isinstance(space, spaces.Tuple):
        return sum(flat_action_dim(part) for part in space.spaces)
    raise ValueError(
        f"cannot store actions of space {space!r}; supported: Discrete, MultiDiscrete, "
        "MultiBinary, Box and Dict/Tuple of these"
    )


def flatten_action(space: spaces.Space, action: Any) -> np.ndarray:
    """``action`` of ``space`` as a float64 vector of length ``flat_action_dim(space)``."""
    if isinstance(space, spaces.Dict):
        return np.concatenate([flatten_action(part, action[key]) for key, part in space.spaces.items()])
    if isinstance(space, spaces.Tuple):
        return np.concatenate([flatten_action(part, item) for part, item in zip(space.spaces, action)])
    flat = np.asarray(action, dtype=np.float64).ravel()
    expected = flat_action_dim(space)
    if flat.size != expected:
        raise ValueError(f"action {action!r} has {flat.size} numbers; space {space!r} needs {expected}")
    return flat
