"""The README's Python examples run as written, in order, as one script: a user who copies them
gets what the README says."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow  # each example compiles its programs
def test_the_readmes_python_examples_run_in_order():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    # The PPO example solves CartPole; the sweep and the seeds ran as one program each.
    assert float(np.mean(namespace["returns"])) >= 475
    assert namespace["sweep"].metrics["episode_return"].shape[0] == 4
    assert namespace["seeds"].metrics["episode_return"].shape[0] == 16
    assert namespace["dqn_returns"].shape == (100,)
