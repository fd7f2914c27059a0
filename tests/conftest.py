"""Strict numerics for every test: implicit rank promotion ((N,1) + (N,)) is an error."""

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(0)
