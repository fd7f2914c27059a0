"""The `jaxrl` command (also `python -m jaxrl`).

    jaxrl train CartPole-v1                       # 8 seeds on the CPU, live progress, a run folder
    jaxrl train Acrobot-v1 --seeds 16 --set learning_rate=1e-3 --out runs/acrobot
    jaxrl train --resume runs/acrobot             # continue after Ctrl-C or a crash
    jaxrl sweep CartPole-v1 --set learning_rate=1e-3,3e-3,1e-2 --seeds 8
    jaxrl eval runs/acrobot                       # evaluate the latest checkpoint
    jaxrl render runs/acrobot --out episode.gif   # watch the trained policy
    jaxrl list                                    # envs and their tuned configs
    jaxrl bench envs --quick                      # speed benchmarks (jaxrl.bench)
    jaxrl rlhf                                    # the RLHF chapter (jaxrl.rlhf)

Bad input (unknown env or config key, a wrong type, an invalid combination, an existing run
folder, a missing or damaged checkpoint) is one line on stderr and exit status 2, before anything
compiles. Ctrl-C during training writes a checkpoint and the metrics so far, then exits 130.
"""

from __future__ import annotations

import argparse
import sys

from jaxrl.cli.options import UsageError

#: Commands implemented by other packages, handed the rest of the command line.
FORWARDED = {
    "bench": ("jaxrl.bench.cli", "speed benchmarks against gymnax, Gymnasium, rejax and SB3"),
    "rlhf": ("jaxrl.rlhf.pipeline", "the RLHF chapter: LM, preferences, reward model, PPO, DPO"),
}


def main(argv: list[str] | None = None) -> int:
    """Runs the command line `argv` (default: `sys.argv[1:]`); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in FORWARDED:
        return _forward(argv[0], argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `jaxrl list | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def build_parser() -> argparse.ArgumentParser:
    from jaxrl.cli import commands
    from jaxrl.cli.parser import ArgumentParser

    parser = ArgumentParser(
        prog="jaxrl",
        description="Fully-jitted reinforcement learning in JAX.",
        epilog="Run `jaxrl COMMAND --help` for a command's options.",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=ArgumentParser
    )
    commands.add_train(sub)
    commands.add_sweep(sub)
    commands.add_eval(sub)
    commands.add_render(sub)
    commands.add_list(sub)
    for name, (_, help_text) in FORWARDED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _forward(name: str, rest: list[str]) -> int:
    import importlib

    module_name, _ = FORWARDED[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        print(f"error: `jaxrl {name}` is unavailable here ({error}).", file=sys.stderr)
        return 2
    return module.main(rest)
