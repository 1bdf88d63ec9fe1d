"""Run-folder files: atomic writes, checkpoints, metrics CSV, plots and the run listing."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch

import marl.checkpoints as checkpoints
from marl.checkpoints import CheckpointError, check_compatible, load_checkpoint, save_checkpoint
from marl.evaluation import isolated_random_state
from marl.files import atomic_write_text
from marl.metrics import CSVMetrics, MetricsLogger, read_metrics
from marl.plotting import group_band, load_curves, moving_average, plot_episode_statistics, plot_learning_curves
from marl.run_folder import RunFolder, default_run_path
from marl.run_index import find_runs, format_runs, summarize_run
from marl.training import Interval

SPACES = {"agent": {"observation": "Box(4,)", "action": "Discrete(2)"}}


def write(path: Path, steps: int, weight: float) -> Path:
    return save_checkpoint(path, algo="ppo", steps=steps, spaces=SPACES, state={"w": torch.full((3,), weight)})


def test_atomic_text_write_keeps_the_old_file_when_writing_fails(tmp_path: Path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "old")

    class Boom:
        def __str__(self):
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        atomic_write_text(path, Boom())  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_an_interrupted_checkpoint_write_leaves_the_previous_one_loadable(tmp_path: Path, monkeypatch):
    path = write(tmp_path / "latest.pt", steps=100, weight=1.0)
    real_save = torch.save

    def save_half_then_fail(obj, handle, *args, **kwargs):
        real_save(obj, handle)
        handle.seek(handle.tell() // 2)
        handle.truncate()
        raise KeyboardInterrupt  # the user pressed Ctrl-C in the middle of the write

    monkeypatch.setattr(checkpoints.torch, "save", save_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        write(path, steps=200, weight=2.0)
    monkeypatch.undo()
    payload = load_checkpoint(path)
    assert payload["steps"] == 100 and torch.equal(payload["state"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]  # no temporary file left behind


def test_corrupt_foreign_and_incompatible_checkpoints_are_refused_with_the_file_and_reason(tmp_path: Path):
    good = write(tmp_path / "good.pt", steps=5, weight=0.5)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=rf"{truncated}.*corrupt, truncated"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match=rf"{foreign} is not a marl run checkpoint"):
        load_checkpoint(foreign)
    pickled = tmp_path / "pickled.pt"
    pickled.write_bytes(pickle.dumps(Path("/"), protocol=2))
    with pytest.raises(CheckpointError, match=rf"{pickled} is corrupt"):
        load_checkpoint(pickled)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    payload = load_checkpoint(good)
    other = {"agent": {"observation": "Box(6,)", "action": "Discrete(2)"}}
    with pytest.raises(CheckpointError, match=r"agent/observation: checkpoint Box\(4,\) vs config Box\(6,\)"):
        check_compatible(payload, good, "ppo", other)
    with pytest.raises(CheckpointError, match="trained with 'ppo', not 'trpo'"):
        check_compatible(payload, good, "trpo", SPACES)
    check_compatible(payload, good, "ppo", SPACES)


def test_metrics_csv_widens_its_header_and_keeps_earlier_rows(tmp_path: Path):
    path = tmp_path / "metrics.csv"
    csv = CSVMetrics(path)
    csv.append({"steps": 1.0, "loss": 0.5})
    csv.append({"steps": 2.0, "loss": 0.25, "episode_return/red": 3.0})
    csv.append({"steps": 3.0, "episode_return/red": 4.0})
    columns = read_metrics(path)
    assert list(columns["steps"]) == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(columns["loss"], [0.5, 0.25, np.nan])
    np.testing.assert_array_equal(columns["episode_return/red"], [np.nan, 3.0, 4.0])


def test_resuming_a_metrics_log_drops_rows_after_the_checkpoint(tmp_path: Path):
    logger = MetricsLogger(tmp_path / "metrics.csv")
    for steps in (10, 20, 30):
        logger.log(steps, {"value": steps / 10, "note": "text is dropped"})
    logger.close()
    resumed = MetricsLogger(tmp_path / "metrics.csv", resume_steps=20)
    resumed.log(30, {"value": 30.0})
    resumed.close()
    columns = read_metrics(tmp_path / "metrics.csv")
    assert list(columns["steps"]) == [10, 20, 30] and list(columns["value"]) == [1.0, 2.0, 30.0]
    assert "note" not in columns


def test_moving_average_and_band_match_direct_computations():
    values = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    expected = [np.mean(values[max(0, i - 2) : i + 1]) for i in range(5)]
    np.testing.assert_allclose(moving_average(values, 3), expected)
    a = (np.array([0.0, 10.0]), np.array([0.0, 10.0]))
    b = (np.array([0.0, 10.0]), np.array([2.0, 2.0]))
    grid, mean, low, high = group_band([a, b], points=3)
    np.testing.assert_allclose(grid, [0, 5, 10])
    np.testing.assert_allclose(mean, [1, 3.5, 6])
    np.testing.assert_allclose(low, [0, 2, 2])
    np.testing.assert_allclose(high, [2, 5, 10])


def test_interval_fires_once_per_crossed_multiple():
    interval = Interval(100, done_steps=150)
    fired = [steps for steps in (160, 200, 250, 390, 400, 405) if interval.due(steps)]
    assert fired == [200, 390, 400]
    assert not any(Interval(0).due(steps) for steps in (1, 10**9))


def test_isolated_random_state_leaves_every_stream_untouched():
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    expected = (torch.rand(2), np.random.rand(2), random.random())
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    with isolated_random_state():
        torch.rand(5), np.random.rand(5), random.random()
    after = (torch.rand(2), np.random.rand(2), random.random())
    assert torch.equal(after[0], expected[0]) and np.array_equal(after[1], expected[1]) and after[2] == expected[2]


def fake_run(root: Path, seed: int, offset: float) -> RunFolder:
    folder = RunFolder.create(root)
    folder.config.write_text(f"env: tiny_v0\nalgo: mappo\nseed: {seed}\nsteps: 400\n")
    logger = MetricsLogger(folder.metrics)
    for steps in range(100, 500, 100):
        logger.log(
            steps,
            {
                "episode_return/red": steps / 100 + offset,
                "episode_return/blue": -steps / 100,
                "env/boxes_locked": steps / 400,
                "env/time_hidden": 0.5,
            },
        )
    logger.log(400, {"eval/return/red": 9.0 + offset})
    logger.close()
    return folder


def test_plot_draws_several_seeds_into_a_non_blank_png(tmp_path: Path):
    runs = [fake_run(tmp_path / f"seed{seed}", seed, offset=seed) for seed in range(3)]
    curves = [load_curves(folder) for folder in runs]
    assert curves[0].group == "tiny_v0 mappo" and curves[0].teams() == ["red", "blue"]
    path = plot_learning_curves(curves, tmp_path / "out" / "curves.png", smooth=1)
    image = matplotlib.image.imread(path)
    assert image.shape[1] > image.shape[0] > 100  # two panels side by side
    assert image[..., :3].std() > 0.05  # lines and text, not a blank canvas
    statistics = plot_episode_statistics(curves, tmp_path / "out" / "statistics.png")
    image = matplotlib.image.imread(statistics)
    assert image.shape[1] > image.shape[0] and image[..., :3].std() > 0.05
    with pytest.raises(ValueError, match="no episode returns"):
        empty = RunFolder.create(tmp_path / "empty")
        empty.config.write_text("env: x\n")
        plot_learning_curves([load_curves(empty)], tmp_path / "none.png")


def test_runs_listing_summarises_each_run(tmp_path: Path):
    fake_run(tmp_path / "a", 0, 0.0)
    fake_run(tmp_path / "nested" / "b", 1, 1.0)
    (tmp_path / "not_a_run").mkdir()
    folders = find_runs(tmp_path)
    assert [folder.root.name for folder in folders] == ["a", "b"]
    summary = summarize_run(folders[1])
    assert summary.steps_done == 400 and summary.steps_total == 400 and summary.seed == 1
    assert summary.train_returns == {"red": 5.0, "blue": -4.0} and summary.eval_returns == {"red": 10.0}
    table = format_runs([summarize_run(folder) for folder in folders])
    assert "red=5 blue=-4" in table and "400/400" in table and "red=10" in table


def test_run_folders_refuse_to_be_reused_without_overwrite(tmp_path: Path):
    path = default_run_path("pkg.mod:make", "ppo", root=tmp_path)
    assert path.parent == tmp_path and path.name.startswith("pkg.mod-make-ppo-")
    folder = RunFolder.create(path)
    folder.config.write_text("env: x\n")
    from marl.errors import UsageError

    with pytest.raises(UsageError, match="already exists; continue it with --resume"):
        RunFolder.create(path)
    assert RunFolder.create(path, overwrite=True).root == path and not folder.config.exists()
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("keep me")
    with pytest.raises(
        UsageError, match="not a run folder .no .marl-run file., so marl will neither write into it nor delete"
    ):
        RunFolder.create(stranger, overwrite=True)
    assert (stranger / "thesis.tex").exists()


def test_atomic_writes_give_files_the_usual_permissions(tmp_path: Path):
    import os

    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
        assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644
        (tmp_path / "kept.txt").write_text("old")
        (tmp_path / "kept.txt").chmod(0o600)
        atomic_write_text(tmp_path / "kept.txt", "new")
        assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)
