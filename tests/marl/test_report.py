"""``marl report``: IQM and bootstrap intervals against numpy by hand, grouping of runs, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import yaml

from marl.cli import main
from marl.reporting import collect_runs, group_rows
from marl.statistics import interquartile_mean, performance_profile, pointwise_bootstrap, stratified_bootstrap

SAMPLE = np.array([3.0, -1.0, 7.0, 2.0, 10.0, 4.0, 0.0, 5.0])


def percentile_bootstrap_by_hand(strata: list[np.ndarray], statistic, resamples: int, seed: int) -> tuple[float, float]:
    """Resample runs with replacement inside each stratum, pool, take the 2.5% and 97.5% quantiles."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        pooled = np.concatenate([stratum[rng.integers(0, stratum.size, stratum.size)] for stratum in strata])
        values.append(statistic(pooled))
    return tuple(np.quantile(values, [0.025, 0.975]))


def iqm_by_hand(values: np.ndarray) -> float:
    """Sort, drop the lowest and the highest quarter, average the rest (n divisible by 4)."""
    ordered = np.sort(values)
    quarter = values.size // 4
    return float(ordered[quarter : values.size - quarter].mean())


def test_the_interquartile_mean_drops_the_lowest_and_highest_quarter():
    assert iqm_by_hand(SAMPLE) == pytest.approx((2 + 3 + 4 + 5) / 4)
    assert interquartile_mean(SAMPLE) == pytest.approx(iqm_by_hand(SAMPLE))
    outlier = SAMPLE.copy()
    outlier[4] = 1e6  # one wild run does not move the IQM
    assert interquartile_mean(outlier) == pytest.approx(iqm_by_hand(SAMPLE))
    assert interquartile_mean(np.array([1.0, 2.0, 9.0])) == pytest.approx(4.0)  # under 4 runs: the mean


@pytest.mark.parametrize("statistic", [np.mean, np.median, iqm_by_hand])
def test_the_bootstrap_interval_matches_a_resampling_by_hand(statistic):
    name = {np.mean: "mean", np.median: "median"}.get(statistic, "iqm")
    ours = stratified_bootstrap(
        [SAMPLE], {"mean": np.mean, "median": np.median, "iqm": interquartile_mean}[name], resamples=20_000, seed=1
    )
    low, high = percentile_bootstrap_by_hand([SAMPLE], statistic, resamples=20_000, seed=2)
    assert ours.value == pytest.approx(statistic(SAMPLE))
    spread = SAMPLE.max() - SAMPLE.min()
    assert ours.low == pytest.approx(low, abs=0.03 * spread)
    assert ours.high == pytest.approx(high, abs=0.03 * spread)
    assert ours.low < ours.value < ours.high


def test_the_stratified_bootstrap_resamples_within_each_task():
    strata = [np.array([0.0, 1.0, 2.0, 3.0]), np.array([100.0, 101.0, 102.0, 103.0])]
    ours = stratified_bootstrap(strata, interquartile_mean, resamples=20_000, seed=3)
    low, high = percentile_bootstrap_by_hand(strata, iqm_by_hand, resamples=20_000, seed=4)
    assert ours.value == pytest.approx(iqm_by_hand(np.concatenate(strata)))
    assert ours.low == pytest.approx(low, abs=1.0) and ours.high == pytest.approx(high, abs=1.0)
    # Pooled resampling could draw all eight runs from one task and reach ~1.5 or ~101.5;
    # stratified resampling always keeps four runs of each, so the IQM stays near the middle.
    assert 30 < ours.low and ours.high < 75


def test_a_task_with_one_run_is_kept_as_it_is_in_every_resample():
    strata = [np.array([50.0]), np.array([0.0, 1.0, 2.0, 3.0])]
    ours = stratified_bootstrap(strata, np.mean, resamples=20_000, seed=5)
    low, high = percentile_bootstrap_by_hand(strata, np.mean, resamples=20_000, seed=6)
    assert ours.value == pytest.approx(56 / 5)
    assert ours.low == pytest.approx(low, abs=0.1) and ours.high == pytest.approx(high, abs=0.1)
    assert ours.low >= 50 / 5  # the lone run's 50 is in every resample


