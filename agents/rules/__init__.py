"""Policy update rules: each is a small module with ``make_optimizers(config, model)`` and
``update(learner, group_index, batch) -> stats`` (:class:`~agents.rules.interface.UpdateRule`),
seeing the learner only through :class:`~agents.rules.interface.UpdateContext`. Rules import
the core, never the learner. Nothing in them is multi-agent specific."""

from agents.rules import npg, ppo, reinforce, trpo

__all__ = ["npg", "ppo", "reinforce", "trpo"]
