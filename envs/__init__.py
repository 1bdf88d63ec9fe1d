"""The environment suite: PettingZoo environments of our own and one registry for any environment.

``envs.make(env_id, **kwargs)`` builds an environment of the suite (``navigation_v0``,
``hide_and_seek_v0``, ...), a PettingZoo module (``pettingzoo.sisl.multiwalker_v9``), a Gymnasium
id (``CartPole-v1``) or a user factory (``package.module:factory``). Importing ``envs`` imports
no environment: each is imported when it is made.
"""

from envs.registry import (
    EnvFactory,
    EnvSummary,
    describe,
    ids,
    make,
    make_factory,
    register,
    space_summary,
    summaries,
)

__all__ = [
    "EnvFactory",
    "EnvSummary",
    "describe",
    "ids",
    "make",
    "make_factory",
    "register",
    "space_summary",
    "summaries",
]
