"""What every benchmark script prints: the machine it ran on."""

from __future__ import annotations

import os
import platform

import torch


def machine() -> str:
    """One line describing the machine and library versions."""
    return (
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.processor() or 'cpu'}, "
        f"python {platform.python_version()}, torch {torch.__version__}, torch threads {torch.get_num_threads()}"
    )