def test_one_run_has_no_interval_and_equal_runs_a_zero_width_one():
    single = stratified_bootstrap([np.array([5.0])], np.mean)
    assert single.value == 5.0 and np.isnan(single.low) and np.isnan(single.high)
    equal = stratified_bootstrap([np.array([2.0, 2.0, 2.0])], np.mean)
    assert (equal.value, equal.low, equal.high) == (2.0, 2.0, 2.0)


def test_the_pointwise_band_brackets_each_point_and_a_single_curve_is_its_own_band():
    curves = np.array([[0.0, 10.0, 20.0], [2.0, 14.0, 20.0], [1.0, 12.0, 20.0], [3.0, 16.0, 20.0]])
    value, low, high = pointwise_bootstrap(curves, resamples=2_000)
    assert value == pytest.approx([iqm_by_hand(column) for column in curves.T])
    assert np.all(low <= value + 1e-9) and np.all(value <= high + 1e-9)
    assert low[2] == high[2] == 20.0  # every run agrees at the last point
    assert low[0] >= curves[:, 0].min() and high[0] <= curves[:, 0].max()
    one = pointwise_bootstrap(curves[:1])
    assert all(np.array_equal(part, curves[0]) for part in one)


def test_the_performance_profile_counts_runs_above_each_threshold():
    fractions = performance_profile(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, 2.5, 4.0]))
    assert list(fractions) == [1.0, 0.75, 0.5, 0.0]


