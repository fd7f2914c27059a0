"""Compiling a whole training program once, with compile-time-friendly XLA options on the CPU."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
from flax import struct

# LLVM at -O1 instead of -O2: on CartPole PPO a shorter compile at an unchanged or shorter run.
# XLA's CPU_OPT_PRESET_FAST_COMPILE preset, used here until session 7, is left out: it also
# turns off fusion passes, so the program had ~25% more kernels (a rollout step 92 instead of 68, a
# minibatch step 109 instead of 86), each compiled and launched: a longer compile and run.
# These apply to one program's compile, never process-wide, and only on the CPU backend.
CPU_FAST_COMPILE_OPTIONS = {"xla_backend_optimization_level": 1}
# XLA's older loop emitters instead of its fusion emitters: compile ~40% shorter, run ~1.7x
# longer (their tanh is not vectorised), half the peak memory. For programs whose run is short
# next to their compile.
CPU_FASTEST_COMPILE_OPTIONS = {**CPU_FAST_COMPILE_OPTIONS, "xla_cpu_use_fusion_emitters": False}
# Each kernel on one thread: XLA's parallel task assignment splits a kernel into parts run by
# several threads, which costs more than it saves on small arrays (PPO with 5 envs:
# `ppo.parallel_tasks_pay_off`).
CPU_ONE_THREAD_PER_KERNEL_OPTIONS = {"xla_disable_hlo_passes": "cpu-parallel-task-assigner"}
_CPU_OPTIONS = {
    False: {},
    True: CPU_FAST_COMPILE_OPTIONS,
    "fast": CPU_FAST_COMPILE_OPTIONS,
    "fastest": CPU_FASTEST_COMPILE_OPTIONS,
}


@struct.dataclass
class CompileTimes:
    """Seconds spent tracing (to StableHLO) and compiling (XLA)."""

    trace_s: float = struct.field(pytree_node=False)
    compile_s: float = struct.field(pytree_node=False)


def compile_program(
    fn: Callable[..., Any],
    *example_args: Any,
    fast_compile: bool | str = True,
    parallel_tasks: bool = True,
) -> tuple[Callable[..., Any], CompileTimes]:
    """`jax.jit(fn)` lowered and compiled for `example_args`' shapes, with its timings.

    Args:
        fn: a pure function (e.g. `train` or `jax.vmap(train)`), or one already jitted (e.g.
            with shardings, as `jaxrl.distributed.sharded_vmap` returns), lowered as it is.
        *example_args: arguments whose shapes and dtypes the program is compiled for.
        fast_compile: on the CPU, True or "fast" compiles with `CPU_FAST_COMPILE_OPTIONS`
            (shorter compile, same run time), "fastest" with `CPU_FASTEST_COMPILE_OPTIONS`
            (shorter still, slower run: for runs of a few seconds), False with XLA's defaults.
            Other backends always use XLA's defaults.
        parallel_tasks: on the CPU, False runs each kernel on one thread
            (`CPU_ONE_THREAD_PER_KERNEL_OPTIONS`): for programs of small arrays, such as PPO
            with a few envs, where handing a kernel's parts to other threads costs more than
            the work.

    Returns:
        The compiled program (call it with arguments of the same shapes) and its compile times.
    """
    if not isinstance(fast_compile, (bool, str)) or fast_compile not in _CPU_OPTIONS:
        raise ValueError(f"fast_compile={fast_compile!r}: use True, False, 'fast' or 'fastest'.")
    start = time.perf_counter()
    lowered = lower(fn, *example_args)
    traced = time.perf_counter()
    options = {}
    if jax.default_backend() == "cpu":
        options = dict(_CPU_OPTIONS[fast_compile])
        if not parallel_tasks:
            options.update(CPU_ONE_THREAD_PER_KERNEL_OPTIONS)
    compiled = lowered.compile(compiler_options=options)
    done = time.perf_counter()
    return compiled, CompileTimes(trace_s=traced - start, compile_s=done - traced)


def lower(fn: Callable[..., Any], *example_args: Any) -> Any:
    """`fn` lowered for `example_args`: as it is when already jitted, else through `jax.jit`."""
    jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
    return jitted.lower(*example_args)
