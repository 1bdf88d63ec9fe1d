"""Where rollouts are collected: in this process, in subprocesses, or on a Ray cluster.

``agents`` holds the backend interface and the in-process and subprocess backends
(:mod:`agents.backends`); the Ray backend lives here (:mod:`marl.distributed.ray_backend`)
because Ray is an optional extra. :func:`make_backend` turns the ``marl train`` options
``--backend``, ``--workers`` and ``--address`` into a backend.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from marl.distributed.reachability import check_reachable
from marl.errors import UsageError, unknown_name_message

#: Backends ``marl train --backend`` accepts; the first is the default.
BACKENDS = ("inprocess", "subprocess", "ray")

#: How to get Ray when ``--backend ray`` is asked for without it.
RAY_INSTALL_HINT = "pip install 'marl-arena[ray]' (in a source checkout: pip install '.[ray]')"


def ray_available() -> bool:
    """Whether Ray can be imported."""
    return importlib.util.find_spec("ray") is not None


def valid_address(address: str) -> bool:
    """``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` with a port in 1..65535."""
    if address == "auto":
        return True
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return bool(host) and port.isdigit() and 1 <= int(port) <= 65535


def check_backend_options(backend: str, workers: int, address: str | None, n_envs: int) -> None:
    """Refuse impossible combinations before any work starts (:class:`UsageError`)."""
    if backend not in BACKENDS:
        raise UsageError(unknown_name_message("backend", backend, BACKENDS))
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise UsageError(f"--workers must be an integer >= 1, got {workers!r}")
    if backend == "inprocess" and workers != 1:
        raise UsageError(f"--workers {workers} needs --backend subprocess or ray (inprocess collects in this process)")
    if address is not None and backend != "ray":
        raise UsageError(f"--address is for --backend ray, not {backend}")
    if address is not None and not valid_address(address):
        raise UsageError(f"--address must be auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    if workers > n_envs:
        raise UsageError(
            f"--workers ({workers}) must be <= the number of environment copies ({n_envs}): each worker holds at "
            f"least one; pass --envs {workers} or more"
        )
    if backend == "ray" and not ray_available():
        raise UsageError(f"--backend ray needs Ray, which is not installed: {RAY_INSTALL_HINT}")
    if backend == "ray" and address is not None:
        check_reachable(address)


def make_backend(backend: str, workers: int, address: str | None = None) -> Any:
    """The backend for ``marl train``; None for ``inprocess`` (the learner's own default)."""
    if backend == "inprocess":
        return None
    if backend == "subprocess":
        from agents.backends import SubprocessBackend

        return SubprocessBackend(workers)
    if backend == "ray":
        if not ray_available():
            raise UsageError(f"--backend ray needs Ray, which is not installed: {RAY_INSTALL_HINT}")
        from marl.distributed.ray_backend import RayBackend

        try:
            return RayBackend(workers, address)
        except ValueError as error:
            raise UsageError(str(error)) from None
    raise UsageError(unknown_name_message("backend", backend, BACKENDS))


__all__ = [
    "BACKENDS",
    "RAY_INSTALL_HINT",
    "check_backend_options",
    "check_reachable",
    "make_backend",
    "ray_available",
    "valid_address",
]
