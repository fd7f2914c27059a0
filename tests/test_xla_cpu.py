"""`jaxrl._xla_cpu`: each CPU workaround computes exactly what the plain code it replaces
computes (packed columns and scans, the one-call random draws, the sort-based shuffle, carries
batched from the start, the flat parameter vector). Whether each still pays is measured by the
scripts docs/performance.md names; tests/perf/ pins the program shapes they give."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxrl._xla_cpu import (
    FLOAT32_EXACT_INT_MAX,
    PACKED_SORT_MAX_SIZE,
    batched_from_start,
    column_layout,
    draw_words,
    exact_in_float32,
    pack_columns,
    pack_fields,
    permutation_from_bits,
    scan_packed,
    shuffled_minibatches,
    unpack_columns,
    unpack_fields,
)
from jaxrl.agents.ppo.losses import LossInfo
from jaxrl.agents.ppo.networks import ActorCritic, flat_params_of

NETWORK = ActorCritic(action_dim=2, discrete=True, hidden_sizes=(8, 8))


def _pack(arrays, batch_ndim, small_ints=()):
    layout = column_layout(arrays, batch_ndim, small_ints)
    return *pack_columns(arrays, layout), layout


def shuffled_indices(key, size):
    """The plain way: a permutation from `size` uniform floats, argsorted (stable)."""
    return jnp.argsort(jax.random.uniform(key, (size,))).astype(jnp.int32)


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
    packed, passed, layout = _pack(arrays, 2, small_ints={"action"})
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
    layout = column_layout(arrays, 1, small_ints={"action"})

    def step(carry, t):
        shifted = {**arrays, "obs": arrays["obs"] + t}
        packed, passed = pack_columns(shifted, layout)
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
    packed, passed, layout = _pack({"big": big}, 1)
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
        column_layout({"a": jnp.zeros((3, 2)), "b": jnp.zeros((4,))}, 1)
    with pytest.raises(ValueError, match="at least one"):
        column_layout({}, 1)


def _tree():
    return {
        "floats": jnp.array([0.0, -0.0, 1.5, jnp.inf, -jnp.inf, jnp.nan], jnp.float32),
        "halves": jnp.array([-0.0, 2.0], jnp.bfloat16),
        "ints": jnp.array([-3, 0, 7], jnp.int32),
        "small": jnp.array([255], jnp.uint8),
        "flags": jnp.array([True, False]),
        "scalar": jnp.float32(-0.0),
    }


@pytest.mark.parametrize(
    "anchor",
    [
        jax.random.key(3),
        jax.random.PRNGKey(3),
        jnp.array([[-0.0, jnp.nan]], jnp.float32),
        jnp.array([True]),
        jnp.array([7], jnp.int8),
        jnp.array(2.0, jnp.float16),
    ],
    ids=["typed_key", "raw_key", "float32", "bool", "int8", "float16"],
)
def test_values_dtypes_and_signs_are_unchanged(anchor):
    tree = _tree()
    out = jax.jit(batched_from_start)(tree, anchor)
    for name, value in tree.items():
        assert out[name].dtype == value.dtype, name
        assert out[name].shape == value.shape, name
        # Bit for bit: -0.0 stays -0.0, NaN stays NaN.
        np.testing.assert_array_equal(
            np.asarray(out[name]).reshape(-1).view(np.uint8),
            np.asarray(value).reshape(-1).view(np.uint8),
            err_msg=name,
        )


def test_empty_anchors_and_no_anchors_leave_the_tree_as_it_is():
    tree = _tree()
    for anchors in [(), (jnp.zeros((0,)),), ({"nothing": jnp.zeros((2, 0), jnp.int32)},)]:
        out = batched_from_start(tree, *anchors)
        for name, value in tree.items():
            np.testing.assert_array_equal(np.asarray(out[name]), np.asarray(value))


def test_keys_pass_through():
    key = jax.random.key(0)
    out = batched_from_start({"key": key}, jnp.ones(2))
    assert out["key"] is key


def test_leaves_are_batched_under_vmap_over_the_anchor():
    """Without batched_from_start a constant is unbatched inside vmap; with it, batched (one row per
    anchor), which is what lets a loop's batching rule batch the body once."""
    keys = jax.random.split(jax.random.key(0), 4)
    plain = jax.make_jaxpr(jax.vmap(lambda k: jnp.zeros(3)))(keys)
    tied = jax.make_jaxpr(jax.vmap(lambda k: batched_from_start(jnp.zeros(3), k)))(keys)
    assert plain.out_avals[0].shape == (4, 3)  # broadcast only at the output
    assert "random_unwrap" not in str(plain)
    # The tied zeros are computed per anchor: a batched [4, 3] value feeds the output.
    assert "random_unwrap" in str(tied)
    np.testing.assert_array_equal(
        jax.vmap(lambda k: batched_from_start(jnp.zeros(3), k))(keys), np.zeros((4, 3), np.float32)
    )