def write_run(
    folder: Path, env: str, algo: str, seed: int, returns: list[float], team: str = "agent", learning_rate: float = 1e-3
) -> None:
    """A run folder as marl train leaves it, as far as the report reads it: config and metrics."""
    folder.mkdir(parents=True)
    config = {"env": env, "algo": algo, "seed": seed, "steps": 1000, "algo_config": {"learning_rate": learning_rate}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    lines = ["steps,wall_time,loss/policy,eval/return/" + team]
    for index, value in enumerate(returns):
        lines.append(f"{(index + 1) * 100 - 50},0.1,0.5,")  # a training row without an evaluation
        lines.append(f"{(index + 1) * 100},0.2,,{value}")
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_runs_are_found_recursively_grouped_by_env_and_algo_and_scored_by_their_last_evaluations(tmp_path: Path):
    for seed, returns in enumerate([[0, 10, 20, 30], [0, 0, 40, 50], [5, 5, 5, 5]]):
        write_run(tmp_path / "ppo" / "deep" / f"seed_{seed}", "CartPole-v1", "ppo", seed, returns)
    for seed, returns in enumerate([[1, 2], [3, 4]]):
        write_run(tmp_path / "trpo" / f"seed_{seed}", "CartPole-v1", "trpo", seed, returns)
    write_run(tmp_path / "nav", "navigation_v0", "mappo", 0, [7.0], team="agents")
    runs = collect_runs([tmp_path, tmp_path / "trpo"])  # a run named twice counts once
    assert len(runs) == 6
    rows = group_rows(runs, last=2, resamples=1_000)
    assert [(row.env, row.algo, row.team, len(row.runs)) for row in rows] == [
        ("CartPole-v1", "ppo", "agent", 3),
        ("CartPole-v1", "trpo", "agent", 2),
        ("navigation_v0", "mappo", "agents", 1),
    ]
    ppo = rows[0]
    assert sorted(ppo.final_returns) == [5.0, 25.0, 45.0]  # means of each run's last two evaluations
    assert ppo.estimates["mean"].value == pytest.approx(25.0)
    assert ppo.estimates["median"].value == pytest.approx(25.0)
    assert group_rows(runs, last=1, resamples=1_000)[0].estimates["mean"].value == pytest.approx((30 + 50 + 5) / 3)
    assert np.isnan(rows[2].estimates["iqm"].low)


def test_marl_report_prints_the_table_and_writes_json_csv_and_figures(tmp_path: Path, capsys):
    for seed in range(4):
        write_run(
            tmp_path / "runs" / f"seed_{seed}", "CartPole-v1", "ppo", seed, [10.0 * seed, 20.0 * seed, 30.0 * seed]
        )
    code = main(["report", str(tmp_path / "runs"), "--last", "1", "--resamples", "1000"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "CartPole-v1" in out and "ppo" in out and "IQM" in out
    report = tmp_path / "runs" / "report"
    data = json.loads((report / "report.json").read_text())
    (group,) = data["groups"]
    assert group["runs"] == 4 and group["mean"]["value"] == pytest.approx(45.0)
    assert group["iqm"]["value"] == pytest.approx(45.0)  # (30 + 60) / 2
    assert group["iqm"]["low"] < 45.0 < group["iqm"]["high"]
    assert sorted(member["seed"] for member in group["members"]) == [0, 1, 2, 3]
    assert (report / "report.csv").read_text().splitlines()[1].startswith("CartPole-v1,ppo,agent,4,45.0,")
    for name in ("learning_curves.png", "performance_profile.png"):
        assert matplotlib.image.imread(report / name)[..., :3].std() > 0.05


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: (root / "empty").mkdir() or root / "empty", "no runs under"),
        (lambda root: (root / "file.txt").write_text("x") and root / "file.txt", "is a file"),
        (
            lambda root: (
                ((root / "bad").mkdir(), (root / "bad" / "config.yaml").write_text("[1, 2]"))[0] or root / "bad"
            ),
            "must hold a mapping",
        ),
    ],
)
def test_a_bad_folder_is_one_line_and_exit_code_2(tmp_path: Path, capsys, setup, message):
    code = main(["report", str(setup(tmp_path))])
    out, err = capsys.readouterr()
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_runs_without_evaluations_are_refused_in_one_line(tmp_path: Path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.yaml").write_text("env: CartPole-v1\nalgo: ppo\n")
    (folder / "metrics.csv").write_text("steps,wall_time,loss/policy\n100,0.1,0.5\n")
    assert main(["report", str(folder)]) == 2
    assert "evaluation return" in capsys.readouterr().err


def test_a_group_of_runs_with_other_settings_than_the_seed_is_reported_with_a_notice(tmp_path: Path, capsys):
    write_run(tmp_path / "a", "CartPole-v1", "ppo", 0, [1.0, 2.0])
    write_run(tmp_path / "b", "CartPole-v1", "ppo", 1, [3.0, 4.0])
    assert main(["report", str(tmp_path), "--resamples", "1000"]) == 0
    assert "differ" not in capsys.readouterr().err
    write_run(tmp_path / "c", "CartPole-v1", "ppo", 2, [5.0, 6.0], learning_rate=3e-4)
    assert main(["report", str(tmp_path), "--resamples", "1000"]) == 0
    err = capsys.readouterr().err
    assert "the 3 runs of CartPole-v1 ppo (agent) differ in algo_config.learning_rate;" in err


def test_a_run_whose_metrics_are_not_text_is_one_line_naming_the_file(tmp_path: Path, capsys):
    write_run(tmp_path / "good", "CartPole-v1", "ppo", 0, [1.0, 2.0])
    write_run(tmp_path / "broken", "CartPole-v1", "ppo", 1, [1.0, 2.0])
    (tmp_path / "broken" / "metrics.csv").write_bytes(b"steps,eval/return/agent\n\xff\xfe\x00\x81\n")
    code = main(["report", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path / "broken" / "metrics.csv") in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "report").exists()
