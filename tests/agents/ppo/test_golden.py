"""Golden PPO runs: small runs' metrics and final parameters pinned bit for bit.

The values in `ppo_golden.json` pin what PPO computes (under the tests' XLA flags,
`tests/conftest.py`): a refactor of the learner must reproduce them exactly. XLA's CPU code
depends on the instruction set (vector widths change the order of float sums), so on a CPU of
another kind than the one that wrote them (`isa` in the file) the runs are compared to float
rounding instead, and the failure message says which comparison failed.

Regenerate only for an intended change of results, and say so in the changelog.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ppo

GOLDEN_FILE = Path(__file__).with_name("ppo_golden.json")


def _isa() -> str:
    """What decides XLA's CPU code here: the vector extensions the CPU offers."""
    try:
        flags = next(
            line.split(":", 1)[1].split()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        )
    except (OSError, StopIteration):
        return "unknown"
    return "+".join(name for name in ("avx2", "fma", "avx512f", "avx512_bf16") if name in flags)


def _cartpole():
    env, params = envs.make("CartPole-v1")
    config = ppo.default_config("CartPole-v1").replace(total_timesteps=2_000)
    return jax.jit(ppo.make_train(config, env, params))(jax.random.key(0))


def _pendulum():
    env, params = envs.make("Pendulum-v1")
    config = ppo.default_config("Pendulum-v1").replace(total_timesteps=2 * 2048)
    return jax.jit(ppo.make_train(config, env, params))(jax.random.key(1))


def _cartpole_sweep():
    """Two seeds x two learning rates, vmapped: pins what vmapping over keys and a sweep gives."""
    env, params = envs.make("CartPole-v1")
    config = ppo.default_config("CartPole-v1").replace(total_timesteps=1_000)
    grid, _ = ppo.hyperparams_grid(config, learning_rate=[1e-3, 5e-3])
    keys = jnp.tile(jax.random.split(jax.random.key(2), 2), 2)
    hyperparams = jax.tree.map(lambda leaf: jnp.repeat(leaf, 2), grid)
    train = ppo.make_train(config, env, params)
    return jax.jit(jax.vmap(train))(keys, hyperparams)


RUNS = {"cartpole": _cartpole, "pendulum": _pendulum, "cartpole_sweep": _cartpole_sweep}


def _fingerprint(result) -> dict:
    """Every metric as float32 bit patterns, and the final parameters' hash and moments."""
    metrics = {
        name: np.asarray(value, np.float32).ravel().view(np.uint32).tolist()
        for name, value in sorted(result.metrics.items())
    }
    leaves = [np.asarray(leaf, np.float32) for leaf in jax.tree.leaves(result.params)]
    digest = hashlib.sha256(b"".join(leaf.tobytes() for leaf in leaves)).hexdigest()
    flat = np.concatenate([leaf.ravel() for leaf in leaves]).astype(np.float64)
    return {
        "metrics": metrics,
        "params_sha256": digest,
        "params_sum": float(flat.sum()),
        "params_sum_of_squares": float(np.square(flat).sum()),
    }


def _as_floats(bits: list[int]) -> np.ndarray:
    return np.asarray(bits, np.uint32).view(np.float32)


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN_FILE.read_text())


@pytest.mark.parametrize("name", sorted(RUNS))
def test_ppo_reproduces_its_golden_run(name, golden):
    expected = golden["runs"][name]
    got = _fingerprint(RUNS[name]())
    assert sorted(got["metrics"]) == sorted(expected["metrics"]), "metric names changed"
    if _isa() == golden["isa"]:
        for metric, bits in expected["metrics"].items():
            assert got["metrics"][metric] == bits, (
                f"{name}: metric {metric!r} differs bit for bit from the golden run "
                f"({_as_floats(got['metrics'][metric])} vs {_as_floats(bits)})"
            )
        assert got["params_sha256"] == expected["params_sha256"], (
            f"{name}: final parameters differ bit for bit from the golden run"
        )
    else:  # another instruction set: the same run to float rounding
        for metric, bits in expected["metrics"].items():
            np.testing.assert_allclose(
                _as_floats(got["metrics"][metric]),
                _as_floats(bits),
                rtol=1e-3,
                atol=1e-5,
                err_msg=f"{name}: {metric} (compared to rounding: CPU {_isa()} is not "
                f"{golden['isa']}, where the golden run was written)",
            )
        np.testing.assert_allclose(got["params_sum"], expected["params_sum"], rtol=1e-3)
        np.testing.assert_allclose(
            got["params_sum_of_squares"], expected["params_sum_of_squares"], rtol=1e-3
        )


def write_golden() -> None:
    """Runs every golden run and writes `ppo_golden.json`."""
    payload = {
        "isa": _isa(),
        "jax": jax.__version__,
        "written_by": "python -m tests.agents.ppo.test_golden --write",
        "runs": {name: _fingerprint(run()) for name, run in sorted(RUNS.items())},
    }
    GOLDEN_FILE.write_text(json.dumps(payload, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.agents.ppo.test_golden --write")
    import tests.conftest  # noqa: F401  (the tests' XLA flags and strict numerics)

    write_golden()
