"""The algorithms: each is the learner with a Config (what the critic sees, hyperparameters)
and an update rule. None of them copies another."""

from __future__ import annotations

from typing import ClassVar

from agents.config import (
    IPPOConfig,
    MAPPOConfig,
    NPGConfig,
    PPOConfig,
    REINFORCEConfig,
    TRPOConfig,
)
from agents.learner import Learner
from agents.rules import npg, ppo, reinforce, trpo
from agents.rules.interface import UpdateRule


class PPO(Learner):
    """PPO (clipped surrogate) with SB3/paper defaults; on multi-agent envs it is IPPO with those defaults."""

    Config = PPOConfig
    rule: ClassVar[UpdateRule] = ppo


class IPPO(Learner):
    """Independent PPO: clipped surrogate, critic on the agent's own observation, MAPPO-paper defaults."""

    Config = IPPOConfig
    rule: ClassVar[UpdateRule] = ppo


class MAPPO(Learner):
    """MAPPO: clipped surrogate with a centralised critic on env.state() (+ agent id)."""

    Config = MAPPOConfig
    rule: ClassVar[UpdateRule] = ppo


class TRPO(Learner):
    """TRPO: conjugate-gradient natural direction, KL-constrained line search, Adam-fitted critic."""

    Config = TRPOConfig
    rule: ClassVar[UpdateRule] = trpo


class NPG(Learner):
    """Truncated natural policy gradient with the Peters step alpha / sqrt(g^T F^-1 g)."""

    Config = NPGConfig
    rule: ClassVar[UpdateRule] = npg


class REINFORCE(Learner):
    """REINFORCE with Monte-Carlo returns and an optional learned baseline."""

    Config = REINFORCEConfig
    config: REINFORCEConfig
    rule: ClassVar[UpdateRule] = reinforce

    @property
    def uses_critic(self) -> bool:  # type: ignore[override]
        """The critic is used only as a baseline, when enabled."""
        return self.config.baseline


ALGORITHMS: dict[str, type[Learner]] = {
    "ppo": PPO,
    "ippo": IPPO,
    "mappo": MAPPO,
    "trpo": TRPO,
    "npg": NPG,
    "reinforce": REINFORCE,
}
