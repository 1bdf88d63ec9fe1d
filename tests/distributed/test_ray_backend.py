"""The Ray backend on a local Ray instance: the same batches as the other backends, a killed
actor is replaced without changing training, a stale fragment never reaches an update."""

from __future__ import annotations

import csv
import dataclasses

import pytest
import torch

ray = pytest.importorskip("ray")

from training_checks import assert_same_parameters, train  # noqa: E402

from agents import PPO  # noqa: E402
from agents.backends import (  # noqa: E402
    CollectRequest,
    EnvIdFactory,
    LocalWorkerPool,
    PolicyPayload,
    RemoteBackend,
    WorkerFailed,
    derived_streams,
)
from marl.cli import main  # noqa: E402
from marl.distributed.ray_backend import RayBackend, RayWorkerPool  # noqa: E402

SETTINGS = dict(n_envs=4, n_steps=32, n_epochs=2, minibatch_size=64)
COLLECTED = (
    "observations",
    "actions",
    "log_probs",
    "value_outputs",
    "rewards",
    "terminated",
    "truncated",
    "alive",
    "bootstrap_values",
    "final_value_outputs",
)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One small local Ray instance for the module (the backends reuse a running instance)."""
    ray.init(num_cpus=2, object_store_memory=128 * 1024 * 1024, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def cartpole() -> PPO:
    return PPO("CartPole-v1", seed=3, **SETTINGS)


def test_one_ray_worker_collects_the_in_process_batches_bit_for_bit():
    reference = cartpole()
    reference_history = train(reference, 2)
    algo = cartpole().use_backend(RayBackend(1))
    try:
        history = train(algo, 2)
    finally:
        algo.close()
    for name in COLLECTED:
        assert torch.equal(getattr(reference.storages[0], name), getattr(algo.storages[0], name)), name
    assert_same_parameters(reference, algo)
    assert [m.get("episode_length") for m in history] == [m.get("episode_length") for m in reference_history]
    assert ray.is_initialized()  # a backend leaves a Ray instance it did not start running


def test_ray_workers_match_the_protocol_and_survive_a_killed_actor(capfd):
    """Two actors give exactly the local two-worker batches; killing one mid-run changes nothing."""
    reference = cartpole().use_backend(RemoteBackend(LocalWorkerPool(), 2))
    train(reference, 3)
    in_process = cartpole()
    in_process_actions = []
    train(in_process, 1, lambda algo, update: in_process_actions.append(algo.storages[0].actions.clone()))

    ray_actions = []

    def kill_and_record(algo, update):
        ray_actions.append(algo.storages[0].actions.clone())
        if update == 1:
            ray.kill(algo.backend.pool.actor(1), no_restart=True)

    algo = cartpole().use_backend(RayBackend(2))
    try:
        history = train(algo, 3, kill_and_record)
    finally:
        algo.close()
    assert algo.steps == 3 * 4 * 32 and algo.updates == 3
    assert history[-1]["backend/worker_restarts"] == 1.0
    assert "rollout worker 1 was lost" in capfd.readouterr().err
    assert_same_parameters(reference, algo)
    # Against the in-process backend the streams of random numbers differ, so compare the
    # statistics of the first batch: the share of "push right" under the same initial policy
    # (128 samples each; 0.25 is four standard errors of the difference).
    share_ray, share_in_process = float(ray_actions[0].mean()), float(in_process_actions[0].mean())
    assert abs(share_ray - share_in_process) < 0.25
    assert 0.3 < share_ray < 0.7


class StaleRayPool(RayWorkerPool):
    """Sends worker 0 the object-store copy of the previous weights once."""

    def __init__(self) -> None:
        super().__init__(cpus_per_worker=1.0)
        self.handles: list = []
        self.inject = False

    def publish(self, payload):
        handle = super().publish(payload)
        self.handles.append(handle)
        return handle

    def submit(self, index, handle, request):
        if self.inject:
            self.inject = False
            handle = self.handles[-2]
        super().submit(index, handle, request)


def test_stale_fragment_from_a_ray_actor_is_never_used():
    pool = StaleRayPool()
    algo = cartpole()
    algo.use_backend(RemoteBackend(pool, 1))
    try:
        train(algo, 1)
        pool.inject = True
        algo.backend.collect(algo.models, algo.statistics, algo.storages, algo.config.n_steps, algo.updates)
    finally:
        algo.close()
    assert algo.backend.stale_fragments == 1
    assert algo.backend.last_versions == [algo.updates]
    storage = algo.storages[0]
    with torch.no_grad():
        distribution, _ = algo.models[0].actor(storage.observations.reshape(1, -1, 4), None, None, None, None)
        expected = distribution.log_prob(storage.actions.reshape(-1, 1)).reshape(storage.log_probs.shape)
    assert torch.allclose(storage.log_probs, expected, atol=1e-6)


def test_marl_train_with_the_ray_backend(tmp_path):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "CartPole-v1",
            "--steps",
            "256",
            "--envs",
            "2",
            "--seed",
            "1",
            "--backend",
            "ray",
            "--workers",
            "1",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            "algo_config.n_steps=64",
            "--set",
            "eval_episodes=1",
        ]
    )
    assert code == 0
    assert "backend: ray" in (out / "config.yaml").read_text()
    with open(out / "metrics.csv") as stream:
        rows = [row for row in csv.DictReader(stream) if row.get("backend/workers")]
    assert [float(row["backend/workers"]) for row in rows] == [1.0, 1.0]
    assert ray.is_initialized()


def test_an_actor_that_cannot_build_its_environments_fails_with_the_cause():
    """Not mistaken for a lost worker: no replacement loop, the environment's error is reported."""
    algo = cartpole().use_backend(RemoteBackend(LocalWorkerPool(), 1))
    spec = dataclasses.replace(algo.backend.records[0].spec, env_factory=EnvIdFactory("no_such_module_for_workers"))
    pool = RayWorkerPool()
    try:
        pool.start(spec, None)
        payload = PolicyPayload(0, algo.models.state_dict(), {})
        pool.submit(0, pool.publish(payload), CollectRequest(0, 8, derived_streams(0, 1)))
        with pytest.raises(WorkerFailed, match="could not start(.|\n)*no_such_module_for_workers"):
            pool.wait()
    finally:
        pool.close()
