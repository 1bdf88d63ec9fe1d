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