def test_unravel_and_its_gradient_match_ravel_pytree():
    """`unravel` lays parameters out as `ravel_pytree` does, and its custom gradient (one
    concatenate) equals differentiating through `ravel_pytree`'s slices."""
    flat_params = flat_params_of(NETWORK, (4,))
    unravel = flat_params.unravel
    flat = flat_params.init_from_bits(jax.random.bits(jax.random.key(0), (flat_params.size,)))
    reference, reference_unravel = ravel_pytree(unravel(flat))
    np.testing.assert_array_equal(reference, flat)
    obs = jax.random.normal(jax.random.key(1), (5, 4))

    def loss(unravel_fn, flat_params):
        policy, value = NETWORK.apply(unravel_fn(flat_params), obs)
        return jnp.sum(policy.logits**2) + jnp.sum(jnp.sin(value))

    grad = jax.jit(jax.grad(lambda f: loss(unravel, f)))(flat)
    reference_grad = jax.jit(jax.grad(lambda f: loss(reference_unravel, f)))(flat)
    np.testing.assert_allclose(grad, reference_grad, rtol=1e-6, atol=1e-7)


def test_initial_parameter_law_is_host_side_and_traceable():
    """Building the law inside a traced function (e.g. `make_train` under `jax.jit`) works."""
    flat = flat_params_of(NETWORK, (4,))
    assert flat.init_mean.dtype == flat.init_scale.dtype == np.float32
    traced = jax.jit(lambda x: x + jnp.sum(flat_params_of(NETWORK, (4,)).init_scale))(0.0)
    np.testing.assert_allclose(traced, flat.init_scale.sum(), rtol=1e-6)


@pytest.mark.parametrize("size", [1, 2, 5, 500, 512, 513, PACKED_SORT_MAX_SIZE + 3])
def test_shuffled_indices_is_a_permutation(size):
    shuffle = jax.jit(shuffled_indices, static_argnums=1)
    permutation = np.asarray(shuffle(jax.random.key(size), size))
    assert permutation.dtype == np.int32
    np.testing.assert_array_equal(np.sort(permutation), np.arange(size))


def test_shuffled_indices_is_uniform():
    """Each element lands in each position with probability 1/size (chi-square, 10 x 10)."""
    size, draws = 10, 20000
    keys = jax.random.split(jax.random.key(0), draws)
    permutations = np.asarray(jax.jit(jax.vmap(lambda k: shuffled_indices(k, size)))(keys))
    counts = np.stack([np.bincount(permutations[:, i], minlength=size) for i in range(size)])
    expected = draws / size
    chi_square = np.sum((counts - expected) ** 2 / expected)
    # 81 degrees of freedom: mean 81, std ~12.7; 150 is beyond 5 standard deviations.
    assert chi_square < 150, chi_square
    assert not np.array_equal(permutations[0], permutations[1])


def test_permutation_from_bits_is_the_stable_argsort_of_uniforms_from_the_same_bits():
    for size in (5, 500, PACKED_SORT_MAX_SIZE + 3):
        key = jax.random.key(size)
        np.testing.assert_array_equal(
            permutation_from_bits(jax.random.bits(key, (size,))), shuffled_indices(key, size)
        )


