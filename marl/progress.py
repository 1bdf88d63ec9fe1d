"""The live progress bar of a training run: steps, steps per second, time left, team returns."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from tqdm import tqdm

RETURN_PREFIX = "episode_return/"


def latest_returns(previous: Mapping[str, float], metrics: Mapping[str, Any]) -> dict[str, float]:
    """Per-team returns, updated with the teams that finished an episode in ``metrics``."""
    returns = dict(previous)
    for key, value in metrics.items():
        if key.startswith(RETURN_PREFIX):
            returns[key[len(RETURN_PREFIX) :]] = float(value)
    return returns


def format_returns(returns: Mapping[str, float]) -> str:
    """``hider 12.5 | seeker -12.5``: the latest return of each team."""
    return " | ".join(f"{team} {value:.3g}" for team, value in returns.items())


class ProgressBar:
    """A tqdm bar over environment steps whose postfix shows the latest return per team."""

    def __init__(self, total: int, initial: int = 0, enabled: bool = True, description: str = "train") -> None:
        self.returns: dict[str, float] = {}
        self.bar = tqdm(
            total=total,
            initial=min(initial, total),
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            desc=description,
            disable=not enabled,
            file=sys.stderr,
            smoothing=0.1,
            # Redrawn live on a terminal; in a log file, a line every half minute is enough.
            mininterval=0.2 if sys.stderr.isatty() else 30.0,
        )

    def update(self, steps: int, metrics: Mapping[str, Any]) -> None:
        """Move the bar to ``steps`` and show the returns found in ``metrics``."""
        self.returns = latest_returns(self.returns, metrics)
        advance = min(steps, self.bar.total) - self.bar.n
        if self.returns:
            self.bar.set_postfix_str(format_returns(self.returns), refresh=False)
        if advance > 0:
            self.bar.update(advance)
        else:
            self.bar.refresh()

    def write(self, message: str) -> None:
        """Print a line above the bar without breaking it."""
        self.bar.write(message, file=sys.stderr)

    def close(self) -> None:
        """Finish the bar."""
        self.bar.close()
