"""Env throughput in steps per second: jaxrl beside gymnax and Gymnasium's NumPy vector envs.

A thin entry point over `jaxrl.bench.envs` (its docstring defines the figures gymnax_a,
jaxrl_a, jaxrl_b, jaxrl_c, numpy and jaxrl_gym); `jaxrl bench envs --out DIR` runs the same
benchmark into a folder. This script writes the JSON to `--out FILE` and the plot beside it.

    python experiments/bench_envs.py --envs CartPole-v1 Acrobot-v1 --num-envs 4096 \
        --steps 4194304 --repeats 3
"""

import sys
from pathlib import Path

from jaxrl.bench import cli


def main(argv: list[str] | None = None) -> int:
    return cli.run_script("envs", argv, Path("results/bench_envs.json"), __doc__)


if __name__ == "__main__":
    sys.exit(main())
