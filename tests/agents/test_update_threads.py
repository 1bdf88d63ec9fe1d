"""The update's independent parts on several threads: same numbers, faster only where it pays."""

import threading
import time

import pytest
import torch

from agents import MAPPO, TRPO
from agents.update_threads import UpdateThreads
from tests.agents.learner_scripted_envs import TwoTeamsEnv


def parameters(algo):
    return torch.cat([p.detach().reshape(-1) for p in algo.models.parameters()])


def test_results_come_back_in_order_and_one_thread_runs_on_the_caller():
    threads = UpdateThreads(1)
    seen = []
    results = threads.run("place", lambda: seen.append(threading.get_ident()) or 1, lambda: 2, lambda: 3)
    assert results == [1, 2, 3] and seen == [threading.get_ident()]
    assert threads.chosen("place") is None  # nothing to choose with one thread


def test_each_place_settles_on_the_faster_way_after_three_calls_each():
    # A clock that only the caller's thread advances: work done on the pool's thread overlaps
    # the caller's, as kernels that release the GIL do; GIL-bound work is charged in full.
    now = [0.0]
    caller = threading.get_ident()
    lock = threading.Lock()

    def overlapping():
        if threading.get_ident() == caller:
            now[0] += 1.0

    def serialising():
        with lock:
            now[0] += 1.0

    threads = UpdateThreads(2, clock=lambda: now[0])
    for call in range(6):
        threads.run("overlap", overlapping, overlapping)
        threads.run("gil", serialising, serialising)
        if call < 5:
            assert threads.chosen("overlap") is None and threads.chosen("gil") is None
    assert threads.chosen("overlap") is True  # 1.0 threaded against 2.0 serial
    assert threads.chosen("gil") is False  # 2.0 either way: threads must win by 10%
    threads.close()


def test_the_joint_form_replaces_the_tasks_whenever_they_would_run_one_after_another():
    threads = UpdateThreads(2)
    used = []

    def task(value):
        return lambda: used.append("task") or value

    for _ in range(6):  # serial and threaded alternate while the place is timed
        results = threads.run("joint", task(1), task(2), serially=lambda: used.append("joint") or [1, 2])
        assert results == [1, 2]
    assert used.count("joint") == 3 and used.count("task") == 6
    assert UpdateThreads(1).run("one", task(1), task(2), serially=lambda: [3, 4]) == [3, 4]
    threads.close()


def test_an_error_is_raised_only_after_every_task_has_finished():
    threads = UpdateThreads(2)
    finished = threading.Event()

    def slow():
        time.sleep(0.05)
        finished.set()

    def failing():
        raise RuntimeError("boom")

    for first, second in ((failing, slow), (slow, failing)):
        finished.clear()
        with pytest.raises(RuntimeError, match="boom"):
            threads.run("errors", first, second)
        assert finished.is_set()
    threads.close()


def test_calls_nested_in_threaded_tasks_run_serially_on_the_task_thread():
    threads = UpdateThreads(2)

    def outer():
        return threading.get_ident(), threads.run("inner", threading.get_ident, threading.get_ident)

    threaded_calls = 0
    for _ in range(6):  # the first calls alternate serial and threaded
        (first, first_inner), (second, second_inner) = threads.run("outer", outer, outer)
        if first != second:
            threaded_calls += 1
            assert first_inner == [first, first] and second_inner == [second, second]
    assert threaded_calls >= 3
    threads.close()


def test_bad_thread_count_is_refused():
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        UpdateThreads(0)
    with pytest.raises(ValueError, match="update_threads"):
        MAPPO(TwoTeamsEnv, update_threads=0)


@pytest.mark.parametrize(
    "make",
    [
        # one group, recurrent, separate optimisers: the policy and value passes split
        lambda threads: MAPPO("mpe2.simple_spread_v3", seed=3, preset="mpe", n_envs=4, update_threads=threads),
        # two teams: the groups update side by side
        lambda threads: MAPPO(TwoTeamsEnv, seed=3, n_envs=2, n_steps=10, update_threads=threads),
        # conjugate-gradient step and value fit side by side
        lambda threads: TRPO(TwoTeamsEnv, seed=3, n_envs=2, n_steps=10, update_threads=threads),
    ],
    ids=["mappo-spread", "mappo-teams", "trpo-teams"],
)
def test_parameters_are_bit_identical_with_one_or_two_threads(make):
    runs = []
    for threads in (1, 2):
        algo = make(threads)
        algo.learn(algo.config.n_envs * algo.config.n_steps * 4)  # the first calls alternate both ways
        runs.append(parameters(algo))
        algo.close()
    assert torch.equal(runs[0], runs[1])
