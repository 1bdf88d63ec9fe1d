"""3D pictures of a restored environment: its own ``rgb_array`` renderer, with a camera choice.

An environment offers cameras in one of two ways:

* it has ``render_cameras`` (a tuple of names) and a settable ``render_camera`` attribute that
  its ``render()`` honours; or
* it exposes its MuJoCo ``model`` and ``data`` (attributes ``model``/``data``, ``_model``/``_data``
  or ``mj_model``/``mj_data``); then this module draws them with ``mujoco.Renderer`` from an
  ``overhead``, a ``tracking`` (follows the first agent) or a ``free`` (oblique) camera, or any
  camera named in the model.

Otherwise the environment's plain ``render()`` is used (camera ``default``).
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

MUJOCO_CAMERAS = ("overhead", "tracking", "free")
_MODEL_ATTRIBUTES = (("model", "data"), ("_model", "_data"), ("mj_model", "mj_data"))


def _mujoco_handles(replayable: Any) -> tuple[Any, Any] | None:
    try:
        import mujoco
    except ImportError:
        return None
    for model_name, data_name in _MODEL_ATTRIBUTES:
        model = getattr(replayable, model_name, None)
        data = getattr(replayable, data_name, None)
        if isinstance(model, mujoco.MjModel) and isinstance(data, mujoco.MjData):
            return model, data
    return None


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    image = np.ascontiguousarray(np.asarray(image)[..., :3], dtype=np.uint8)
    if image.shape[:2] == (height, width):
        return image
    import pygame

    surface = pygame.image.frombuffer(image.tobytes(), (image.shape[1], image.shape[0]), "RGB")
    scaled = pygame.transform.smoothscale(surface, (width, height))
    return np.frombuffer(pygame.image.tobytes(scaled, "RGB"), dtype=np.uint8).reshape(height, width, 3)


class CameraRenderer:
    """Renders the current state of ``env`` (whose Replayable part is ``replayable``) in 3D."""

    def __init__(self, env: Any, replayable: Any, width: int = 640, height: int = 480) -> None:
        self.env = env
        self.replayable = replayable
        self.width = width
        self.height = height
        self._mujoco = None if getattr(replayable, "render_cameras", None) else _mujoco_handles(replayable)
        self._renderer = None
        self.cameras = self._camera_names()

    def _camera_names(self) -> tuple[str, ...]:
        offered = getattr(self.replayable, "render_cameras", None)
        if offered:
            return tuple(offered)
        if self._mujoco is not None:
            import mujoco

            model = self._mujoco[0]
            named = tuple(mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, index) or f"camera{index}"
                          for index in range(model.ncam))
            return MUJOCO_CAMERAS + named
        return ("default",)

    def check_camera(self, camera: str | None) -> str:
        """The camera to use: ``camera`` if this environment offers it, else a clear error."""
        if camera is None:
            return self.cameras[0]
        if camera not in self.cameras:
            close = difflib.get_close_matches(camera, self.cameras, n=3)
            raise ValueError(
                f"unknown camera {camera!r}; this environment offers: {', '.join(self.cameras)}"
                + (f" (did you mean {', '.join(close)}?)" if close else "")
            )
        return camera

    def render(self, camera: str | None = None) -> np.ndarray:
        """An ``[H, W, 3]`` uint8 picture of the current (restored) state from ``camera``."""
        camera = self.check_camera(camera)
        if self._mujoco is not None:
            return self._render_mujoco(camera)
        if getattr(self.replayable, "render_cameras", None):
            self.replayable.render_camera = camera
        image = self.env.render()
        if image is None:
            raise ValueError(
                "the environment returned no picture; build it with render_mode='rgb_array' for 3D replays"
            )
        return _resize(image, self.width, self.height)

    def _mujoco_camera(self, camera: str):
        import mujoco

        model, data = self._mujoco
        view = mujoco.MjvCamera()
        extent = float(model.stat.extent)
        center = np.array(model.stat.center, dtype=np.float64)
        if camera == "overhead":
            view.type = mujoco.mjtCamera.mjCAMERA_FREE
            view.lookat[:] = (center[0], center[1], 0.0)
            view.distance = 1.6 * extent
            view.elevation = -90.0
            view.azimuth = 90.0
        elif camera == "free":
            view.type = mujoco.mjtCamera.mjCAMERA_FREE
            view.lookat[:] = (center[0], center[1], 0.0)
            view.distance = 1.5 * extent
            view.elevation = -40.0
            view.azimuth = 135.0
        elif camera == "tracking":
            view.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            view.trackbodyid = self._first_agent_body(model)
            view.distance = 0.5 * extent
            view.elevation = -50.0
            view.azimuth = 90.0
        else:
            view.type = mujoco.mjtCamera.mjCAMERA_FIXED
            view.fixedcamid = self.cameras.index(camera) - len(MUJOCO_CAMERAS)
        mujoco.mj_forward(model, data)
        return view

    @staticmethod
    def _first_agent_body(model: Any) -> int:
        import mujoco

        for index in range(1, model.nbody):
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, index) or ""
            if "agent" in name or "hider" in name or "seeker" in name:
                return index
        return min(1, model.nbody - 1)

    def _render_mujoco(self, camera: str) -> np.ndarray:
        import mujoco

        model, data = self._mujoco
        if self._renderer is None:
            model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
            model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
            self._renderer = mujoco.Renderer(model, self.height, self.width)
        view = self._mujoco_camera(camera)
        self._renderer.update_scene(data, camera=view)
        return np.array(self._renderer.render(), dtype=np.uint8)

    def close(self) -> None:
        """Free the off-screen rendering context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
