"""jaxrl.envs.numerics: the fused Threefry against JAX's, uniforms, keys, and sin/cos accuracy."""

import jax
import jax.extend.random as jax_random
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.envs import numerics


def test_threefry_is_bit_exact_with_jax():
    key = jnp.array([0x12345678, 0x9ABCDEF0], jnp.uint32)
    counts = jnp.arange(64, dtype=jnp.uint32) * jnp.uint32(2654435761)
    first, second = numerics.threefry2x32(key[0], key[1], counts[:32], counts[32:])
    expected = jax_random.threefry_2x32(key, counts)
    np.testing.assert_array_equal(jnp.concatenate([first, second]), expected)


@pytest.mark.parametrize("shape", [(), (1,), (2,), (3,), (4,), (2, 3)])
def test_uniform_maps_the_legacy_threefry_bits_like_jax(shape):
    key = jax.random.key(11)
    values = numerics.uniform(key, shape, -0.5, 2.0)
    num_words = int(np.prod(shape))
    half = (num_words + 1) // 2
    bits = jax_random.threefry_2x32(
        jax.random.key_data(key), jnp.arange(2 * half, dtype=jnp.uint32)
    )[:num_words]
    unit = jax.lax.bitcast_convert_type((bits >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1
    assert values.shape == shape and values.dtype == jnp.float32
    np.testing.assert_array_equal(values, jnp.maximum(-0.5, unit * 2.5 - 0.5).reshape(shape))


def test_uniform_equals_jax_uniform_without_partitionable_threefry():
    with jax.threefry_partitionable(False):
        key = jax.random.key(7)
        np.testing.assert_array_equal(
            numerics.uniform(key, (4,), -1.0, 1.0),
            jax.random.uniform(key, (4,), minval=-1.0, maxval=1.0),
        )


def test_uniform_takes_array_bounds_raw_keys_and_stays_in_range():
    low, high = jnp.array([-3.0, 10.0]), jnp.array([-2.0, 10.5])
    keys = jax.random.split(jax.random.PRNGKey(0), 20_000)
    values = jax.vmap(lambda key: numerics.uniform(key, (2,), low, high))(keys)
    assert bool(jnp.all((values >= low[None]) & (values < high[None])))
    # Uniform on [low, high): mean at the middle, standard deviation width / sqrt(12).
    np.testing.assert_allclose(values.mean(0), (low + high) / 2, atol=0.01)
    np.testing.assert_allclose(values.std(0), (high - low) / np.sqrt(12), rtol=0.02)


def test_uniform_falls_back_to_jax_for_other_keys_and_dtypes():
    rbg = jax.random.key(3, impl="rbg")
    np.testing.assert_array_equal(
        numerics.uniform(rbg, (3,), 0.0, 2.0), jax.random.uniform(rbg, (3,), jnp.float32, 0.0, 2.0)
    )
    with jax.enable_x64(True):
        key = jax.random.key(3)
        values = numerics.uniform(key, (3,), 0.0, 2.0)
        assert values.dtype == jnp.float64
        np.testing.assert_array_equal(values, jax.random.uniform(key, (3,), jnp.float64, 0.0, 2.0))


def test_split_with_stream_zero_is_jax_split_for_typed_and_raw_keys():
    typed = jax.random.key(5)
    np.testing.assert_array_equal(
        jax.random.key_data(numerics.split(typed, 7)),
        jax.random.key_data(jax.random.split(typed, 7)),
    )
    raw = jax.random.PRNGKey(5)
    np.testing.assert_array_equal(numerics.split(raw, 7), jax.random.split(raw, 7))


def test_split_streams_give_distinct_keys_also_traced():
    key = jax.random.key(0)
    streams = jax.jit(jax.vmap(lambda s: jax.random.key_data(numerics.split(key, 64, s))))(
        jnp.arange(8)
    )
    words = np.asarray(streams).reshape(-1, 2)
    assert len({tuple(row) for row in words}) == len(words)


@pytest.mark.parametrize("bound", [0.3, 4.0, 100.0, numerics.SIN_COS_MAX_ABS])
def test_sin_cos_is_within_float32_rounding_of_float64(bound):
    x = np.random.default_rng(0).uniform(-bound, bound, 200_000).astype(np.float32)
    sin, cos = jax.jit(numerics.sin_cos)(x)
    assert sin.dtype == cos.dtype == jnp.float32
    exact = x.astype(np.float64)
    # One float32 ulp at 1 is 1.2e-7: errors are below that everywhere.
    assert np.max(np.abs(np.asarray(sin, np.float64) - np.sin(exact))) < 1e-7
    assert np.max(np.abs(np.asarray(cos, np.float64) - np.cos(exact))) < 1e-7
    # And, where the values are not near zero, within 2 ulp (relative).
    if bound <= 100:
        for got, want in ((sin, np.sin(exact)), (cos, np.cos(exact))):
            ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
            assert np.max(np.abs(np.asarray(got, np.float64) - want) / ulp) <= 2.0


def test_sin_cos_special_values_and_float64_passthrough():
    sin, cos = numerics.sin_cos(jnp.array([0.0, jnp.inf, -jnp.inf, jnp.nan], jnp.float32))
    np.testing.assert_array_equal(sin[:1], [0.0])
    np.testing.assert_array_equal(cos[:1], [1.0])
    assert bool(jnp.all(jnp.isnan(sin[1:]))) and bool(jnp.all(jnp.isnan(cos[1:])))
    with jax.enable_x64(True):
        x = jnp.linspace(-10.0, 10.0, 101, dtype=jnp.float64)
        sin, cos = numerics.sin_cos(x)
        np.testing.assert_array_equal(sin, jnp.sin(x))
        np.testing.assert_array_equal(cos, jnp.cos(x))
        assert numerics.sin(x).dtype == jnp.float64


def test_sin_and_cos_helpers_match_sin_cos():
    x = jnp.linspace(-7.0, 7.0, 57, dtype=jnp.float32)
    sin, cos = numerics.sin_cos(x)
    np.testing.assert_array_equal(numerics.sin(x), sin)
    np.testing.assert_array_equal(numerics.cos(x), cos)


def test_computed_once_is_exact_and_leaves_other_dtypes_alone():
    values = jnp.array([0.0, -0.0, 1e-30, -3.5, jnp.inf, -jnp.inf, jnp.nan, 3.4e38], jnp.float32)
    tree = {"floats": values, "ints": jnp.arange(3), "flags": jnp.array([True, False])}
    out = jax.jit(numerics.computed_once)(tree, jnp.int32(41))
    np.testing.assert_array_equal(out["floats"], values)
    assert np.array_equal(np.signbit(out["floats"]), np.signbit(values))
    assert out["ints"] is tree["ints"] or np.array_equal(out["ints"], tree["ints"])
    np.testing.assert_array_equal(out["flags"], tree["flags"])


def test_fused_hashes_off_gives_jax_own_draws():
    key = jax.random.key(2)
    with numerics.fused_hashes(False):
        np.testing.assert_array_equal(
            numerics.uniform(key, (4,), -1.0, 1.0),
            jax.random.uniform(key, (4,), jnp.float32, -1, 1),
        )
        np.testing.assert_array_equal(
            jax.random.key_data(numerics.split(key, 3)),
            jax.random.key_data(jax.random.split(key, 3)),
        )
        np.testing.assert_array_equal(
            jax.random.key_data(numerics.split(key, 3, stream=5)),
            jax.random.key_data(jax.random.split(jax.random.fold_in(key, 5), 3)),
        )
    # The context ends with the block: the fused uniform again.
    fused = numerics.uniform(key, (4,), -1.0, 1.0)
    with jax.threefry_partitionable(False):
        np.testing.assert_array_equal(fused, jax.random.uniform(key, (4,), jnp.float32, -1, 1))


def test_uniform_rejects_batches_with_a_one_line_error():
    with pytest.raises(ValueError, match="jax.random.uniform for batches"):
        numerics.uniform(jax.random.key(0), (numerics.MAX_UNIFORM_VALUES + 1,))


@pytest.mark.parametrize("size", [1, 7, 1023, 1024, 1057, 4096, 70_000])
@pytest.mark.parametrize("density", [0.0, 0.03, 0.5, 1.0])
def test_running_count_equals_cumsum(size, density):
    mask = np.random.default_rng(size).random(size) < density
    expected = np.cumsum(mask).astype(np.int32)
    counted = jax.jit(numerics.running_count)(jnp.asarray(mask))
    assert counted.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(counted), expected)


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4)])
def test_draws_from_bits_equal_jax_draws_from_the_key(shape):
    """In one program, `*_from_bits(jax.random.bits(key, shape))` is `jax.random.*(key, shape)`
    bit for bit (op by op, outside jit, the multiply-add may round differently)."""

    @jax.jit
    def both(key):
        bits = jax.random.bits(key, shape)
        ours = (
            numerics.uniform_from_bits(bits),
            numerics.uniform_from_bits(bits, -2.5, 0.75),
            numerics.normal_from_bits(bits),
            numerics.gumbel_from_bits(bits),
        )
        jaxs = (
            jax.random.uniform(key, shape),
            jax.random.uniform(key, shape, minval=-2.5, maxval=0.75),
            jax.random.normal(key, shape),
            jax.random.gumbel(key, shape),
        )
        return ours, jaxs

    for seed in range(4):
        ours, jaxs = both(jax.random.key(seed))
        for mine, expected in zip(ours, jaxs, strict=True):
            np.testing.assert_array_equal(mine, expected)


def test_draws_from_extreme_bits_stay_finite_and_in_range():
    bits = jnp.array([0, 1, 511, 512, 0x7FFFFFFF, 0xFFFFFE00, 0xFFFFFFFF], jnp.uint32)
    uniform = numerics.uniform_from_bits(bits, -1.0, 1.0)
    assert bool(jnp.all((uniform >= -1.0) & (uniform < 1.0)))
    assert bool(jnp.all(jnp.isfinite(numerics.normal_from_bits(bits))))
    assert bool(jnp.all(jnp.isfinite(numerics.gumbel_from_bits(bits))))
