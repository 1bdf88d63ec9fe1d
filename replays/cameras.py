"""3D pictures of a restored environment: its own ``rgb_array`` renderer, with a camera choice.

An environment offers cameras in one of two ways:

* it has ``render_cameras`` (a tuple of names) and a settable ``render_camera`` attribute that
  its ``render()`` honours; or
* it exposes its MuJoCo ``model`` and ``data`` (attributes ``model``/``data``, ``_model``/``_data``
  or ``mj_model``/``mj_data``); then this module draws them with ``mujoco.Renderer`` from an
  ``overhead``, a ``tracking`` (follows the first agent) or a ``free`` (oblique) camera framed on
  the scene's bounds, from any camera named in the model, or (``env``) through the environment's
  own ``render()`` when it was built with ``render_mode="rgb_array"``.

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


def fit_picture(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fit ``width`` x ``height`` with its aspect ratio kept (black borders)."""
    image = np.ascontiguousarray(np.asarray(image)[..., :3], dtype=np.uint8)
    if image.shape[:2] == (height, width):
        return image
    import pygame

    source_height, source_width = image.shape[:2]
    scale = min(width / source_width, height / source_height)
    size = (max(1, round(source_width * scale)), max(1, round(source_height * scale)))
    surface = pygame.image.frombuffer(image.tobytes(), (source_width, source_height), "RGB")
    canvas = pygame.Surface((width, height))
    canvas.blit(pygame.transform.smoothscale(surface, size), ((width - size[0]) // 2, (height - size[1]) // 2))
    return np.frombuffer(pygame.image.tobytes(canvas, "RGB"), dtype=np.uint8).reshape(height, width, 3)


class CameraRenderer:
    """Renders the current state of ``env`` (whose Replayable part is ``replayable``) in 3D."""

    def __init__(
        self, env: Any, replayable: Any, width: int = 640, height: int = 480, multisamples: int | None = 0
    ) -> None:
        if multisamples is not None and not (isinstance(multisamples, int) and 0 <= multisamples <= 16):
            raise ValueError(f"multisamples must be None or an integer in [0, 16], got {multisamples!r}")
        self.env = env
        self.replayable = replayable
        self.width = width
        self.height = height
        self._mujoco = None if getattr(replayable, "render_cameras", None) else _mujoco_handles(replayable)
        if self._mujoco is not None and multisamples is not None:
            # anti-aliasing samples of off-screen buffers: with software OpenGL (no GPU) 0 renders
            # about twice as fast as MuJoCo's default 4 and looks nearly the same at 640 x 480
            self._mujoco[0].vis.quality.offsamples = multisamples
        self._renderer = None
        self._frame_of_view: tuple[np.ndarray, float] | None = None
        self.cameras = self._camera_names()

    def _camera_names(self) -> tuple[str, ...]:
        offered = getattr(self.replayable, "render_cameras", None)
        if offered:
            return tuple(offered)
        if self._mujoco is not None:
            import mujoco

            model = self._mujoco[0]
            named = []
            for index in range(model.ncam):
                name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, index) or f"camera{index}"
                named.append(f"model:{name}" if name in MUJOCO_CAMERAS else name)
            own = ("env",) if getattr(self.env, "render_mode", None) == "rgb_array" else ()
            return MUJOCO_CAMERAS + tuple(named) + own
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
        if self._mujoco is not None and camera != "env":
            return self._render_mujoco(camera)
        if getattr(self.replayable, "render_cameras", None):
            self.replayable.render_camera = camera
        image = self.env.render()
        if image is None:
            raise ValueError(
                "the environment returned no picture; build it with render_mode='rgb_array' for 3D replays"
            )
        return fit_picture(image, self.width, self.height)

    def _framing(self) -> tuple[np.ndarray, float]:
        """Centre and size of the drawn world (from the scene bounds, else the model's extent)."""
        if self._frame_of_view is None:
            self._frame_of_view = self._measure_world()
        return self._frame_of_view

    def _measure_world(self) -> tuple[np.ndarray, float]:
        model = self._mujoco[0]
        try:
            x_min, y_min, x_max, y_max = self.replayable.scene().bounds
            return np.array([(x_min + x_max) / 2, (y_min + y_max) / 2, 0.0]), float(max(x_max - x_min, y_max - y_min))
        except Exception:  # an environment whose scene needs more state: fall back to the model
            return np.array(model.stat.center, dtype=np.float64), 2.0 * float(model.stat.extent)

    def _mujoco_camera(self, camera: str):
        import mujoco

        model, data = self._mujoco
        view = mujoco.MjvCamera()
        center, span = self._framing()
        fit = 0.55 * span / np.tan(np.radians(float(model.vis.global_.fovy)) / 2)
        if camera in ("overhead", "free"):
            view.type = mujoco.mjtCamera.mjCAMERA_FREE
            view.lookat[:] = center
            view.distance = fit
            view.elevation = -90.0 if camera == "overhead" else -55.0
            view.azimuth = 90.0 if camera == "overhead" else 135.0
        elif camera == "tracking":
            view.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            view.trackbodyid = self._first_agent_body(model)
            view.distance = 0.4 * fit
            view.elevation = -50.0
            view.azimuth = 90.0
        else:
            view.type = mujoco.mjtCamera.mjCAMERA_FIXED
            view.fixedcamid = self.cameras.index(camera) - len(MUJOCO_CAMERAS)
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
            try:
                self._renderer = mujoco.Renderer(model, self.height, self.width)
            except mujoco.FatalError as error:
                raise ValueError(
                    f"3D rendering needs an off-screen OpenGL context ({error}); set MUJOCO_GL=egl "
                    "(or osmesa) in the environment before MuJoCo is imported"
                ) from error
            self._option = mujoco.MjvOption()
            self._option.geomgroup[:] = 1  # floors and decorations often sit in groups hidden by default
        mujoco.mj_forward(model, data)
        self._renderer.update_scene(data, camera=self._mujoco_camera(camera), scene_option=self._option)
        return np.array(self._renderer.render(), dtype=np.uint8)

    def close(self) -> None:
        """Free the off-screen rendering context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
