"""`jaxrl.columns`: packing per-sample arrays into one float32 matrix is exact and invertible."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.columns import (
    FLOAT32_EXACT_INT_MAX,
    exact_in_float32,
    pack_columns,
    unpack_columns,
)


def _arrays(batch=(3, 5)):
    key_obs, key_action = jax.random.split(jax.random.key(0))
    return {
        "obs": jax.random.normal(key_obs, batch + (2, 4)),
        "action": jax.random.randint(key_action, batch, 0, 6),
        "done": jnp.arange(np.prod(batch)).reshape(batch) % 3 == 0,
        "length": jnp.full(batch, FLOAT32_EXACT_INT_MAX + 1, jnp.int32),
        "small": jnp.arange(np.prod(batch), dtype=jnp.int16).reshape(batch) - 7,
        "half": jnp.linspace(-2, 2, np.prod(batch), dtype=jnp.bfloat16).reshape(batch),
    }


def test_round_trip_is_exact_and_keeps_dtypes_and_shapes():
    arrays = _arrays()
    packed, passed, layout = pack_columns(arrays, 2, small_ints={"action"})
    # obs (8 columns), action, done, small and half; `length` is not vouched for.
    assert packed.shape == (3, 5, 12) and packed.dtype == jnp.float32
    assert layout.width == 12 and set(passed) == {"length"}
    unpacked = unpack_columns(packed, passed, layout)
    assert list(unpacked) == [c.name for c in layout.columns] + ["length"]
    for name, array in arrays.items():
        assert unpacked[name].dtype == array.dtype and unpacked[name].shape == array.shape
        np.testing.assert_array_equal(unpacked[name], array)


def test_unpacks_whatever_leading_axes_a_scan_or_a_gather_gives():
    """A packed `[N, K]` row stacked by a scan (`[T, N, K]`) or gathered unpacks the same way."""
    arrays = {name: value[0] for name, value in _arrays().items() if name != "length"}
    _, _, layout = pack_columns(arrays, 1, small_ints={"action"})

    def step(carry, t):
        shifted = {**arrays, "obs": arrays["obs"] + t}
        packed, passed, _ = pack_columns(shifted, 1, small_ints={"action"})
        return carry, (packed, passed)

    _, (packed, passed) = jax.jit(lambda: jax.lax.scan(step, 0, jnp.arange(4.0)))()
    unpacked = unpack_columns(packed, passed, layout)
    assert unpacked["obs"].shape == (4, 5, 2, 4)
    np.testing.assert_array_equal(unpacked["obs"][3], arrays["obs"] + 3)
    np.testing.assert_array_equal(unpacked["action"][2], arrays["action"])
    gathered = unpack_columns(packed[jnp.array([3, 0])], {}, layout)
    np.testing.assert_array_equal(gathered["done"][0], arrays["done"])


def test_an_unvouched_int32_passes_through_since_float32_would_round_it():
    big = jnp.array([FLOAT32_EXACT_INT_MAX + 1], jnp.int32)
    assert float(jnp.float32(big[0])) == FLOAT32_EXACT_INT_MAX  # what packing would lose
    packed, passed, layout = pack_columns({"big": big}, 1)
    assert packed.shape == (1, 0) and passed["big"] is big
    np.testing.assert_array_equal(unpack_columns(packed, passed, layout)["big"], big)


@pytest.mark.parametrize(
    ("dtype", "vouched", "exact"),
    [
        (jnp.float32, False, True),
        (jnp.bool_, False, True),
        (jnp.uint16, False, True),
        (jnp.int32, False, False),
        (jnp.int32, True, True),
        (jnp.uint32, True, True),
        (jnp.complex64, True, False),
    ],
)
def test_exact_in_float32(dtype, vouched, exact):
    assert exact_in_float32(dtype, vouched) is exact


def test_arrays_of_different_batches_are_a_one_line_error():
    with pytest.raises(ValueError, match="not the batch"):
        pack_columns({"a": jnp.zeros((3, 2)), "b": jnp.zeros((4,))}, 1)
    with pytest.raises(ValueError, match="at least one"):
        pack_columns({}, 1)
