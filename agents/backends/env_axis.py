"""Splitting collection state along the env axis and merging it back, and the workers' random streams."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

#: Collector-state entries laid out along the env axis (see :meth:`Collector.state_dict`).
PER_ENV_GROUP_ENTRIES = ("episode_starts", "discounted_returns")
PER_SLOT_GROUP_ENTRIES = ("actor_hidden", "critic_hidden")


def env_bounds(n_envs: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous env ranges ``[start, stop)`` per worker, as even as possible."""
    sizes = [n_envs // workers + (1 if w < n_envs % workers else 0) for w in range(workers)]
    starts = np.cumsum([0] + sizes)
    return [(int(starts[w]), int(starts[w + 1])) for w in range(workers)]


def split_collector_state(
    state: dict[str, Any], bounds: list[tuple[int, int]], group_sizes: list[int]
) -> list[dict[str, Any]]:
    """Cut a :meth:`Collector.state_dict` into per-worker states along the env axis."""
    parts = []
    for start, stop in bounds:
        part: dict[str, Any] = {
            "started": state["started"],
            "reset_seeds": state["reset_seeds"][start:stop].clone(),
            "histories": state["histories"][start:stop],
            "start_states": (state.get("start_states") or [None] * len(state["histories"]))[start:stop],
            "returns": state["returns"][start:stop].clone(),
            "lengths": state["lengths"][start:stop].clone(),
        }
        for name in PER_SLOT_GROUP_ENTRIES:
            part[name] = [
                None if x is None else x[start * size : stop * size].clone()
                for x, size in zip(state[name], group_sizes)
            ]
        for name in PER_ENV_GROUP_ENTRIES:
            part[name] = None if state.get(name) is None else [x[start:stop].clone() for x in state[name]]
        parts.append(part)
    return parts


def merge_collector_states(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join per-worker collector states (in env order) into one."""
    merged: dict[str, Any] = {
        "started": all(part["started"] for part in parts),
        "reset_seeds": torch.cat([part["reset_seeds"] for part in parts]),
        "histories": [history for part in parts for history in part["histories"]],
        "start_states": [
            saved for part in parts for saved in (part.get("start_states") or [None] * len(part["histories"]))
        ],
        "returns": torch.cat([part["returns"] for part in parts]),
        "lengths": torch.cat([part["lengths"] for part in parts]),
    }
    for name in PER_SLOT_GROUP_ENTRIES + PER_ENV_GROUP_ENTRIES:
        columns = [part[name] for part in parts]
        if columns[0] is None:
            merged[name] = None
            continue
        merged[name] = [None if group[0] is None else torch.cat(group) for group in zip(*columns)]
    return merged


def merge_running_statistics(
    start: dict[str, torch.Tensor], finals: list[dict[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Combine statistics that each started from ``start`` and merged their own samples.

    Each worker's own samples are recovered from its final statistics (inverting the
    parallel-variance merge) and all of them are merged into ``start``.
    """
    if len(finals) == 1:
        return {k: v.clone() for k, v in finals[0].items()}
    count0, mean0, var0 = start["count"], start["mean"], start["var"]
    count, mean, m2 = count0.clone(), mean0.clone(), var0 * count0
    for final in finals:
        n = final["count"] - count0
        if float(n) <= 0:
            continue
        batch_mean = (final["count"] * final["mean"] - count0 * mean0) / n
        delta0 = batch_mean - mean0
        batch_m2 = final["count"] * final["var"] - count0 * var0 - delta0**2 * count0 * n / final["count"]
        total = count + n
        delta = batch_mean - mean
        mean = mean + delta * (n / total)
        m2 = m2 + batch_m2 + delta**2 * count * n / total
        count = total
    return {"mean": mean, "var": m2 / count if float(count) > 0 else var0.clone(), "count": count}


def derived_streams(seed: int, worker: int) -> dict[str, torch.Tensor]:
    """Random streams of worker ``worker`` >= 1, derived from the learner's seed."""
    derived = int(np.random.SeedSequence([seed, worker]).generate_state(1, dtype=np.uint64)[0] % (2**63 - 1))
    state = torch.Generator().manual_seed(derived).get_state()
    return {"generator": state, "torch": state.clone()}
