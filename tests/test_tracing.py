"""`jaxrl.tracing.depend_on`: same values bit for bit, batched under vmap, folded away by XLA."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.tracing import depend_on


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
    out = jax.jit(depend_on)(tree, anchor)
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
        out = depend_on(tree, *anchors)
        for name, value in tree.items():
            np.testing.assert_array_equal(np.asarray(out[name]), np.asarray(value))


def test_keys_pass_through():
    key = jax.random.key(0)
    out = depend_on({"key": key}, jnp.ones(2))
    assert out["key"] is key


def test_leaves_are_batched_under_vmap_over_the_anchor():
    """Without depend_on a constant is unbatched inside vmap; with it, batched (one row per
    anchor), which is what lets a loop's batching rule batch the body once."""
    keys = jax.random.split(jax.random.key(0), 4)
    plain = jax.make_jaxpr(jax.vmap(lambda k: jnp.zeros(3)))(keys)
    tied = jax.make_jaxpr(jax.vmap(lambda k: depend_on(jnp.zeros(3), k)))(keys)
    assert plain.out_avals[0].shape == (4, 3)  # broadcast only at the output
    assert "random_unwrap" not in str(plain)
    # The tied zeros are computed per anchor: a batched [4, 3] value feeds the output.
    assert "random_unwrap" in str(tied)
    np.testing.assert_array_equal(
        jax.vmap(lambda k: depend_on(jnp.zeros(3), k))(keys), np.zeros((4, 3), np.float32)
    )


def test_xla_folds_the_dependency_away():
    """The compiled program reads nothing of the anchor: XLA folds `bits & 0` and `x - 0`."""
    compiled = jax.jit(lambda x, k: depend_on(x, k)).lower(jnp.ones(3), jax.random.key(0))
    hlo = compiled.compile().as_text()
    assert " and(" not in hlo and " subtract(" not in hlo, hlo