def test_the_initial_parameter_law_compiles_nothing():
    """`flat_params_of` runs no XLA program: each eager one costs a compile of its own."""
    network = ActorCritic(action_dim=3, discrete=True, hidden_sizes=(7, 5))  # unseen shapes
    compiles = []

    def listener(event, duration_s, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        flat_params_of(network, (6,))
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiles == []


def test_the_flat_law_is_the_networks_initialisers():
    """`flat_params_of`'s per-parameter scale is what each Flax initialiser draws: the
    kernels' empirical std over many draws of `network.init` matches it, layer by layer."""
    network = ActorCritic(action_dim=2, discrete=False, hidden_sizes=(16, 16), initial_log_std=-0.5)
    flat = flat_params_of(network, (4,))
    mean, scale, unravel = flat.init_mean, flat.init_scale, flat.unravel
    draws = jax.vmap(lambda key: network.init(key, jnp.zeros((4,))))(
        jax.random.split(jax.random.key(0), 400)
    )
    expected_mean, expected_scale = unravel(jnp.asarray(mean)), unravel(jnp.asarray(scale))
    for path, leaf in jax.tree_util.tree_leaves_with_path(draws):
        want_mean = _at(expected_mean, path)
        want_scale = _at(expected_scale, path)
        np.testing.assert_allclose(
            np.mean(leaf, axis=0), want_mean, atol=0.25 * np.max(want_scale) + 1e-7
        )
        np.testing.assert_allclose(
            np.std(leaf, axis=0).mean(), np.mean(want_scale), rtol=0.1, atol=1e-7
        )


def _at(tree, path):
    for entry in path:
        tree = tree[entry.key]
    return tree


def test_scan_packed_is_lax_scan():
    """Packed inputs and outputs give what `lax.scan` gives, dtypes and shapes included; an
    unvouched int32 passes through, and non-dict inputs and outputs pass as they are."""
    xs = {
        "obs": jax.random.normal(jax.random.key(0), (6, 4, 3)),
        "action": jnp.arange(24, dtype=jnp.int32).reshape(6, 4) % 5,
        "count": jnp.full((6, 4), FLOAT32_EXACT_INT_MAX + 7, jnp.int32),
        "done": jnp.arange(24).reshape(6, 4) % 3 == 0,
    }

    def step(carry, x):
        out = {
            "sum": jnp.sum(x["obs"], axis=-1) + carry,
            "action": x["action"] + 1,
            "count": x["count"] - 1,
            "done": ~x["done"],
        }
        return carry + 1.0, out

    plain = jax.jit(lambda: jax.lax.scan(step, jnp.float32(0), xs))()
    packed = jax.jit(lambda: scan_packed(step, jnp.float32(0), xs, small_ints={"action"}))()
    for got, want in zip(jax.tree.leaves(packed), jax.tree.leaves(plain), strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    array_ys = jax.jit(lambda: scan_packed(lambda c, _: (c + 1, c * 2), 0, None, length=3))()
    np.testing.assert_array_equal(array_ys[1], [0, 2, 4])


def test_shuffled_minibatches_is_a_gather_of_each_array():
    batch = {
        "obs": jax.random.normal(jax.random.key(0), (12, 2)),
        "action": jnp.arange(12, dtype=jnp.int32),
    }
    permutation = permutation_from_bits(jax.random.bits(jax.random.key(1), (12,)))
    minibatches = shuffled_minibatches(batch, permutation, 3, small_ints={"action"})
    for name, array in batch.items():
        expected = array[permutation].reshape((3, 4) + array.shape[1:])
        assert minibatches[name].dtype == array.dtype
        np.testing.assert_array_equal(minibatches[name], expected)


def test_pack_fields_round_trips_a_dataclass_of_scalars():
    info = LossInfo(*(jnp.float32(i) for i in range(6)))
    packed = pack_fields(info)
    assert packed.shape == (6,)
    assert unpack_fields(LossInfo, packed) == info


def test_draw_words_cuts_one_bits_call_in_order():
    key = jax.random.key(9)
    parts = draw_words(key, {"a": (2, 3), "b": (4,), "c": ()})
    whole = jax.random.bits(key, (11,))
    np.testing.assert_array_equal(parts["a"], whole[:6].reshape(2, 3))
    np.testing.assert_array_equal(parts["b"], whole[6:10])
    assert parts["c"].shape == () and int(parts["c"]) == int(whole[10])


@pytest.mark.parametrize("size", [1, 2, 5, 500, 512, 513, PACKED_SORT_MAX_SIZE + 3])
def test_permutation_from_bits_is_a_permutation(size):
    bits = jax.random.bits(jax.random.key(size), (size,))
    permutation = np.asarray(jax.jit(permutation_from_bits)(bits))
    assert permutation.dtype == np.int32
    np.testing.assert_array_equal(np.sort(permutation), np.arange(size))


def test_permutation_from_bits_is_uniform():
    """Each element lands in each position with probability 1/size (chi-square, 10 x 10)."""
    size, draws = 10, 20000
    bits = jax.random.bits(jax.random.key(0), (draws, size))
    permutations = np.asarray(jax.jit(jax.vmap(permutation_from_bits))(bits))
    counts = np.stack([np.bincount(permutations[:, i], minlength=size) for i in range(size)])
    expected = draws / size
    chi_square = np.sum((counts - expected) ** 2 / expected)
    # 81 degrees of freedom: mean 81, std ~12.7; 150 is beyond 5 standard deviations.
    assert chi_square < 150, chi_square
    assert not np.array_equal(permutations[0], permutations[1])
