"""Strict numerics for every test: implicit rank promotion ((N,1) + (N,)) is an error.

Tests compile at LLVM -O1 (XLA's default is -O2): most tests are bound by compile time, and the
learning tests ran no slower. On 2 cores, `XLA_FLAGS=--xla_backend_optimization_level=2 pytest
FILE` against plain `pytest FILE`: `tests/agents/test_ppo_chunks.py` 60 s -> 40 s,
`tests/agents/test_ppo_defaults.py -k "Acrobot or Pendulum or Catch"` 81 s -> 58 s. Results are
compared within a test, never against figures from another compile level.
"""

import os

_OPT_FLAG = "--xla_backend_optimization_level"
if _OPT_FLAG not in os.environ.get("XLA_FLAGS", ""):
    # Read when JAX's backend starts, so set before any test imports JAX; child processes
    # (the CLI's tests) inherit it.
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_OPT_FLAG}=1".strip()

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(0)
