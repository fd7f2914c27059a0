"""What experiment scripts share: atomic files and a description of the machine."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any


def write_json_atomically(path: str | os.PathLike, payload: Any) -> None:
    """Writes `payload` as JSON to a temporary file beside `path`, then renames it over `path`,
    so a reader never sees a half-written file and an interrupted write loses nothing."""
    write_bytes_atomically(path, (json.dumps(payload, indent=2) + "\n").encode())


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, flushes it to disk, then renames it over
    `path`: readers see the old file or the new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "wb", dir=path.parent, prefix=path.name + ".", suffix=".tmp", delete=False
    ) as handle:
        try:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.chmod(handle.name, 0o666 & ~_umask())  # temp files are private; results are not
        except BaseException:
            handle.close()
            os.unlink(handle.name)
            raise
    os.replace(handle.name, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
