"""Policy update rules: each is a small module with ``make_optimizers(learner, model)`` and
``update(learner, group_index, batch) -> stats``. Nothing in them is multi-agent specific."""

from agents.rules import npg, ppo, reinforce, trpo

__all__ = ["npg", "ppo", "reinforce", "trpo"]
