"""`compile_program`: its compile levels give the program's results, and a bad level is a
one-line error before anything compiles."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import compilation
from jaxrl.compilation import compile_lowered, compile_program, loop_bodies


def _program(x):
    def body(carry, _):
        return jnp.tanh(carry @ x) + jnp.sin(carry), jnp.sum(carry)

    return jax.lax.scan(body, jnp.ones(x.shape[0]), None, 16)


@pytest.mark.parametrize("parallel_tasks", [True, False])
@pytest.mark.parametrize("level", [True, False, "fast", "fastest"])
def test_every_compile_level_computes_the_program(level, parallel_tasks):
    x = jax.random.normal(jax.random.key(0), (8, 8)) / 4
    expected = jax.jit(_program)(x)
    compiled, times = compile_program(
        _program, x, fast_compile=level, parallel_tasks=parallel_tasks
    )
    for got, want in zip(jax.tree.leaves(compiled(x)), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    assert times.trace_s > 0 and times.compile_s > 0


def test_an_already_jitted_program_is_compiled_as_it_is():
    x = jnp.eye(4) / 2
    expected = jax.jit(_program)(x)
    compiled, _ = compile_program(jax.jit(_program), x, fast_compile="fastest")
    for got, want in zip(jax.tree.leaves(compiled(x)), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_an_unknown_level_is_a_one_line_error_naming_the_choices():
    with pytest.raises(ValueError, match="use True, False, 'fast' or 'fastest'"):
        compile_program(_program, jnp.eye(2), fast_compile="turbo")
    with pytest.raises(ValueError, match="parallel_tasks='no': use True or False"):
        compile_program(_program, jnp.eye(2), parallel_tasks="no")


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU compiler options")
def test_fastest_hands_element_wise_work_to_ynnpack():
    def layer(x, w):
        return jnp.tanh(x @ w + 1.0) * 2.0 - jnp.exp(x).sum()

    x, w = jnp.ones((100, 64)) / 8, jnp.ones((64, 64)) / 64
    fastest, _ = compile_program(layer, x, w, fast_compile="fastest")
    fast, _ = compile_program(layer, x, w, fast_compile="fast")
    # XLA's CPU backend marks a YNNPACK call with its fusion kind; "fastest" leaves no
    # element-wise kernel to its loop emitters here.
    assert '"kind":"__ynn_fusion"' in fastest.as_text()
    assert "kind=kLoop" not in fastest.as_text()
    np.testing.assert_allclose(
        np.asarray(fastest(x, w)), np.asarray(fast(x, w)), rtol=1e-5, atol=1e-5
    )


def test_compile_lowered_leaves_out_an_optional_option_this_jaxlib_rejects(monkeypatch):
    lowered = jax.jit(lambda x: x * 2).lower(jnp.ones(3))
    unknown = {"xla_cpu_not_an_option_of_any_jaxlib": True}
    bad_value = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_NOT_A_TYPE"}
    # Not optional: XLA's own error stands.
    with pytest.raises(jax.errors.JaxRuntimeError, match="No such compile option"):
        compile_lowered(lowered, unknown)
    monkeypatch.setattr(compilation, "_OPTIONAL_CPU_OPTIONS", frozenset({*unknown, *bad_value}))
    compiled = compile_lowered(lowered, {**unknown, **bad_value, "xla_cpu_enable_fast_math": False})
    np.testing.assert_array_equal(np.asarray(compiled(jnp.ones(3))), [2.0, 2.0, 2.0])


@pytest.mark.skipif(
    jax.default_backend() != "cpu" or (os.cpu_count() or 1) < 2,
    reason="a CPU compiler option; XLA splits kernels only when it has several threads",
)
def test_parallel_tasks_false_keeps_each_kernel_on_one_thread():
    def big(x):
        return jnp.tanh(x) * 2.0 + 1.0

    x = jnp.ones((1 << 20,))
    split, _ = compile_program(big, x, parallel_tasks=True)
    whole, _ = compile_program(big, x, parallel_tasks=False)
    # XLA marks a kernel it splits across threads with its partition count.
    assert "outer_dimension_partitions" in split.as_text()
    assert "outer_dimension_partitions" not in whole.as_text()
    np.testing.assert_array_equal(np.asarray(split(x)), np.asarray(whole(x)))


def test_loop_bodies_follow_the_nesting_and_the_trip_counts():
    def nested(x):
        def inner(carry, _):
            return jnp.tanh(carry * 1.5) + jnp.sin(carry), None

        def outer(carry, _):
            carry, _ = jax.lax.scan(inner, carry, None, 7)
            return jnp.cos(carry) * 2.0, None

        return jax.lax.scan(outer, x, None, 3)[0]

    compiled, _ = compile_program(nested, jnp.ones(5))
    bodies = loop_bodies(compiled.as_text())
    assert bodies[0].depth == 0 and bodies[0].executions == 1
    loops = [(body.depth, body.trip_count, body.executions) for body in bodies[1:]]
    assert loops == [(1, 3, 3), (2, 7, 21)]
    assert all(body.launches >= 1 for body in bodies[1:])
