"""Rollout backends without Ray: in-process, local worker pool and subprocesses give the same
training; stale fragments never reach an update; a lost worker is replaced exactly."""

from __future__ import annotations

import copy
import os
import signal
import socket

import numpy as np
import pytest
import torch
from training_checks import assert_same_parameters, train

from agents import MAPPO, PPO
from agents.backends import (
    LocalWorkerPool,
    RemoteBackend,
    SubprocessBackend,
    env_bounds,
    merge_collector_states,
    merge_running_statistics,
    split_collector_state,
)
from agents.core.normalization import RunningMeanStd
from marl import distributed
from marl.errors import UsageError

CARTPOLE = dict(n_envs=4, n_steps=32, n_epochs=2, minibatch_size=64)
COLLECTED = ("observations", "actions", "log_probs", "value_outputs", "rewards", "terminated", "truncated", "alive")


def cartpole(**overrides) -> PPO:
    return PPO("CartPole-v1", seed=3, **{**CARTPOLE, **overrides})


def spread(**overrides) -> MAPPO:
    """Recurrent MAPPO with a state critic and every running normaliser switched on."""
    settings = dict(
        n_envs=4,
        n_steps=12,
        n_epochs=2,
        recurrent=True,
        recurrent_hidden_size=16,
        hidden_sizes=(32,),
        normalize_observations=True,
        normalize_rewards=True,
    )
    return MAPPO("mpe2.simple_spread_v3", seed=5, **{**settings, **overrides})


def episode_metrics(history: list[dict]) -> list[tuple]:
    return [(m.get("episode_return"), m.get("episode_length"), m.get("episodes")) for m in history]


def test_one_local_worker_is_the_in_process_backend_bit_for_bit():
    """Recurrent MAPPO with observation and reward normalisation: same batches, same parameters."""
    reference = spread()
    reference_history = train(reference, 3)
    remote = spread().use_backend(RemoteBackend(LocalWorkerPool(), 1))
    remote_history = train(remote, 3)
    assert_same_parameters(reference, remote)
    assert episode_metrics(remote_history) == episode_metrics(reference_history)
    for name in COLLECTED + ("critic_observations", "actor_hidden", "bootstrap_values"):
        assert torch.equal(getattr(reference.storages[0], name), getattr(remote.storages[0], name)), name
    assert torch.equal(reference.statistics["discounted_return"].var, remote.statistics["discounted_return"].var)
    assert torch.equal(reference.generator.get_state(), remote.generator.get_state())
    assert remote_history[-1]["backend/workers"] == 1.0 and "backend/workers" not in reference_history[-1]


def test_subprocess_single_worker_equals_in_process():
    reference = cartpole()
    reference_history = train(reference, 2)
    remote = cartpole().use_backend(SubprocessBackend(1))
    try:
        remote_history = train(remote, 2)
    finally:
        remote.close()
    assert_same_parameters(reference, remote)
    assert episode_metrics(remote_history) == episode_metrics(reference_history)


def test_workers_split_the_env_axis_and_reward_statistics_merge_exactly():
    """Two workers: each env copy is stepped by one worker, and the merged reward statistics
    equal those of every discounted return the workers saw."""
    algo = spread(normalize_observations=False).use_backend(RemoteBackend(LocalWorkerPool(), 2))
    train(algo, 2)
    backend = algo.backend
    assert backend.bounds == [(0, 2), (2, 4)]
    storage = algo.storages[0]
    # Every env copy starts its own episodes: first-step observations of the four copies differ.
    first = storage.observations[0, :, 0]
    assert len({tuple(row.tolist()) for row in first}) == 4
    state = algo.state_dict()["collector"]
    assert len(state["histories"]) == 4 and state["reset_seeds"].shape == (4,)
    assert state["worker_streams"][1] is not None


def test_merge_running_statistics_equals_statistics_of_all_samples():
    rng = np.random.default_rng(0)
    start = RunningMeanStd((1,))
    start.update(torch.from_numpy(rng.normal(2.0, 3.0, (50, 1))))
    baseline = {k: v.clone() for k, v in start.state_dict().items()}
    finals, batches = [], []
    for size, scale in ((30, 1.0), (70, 5.0), (1, 1.0)):
        worker = RunningMeanStd((1,))
        worker.load_state_dict(baseline)
        batch = rng.normal(-1.0, scale, (size, 1))
        for chunk in np.array_split(batch, 3):
            worker.update(torch.from_numpy(chunk))
        finals.append(worker.state_dict())
        batches.append(batch)
    merged = merge_running_statistics(baseline, finals)
    # Independent check: first and second moments of the start statistics plus every new sample.
    new = np.concatenate(batches)
    n0, m0, v0 = 50.0, float(baseline["mean"]), float(baseline["var"])
    total = n0 + len(new)
    mean = (n0 * m0 + new.sum()) / total
    second_moment = (n0 * (v0 + m0**2) + (new**2).sum()) / total
    assert float(merged["count"]) == pytest.approx(total)
    assert float(merged["mean"]) == pytest.approx(mean, rel=1e-9)
    assert float(merged["var"]) == pytest.approx(second_moment - mean**2, rel=1e-9)


