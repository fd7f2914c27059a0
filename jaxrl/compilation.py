"""Compiling a whole training program once, with compile-time-friendly XLA options on the CPU.

`jit(train, options)` is `jax.jit` with the options that suit the run (a learner's
`compile_options(config)` picks them); `compile_program` also times the trace and the compile;
`loop_bodies` counts the kernels each loop of a compiled CPU program launches.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Callable
from typing import Any

import jax
from flax import struct

# LLVM at -O1 instead of -O2: a shorter compile at an unchanged or shorter run. XLA's
# CPU_OPT_PRESET_FAST_COMPILE preset is left out: it also turns off fusion passes, so more kernels
# are compiled and launched. These apply to one program's compile, never process-wide.
CPU_FAST_COMPILE_OPTIONS = {"xla_backend_optimization_level": 1}
# Element-wise and reduction fusions handed to YNNPACK, the kernel library XLA's CPU backend
# links (by default it takes dots and what fuses into them): a library call compiles nothing
# and its loops are vectorised, where the older loop emitters' are not at LLVM -O1. An
# experimental XLA option, left out where the installed jaxlib lacks it.
CPU_YNN_ELEMENTWISE_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": (
        "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_ELTWISE,LIBRARY_FUSION_TYPE_REDUCE"
    )
}
# XLA's older loop emitters instead of its fusion emitters, with YNNPACK for element-wise work:
# a much shorter compile for a somewhat slower run, for programs whose run is short next to
# their compile (docs/performance.md).
CPU_FASTEST_COMPILE_OPTIONS = {
    **CPU_FAST_COMPILE_OPTIONS,
    "xla_cpu_use_fusion_emitters": False,
    **CPU_YNN_ELEMENTWISE_OPTIONS,
}
# Options a jaxlib may not know (experimental in XLA): left out there rather than failing.
_OPTIONAL_CPU_OPTIONS = frozenset(CPU_YNN_ELEMENTWISE_OPTIONS)
# Each kernel on one thread: XLA's parallel task assignment splits a kernel into parts run by
# several threads, which costs more than it saves on small arrays.
CPU_ONE_THREAD_PER_KERNEL_OPTIONS = {"xla_disable_hlo_passes": "cpu-parallel-task-assigner"}
_CPU_OPTIONS = {
    False: {},
    True: CPU_FAST_COMPILE_OPTIONS,
    "fast": CPU_FAST_COMPILE_OPTIONS,
    "fastest": CPU_FASTEST_COMPILE_OPTIONS,
}
#: Up to this many gradient samples per device (env steps x epochs x runs vmapped on it), the
#: "fastest" level reaches trained parameters sooner than "fast": its shorter compile outweighs
#: its slower run.
FASTEST_COMPILE_MAX_SAMPLES = 4_000_000
#: From this many envs on a device (runs vmapped on it included), splitting a kernel across CPU
#: threads pays off; below it the hand-offs cost more than the work they share.
PARALLEL_TASKS_MIN_ENVS = 64


@dataclasses.dataclass(frozen=True)
class CompileOptions:
    """How `jit` and `compile_program` compile on the CPU; other backends take XLA's defaults.

    Attributes:
        fast_compile: "fast" (or True): LLVM at -O1, a shorter compile at the same run time;
            "fastest": also XLA's older loop emitters and YNNPACK for element-wise work, a
            shorter compile still for a slower run (for runs of seconds); False: XLA's defaults.
        parallel_tasks: False runs each kernel on one thread, faster for programs of small
            arrays (a few envs), where handing a kernel's parts to other threads costs more
            than the work.
    """

    fast_compile: bool | str = "fast"
    parallel_tasks: bool = True

    def __post_init__(self):
        if not isinstance(self.fast_compile, (bool, str)) or self.fast_compile not in _CPU_OPTIONS:
            raise ValueError(
                f"fast_compile={self.fast_compile!r}: use True, False, 'fast' or 'fastest'."
            )
        if not isinstance(self.parallel_tasks, bool):
            raise ValueError(f"parallel_tasks={self.parallel_tasks!r}: use True or False.")

    def xla_options(self, backend: str | None = None) -> dict[str, Any]:
        """The XLA compiler options for `backend` (default: JAX's default backend)."""
        backend = jax.default_backend() if backend is None else backend
        if backend != "cpu":
            return {}
        options = dict(_CPU_OPTIONS[self.fast_compile])
        if not self.parallel_tasks:
            options.update(CPU_ONE_THREAD_PER_KERNEL_OPTIONS)
        return _supported(options)


def options_for_run(*, gradient_samples: int, envs: int) -> CompileOptions:
    """The options that bring a learner's run on the CPU to trained parameters soonest.

    Args:
        gradient_samples: samples the run's gradient steps process on one device (env steps x
            passes over them x runs vmapped on the device): "fastest" up to
            `FASTEST_COMPILE_MAX_SAMPLES`, where compile time dominates, else "fast".
        envs: envs stepped at once on one device (vmapped runs included): each kernel on one
            thread below `PARALLEL_TASKS_MIN_ENVS`.
    """
    for name, value in (("gradient_samples", gradient_samples), ("envs", envs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: pass a positive int.")
    return CompileOptions(
        fast_compile="fastest" if gradient_samples <= FASTEST_COMPILE_MAX_SAMPLES else "fast",
        parallel_tasks=envs >= PARALLEL_TASKS_MIN_ENVS,
    )


def jit(fn: Callable[..., Any], options: CompileOptions | None = None, **jit_kwargs: Any):
    """`jax.jit(fn, **jit_kwargs)` compiling with `options` on the CPU (default
    `CompileOptions()`); the backend is read when `jit` is called."""
    options = CompileOptions() if options is None else options
    return jax.jit(fn, compiler_options=options.xla_options() or None, **jit_kwargs)


@struct.dataclass
class CompileTimes:
    """Seconds spent tracing (to StableHLO) and compiling (XLA)."""

    trace_s: float = struct.field(pytree_node=False)
    compile_s: float = struct.field(pytree_node=False)


def compile_program(
    fn: Callable[..., Any], *example_args: Any, options: CompileOptions | None = None
) -> tuple[Callable[..., Any], CompileTimes]:
    """`fn` jitted, lowered and compiled for `example_args`' shapes, with its timings.

    Args:
        fn: a pure function (e.g. `train` or `jax.vmap(train)`), or one already jitted (e.g.
            with shardings, as `jaxrl.distributed.sharded_vmap` returns), lowered as it is.
        *example_args: arguments whose shapes and dtypes the program is compiled for.
        options: how to compile on the CPU (default `CompileOptions()`).

    Returns:
        The compiled program (call it with arguments of the same shapes) and its compile times.
    """
    options = CompileOptions() if options is None else options
    xla_options = options.xla_options()
    start = time.perf_counter()
    jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
    lowered = jitted.lower(*example_args)
    traced = time.perf_counter()
    compiled = lowered.compile(compiler_options=xla_options)
    done = time.perf_counter()
    return compiled, CompileTimes(trace_s=traced - start, compile_s=done - traced)


@functools.cache
def _accepted(name: str, value: Any) -> bool:
    """Whether this jaxlib's CPU compiler takes option `name=value` (checked once, on a
    one-op program: XLA checks options before it compiles)."""
    try:
        jax.jit(lambda x: x).lower(0.0).compile(compiler_options={name: value})
    except jax.errors.JaxRuntimeError as error:
        if re.search(r"No such compile option|While setting option", str(error)):
            return False
        raise
    return True


def _supported(options: dict[str, Any]) -> dict[str, Any]:
    """`options` without the experimental ones (`_OPTIONAL_CPU_OPTIONS`) this jaxlib lacks."""
    return {
        name: value
        for name, value in options.items()
        if name not in _OPTIONAL_CPU_OPTIONS or _accepted(name, value)
    }


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
