"""Where the learner's update runs: ``auto``, ``cpu`` or ``cuda``.

Rollouts always run on the CPU: one forward pass per step over a few rows is faster there than
a round trip to a GPU, and the environments hand over numpy arrays. The update (advantages,
epochs of minibatches, optimiser steps) runs on the learner's device. So a learner keeps two
copies of its networks when the device is not the CPU (see ``Learner``): the acting copy on
the CPU, which collection and ``act`` use, and the learner copy with its optimiser state on the
device. Two functions are the only places data crosses between them:

- :func:`to_device` moves a rollout (or any object holding tensors) to the device before the
  update reads it;
- :func:`copy_weights` gives the acting copy the learner copy's parameters and buffers after
  every update.

On the CPU both are free: the two copies are one module and ``Tensor.to`` returns the tensor
itself, so results are exactly those of a learner without the option.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import Tensor, nn

from agents.config import DEVICES

T = TypeVar("T")
ModuleT = TypeVar("ModuleT", bound=nn.Module)


def resolve_device(name: str) -> torch.device:
    """The torch device ``name`` stands for: ``auto`` is ``cuda`` when torch sees a GPU, else ``cpu``.

    ``cuda`` on a machine where torch sees no GPU is a ``ValueError`` saying what to ask for instead.
    """
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(repr(d) for d in DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        build = f"torch {torch.__version__}" + ("" if torch.backends.cuda.is_built() else ", built without CUDA")
        raise ValueError(
            f"device 'cuda' was asked for, but torch sees no CUDA GPU here ({build}); "
            "use device 'auto' (the GPU when there is one) or 'cpu'"
        )
    return torch.device(name)


def to_device(value: T, device: torch.device) -> T:
    """``value`` with its tensors on ``device``: a tensor is moved, ``None`` stays ``None``, and an
    object (a rollout storage, a training batch) is copied shallowly with every tensor attribute
    moved and its other attributes shared. Tensors already there are kept, not copied."""
    if value is None:
        return value
    if isinstance(value, Tensor):
        return value.to(device)  # type: ignore[return-value]
    moved = copy.copy(value)
    for name, attribute in vars(value).items():
        if isinstance(attribute, Tensor):
            setattr(moved, name, attribute.to(device))
    return moved


def learner_copy(acting: ModuleT, device: torch.device) -> ModuleT:
    """The module the update trains: ``acting`` itself on the CPU, else a copy of it on ``device``."""
    if device.type == "cpu":
        return acting
    return copy.deepcopy(acting).to(device)


@torch.no_grad()
def copy_weights(learner: nn.Module, acting: nn.Module) -> None:
    """Give ``acting`` every parameter and buffer of ``learner`` (nothing to do when they are one)."""
    if learner is not acting:
        acting.load_state_dict(learner.state_dict())


def state_on_cpu(state: T) -> T:
    """A nested structure of dicts, lists and tuples with every tensor on the CPU (tensors already
    there are kept, not copied): what checkpoints hold, so they load on any machine."""
    if isinstance(state, Tensor):
        return state.cpu()  # type: ignore[return-value]
    if isinstance(state, dict):
        return {key: state_on_cpu(item) for key, item in state.items()}  # type: ignore[return-value]
    if isinstance(state, list):
        return [state_on_cpu(item) for item in state]  # type: ignore[return-value]
    if isinstance(state, tuple):
        return tuple(state_on_cpu(item) for item in state)  # type: ignore[return-value]
    return state
