"""Where the arena learner's time goes, piece by piece, in this process (one torch thread).

MAPPO with the arena preset on the quadrant game. Each line is a median over repeated calls;
where two ways of doing the same work are compared, they are timed in alternation, so load
from other processes falls on both alike:

- acting: one collection forward pass (both teams' actors, sampling and critics) for 4, 8
  and 16 env copies, and its cost per copy;
- update: one team's PPO update of the preset's 1280-step batch, and both teams one after
  the other against side by side on two threads;
- attention: the entity encoder's attention, forward and backward, on ``--rows`` rows of 7
  tokens, against ``nn.MultiheadAttention`` (torch's fused CPU kernel) on the same input;
- softmax over the keys of those rows' attention scores: over the last axis (7 wide) against
  over a leading axis;
- sampling one 11-way categorical on 16 rows: the Gumbel-max draw against ``torch.multinomial``;
- resume data: the collector's state after 160 steps of 8 copies;
- weight messages: the policy weights pickled and unpickled with the standard pickler against
  multiprocessing's pickler (torch's shared-memory reductions).

    python benchmarks/learner_parts.py
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.reduction import ForkingPickler

import torch
from benchmarks_common import machine

COPIES = (4, 8, 16)


def median_ms(call: Callable[[], object], repeats: int) -> float:
    """Median wall-clock milliseconds of ``repeats`` calls (after two warm-up calls)."""
    for _ in range(2):
        call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return 1e3 * statistics.median(samples)


def alternating(calls: dict[str, Callable[[], object]], rounds: int, repeats: int) -> dict[str, float]:
    """Median milliseconds of each call, the calls timed in turn for ``rounds`` rounds."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            samples[name].append(median_ms(call, repeats))
    return {name: statistics.median(values) for name, values in samples.items()}


def arena_learner(n_envs: int, n_steps: int):
    """A MAPPO learner on the quadrant game with the arena preset, after one update."""
    from agents import MAPPO
    from envs import make_factory
    from marl.presets import ARENA_MAPPO

    factory = make_factory("hide_and_seek_v0", preset="quadrant", horizon=240)
    learner = MAPPO(factory, seed=0, torch_threads=1, **{**ARENA_MAPPO, "n_envs": n_envs, "n_steps": n_steps})
    learner.learn(n_envs * n_steps)
    return learner


def acting(rounds: int, repeats: int) -> None:
    learners = {copies: arena_learner(copies, 40) for copies in COPIES}
    calls = {
        copies: (lambda each=learner: each.collector.policy_step(each.models)) for copies, learner in learners.items()
    }
    medians = alternating(calls, rounds, repeats)
    for copies, ms in medians.items():
        print(f"acting pass, {copies:2d} copies: {ms:6.2f} ms ({ms / copies:.3f} ms per copy)")


def update_and_resume(rounds: int, rows: int) -> None:
    learner = arena_learner(8, 160)  # the preset's batch; 160 steps since each copy's reset
    print(
        f"resume data (collector state, 8 copies, 160 steps since reset): "
        f"{median_ms(learner.collector.state_dict, 20):.1f} ms"
    )
    batches = [learner.prepare_batch(g) for g in range(len(learner.policy_groups))]
    pool = ThreadPoolExecutor(1)

    def one_team() -> None:
        learner.rule.update(learner, 0, batches[0])

    def one_after_another() -> None:
        for g, batch in enumerate(batches):
            learner.rule.update(learner, g, batch)

    def side_by_side() -> None:
        other = pool.submit(learner.rule.update, learner, 1, batches[1])
        learner.rule.update(learner, 0, batches[0])
        other.result()

    medians = alternating(
        {
            "one team": one_team,
            "both, one after another": one_after_another,
            "both, side by side on two threads": side_by_side,
        },
        rounds,
        1,
    )
    for name, ms in medians.items():
        print(f"update of a 1280-step batch, {name}: {ms / 1e3:.3f} s")
    pool.shutdown()

    payload = {k: v.detach().clone() for k, v in torch.nn.ModuleList(learner.models).state_dict().items()}
    messages = alternating(
        {
            "standard pickler": lambda: pickle.loads(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)),
            "multiprocessing's pickler": lambda: pickle.loads(bytes(ForkingPickler.dumps(payload))),
        },
        rounds,
        5,
    )
    for name, ms in messages.items():
        print(f"policy weights ({len(payload)} tensors) pickled and unpickled, {name}: {ms:.1f} ms")
    attention_parts(learner, rounds, rows)


def attention_parts(learner, rounds: int, rows: int) -> None:
    encoder = learner.models[0].actor.trunk.encoder
    tokens_per_row = 1 + sum(data.shape[0] for data, _ in encoder.entities)
    embed = encoder.attention.embed_dim
    heads = encoder.attention.num_heads
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randn(rows, tokens_per_row, embed, generator=generator, requires_grad=True)
    absent = torch.rand(rows, tokens_per_row, generator=generator) < 0.3
    absent[:, 0] = False
    upstream = torch.randn(rows, tokens_per_row, embed, generator=generator)

    def own() -> torch.Tensor:
        return encoder._attend(tokens, absent)

    def fused() -> torch.Tensor:
        return encoder.attention(tokens, tokens, tokens, key_padding_mask=absent, need_weights=False)[0]

    with torch.no_grad():
        if not torch.allclose(own(), fused(), atol=1e-5):
            raise AssertionError("the encoder's attention differs from nn.MultiheadAttention")

    def backward_of(forward: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def call() -> None:
            tokens.grad = None
            (forward() * upstream).sum().backward()

        return call

    medians = alternating({"the encoder's": backward_of(own), "nn.MultiheadAttention": backward_of(fused)}, rounds, 3)
    for name, ms in medians.items():
        print(f"attention forward and backward, {rows} rows of {tokens_per_row} tokens, {name}: {ms:.1f} ms")

    scores = torch.randn(rows * heads * tokens_per_row, tokens_per_row, generator=generator)
    with torch.no_grad():
        medians = alternating(
            {
                "last axis": lambda: torch.softmax(scores, dim=-1),
                "leading axis": lambda: torch.softmax(scores.t(), dim=0).t(),
            },
            rounds,
            5,
        )
    for name, ms in medians.items():
        print(f"softmax of those rows' attention scores ({rows} x {heads} heads), over the {name}: {ms:.2f} ms")


def sampling(rounds: int) -> None:
    from agents.core.distributions import CategoricalDistribution

    logits = torch.randn(16, 11, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        distribution = CategoricalDistribution(logits)
        medians = alternating(
            {
                "Gumbel-max": distribution.sample_with_log_prob,
                "torch.multinomial": lambda: distribution.log_prob(torch.multinomial(distribution.probs, 1)),
            },
            rounds,
            500,
        )
    for name, ms in medians.items():
        print(f"one 11-way categorical on 16 rows, sample and log-probability, {name}: {1e3 * ms:.1f} us")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of alternation per comparison")
    parser.add_argument("--acting-repeats", type=int, default=200, help="timed acting passes per round")
    parser.add_argument("--rows", type=int, default=2560, help="rows of the attention timings (one team's batch)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.acting_repeats < 1 or args.rows < 1:
        parser.error("--rounds, --acting-repeats and --rows must be at least 1")
    torch.set_num_threads(1)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    sampling(args.rounds)
    acting(args.rounds, args.acting_repeats)
    update_and_resume(args.rounds, args.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
