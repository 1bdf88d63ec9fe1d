"""Running one training command per seed as child processes, in turn or several side by side.

Each child is an ordinary ``marl train`` with its own ``--seed`` and run folder, so each
resumes on its own. Children run in their own session: Ctrl-C reaches only this process,
which passes each press on to every running child (the first press makes them stop after the
current update and save, a second one at once) and starts no further child.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

#: How often the parent looks at its children, in seconds.
POLL_SECONDS = 0.1


@dataclass
class SeedJob:
    """One child: its seed, its run folder, the command line, and where its output goes (None: here)."""

    seed: int
    folder: Path
    command: list[str]
    log: Path | None = None
    process: subprocess.Popen | None = None
    exit_code: int | None = None


@contextmanager
def forwarded_interrupts(jobs: Sequence[SeedJob]) -> Iterator[list[int]]:
    """While inside, each Ctrl-C is counted and sent on to every running child as SIGINT."""
    presses: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield presses
        return

    def handler(signum: int, frame: Any) -> None:
        presses.append(signum)
        for job in jobs:
            if job.process is not None and job.process.poll() is None:
                job.process.send_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield presses
    finally:
        signal.signal(signal.SIGINT, previous)


def start(job: SeedJob) -> None:
    """Start the child in its own session, its output to its log file or to this terminal."""
    output: IO[str] | None = None
    if job.log is not None:
        job.log.parent.mkdir(parents=True, exist_ok=True)
        output = job.log.open("w")
    try:
        job.process = subprocess.Popen(
            job.command, stdout=output, stderr=subprocess.STDOUT if output else None, start_new_session=True
        )
    finally:
        if output is not None:
            output.close()


def run_jobs(jobs: Sequence[SeedJob], parallel: int, say: Any = print) -> bool:
    """Run the jobs, at most ``parallel`` at a time, until all ended or Ctrl-C; True if interrupted.

    Each job's ``exit_code`` is set once it ends; jobs never started keep ``None``.
    """
    pending = list(jobs)
    running: list[SeedJob] = []
    with forwarded_interrupts(jobs) as presses:
        while pending or running:
            while pending and len(running) < parallel and not presses:
                job = pending.pop(0)
                start(job)
                running.append(job)
                say(f"seed {job.seed}: training into {job.folder}" + (f" (output: {job.log})" if job.log else ""))
            time.sleep(POLL_SECONDS)
            for job in list(running):
                assert job.process is not None
                code = job.process.poll()
                if code is not None:
                    job.exit_code = code
                    running.remove(job)
                    say(f"seed {job.seed}: {describe_exit(code)}")
            if presses and not running:
                break
    return bool(presses)


def describe_exit(code: int) -> str:
    """What a child's exit code means for its run."""
    if code == 0:
        return "done"
    if code == 130:
        return "interrupted"
    return f"failed (exit code {code})"


def python_command() -> list[str]:
    """The command that starts ``marl`` with this interpreter."""
    return [sys.executable, "-m", "marl.cli"]
