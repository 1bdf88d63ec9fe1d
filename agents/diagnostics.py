"""Per-group training diagnostics, and the rule that warns when a run collapses.

After every update each policy group reports, under ``train/<group>/``:

- ``entropy``: mean entropy of its policy over the living samples of the update (PPO and
  REINFORCE: averaged over minibatches during the update; TRPO and NPG: of the rollout policy);
- ``approx_kl``: CleanRL's estimator E[(r - 1) - log r] of KL(old || new) (PPO: averaged over
  the update's minibatches; TRPO and NPG: the mean KL of the step taken);
- ``clip_fraction`` (PPO): the share of samples whose ratio left [1 - c, 1 + c], over all epochs;
- ``explained_variance``: 1 - Var[returns - values] / Var[returns] over the living samples of
  the rollout, values as the critic predicted them while collecting (NaN when the returns do
  not vary, as in CleanRL).

:class:`CollapseWatch` applies the collapse rule (see :class:`CollapseRule`) to these series and
the group's episode returns; it warns once per group, and never stops training.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import torch
from torch import Tensor

#: Statistics of an update rule passed on as diagnostics, under the name they are logged with.
RULE_DIAGNOSTICS = {"entropy": "entropy", "approx_kl": "approx_kl", "kl": "approx_kl", "clip_fraction": "clip_fraction"}


def explained_variance(predicted: Tensor, target: Tensor, mask: Tensor | None = None) -> float:
    """1 - Var[target - predicted] / Var[target] over the entries where ``mask`` is non-zero
    (population variances, as ``np.var``); NaN when the target does not vary."""
    if mask is not None:
        keep = mask != 0
        predicted, target = predicted[keep], target[keep]
    predicted, target = predicted.double().reshape(-1), target.double().reshape(-1)
    if target.numel() == 0:
        return math.nan
    variance = torch.var(target, correction=0)
    if float(variance) == 0.0:
        return math.nan
    return float(1.0 - torch.var(target - predicted, correction=0) / variance)


def rule_diagnostics(stats: dict[str, float]) -> dict[str, float]:
    """The diagnostics among an update rule's statistics, under their logged names."""
    return {RULE_DIAGNOSTICS[name]: value for name, value in stats.items() if name in RULE_DIAGNOSTICS}


@dataclass(frozen=True)
class CollapseRule:
    """When a group's run counts as collapsed (either condition suffices):

    - its approximate KL exceeds ``kl_limit`` nats in one update (the policy jumped far from the
      policy that collected the data; PPO's clipping normally keeps it below 0.05);
    - its policy entropy fell to ``entropy_fraction`` of the way from its first value to zero
      (``H <= H0 - (1 - entropy_fraction) |H0|``, which also covers the negative entropies of
      narrow Gaussians) while its returns fall: the mean episode return of the last ``window``
      updates lost more than ``return_loss`` of what the best ``window`` updates had gained over
      the first ``window``.
    """

    kl_limit: float = 0.5
    entropy_fraction: float = 0.05
    window: int = 5
    return_loss: float = 0.5

    def entropy_collapsed(self, first: float, latest: float) -> bool:
        """Whether the latest entropy lies near zero compared with the first one."""
        return latest <= first - (1.0 - self.entropy_fraction) * abs(first)

    def returns_falling(self, first: float, best: float, latest: float) -> bool:
        """Whether the latest window mean lost more than ``return_loss`` of the gain of the best
        window mean over the first one."""
        gain = best - first
        return gain > 0 and latest < best - self.return_loss * gain


@dataclass
class _GroupSeries:
    """What the rule needs of one group's history: first and latest entropy, latest KL, and the
    first, best and latest means of ``window`` consecutive returns."""

    window: int
    first_entropy: float | None = None
    entropy: float | None = None
    kl: float | None = None
    recent: deque[float] = field(init=False)
    first_mean: float | None = None
    best_mean: float = -math.inf
    warned: bool = False

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=self.window)

    def add_return(self, value: float) -> None:
        self.recent.append(value)
        if len(self.recent) == self.window:
            mean = sum(self.recent) / self.window
            self.first_mean = mean if self.first_mean is None else self.first_mean
            self.best_mean = max(self.best_mean, mean)

    @property
    def latest_mean(self) -> float | None:
        return sum(self.recent) / self.window if self.first_mean is not None else None


class CollapseWatch:
    """Follows every group's diagnostics and returns across updates; says once per group when
    the :class:`CollapseRule` finds a collapse."""

    def __init__(self, rule: CollapseRule | None = None) -> None:
        self.rule = rule or CollapseRule()
        self.series: dict[str, _GroupSeries] = {}

    def observe(self, group: str, diagnostics: dict[str, float], episode_return: float | None) -> str | None:
        """Add one update of ``group``; a one-line warning the first time it collapses, else None."""
        series = self.series.setdefault(group, _GroupSeries(self.rule.window))
        entropy = diagnostics.get("entropy", math.nan)
        if math.isfinite(entropy):
            series.first_entropy = entropy if series.first_entropy is None else series.first_entropy
            series.entropy = entropy
        kl = diagnostics.get("approx_kl", math.nan)
        series.kl = kl if math.isfinite(kl) else None
        if episode_return is not None and math.isfinite(episode_return):
            series.add_return(episode_return)
        if series.warned:
            return None
        reason = self._reason(series)
        if reason is None:
            return None
        series.warned = True
        return (
            f"policy group {group!r} may be collapsing: {reason}; consider a lower learning rate, fewer "
            "epochs, a larger entropy bonus or target_kl (training continues)"
        )

    def _reason(self, series: _GroupSeries) -> str | None:
        rule = self.rule
        if series.kl is not None and series.kl > rule.kl_limit:
            return f"approximate KL {series.kl:.3g} exceeds {rule.kl_limit:g}"
        latest = series.latest_mean
        if (
            series.first_entropy is not None
            and series.entropy is not None
            and latest is not None
            and series.first_mean is not None
            and rule.entropy_collapsed(series.first_entropy, series.entropy)
            and rule.returns_falling(series.first_mean, series.best_mean, latest)
        ):
            return (
                f"policy entropy fell from {series.first_entropy:.3g} to {series.entropy:.3g} while the mean "
                f"return of the last {rule.window} updates fell to {latest:.3g} (best {series.best_mean:.3g})"
            )
        return None
