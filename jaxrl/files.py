"""Files written atomically: a reader sees the old file or the new one, never a partial one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomically(path: str | os.PathLike, data: bytes | str) -> None:
    """Writes `data` (text as UTF-8) to a fresh temporary file beside `path`, flushes it to disk,
    then renames it over `path`; the folder is created. An interrupted or failed write leaves
    the previous file as it was and no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
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


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """`payload` as indented JSON, written atomically (nothing is written if it cannot be
    serialised)."""
    write_atomically(path, json.dumps(payload, indent=2) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
