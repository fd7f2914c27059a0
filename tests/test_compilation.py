"""`jaxrl.jit` and `compile_program`: every compile level gives the program's results, bad options
are one-line errors before anything compiles, and `loop_bodies` reads a compiled program."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl import compilation
from jaxrl.compilation import CompileOptions, compile_program, loop_bodies, options_for_run


def _program(x):
    def body(carry, _):
        return jnp.tanh(carry @ x) + jnp.sin(carry), jnp.sum(carry)

    return jax.lax.scan(body, jnp.ones(x.shape[0]), None, 16)


@pytest.mark.parametrize("parallel_tasks", [True, False])
@pytest.mark.parametrize("level", [True, False, "fast", "fastest"])
def test_every_compile_level_computes_the_program(level, parallel_tasks):
    x = jax.random.normal(jax.random.key(0), (8, 8)) / 4
    expected = jax.jit(_program)(x)
    options = CompileOptions(fast_compile=level, parallel_tasks=parallel_tasks)
    compiled, times = compile_program(_program, x, options=options)
    for program in (compiled, jaxrl.jit(_program, options)):
        for got, want in zip(jax.tree.leaves(program(x)), jax.tree.leaves(expected), strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    assert times.trace_s > 0 and times.compile_s > 0


def test_an_already_jitted_program_is_compiled_as_it_is():
    x = jnp.eye(4) / 2
    expected = jax.jit(_program)(x)
    options = CompileOptions(fast_compile="fastest")
    compiled, _ = compile_program(jax.jit(_program), x, options=options)
    for got, want in zip(jax.tree.leaves(compiled(x)), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_bad_options_are_one_line_errors_naming_the_choices():
    with pytest.raises(ValueError, match="use True, False, 'fast' or 'fastest'"):
        CompileOptions(fast_compile="turbo")
    with pytest.raises(ValueError, match="parallel_tasks='no': use True or False"):
        CompileOptions(parallel_tasks="no")
    with pytest.raises(ValueError, match="gradient_samples=0: pass a positive int"):
        options_for_run(gradient_samples=0, envs=4)


def test_options_for_run_follow_the_run_length_and_the_envs():
    limit = compilation.FASTEST_COMPILE_MAX_SAMPLES
    assert options_for_run(gradient_samples=limit, envs=5) == CompileOptions("fastest", False)
    assert options_for_run(gradient_samples=limit + 1, envs=64) == CompileOptions("fast", True)


def test_other_backends_take_xlas_defaults():
    assert CompileOptions("fastest", False).xla_options("gpu") == {}
    assert CompileOptions(False).xla_options("cpu") == {}
    assert CompileOptions().xla_options("cpu") == compilation.CPU_FAST_COMPILE_OPTIONS


def test_an_experimental_option_this_jaxlib_rejects_is_left_out(monkeypatch):
    unknown = {"xla_cpu_not_an_option_of_any_jaxlib": True}
    bad_value = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_NOT_A_TYPE"}
    assert not compilation._accepted(*next(iter(unknown.items())))
    assert not compilation._accepted(*next(iter(bad_value.items())))
    monkeypatch.setattr(compilation, "_OPTIONAL_CPU_OPTIONS", frozenset({*unknown, *bad_value}))
    kept = {"xla_cpu_enable_fast_math": False}
    assert compilation._supported({**unknown, **bad_value, **kept}) == kept


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
