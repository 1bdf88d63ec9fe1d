"""Test-wide settings: headless rendering, a quiet pygame, deterministic and small torch."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the environment-only tests do not need torch
    torch = None
