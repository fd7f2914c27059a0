"""PPO on CartPole-v1 timed cold, every measurement a fresh process: jaxrl beside rejax and SB3.

A thin entry point over `jaxrl.bench.ppo` (its docstring lists the contestants);
`jaxrl bench ppo --out DIR` runs the same benchmark into a folder. This script writes the JSON
to `--out FILE` and the return-against-time plot beside it.

    python experiments/bench_ppo.py --repeats 3     # results/bench_ppo.json
    python experiments/bench_ppo.py --quick         # CI: 1 repetition, tiny runs, jaxrl only
"""

import sys
from pathlib import Path

from jaxrl.bench import cli, ppo


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--child" in argv:  # the old child mode, kept for commands written against it
        return ppo._child_main(argv)
    return cli.run_script("ppo", argv, Path("results/bench_ppo.json"), __doc__)


if __name__ == "__main__":
    sys.exit(main())