def test_collector_state_splits_and_merges_along_the_env_axis():
    algo = spread(n_envs=5)
    train(algo, 1)
    state = algo.collector.state_dict()
    bounds = env_bounds(5, 3)
    assert bounds == [(0, 2), (2, 4), (4, 5)]
    parts = split_collector_state(state, bounds, [group.size for group in algo.policy_groups])
    assert [part["reset_seeds"].shape[0] for part in parts] == [2, 2, 1]
    merged = merge_collector_states(parts)
    for key in ("reset_seeds", "returns", "lengths"):
        assert torch.equal(merged[key], state[key])
    for key in ("actor_hidden", "critic_hidden", "episode_starts", "discounted_returns"):
        for a, b in zip(merged[key], state[key]):
            assert torch.equal(a, b), key
    for a, b in zip(merged["histories"], state["histories"]):
        assert torch.equal(a["actions"], b["actions"]) and torch.equal(a["present"], b["present"])


def test_resume_with_workers_is_exact():
    """A checkpoint of a two-worker run, loaded into a new learner, ends where the run ends."""
    uninterrupted = cartpole().use_backend(RemoteBackend(LocalWorkerPool(), 2))
    train(uninterrupted, 2)
    saved = copy.deepcopy(uninterrupted.state_dict())  # as written to a checkpoint file
    train(uninterrupted, 2)
    resumed = cartpole()
    resumed.load_state_dict(saved)
    resumed.use_backend(RemoteBackend(LocalWorkerPool(), 2))
    train(resumed, 2)
    assert_same_parameters(uninterrupted, resumed)


class StalePool(LocalWorkerPool):
    """Answers one request of worker 1 with the weights of the previous policy version."""

    def __init__(self) -> None:
        super().__init__()
        self.previous = None
        self.current = None
        self.inject = False
        self.dropped = []

    def publish(self, payload):
        if self.current is not None and payload.version != self.current.version:
            self.previous = self.current
        self.current = payload
        return payload

    def submit(self, index, handle, request):
        if self.inject and index == 1:
            self.inject = False
            handle = self.previous
        super().submit(index, handle, request)

    def wait(self):
        results = super().wait()
        self.dropped.extend(f for _, f in results if f.version != self.current.version)
        return results


def current_log_probs(algo, observations: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    model = algo.models[0]
    with torch.no_grad():
        distribution, _ = model.actor(observations.reshape(1, -1, observations.shape[-1]), None, None, None, None)
        return distribution.log_prob(actions.reshape(-1, actions.shape[-1])).reshape(actions.shape[:-1])


def test_stale_fragment_is_dropped_and_collected_again():
    pool = StalePool()
    algo = cartpole().use_backend(RemoteBackend(pool, 2))
    train(algo, 1)
    pool.inject = True
    algo.backend.collect(algo.models, algo.statistics, algo.storages, algo.config.n_steps, algo.updates)
    assert algo.backend.stale_fragments == 1 and len(pool.dropped) == 1
    assert algo.backend.last_versions == [algo.updates, algo.updates]
    storage = algo.storages[0]
    # Every stored log-probability is the current policy's: nothing of the old version is in the batch.
    expected = current_log_probs(algo, storage.observations, storage.actions)
    assert torch.allclose(storage.log_probs, expected, atol=1e-6)
    # The dropped fragment really was off-policy: the current policy disagrees with its log-probs.
    stale = pool.dropped[0].arrays[0]
    recomputed = current_log_probs(algo, torch.from_numpy(stale["observations"]), torch.from_numpy(stale["actions"]))
    assert not torch.allclose(torch.from_numpy(stale["log_probs"]), recomputed, atol=1e-4)
    assert algo.backend.metrics()["backend/stale_fragments"] == 1.0


def test_killed_subprocess_worker_is_replaced_and_training_is_unchanged(capfd):
    reference = cartpole().use_backend(RemoteBackend(LocalWorkerPool(), 2))
    train(reference, 3)

    def kill_worker_one(algo, update):
        if update == 1:
            os.kill(algo.backend.pool.pid(1), signal.SIGKILL)

    algo = cartpole().use_backend(SubprocessBackend(2))
    try:
        history = train(algo, 3, kill_worker_one)
    finally:
        algo.close()
    assert algo.steps == 3 * 4 * 32
    assert history[-1]["backend/worker_restarts"] == 1.0
    assert "rollout worker 1 was lost" in capfd.readouterr().err
    assert_same_parameters(reference, algo)


def test_more_workers_than_env_copies_is_refused():
    with pytest.raises(ValueError, match=r"workers \(5\) must be <= n_envs \(4\)"):
        cartpole().use_backend(RemoteBackend(LocalWorkerPool(), 5))
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        RemoteBackend(LocalWorkerPool(), 0)


def test_command_line_backend_options_are_checked_before_work(monkeypatch):
    with pytest.raises(UsageError, match="unknown backend 'rya'; did you mean 'ray'"):
        distributed.check_backend_options("rya", 2, None, 4)
    with pytest.raises(UsageError, match="needs --backend subprocess or ray"):
        distributed.check_backend_options("inprocess", 2, None, 4)
    with pytest.raises(UsageError, match="--address is for --backend ray"):
        distributed.check_backend_options("subprocess", 2, "auto", 4)
    with pytest.raises(UsageError, match="HOST:PORT"):
        distributed.check_backend_options("ray", 2, "localhost", 4)
    distributed.check_backend_options("subprocess", 4, None, 4)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    if distributed.ray_available():
        with pytest.raises(UsageError, match="nothing answers there.*ray start --head"):
            distributed.check_backend_options("ray", 2, f"127.0.0.1:{free_port}", 4)
    monkeypatch.setattr(distributed, "ray_available", lambda: False)
    with pytest.raises(UsageError, match=r"pip install 'marl-arena\[ray\]'"):
        distributed.check_backend_options("ray", 2, "10.0.0.1:6379", 4)
    with pytest.raises(UsageError, match=r"pip install '\.\[ray\]'"):
        distributed.make_backend("ray", 2)
