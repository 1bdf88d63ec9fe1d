"""The ``marl`` application: the command line, run configs and presets, run folders, metrics,
checkpoints, evaluation, plots and benchmarks, on top of ``agents``, ``envs`` and ``replays``."""

#: The version of the marl-arena distribution, written here alone: pyproject.toml reads it for the
#: wheel and the sdist (``dynamic = ["version"]``) and ``marl --version`` prints it.
__version__ = "0.2.0.dev0"
