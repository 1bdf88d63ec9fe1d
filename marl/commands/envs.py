"""``marl envs``: the environment ids ``marl train`` knows, and the named presets."""

from __future__ import annotations

import argparse

from marl.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``marl envs``."""
    parser = subparsers.add_parser(
        "envs",
        help="list environments and presets",
        description="List the suite's environment ids with a one-line description. Any Gymnasium id, "
        "PettingZoo module path (pettingzoo.sisl.multiwalker_v9, mpe2.simple_spread_v3) or "
        "package.module:factory works too.",
    )
    parser.add_argument(
        "env_ids", nargs="*", metavar="ENV", help="describe these ids (any id marl train accepts) instead of the suite"
    )
    parser.add_argument(
        "--spaces", action="store_true", help="also build each environment and show its agents and spaces (slower)"
    )
    parser.add_argument("--presets", action="store_true", help="list the named presets instead")


def print_presets() -> None:
    """One line per preset: name, environment, algorithm, run length, description."""
    from marl.presets import RUN_PRESETS

    width = max(len(name) for name in RUN_PRESETS)
    env_width = max(len(preset.env) for preset in RUN_PRESETS.values())
    for name, preset in sorted(RUN_PRESETS.items()):
        default = "*" if preset.default_for_env else " "
        steps = preset.run.get("steps", "")
        print(
            f"{name:<{width}} {default} {preset.env:<{env_width}}  {preset.algo:<6} {steps:>10}  {preset.description}"
        )
    print("(* the default preset of its environment; marl train --preset NAME uses another)")


def run(args: argparse.Namespace) -> int:
    """Print the listing."""
    if args.presets:
        print_presets()
        return 0
    import envs

    env_ids = list(args.env_ids) or envs.ids()
    try:
        if args.spaces:
            for row in envs.summaries(env_ids):
                print(f"{row.env_id}: {row.description}")
                print(f"    agents {row.agents}")
                print(f"    observation {row.observation_space}")
                print(f"    action {row.action_space}")
            return 0
        descriptions = [(env_id, envs.describe(env_id)) for env_id in env_ids]
    except (ValueError, ImportError) as error:
        raise UsageError(str(error).splitlines()[0]) from None
    width = max(len(env_id) for env_id, _ in descriptions)
    for env_id, description in descriptions:
        print(f"{env_id:<{width}}  {description}")
    if not args.env_ids:
        print(
            "\nAlso: any Gymnasium id (CartPole-v1, Hopper-v5), PettingZoo module (mpe2.simple_spread_v3), "
            "or package.module:factory. Presets: marl envs --presets"
        )
    return 0
