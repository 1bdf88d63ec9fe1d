"""The learner's ``device``: rollouts on the CPU, the update where the config says.

On the CPU the option must change nothing (one copy of the networks, the same tensors); the
update must read the rollout only through :func:`agents.device.to_device`, the one place where
data crosses to the device; checkpoints hold CPU tensors and load with any device; ``cuda`` on
a machine without one is refused before anything is built. The tests marked ``needs_cuda`` run
the update on a GPU where torch sees one.
"""

from __future__ import annotations

import math

import pytest
import torch
from learner_scripted_envs import DyingAgentsEnv, TwoTeamsEnv

from agents import MAPPO, PPO, TRPO, Learner, checkpoint
from agents import device as device_module
from agents import learner as learner_module
from agents.device import copy_weights, learner_copy, resolve_device, state_on_cpu, to_device
from agents.rules import optimizer_steps, optimizer_steps_fast

HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="torch sees no CUDA GPU here")
needs_no_cuda = pytest.mark.skipif(HAS_CUDA, reason="the refusal is for machines without a CUDA GPU")

#: Short runs that cover the update paths: PPO minibatches with running observation statistics,
#: recurrent MAPPO chunks with ValueNorm and two teams, TRPO's natural step and value fit with
#: agents that die.
RUNS = {
    "ppo-cartpole": lambda **kw: PPO(
        "CartPole-v1", seed=1, n_envs=2, n_steps=64, n_epochs=2, normalize_observations=True, **kw
    ),
    "mappo-teams-recurrent": lambda **kw: MAPPO(
        TwoTeamsEnv, seed=3, n_envs=2, n_steps=10, chunk_length=4, normalize_observations=True, **kw
    ),
    "trpo-dying": lambda **kw: TRPO(DyingAgentsEnv, seed=2, n_envs=2, n_steps=16, **kw),
}


def training_state(learner: Learner) -> dict:
    """Parameters, buffers, optimiser states and running statistics, as a checkpoint holds them."""
    state = learner.state_dict()
    return {key: state[key] for key in ("models", "optimizers", "statistics", "steps", "updates")}


def assert_identical(a, b) -> None:
    """Nested states equal bit for bit (same keys, same tensors)."""
    assert checkpoint.content_digest(a) == checkpoint.content_digest(b)


def batch_steps(learner: Learner) -> int:
    return learner.config.n_envs * learner.config.n_steps


# ------------------------------------------------------------------------------ the CPU
@pytest.mark.parametrize("run", RUNS)
def test_cpu_and_auto_train_exactly_as_a_learner_without_the_option(run):
    """``device="cpu"`` (and ``"auto"`` where there is no GPU) gives bit-identical parameters,
    optimiser states and statistics to a learner built without the option."""
    devices = ["cpu"] if HAS_CUDA else ["cpu", "auto"]
    states = []
    for chosen in [None, *devices]:
        learner = RUNS[run]() if chosen is None else RUNS[run](device=chosen)
        learner.learn(batch_steps(learner) * 3)
        assert learner.device == torch.device("cpu")
        states.append(training_state(learner))
        learner.close()
    for state in states[1:]:
        assert_identical(states[0], state)


def test_on_the_cpu_the_acting_and_learner_copies_are_one():
    """Nothing is copied on the CPU: collection, act and the update share the modules, and
    moving a rollout returns its own tensors."""
    learner = PPO("CartPole-v1", n_steps=32, device="cpu")
    assert learner.acting_models is learner.models
    assert learner.policy.models[0] is learner.models[0]
    storage = learner.storages[0]
    moved = to_device(storage, torch.device("cpu"))
    assert moved is not storage and moved.observations is storage.observations
    module = torch.nn.Linear(2, 2)
    assert learner_copy(module, torch.device("cpu")) is module


# ------------------------------------------------------------- the one crossing point
def poisoning_to_device(calls: list[str]):
    """A ``to_device`` that returns copies and then fills every tensor of the original with NaN:
    anything the update reads without going through it becomes NaN."""

    def move(value, device):
        moved = to_device(value, device)
        copied = type(moved).__new__(type(moved))
        for name, attribute in vars(moved).items():
            setattr(copied, name, attribute.clone() if isinstance(attribute, torch.Tensor) else attribute)
        for attribute in vars(value).values():
            if isinstance(attribute, torch.Tensor):
                attribute.fill_(math.nan)
        calls.append(type(value).__name__)
        return copied

    return move


