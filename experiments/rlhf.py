"""The RLHF chapter end to end: pretrain a tiny language model, label preferences with a hidden
labeller, fit a reward model, fine-tune with PPO (KL penalty) and with DPO, and compare.

    python -m experiments.rlhf                # defaults: a few minutes on a 2-core CPU
    python -m experiments.rlhf --quick        # every stage, small
    python experiments/rlhf.py --out runs/rlhf-seed3 --seed 3

See `jaxrl.rlhf.pipeline` for what it prints and writes; `--help` lists the options.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxrl.rlhf.pipeline import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
