"""Frames per second of the replay renderers, and the size of episode files.

Records one episode of the arena (full game, random actions) and one of navigation_v0, then
times: the top-down 2D renderer (restore + scene + pygame drawing) with every overlay and with
none, each 3D camera (MuJoCo off-screen), MP4 encoding, and bytes per step of the files.

    MUJOCO_GL=egl SDL_VIDEODRIVER=dummy python benchmarks/render_speed.py [--width 640 --height 480]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import envs  # noqa: E402
from replays import load_episode, record_episodes  # noqa: E402
from replays.playback import EpisodePlayer  # noqa: E402
from replays.video import write_video  # noqa: E402

ARENA_STEPS_PER_SECOND = 1 / 0.075  # 15 substeps of 5 ms per environment step


def frames_per_second(render, count: int) -> tuple[float, float]:
    """Calls ``render(index)`` for ``count`` indices after one warm-up call.

    Returns calls per wall-clock second and per CPU second of this process (all its threads,
    including the software OpenGL renderer's), which is steadier on a machine shared with others.
    """
    render(0)
    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(count):
        render(index)
    return count / (time.perf_counter() - wall), count / max(time.process_time() - cpu, 1e-9)


def bytes_per_step(path: Path) -> float:
    """File size divided by the episode's number of steps."""
    return path.stat().st_size / load_episode(path).num_steps


def main() -> None:
    """Run the measurements and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results: dict[str, float | str | tuple[float, float]] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "size": f"{args.width}x{args.height}",
    }
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        [arena_file] = record_episodes(
            None, envs.make_factory("hide_and_seek_v0"), 1, Path(folder) / "arena.npz", seed=args.seed
        )
        arena = load_episode(arena_file)
        results["arena record steps/s (random policy)"] = arena.num_steps / (time.perf_counter() - start)
        results["arena bytes/step"] = bytes_per_step(arena_file)
        [navigation_file] = record_episodes(
            None, envs.make_factory("navigation_v0"), 1, Path(folder) / "navigation.npz", seed=args.seed
        )
        results["navigation bytes/step"] = bytes_per_step(navigation_file)
        [arena_half_file] = record_episodes(
            None,
            envs.make_factory("hide_and_seek_v0"),
            1,
            Path(folder) / "arena16.npz",
            seed=args.seed,
            float_dtype="float16",
        )
        results["arena bytes/step (float16 poses)"] = bytes_per_step(arena_half_file)
        frames = arena.num_frames

        for overlays in ("all", "none"):
            player = EpisodePlayer(arena, "2d", args.width, args.height, overlays=overlays)
            results[f"2d fps, overlays {overlays}"] = frames_per_second(player.frame_2d, frames)
            player.close()
        navigation_player = EpisodePlayer(load_episode(navigation_file), "2d", args.width, args.height)
        results["2d fps, navigation"] = frames_per_second(
            navigation_player.frame_2d, navigation_player.episode.num_frames
        )
        navigation_player.close()

        solid = EpisodePlayer(arena, "3d", args.width, args.height)
        for camera in solid.cameras:  # the arena's own cameras
            results[f"3d fps, {camera}"] = frames_per_second(
                lambda index, camera=camera: solid.frame_3d(index, camera), 60
            )
        solid.close()

        player = EpisodePlayer(arena, "2d", args.width, args.height)
        start = time.perf_counter()
        write_video(player.frames(), Path(folder) / "arena.mp4", fps=arena.fps)
        results["2d render + mp4 encode fps"] = frames / (time.perf_counter() - start)
        player.close()

    results["2d speed / real time (wall, cpu)"] = tuple(
        fps / ARENA_STEPS_PER_SECOND for fps in results["2d fps, overlays all"]
    )
    results["load average (1 min) after the run"] = f"{os.getloadavg()[0]:.2f}"
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'':<40} {'wall':>8} {'cpu':>8}")
    for key, value in results.items():
        if isinstance(value, tuple):
            print(f"{key:<40} {value[0]:8.1f} {value[1]:8.1f}")
        elif isinstance(value, float):
            print(f"{key:<40} {value:8.1f}")
        else:
            print(f"{key:<40} {value}")


if __name__ == "__main__":
    main()