@pytest.mark.parametrize("run", RUNS)
def test_the_update_reads_the_rollout_only_through_to_device(run, monkeypatch):
    """With the rollout storage filled with NaN as soon as ``to_device`` has moved it, an update
    ends with exactly the parameters of an undisturbed one: advantages, minibatches, the losses
    and the observation statistics all read the tensors ``to_device`` returned."""
    expected = RUNS[run]()
    expected.learn(batch_steps(expected))
    calls: list[str] = []
    monkeypatch.setattr(learner_module, "to_device", poisoning_to_device(calls))
    poisoned = RUNS[run]()
    poisoned.learn(batch_steps(poisoned))
    assert calls == ["RolloutStorage"] * len(poisoned.groups)
    assert all(torch.isnan(storage.rewards).all() for storage in poisoned.storages)
    assert_identical(training_state(expected), training_state(poisoned))


# ------------------------------------------------------------------------ checkpoints
def test_checkpoints_hold_cpu_tensors_and_load_with_any_device(tmp_path):
    """A checkpoint whose config names ``cuda`` loads on this machine with ``device="cpu"`` and
    trains on exactly as the learner that saved it; without the override it is refused here
    when torch sees no GPU."""
    learner = PPO("CartPole-v1", seed=4, n_steps=64, n_epochs=2)
    learner.learn(128)
    state = learner.state_dict()
    assert all(t.device.type == "cpu" for t in tensors_in(state))
    state["config"] = {**state["config"], "device": "cuda"}
    path = checkpoint.save(state, tmp_path / "trained_on_a_gpu.pt")
    if not HAS_CUDA:
        with pytest.raises(ValueError, match="device 'cuda' was asked for, but torch sees no CUDA GPU"):
            PPO.load(path)
    learner.learn(128)
    loaded = PPO.load(path, device="cpu")  # restores the global torch RNG the run samples with
    assert loaded.config.device == "cpu"
    loaded.learn(128)
    assert_identical(training_state(learner), training_state(loaded))


def test_a_checkpoint_from_before_the_option_loads_with_the_default(tmp_path):
    learner = TRPO(DyingAgentsEnv, seed=2, n_envs=2, n_steps=16)
    learner.learn(32)
    state = learner.state_dict()
    state["config"] = {key: value for key, value in state["config"].items() if key != "device"}
    loaded = TRPO.load(checkpoint.save(state, tmp_path / "old.pt"), env=DyingAgentsEnv)
    assert loaded.config.device == "cpu"
    assert_identical(training_state(learner), training_state(loaded))
    loaded.learn(32)
    assert loaded.steps == 64


def tensors_in(state) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, dict):
        return [t for value in state.values() for t in tensors_in(value)]
    if isinstance(state, (list, tuple)):
        return [t for value in state for t in tensors_in(value)]
    return []


def test_state_on_cpu_keeps_the_structure_and_cpu_tensors():
    tensor = torch.ones(2)
    state = {"a": [tensor, (1, "x")], "b": None}
    moved = state_on_cpu(state)
    assert moved == {"a": [tensor, (1, "x")], "b": None} and moved["a"][0] is tensor


# ------------------------------------------------------------------------ bad requests
@needs_no_cuda
def test_cuda_without_a_gpu_is_refused_before_the_environment_is_built():
    built = []

    def factory():
        built.append(1)
        return TwoTeamsEnv()

    with pytest.raises(ValueError, match=r"device 'cuda' was asked for, but torch sees no CUDA GPU .*'auto'.*'cpu'"):
        MAPPO(factory, device="cuda")
    assert built == []


def test_an_unknown_device_is_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"PPOConfig.device must be one of 'auto', 'cpu', 'cuda', got 'gpu'"):
        PPO("CartPole-v1", device="gpu")
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("cuda:0")


