"""What every benchmark shares: timing, alternating contestants, medians, memory and the machine.

The harness's rules, which every `jaxrl.bench` benchmark follows:
  - compile time is measured apart from steady-state time (each contestant is compiled and
    warmed up once before any timed repetition);
  - contestants alternate within each repetition (round-robin), so a burst of load from
    another process hits all of them alike instead of one;
  - the reported figure is the median over repetitions, with min and max beside it.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jaxrl.machine import cpu_model

#: Packages whose versions every results file records (None where not installed).
PACKAGES = (
    "jax",
    "jaxlib",
    "flax",
    "optax",
    "numpy",
    "gymnax",
    "gymnasium",
    "rejax",
    "stable_baselines3",
    "torch",
    "jaxrl",
)
#: `jax.monitoring` duration events -> the figure they add to: tracing to a jaxpr and lowering
#: it to StableHLO ("trace_s", what `jaxrl.compilation.compile_program` times as its trace),
#: and XLA's compile ("compile_s").
COMPILE_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "trace_s",
    "/jax/core/compile/backend_compile_duration": "compile_s",
}
#: PPOConfig fields a `--quick` run overrides: a small network and one minibatch pass compile
#: in about half the time, and a smoke run checks shapes and files, not learning. The
#: shrunk run is short, so `ppo.compile_options` picks the shortest compile for it.
QUICK_PPO = {"hidden_sizes": (16,), "update_epochs": 1, "num_minibatches": 1}


def quick_ppo_config(config: Any, total_timesteps: int = 1_000) -> Any:
    """`config` (a PPOConfig) shrunk for a `--quick` run: `QUICK_PPO` and `total_timesteps`."""
    return config.replace(**QUICK_PPO, total_timesteps=total_timesteps)


@dataclasses.dataclass(frozen=True)
class Contestant:
    """One timed figure, compiled and warmed up: each `run()` call is one repetition.

    Attributes:
        name: the figure's name in tables and JSON.
        run: takes one repetition; returns what must be ready before the clock stops (JAX
            arrays are waited on with `jax.block_until_ready`).
        compile_s: seconds spent compiling before the first repetition (0 for uncompiled code).
    """

    name: str
    run: Callable[[], Any]
    compile_s: float


class Clock:
    """Wall (`perf_counter`), CPU (`process_time`) and epoch seconds at named points."""

    def __init__(self):
        self.marks: dict[str, tuple[float, float, float]] = {}
        self.mark("start")

    def mark(self, name: str) -> None:
        self.marks[name] = (time.perf_counter(), time.process_time(), time.time())

    def wall(self, start: str, end: str) -> float | None:
        """Wall seconds from mark `start` to mark `end`; None when either was not made."""
        return self._between(start, end, 0)

    def cpu(self, start: str, end: str) -> float | None:
        """CPU seconds of this process (all threads) from `start` to `end`; None as `wall`."""
        return self._between(start, end, 1)

    def _between(self, start: str, end: str, index: int) -> float | None:
        if start not in self.marks or end not in self.marks:
            return None
        return self.marks[end][index] - self.marks[start][index]


def record_compile_times() -> dict[str, float]:
    """Seconds JAX spends tracing and compiling from now on, whatever calls it (`jax.jit` on
    its first call, `compile_program`, an eager op's first use), read from `jax.monitoring`'s
    events without changing what runs.

    Each call registers a listener for the rest of the process: meant for a child process's
    one timed part.

    Returns:
        `{"trace_s": ..., "compile_s": ...}`, which a listener keeps adding to (`COMPILE_EVENTS`):
        copy it when the timed part ends.
    """
    import jax

    totals = dict.fromkeys(sorted(set(COMPILE_EVENTS.values())), 0.0)

    def listen(event: str, seconds: float, **_: Any) -> None:
        if event in COMPILE_EVENTS:
            totals[COMPILE_EVENTS[event]] += seconds

    jax.monitoring.register_event_duration_secs_listener(listen)
    return totals


def time_call(fn: Callable[[], Any]) -> float:
    """Seconds one call of `fn` takes, until its outputs (JAX arrays included) are ready."""
    start = time.perf_counter()
    _block(fn())
    return time.perf_counter() - start


def alternate(contestants: Sequence[Contestant], repeats: int) -> dict[str, list[float]]:
    """Seconds per repetition for each contestant, all contestants taking turns in each round.

    Args:
        contestants: compiled and warmed-up figures, with distinct names.
        repeats: rounds; every contestant runs once per round.

    Returns:
        name -> `[repeats]` seconds, in round order.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: run at least one repetition.")
    names = [contestant.name for contestant in contestants]
    if len(set(names)) != len(names):
        raise ValueError(f"contestant names repeat: {names}; give each figure its own name.")
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeats):
        for contestant in contestants:
            seconds[contestant.name].append(time_call(contestant.run))
    return seconds


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of `values` (non-empty)."""
    if not values:
        raise ValueError("summary of no values: run at least one repetition.")
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """`numerator / denominator`; None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def device_memory() -> dict[str, int] | None:
    """The first JAX device's memory counters (bytes in use, peak, limit), or None on backends
    that keep none (the CPU)."""
    import jax

    stats = jax.devices()[0].memory_stats()
    if not stats:
        return None
    keys = ("bytes_in_use", "peak_bytes_in_use", "bytes_limit")
    return {key: int(stats[key]) for key in keys if key in stats}


def compiled_memory(compiled: Any) -> dict[str, int] | None:
    """XLA's own accounting of a compiled program's buffers in bytes (arguments, outputs,
    temporaries), or None where the backend gives none. Unlike RSS it is exact and unaffected
    by other processes."""
    try:
        analysis = compiled.memory_analysis()
    except (AttributeError, NotImplementedError, RuntimeError):
        return None
    if analysis is None:
        return None
    return {
        "argument_bytes": int(analysis.argument_size_in_bytes),
        "output_bytes": int(analysis.output_size_in_bytes),
        "temp_bytes": int(analysis.temp_size_in_bytes),
    }


def given(value: Any, default: Any) -> Any:
    """`value` unless it is None (an option not given): 0 stays 0, so it is refused, not
    silently replaced by the default."""
    return default if value is None else value


def import_error(*modules: str) -> str | None:
    """Why one of `modules` (optional packages a contestant imports) cannot be imported here,
    as one line naming the module and the error; None when all import.

    The import is tried, not looked up: an installed package can still fail to import (gymnax
    1.0.1 without `six`), and a contestant that needs it is then skipped with this line.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as error:  # any import-time failure skips the contestant
            lines = str(error).strip().splitlines()
            reason = type(error).__name__ + (f": {lines[0]}" if lines else "")
            return f"import {module} failed ({reason})"
    return None


def versions() -> dict[str, str | None]:
    """Python's and `PACKAGES`' versions, and this checkout's git commit where there is one."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    try:
        out["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def hardware() -> dict[str, Any]:
    """CPU model, core counts, load, JAX's backend and devices, and the JAX-related variables
    of the environment: what a reader needs to compare two results files."""
    import jax

    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = None
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        # Other processes share the cores: the load average says how much.
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(device) for device in jax.devices()],
        "jax_device_kind": jax.devices()[0].device_kind,
        "environment": {
            name: os.environ.get(name)
            for name in ("JAX_PLATFORMS", "XLA_FLAGS", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
        },
    }


def _block(outputs: Any) -> Any:
    """Waits for JAX arrays in `outputs`; anything else passes through."""
    if "jax" in sys.modules:
        import jax

        return jax.block_until_ready(outputs)
    return outputs
