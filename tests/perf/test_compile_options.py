"""What each CPU compile option does to the compiled program (`jaxrl.CompileOptions`)."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.compilation import CompileOptions, compile_program


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU compiler options")
def test_fastest_hands_element_wise_work_to_ynnpack():
    def layer(x, w):
        return jnp.tanh(x @ w + 1.0) * 2.0 - jnp.exp(x).sum()

    x, w = jnp.ones((100, 64)) / 8, jnp.ones((64, 64)) / 64
    fastest, _ = compile_program(layer, x, w, options=CompileOptions(fast_compile="fastest"))
    fast, _ = compile_program(layer, x, w, options=CompileOptions(fast_compile="fast"))
    # XLA's CPU backend marks a YNNPACK call with its fusion kind; "fastest" leaves no
    # element-wise kernel to its loop emitters here.
    assert '"kind":"__ynn_fusion"' in fastest.as_text()
    assert "kind=kLoop" not in fastest.as_text()
    np.testing.assert_allclose(
        np.asarray(fastest(x, w)), np.asarray(fast(x, w)), rtol=1e-5, atol=1e-5
    )


@pytest.mark.skipif(
    jax.default_backend() != "cpu" or (os.cpu_count() or 1) < 2,
    reason="a CPU compiler option; XLA splits kernels only when it has several threads",
)
def test_parallel_tasks_false_keeps_each_kernel_on_one_thread():
    def big(x):
        return jnp.tanh(x) * 2.0 + 1.0

    x = jnp.ones((1 << 20,))
    lowered = jax.jit(big).lower(x)
    # XLA's own element-wise kernels, whatever the tests' flags hand to YNNPACK.
    xla_kernels = {
        "xla_cpu_use_fusion_emitters": True,
        "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT",
    }
    split, whole = (
        lowered.compile({**CompileOptions(parallel_tasks=tasks).xla_options(), **xla_kernels})
        for tasks in (True, False)
    )
    # XLA marks a kernel it splits across threads with its partition count.
    assert "outer_dimension_partitions" in split.as_text()
    assert "outer_dimension_partitions" not in whole.as_text()
    np.testing.assert_array_equal(np.asarray(split(x)), np.asarray(whole(x)))
