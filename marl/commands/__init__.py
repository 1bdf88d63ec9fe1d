"""Sub-commands of ``marl``: each module has ``add_parser(subparsers)`` and ``run(args) -> int``."""
