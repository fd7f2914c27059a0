"""Compiling a whole training program once, with compile-time-friendly XLA options on the CPU."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any

import jax
from flax import struct

# LLVM at -O1 instead of -O2: on CartPole PPO a shorter compile at an unchanged or shorter run.
# XLA's CPU_OPT_PRESET_FAST_COMPILE preset, used here until session 7, is left out: it also
# turns off fusion passes. With it CartPole PPO's rollout step launches 90 kernels and copies
# instead of 47, a minibatch step 116 instead of 86, each compiled and run on its own (`python
# experiments/ppo_kernels.py [--xla-option xla_cpu_opt_preset=CPU_OPT_PRESET_FAST_COMPILE]`).
# These apply to one program's compile, never process-wide, and only on the CPU backend.
CPU_FAST_COMPILE_OPTIONS = {"xla_backend_optimization_level": 1}
# Element-wise and reduction fusions handed to YNNPACK, the kernel library XLA's CPU backend
# links (by default it takes dots and what fuses into them): a library call compiles nothing
# and its loops are vectorised, where the older loop emitters' are not at LLVM -O1. An
# experimental XLA option: `compile_program` drops it where the installed jaxlib lacks it.
CPU_YNN_ELEMENTWISE_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": (
        "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_ELTWISE,LIBRARY_FUSION_TYPE_REDUCE"
    )
}
# XLA's older loop emitters instead of its fusion emitters, with YNNPACK for element-wise work:
# on CartPole PPO trace+compile 1.48 s against "fast"'s 2.62 s, run 0.48 s against 0.41 s
# (without YNNPACK's share ~2x: its tanh layers were the slow part), peak RSS 290 against 491
# MiB (`results/bench-ppo-s10`). For programs whose run is short next to their compile.
CPU_FASTEST_COMPILE_OPTIONS = {
    **CPU_FAST_COMPILE_OPTIONS,
    "xla_cpu_use_fusion_emitters": False,
    **CPU_YNN_ELEMENTWISE_OPTIONS,
}
# Options a jaxlib may not know (experimental in XLA): left out there rather than failing.
_OPTIONAL_CPU_OPTIONS = frozenset(CPU_YNN_ELEMENTWISE_OPTIONS)
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
    options = cpu_compile_options(fast_compile, parallel_tasks)
    if jax.default_backend() != "cpu":
        options = {}
    start = time.perf_counter()
    lowered = lower(fn, *example_args)
    traced = time.perf_counter()
    compiled = compile_lowered(lowered, options)
    done = time.perf_counter()
    return compiled, CompileTimes(trace_s=traced - start, compile_s=done - traced)


def compile_lowered(lowered: Any, options: dict) -> Any:
    """`lowered.compile(compiler_options=options)`, leaving out any experimental option
    (`_OPTIONAL_CPU_OPTIONS`) that this jaxlib does not know or whose value it rejects; XLA
    checks options before it compiles, so a retry costs nothing."""
    while True:
        try:
            return lowered.compile(compiler_options=options)
        except jax.errors.JaxRuntimeError as error:
            rejected = re.search(
                r"No such compile option: '(\w+)'|While setting option (\w+),", str(error)
            )
            name = rejected and (rejected.group(1) or rejected.group(2))
            if name not in _OPTIONAL_CPU_OPTIONS or name not in options:
                raise
            options = {k: v for k, v in options.items() if k != name}


def cpu_compile_options(fast_compile: bool | str = True, parallel_tasks: bool = True) -> dict:
    """The XLA compiler options `compile_program` passes on the CPU (its arguments' meaning)."""
    if not isinstance(fast_compile, (bool, str)) or fast_compile not in _CPU_OPTIONS:
        raise ValueError(f"fast_compile={fast_compile!r}: use True, False, 'fast' or 'fastest'.")
    if not isinstance(parallel_tasks, bool):
        raise ValueError(f"parallel_tasks={parallel_tasks!r}: use True or False.")
    options = dict(_CPU_OPTIONS[fast_compile])
    if not parallel_tasks:
        options.update(CPU_ONE_THREAD_PER_KERNEL_OPTIONS)
    return options


def lower(fn: Callable[..., Any], *example_args: Any) -> Any:
    """`fn` lowered for `example_args`: as it is when already jitted, else through `jax.jit`."""
    jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
    return jitted.lower(*example_args)


@dataclasses.dataclass(frozen=True)
class LoopBody:
    """One computation of a compiled CPU program that launches kernels: the entry or a loop body.

    Attributes:
        name: XLA's name for the computation.
        depth: loop nesting (0: the program's entry computation).
        trip_count: iterations per execution of its loop, when XLA knows it (None otherwise).
        executions: times it runs per run of the program (the product of the enclosing loops'
            trip counts; None when one is unknown).
        launches: thunks it launches per execution: fusions, dots, sorts, copies, custom calls
            (each a separate task for XLA's CPU runtime; loops and calls not counted).
    """

    name: str
    depth: int
    trip_count: int | None
    executions: int | None
    launches: int


#: Instructions that launch no work of their own on XLA's CPU runtime.
_NO_LAUNCH = {"parameter", "get-tuple-element", "tuple", "constant", "bitcast", "while", "call"}


def loop_bodies(hlo_text: str) -> list[LoopBody]:
    """The entry and every loop body of an optimised CPU program (`compiled.as_text()`), in
    nesting order, with the kernels each launches per execution.

    XLA's CPU backend compiles each fusion as its own kernel and runs each as its own task:
    compile time grows with the number of kernels, and for small arrays so does run time.
    """
    computations: dict[str, list[str]] = {}
    entry, current = None, None
    for line in hlo_text.splitlines():
        header = re.match(r"^(ENTRY )?%?([\w.\-]+) .*\{$", line)
        if header:
            current = header.group(2)
            computations[current] = []
            entry = current if header.group(1) else entry
        elif line.startswith("}"):
            current = None
        elif current is not None and line.strip():
            computations[current].append(re.sub(r"/\*[^*]*\*/", "", line.strip()))

    def opcodes(name):
        for line in computations[name]:
            found = re.search(r"\s([a-z][\w\-]*)\(", line.split(" = ", 1)[-1])
            if found:
                yield found.group(1), line

    bodies: list[LoopBody] = []

    def visit(name, depth, trip_count, executions, record=True):
        ops = list(opcodes(name))
        if record:
            launches = sum(op not in _NO_LAUNCH for op, _ in ops)
            bodies.append(LoopBody(name, depth, trip_count, executions, launches))
        for op, line in ops:
            if op == "while":
                body = re.search(r"body=%?([\w.\-]+)", line).group(1)
                trips = re.search(r'"n":"(\d+)"', line)
                trips = int(trips.group(1)) if trips else None
                runs = None if trips is None or executions is None else executions * trips
                visit(body, depth + 1, trips, runs)
            elif op == "call":  # a wrapper XLA outlined: its loops belong to this level
                for callee in re.findall(r"to_apply=%?([\w.\-]+)", line):
                    if callee in computations:
                        visit(callee, depth, trip_count, executions, record=False)

    if entry is not None:
        visit(entry, 0, None, 1)
    return bodies
