"""Aggregate statistics over runs, as rliable defines them (Agarwal et al., 2021).

Scores are grouped in strata (tasks): one array of per-run scores each. The point estimates
are computed over all runs together; the 95% confidence intervals come from the stratified
percentile bootstrap, which resamples runs with replacement *within* each stratum, so every
resample keeps the number of runs per task. ``scipy.stats.bootstrap`` does exactly that when
given one sample per stratum (``paired=False`` resamples each sample on its own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Bootstrap resamples per interval; rliable's default is 2,000 for curves and 50,000 for tables.
DEFAULT_RESAMPLES = 10_000
CONFIDENCE = 0.95


def _scipy_stats() -> Any:
    """``scipy.stats``, imported on first use: it takes about a second to import, which every
    ``marl`` command would otherwise pay at its start."""
    from scipy import stats

    return stats


def interquartile_mean(scores: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Mean of the middle 50% of ``scores`` (25% trimmed from each end), as rliable's IQM.

    With fewer than four runs nothing is trimmed and the IQM equals the mean.
    """
    return _scipy_stats().trim_mean(scores, proportiontocut=0.25, axis=axis)


def mean(scores: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Arithmetic mean."""
    return np.mean(scores, axis=axis)


def median(scores: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Median."""
    return np.median(scores, axis=axis)


#: The aggregate statistics of a report, by the name they are written under.
AGGREGATES: dict[str, Callable[..., np.ndarray | float]] = {
    "mean": mean,
    "median": median,
    "iqm": interquartile_mean,
}


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval (NaN bounds with fewer than two runs)."""

    value: float
    low: float
    high: float


def stratified_bootstrap(
    strata: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray | float],
    confidence: float = CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """``statistic`` of all runs pooled, with a stratified percentile-bootstrap interval.

    ``strata`` holds one 1-D array of run scores per task; ``statistic(scores, axis=-1)`` is
    evaluated on the runs of every stratum joined. Without a stratum of two or more runs the
    bounds are NaN.
    """
    samples = [np.asarray(stratum, dtype=float).ravel() for stratum in strata]
    samples = [sample for sample in samples if sample.size]
    if not samples:
        raise ValueError("no scores to aggregate")
    pooled = np.concatenate(samples)
    value = float(statistic(pooled))
    varying = [sample for sample in samples if sample.size > 1]
    if not varying:  # one run per task: resampling can change nothing, so there is no interval
        return Estimate(value, float("nan"), float("nan"))
    if np.ptp(pooled) == 0:
        return Estimate(value, value, value)
    # A task with one run is the same in every resample: it joins each resample as it is.
    fixed = np.concatenate([sample for sample in samples if sample.size == 1] or [np.empty(0)])

    def pooled_statistic(*resampled: np.ndarray, axis: int = -1) -> np.ndarray:
        constant = np.broadcast_to(fixed, resampled[0].shape[:-1] + fixed.shape)
        return np.asarray(statistic(np.concatenate([*resampled, constant], axis=-1), axis=-1))

    result = _scipy_stats().bootstrap(
        varying,
        pooled_statistic,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        paired=False,
        vectorized=True,
        axis=-1,
        rng=np.random.default_rng(seed),
    )
    return Estimate(value, float(result.confidence_interval.low), float(result.confidence_interval.high))


def pointwise_bootstrap(
    curves: np.ndarray,
    statistic: Callable[..., np.ndarray | float] = interquartile_mean,
    confidence: float = CONFIDENCE,
    resamples: int = 2_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``statistic`` over runs at each point of ``curves`` (runs x points) and its percentile-bootstrap band.

    Each point's interval resamples the runs' values at that point. One run gives its curve as
    the value and as both edges of the band.
    """
    curves = np.asarray(curves, dtype=float)
    value = np.asarray(statistic(curves, axis=0), dtype=float)
    if curves.shape[0] < 2:
        return value, value.copy(), value.copy()
    result = _scipy_stats().bootstrap(
        (curves,),
        statistic,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        axis=0,
        rng=np.random.default_rng(seed),
    )
    return value, np.asarray(result.confidence_interval.low), np.asarray(result.confidence_interval.high)


def performance_profile(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The fraction of runs whose score is above each threshold (rliable's run-score distribution)."""
    scores = np.asarray(scores, dtype=float).ravel()
    return (scores[None, :] > np.asarray(thresholds, dtype=float)[:, None]).mean(axis=1)
