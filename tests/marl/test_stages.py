"""Stage flags: each flips exactly at its documented threshold; training logs them with their yardsticks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_flags import tiny_flags

from marl.cli import main
from marl.metrics import read_metrics_rows
from marl.stages import (
    CHASE_MARGIN,
    RAMP_DEFENCE_MOVE,
    RAMP_USE_MOVE,
    SHELTER_HIDDEN,
    SHELTER_LOCKED_BOXES,
    stage_flags,
    stage_metrics,
)

BELOW = 1e-9


def shelter_row(**changes: float) -> dict[str, float]:
    """Evaluation statistics of hiders whose locked shelter just holds, with the ramp left alone."""
    row = {
        "eval/env/hidden_fraction": SHELTER_HIDDEN,
        "eval/env/num_box_lock_prep": SHELTER_LOCKED_BOXES,
        "eval/env/max_ramp_move_prep": 0.0,
        "eval/env/max_ramp_move": 0.0,
        "eval/env/num_ramp_lock_prep": 0.0,
    }
    row.update({f"eval/env/{name}": value for name, value in changes.items()})
    return row


def test_running_and_chasing_flips_at_both_margins():
    random_both = 0.5
    at = {
        "eval/random/env/hidden_fraction": random_both,
        "eval/random_hiders/env/hidden_fraction": random_both - CHASE_MARGIN,
        "eval/env/hidden_fraction": random_both - CHASE_MARGIN + CHASE_MARGIN,
    }
    assert stage_flags(at)["running_and_chasing"] is True
    seekers_weaker = {**at, "eval/random_hiders/env/hidden_fraction": random_both - CHASE_MARGIN + BELOW}
    assert stage_flags(seekers_weaker)["running_and_chasing"] is False
    hiders_weaker = {**at, "eval/env/hidden_fraction": at["eval/env/hidden_fraction"] - BELOW}
    assert stage_flags(hiders_weaker)["running_and_chasing"] is False
    assert "running_and_chasing" not in stage_flags({"eval/env/hidden_fraction": 0.9})  # not measured


def test_shelter_building_needs_locked_boxes_and_a_shelter_that_holds():
    assert stage_flags(shelter_row())["shelter_building"] is True
    assert stage_flags(shelter_row(num_box_lock_prep=SHELTER_LOCKED_BOXES - BELOW))["shelter_building"] is False
    assert stage_flags(shelter_row(hidden_fraction=SHELTER_HIDDEN - BELOW))["shelter_building"] is False
    assert stage_metrics(shelter_row())["stage/shelter_building"] == 1.0


def test_ramp_use_is_a_ramp_moved_after_preparation_into_a_shelter_that_no_longer_holds():
    breached = {
        "hidden_fraction": SHELTER_HIDDEN - BELOW,
        "max_ramp_move_prep": 0.5,
        "max_ramp_move": 0.5 + RAMP_USE_MOVE,
    }
    assert stage_flags(shelter_row(**breached))["ramp_use"] is True
    assert stage_flags(shelter_row(**{**breached, "max_ramp_move": 0.5 + RAMP_USE_MOVE - 1e-6}))["ramp_use"] is False
    assert stage_flags(shelter_row(**{**breached, "hidden_fraction": SHELTER_HIDDEN}))["ramp_use"] is False
    assert stage_flags(shelter_row(**{**breached, "num_box_lock_prep": 0.0}))["ramp_use"] is False


def test_ramp_defence_is_a_holding_shelter_with_the_ramp_moved_or_locked_in_preparation():
    assert stage_flags(shelter_row(max_ramp_move_prep=RAMP_DEFENCE_MOVE))["ramp_defence"] is True
    assert stage_flags(shelter_row(max_ramp_move_prep=RAMP_DEFENCE_MOVE - BELOW))["ramp_defence"] is False
    assert stage_flags(shelter_row(num_ramp_lock_prep=1.0))["ramp_defence"] is True
    moved_but_breached = shelter_row(max_ramp_move_prep=RAMP_DEFENCE_MOVE, hidden_fraction=SHELTER_HIDDEN - BELOW)
    assert stage_flags(moved_but_breached)["ramp_defence"] is False


def test_arena_training_logs_the_yardsticks_and_flags_that_marl_eval_reproduces(tmp_path: Path, capsys):
    run = tmp_path / "quadrant"
    code = main(
        [
            "train",
            "hide_and_seek_v0",
            "--steps",
            "128",
            "--out",
            str(run),
            *tiny_flags(
                algo__n_steps=32,
                algo__n_epochs=1,
                eval_episodes=3,
                eval_interval=64,
                env__horizon=16,
                record_interval=0,
                tensorboard="false",
            ),
        ]
    )
    assert code == 0
    capsys.readouterr()
    evaluations = [row for row in read_metrics_rows(run / "metrics.csv") if "eval/length" in row]
    assert [row["steps"] for row in evaluations] == [64, 128]
    for row in evaluations:
        logged = {key: row[key] for key in row if key.startswith("stage/")}
        assert logged == stage_metrics(row) and len(logged) == 4
    last = evaluations[-1]
    for teams, prefix in (("hider,seeker", "eval/random/"), ("hider", "eval/random_hiders/")):
        code = main(["eval", str(run), "--random", teams, "--json", "--episodes", "3", "--deterministic"])
        out, err = capsys.readouterr()
        assert code == 0, err
        report = json.loads(out)
        for name, value in report["episode_stats"].items():
            assert last[f"{prefix}env/{name}"] == pytest.approx(value), (teams, name)
        assert last[f"{prefix}return/seeker"] == pytest.approx(report["teams"]["seeker"]["return_mean"])


def write_run(root: Path, rows: list[dict[str, float]]) -> Path:
    """A run folder with a config and the given metrics rows (as training writes them)."""
    from marl.metrics import MetricsLogger
    from marl.run_folder import RunFolder

    folder = RunFolder.create(root)
    folder.config.write_text("env: hide_and_seek_v0\nalgo: mappo\nseed: 0\n")
    logger = MetricsLogger(folder.metrics)
    for row in rows:
        logger.log(int(row.pop("steps")), row)
    logger.close()
    return root


def test_plot_shades_each_stage_where_its_flag_held(tmp_path: Path, capsys):
    import matplotlib.image

    from marl.plotting import load_curves, stage_spans
    from marl.run_folder import RunFolder

    rows = []
    for step in range(100, 1100, 100):
        rows.append({"steps": step, "episode_return/hider": step / 100, "episode_return/seeker": -step / 100})
        if step % 200 == 0:  # evaluations at 200, 400, ..., 1000
            rows.append(
                {
                    "steps": step,
                    "eval/return/hider": 1.0,
                    "eval/return/seeker": -1.0,
                    "stage/running_and_chasing": float(step >= 400),
                    "stage/shelter_building": float(step in (600, 1000)),
                    "stage/ramp_use": 0.0,
                }
            )
    run = write_run(tmp_path / "run", rows)
    spans = stage_spans(load_curves(RunFolder(run)))
    assert spans == {"running_and_chasing": [(400.0, 1000.0)], "shelter_building": [(600.0, 800.0), (1000.0, 1000.0)]}
    code = main(["plot", str(run)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert str(run / "plots" / "emergence.png") in out.split()
    assert matplotlib.image.imread(run / "plots" / "emergence.png").shape[1] >= 800

    one_team = write_run(tmp_path / "one", [{"steps": 100, "episode_return/agent": 1.0}])
    assert main(["plot", str(one_team)]) == 0
    assert not (one_team / "plots" / "emergence.png").exists()
