"""Discrete and Box: sample, contains, clip."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.envs.spaces import Box, Discrete


def test_discrete_samples_every_action_uniformly():
    space = Discrete(4)
    samples = np.asarray(jax.vmap(space.sample)(jax.random.split(jax.random.key(0), 8000)))
    np.testing.assert_allclose(np.bincount(samples, minlength=4) / 8000, 0.25, atol=0.02)
    assert samples.dtype == np.int32


@pytest.mark.parametrize("x, inside", [(0, True), (3, True), (4, False), (-1, False), (1.0, False)])
def test_discrete_contains(x, inside):
    assert bool(Discrete(4).contains(jnp.asarray(x))) == inside


def test_discrete_rejects_an_empty_space():
    with pytest.raises(ValueError, match="positive"):
        Discrete(0)


def test_box_samples_inside_finite_bounds_and_finite_values_outside():
    space = Box(
        low=np.array([-1.0, 0.0, -np.inf]), high=np.array([1.0, np.inf, np.inf]), shape=(3,)
    )
    samples = np.asarray(jax.vmap(space.sample)(jax.random.split(jax.random.key(0), 2000)))
    assert np.all((samples[:, 0] >= -1) & (samples[:, 0] <= 1))
    assert np.all(samples[:, 1] >= 0) and np.all(np.isfinite(samples))
    assert all(bool(space.contains(s)) for s in samples[:100])


def test_box_contains_checks_shape_and_bounds_and_clip_projects():
    space = Box(-2.0, 2.0, (1,))
    assert bool(space.contains(jnp.array([1.5])))
    assert not bool(space.contains(jnp.array([2.5])))
    assert not bool(space.contains(jnp.array([0.0, 0.0])))
    np.testing.assert_array_equal(space.clip(jnp.array([3.0])), [2.0])


def test_box_rejects_inverted_bounds():
    with pytest.raises(ValueError, match="exceeds"):
        Box(np.array([1.0]), np.array([0.0]), (1,))