def test_auto_is_cuda_exactly_when_torch_sees_a_gpu():
    assert resolve_device("auto").type == ("cuda" if HAS_CUDA else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert device_module.DEVICES == ("auto", "cpu", "cuda")


# --------------------------------------------------------------------------- on a GPU
@needs_cuda
@pytest.mark.parametrize("run", RUNS)
def test_on_cuda_the_update_runs_there_and_the_acting_copy_follows(run, tmp_path):
    """The learner copy and its optimiser state live on the GPU, the acting copy on the CPU holds
    the same weights after every update, and checkpoints hold CPU tensors that load on the CPU."""
    learner = RUNS[run](device="cuda")
    assert learner.device.type == "cuda" and learner.acting_models is not learner.models
    learner.learn(batch_steps(learner) * 2)
    assert all(p.device.type == "cuda" for p in learner.models.parameters())
    assert all(p.device.type == "cpu" for p in learner.acting_models.parameters())
    for group in learner.groups:
        for optimizer in group.optimizers.values():
            assert all(t.device.type == "cuda" for s in optimizer.state.values() for t in s.values())
    acting, trained = learner.acting_models.state_dict(), learner.models.state_dict()
    assert all(torch.equal(acting[key], trained[key].cpu()) for key in trained)
    state = learner.state_dict()
    assert all(t.device.type == "cpu" for t in tensors_in(state))
    path = learner.save(tmp_path / "gpu.pt")
    env = None if run == "ppo-cartpole" else (TwoTeamsEnv if "teams" in run else DyingAgentsEnv)
    loaded = type(learner).load(path, env=env, device="cpu")
    assert_identical(training_state(learner), training_state(loaded))
    loaded.learn(batch_steps(loaded))


@needs_cuda
def test_on_cuda_the_first_update_sees_the_rollout_the_cpu_sees():
    """The same seed collects the same first rollout (acting on the CPU); advantages, returns and
    the losses of the one full-batch step agree with the CPU's to float precision."""

    def learner(device: str) -> PPO:
        return PPO("CartPole-v1", seed=5, n_steps=256, n_epochs=1, minibatch_size=None, device=device)

    batches = []
    for device in ("cpu", "cuda"):
        collected = learner(device)
        collected.backend.collect(collected.acting_models, collected.statistics, collected.storages, 256, 0)
        batches.append(collected.prepare_batch(0))
    assert batches[1].advantages.device.type == "cuda"
    for name in ("advantages", "returns", "old_log_probs", "observations"):
        torch.testing.assert_close(getattr(batches[1], name).cpu(), getattr(batches[0], name), rtol=1e-5, atol=1e-5)
    metrics = []
    for device in ("cpu", "cuda"):
        seen: list[dict] = []
        learner(device).learn(256, callback=seen.append)
        metrics.append(seen[0])
    for key in ("loss/policy", "loss/value", "loss/entropy"):
        assert metrics[1][key] == pytest.approx(metrics[0][key], rel=1e-4, abs=1e-6)


@needs_cuda
@pytest.mark.skipif(not optimizer_steps_fast.ENABLED, reason="the fast path is off on this torch version")
def test_fast_optimizer_steps_agree_with_the_plain_ones_on_cuda():
    runs = []
    for steps in (optimizer_steps, optimizer_steps_fast):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).cuda()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-5, fused=True)
        inputs = torch.randn(64, 5, generator=torch.Generator().manual_seed(1)).cuda()
        norms = []
        for _ in range(5):
            for parameter in model.parameters():
                parameter.grad = None
            (model(inputs) ** 2).mean().backward()
            norms.append(steps.clip_gradient_norm(list(model.parameters()), 0.05))
            steps.optimizer_step(optimizer)
        runs.append((model.state_dict(), optimizer.state_dict()["state"], norms))
    assert optimizer_steps_fast._fused_adam_work(optimizer) is not None
    assert_identical(state_on_cpu(runs[0]), state_on_cpu(runs[1]))


def test_copy_weights_gives_the_acting_copy_every_parameter_and_buffer():
    learner = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    acting = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    copy_weights(learner, acting)
    assert_identical(learner.state_dict(), acting.state_dict())
    copy_weights(acting, acting)  # one module: nothing to do
