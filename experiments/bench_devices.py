"""Wall time of PPO on 1, 2, 4, 8 devices, with the speedup and per-device efficiency.

A thin entry point over `jaxrl.bench.devices` (its docstring defines the workloads);
`jaxrl bench devices --out DIR` runs the same benchmark into a folder. This script writes the
JSON to `--out FILE` and the scaling plot beside it.

    python experiments/bench_devices.py                      # forced CPU devices 1, 2, 4, 8
    JAX_PLATFORMS=cuda python experiments/bench_devices.py --in-process --devices 1 2 4 8
"""

import sys
from pathlib import Path

from jaxrl.bench import cli, devices


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--worker" in argv:  # the old worker mode, kept for commands written against it
        return devices._worker_main(argv)
    return cli.run_script("devices", argv, Path("results/bench_devices.json"), __doc__)


if __name__ == "__main__":
    sys.exit(main())
