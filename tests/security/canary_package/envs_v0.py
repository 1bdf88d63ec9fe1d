"""A module with ``parallel_env`` that leaves a mark when imported or called."""

from canary_factory import leave_mark, make_env

leave_mark("imported canary_package.envs_v0")
parallel_env = make_env
