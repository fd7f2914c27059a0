"""Loop carries that `jax.vmap` sees as batched from the start, so each loop body is batched once.

`jax.vmap` batches a `lax.scan` by re-tracing its body's jaxpr with the carries it knows to be
batched. A carry that starts as a constant (`jnp.zeros`, an optimizer's zero moments, an
episode counter from `reset`) starts unbatched; when the body makes it batched, JAX throws the
batched body away and batches it again. Nested loops multiply this: vmapping PPO's `train` over
seeds batched the update's body twice, and so the rollout, the epoch and the minibatch loops
inside it twice each: for 8 CartPole seeds, ~0.15 s of the ~0.7 s to trace and lower.

`depend_on(tree, *anchors)` returns `tree` with the same values, made data-dependent on the
anchors (each leaf minus their bits AND 0, cast): under `vmap` over any anchor (the seeds' keys,
a sweep's hyperparameters) every leaf is batched from the start. XLA folds the added zero away,
so the compiled program reads nothing more (`tests/test_tracing.py`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import jax
import jax.numpy as jnp

Tree = TypeVar("Tree")


def _zero_bits(anchor: Any) -> jax.Array:
    """A uint32 zero that depends on `anchor`'s first element (any array, PRNG keys included;
    a constant zero for an empty one)."""
    anchor = jnp.asarray(anchor)
    if jnp.issubdtype(anchor.dtype, jax.dtypes.prng_key):
        anchor = jax.random.key_data(anchor)
    if anchor.size == 0:
        return jnp.uint32(0)
    first = jnp.ravel(anchor)[0]
    if first.dtype == jnp.bool_ or jnp.issubdtype(first.dtype, jnp.integer):
        first = first.astype(jnp.uint32)
    elif first.dtype.itemsize != 4:
        first = first.astype(jnp.float32)
    return jnp.bitwise_and(jax.lax.bitcast_convert_type(first, jnp.uint32), jnp.uint32(0))


def depend_on(tree: Tree, *anchors: Any) -> Tree:
    """`tree` with unchanged values (bit for bit), each numeric or bool leaf made data-dependent
    on every leaf of `anchors` (arrays or pytrees), so that under `jax.vmap` over any of them it
    is batched; other leaves (PRNG keys) pass through. Use it on a loop's constant initial
    carries (see the module docstring)."""
    zero = jnp.uint32(0)
    for anchor in jax.tree.leaves(anchors):
        zero = jnp.bitwise_or(zero, _zero_bits(anchor))

    def leaf(value):
        value = jnp.asarray(value)
        if value.dtype == jnp.bool_:
            return jnp.logical_or(value, zero.astype(jnp.bool_))
        if jnp.issubdtype(value.dtype, jnp.number):
            return value - zero.astype(value.dtype)  # x - (+0) is x, -0.0 included
        return value

    return jax.tree.map(leaf, tree)
