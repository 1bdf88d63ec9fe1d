"""``marl replay``: video, statistics and viewer through the subcommand's parser and run()."""

from __future__ import annotations

import argparse
import json

import imageio.v3 as iio
import pytest
import replay_disc_env

from marl.commands import replay as command
from marl.errors import UsageError
from replays import record_episodes


def parse(*argv):
    parser = argparse.ArgumentParser(prog="marl")
    command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["replay", *argv])


@pytest.fixture()
def run_folder(tmp_path):
    run = tmp_path / "run"
    record_episodes(
        None,
        lambda: replay_disc_env.parallel_env(max_steps=6),
        3,
        run / "replays",
        env_id="replay_disc_env:parallel_env",
        env_kwargs={"max_steps": 6},
    )
    (run / "config.yaml").write_text("env: replay_disc\n")
    return run


def test_run_folder_renders_selected_episodes(run_folder, tmp_path, capsys):
    out = tmp_path / "videos" / "clip.mp4"
    assert (
        command.run(parse(str(run_folder), "--out", str(out), "--episodes", "0,2", "--width", "160", "--height", "120"))
        == 0
    )
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == ["clip_episode_0000.mp4", "clip_episode_0002.mp4"]
    assert iio.imread(out.parent / written[0]).shape == (7, 120, 160, 3)
    assert "wrote" in capsys.readouterr().out


def test_single_file_default_output_and_3d(run_folder):
    episode = run_folder / "replays" / "episode_0001.npz"
    assert (
        command.run(
            parse(
                str(episode),
                "--renderer",
                "3d",
                "--camera",
                "corner",
                "--format",
                "gif",
                "--width",
                "64",
                "--height",
                "48",
            )
        )
        == 0
    )
    assert iio.imread(episode.with_suffix(".gif")).shape[1:] == (48, 64, 3)


def test_stats_print_text_and_json(run_folder, capsys):
    assert command.run(parse(str(run_folder), "--stats", "--episodes", "-1")) == 0
    text = capsys.readouterr().out
    assert "episode_0002.npz" in text and "hidden_fraction" in text
    assert command.run(parse(str(run_folder), "--stats", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 4 and data["mean"]["episode_length"] == 6.0


def test_view_runs_headless_with_a_frame_limit(run_folder):
    assert command.run(parse(str(run_folder), "--view", "--max-frames", "3", "--width", "96", "--height", "64")) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--episodes", "7"), "out of range; there are 3 episodes"),
        (("--episodes", "x"), "not an index or range"),
        (("--overlays", "lidr"), "did you mean lidar"),
        (("--camera", "top"), "add --renderer 3d"),
        (("--width", "33"), "width must be an even integer"),
        (("--renderer", "3d", "--camera", "nope"), "offers: overhead, corner"),
    ],
)
def test_bad_input_is_a_usage_error(run_folder, argv, message):
    with pytest.raises(UsageError, match=message):
        command.run(parse(str(run_folder), *argv))


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        command.run(parse(str(tmp_path / "nowhere")))
    with pytest.raises(UsageError, match="no episode files"):
        command.run(parse(str(tmp_path)))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UsageError, match="broken.npz"):
        command.run(parse(str(broken), "--stats"))


def test_view_without_a_display_points_to_video(run_folder, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    with pytest.raises(UsageError, match="needs a display.*--out"):
        command.run(parse(str(run_folder), "--view"))


def test_folder_order_is_recording_order(tmp_path):
    """'-1' is the newest recording: periodic files by step, the final one after them."""
    names = [
        "final_0000003000_0.npz",
        "step_0000002000_0.npz",
        "step_0000010000_0.npz",
        "manual.npz",
        "step_0000001000_0.npz",
        "final_0000010000_0.npz",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    ordered = [path.name for path in command.episode_files(tmp_path)]
    assert ordered == [
        "manual.npz",
        "step_0000001000_0.npz",
        "step_0000002000_0.npz",
        "final_0000003000_0.npz",
        "step_0000010000_0.npz",
        "final_0000010000_0.npz",
    ]
    assert command.select_episodes(command.episode_files(tmp_path), "-1")[0].name == "final_0000010000_0.npz"
