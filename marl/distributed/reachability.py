"""Whether a Ray head node answers at an address, checked before Ray is asked to join it.

Apart from :mod:`marl.distributed` so that the Ray backend can use it without importing the
package that chooses the backend (which would be an import cycle).
"""

from __future__ import annotations

import socket

from marl.errors import UsageError


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` nothing listens on (:class:`UsageError`; Ray itself would retry for minutes)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise UsageError(
            f"cannot join the Ray cluster at {address!r}: nothing answers there ({error.strerror or error}); "
            "start its head node with 'ray start --head --port=PORT' (see docs/distributed.md) "
            "or leave out --address for a local instance"
        ) from None
