"""Sweep PPO's numeric hyperparameters, every point x every seed in one program: `jaxrl sweep`.

    python experiments/sweep.py CartPole-v1 --seeds 4 --set learning_rate=1e-3,5e-3
    python experiments/sweep.py Acrobot-v1 --seeds 2 --set learning_rate=1e-4,3e-4 \\
        --set clip_eps=0.1,0.2 --total-timesteps 100000

Every option of `jaxrl sweep --help` works here.
"""

from __future__ import annotations

import sys

from jaxrl.cli import main

if __name__ == "__main__":
    sys.exit(main(["sweep", *sys.argv[1:]]))
