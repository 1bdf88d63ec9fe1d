"""Policy-gradient agents for single- and multi-agent environments.

One actor-critic learner; an algorithm is what its critic sees plus an update rule:
``PPO``, ``IPPO``, ``MAPPO``, ``TRPO``, ``NPG`` and ``REINFORCE``.
"""

from agents.algorithms import ALGORITHMS, IPPO, MAPPO, NPG, PPO, REINFORCE, TRPO
from agents.core.finite import NonFiniteLossError
from agents.learner import Learner

__all__ = ["ALGORITHMS", "IPPO", "MAPPO", "NPG", "PPO", "REINFORCE", "TRPO", "Learner", "NonFiniteLossError"]
