"""Train PPO on a jaxrl env: `jaxrl train`, with CartPole-v1 when no env id is given.

    python experiments/train.py                       # CartPole-v1, 8 seeds, on the CPU
    python experiments/train.py Acrobot-v1 --seeds 16 --total-timesteps 200000

Every option of `jaxrl train --help` works here (live progress, a run folder with metrics,
learning curve, evaluation and checkpoints, --resume, --set, several hosts with --distributed).
"""

from __future__ import annotations

import sys

from jaxrl.cli import main


def run(argv: list[str]) -> int:
    has_env_id = any(not arg.startswith("-") for arg in argv[:1]) or "--resume" in argv
    return main(["train", *(argv if has_env_id else ["CartPole-v1", *argv])])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
