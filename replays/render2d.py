"""Top-down 2D drawing for replays: the toolkit's one 2D renderer, which lives in :mod:`envs.rendering2d`.

Environments draw their own frames with the same renderer, so a replay looks like the
environment it was recorded from.
"""

from envs.rendering2d import TOGGLEABLE_LAYERS, SceneRenderer, parse_overlays, validate_size

__all__ = ["TOGGLEABLE_LAYERS", "SceneRenderer", "parse_overlays", "validate_size"]
