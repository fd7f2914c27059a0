"""Facts about the machine and this process: its CPU, the cores it may use, its peak memory."""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def cpu_devices_for(num_runs: int, cores: int) -> int:
    """How many CPU devices to split `num_runs` vmapped runs over: the most, up to one per core,
    that split them evenly (each device then runs its share on its own core)."""
    if num_runs < 1 or cores < 1:
        raise ValueError(f"cpu_devices_for({num_runs}, {cores}): pass positive counts.")
    return max(d for d in range(1, min(cores, num_runs) + 1) if num_runs % d == 0)


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    On Linux, `VmHWM` of /proc/self/status: the high-water mark of this process's own memory
    (`ru_maxrss` would also count a parent's peak, which it keeps across fork and exec).
    Elsewhere `ru_maxrss` (macOS reports bytes). Either way a high-water mark: in one process it
    bounds every measurement made so far, not the last one alone.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)
