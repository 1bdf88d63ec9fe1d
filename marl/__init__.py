"""The ``marl`` application: the command line, run configs and presets, run folders, metrics,
checkpoints, evaluation, plots and benchmarks, on top of ``agents``, ``envs`` and ``replays``."""
