"""Files written atomically: a reader sees the old file or the new one, never a partial one."""

from __future__ import annotations

import json
import os
import re
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


def write_json(
    path: str | os.PathLike, payload: Any, *, significant_digits: int | None = None
) -> None:
    """`payload` as indented JSON with each list of plain values (numbers, booleans, nulls) on
    one line, written atomically (nothing is written if it cannot be serialised); with
    `significant_digits`, every float is rounded to that many first."""
    if significant_digits is not None:
        payload = round_floats(payload, significant_digits)
    flat_lists: list[str] = []
    text = json.dumps(_mark_flat_lists(payload, flat_lists), indent=2)
    text = _PLACEHOLDER.sub(lambda match: flat_lists[int(match.group(1))], text)
    write_atomically(path, text + "\n")


#: Brackets a placeholder for a list written on one line (a character no result string holds).
_MARK = "\x00"
_PLACEHOLDER = re.compile(r'"\\u0000(\d+)\\u0000"')


def _mark_flat_lists(payload: Any, flat_lists: list[str]) -> Any:
    """`payload` with each non-empty list of numbers, booleans and nulls replaced by a
    placeholder string, its one-line JSON appended to `flat_lists`."""
    if isinstance(payload, dict):
        return {key: _mark_flat_lists(value, flat_lists) for key, value in payload.items()}
    if isinstance(payload, list | tuple):
        if payload and all(v is None or isinstance(v, bool | int | float) for v in payload):
            flat_lists.append(json.dumps(list(payload)))
            return f"{_MARK}{len(flat_lists) - 1}{_MARK}"
        return [_mark_flat_lists(value, flat_lists) for value in payload]
    return payload


def round_floats(payload: Any, significant_digits: int) -> Any:
    """`payload` (dicts, lists and tuples of JSON values) with each float rounded to
    `significant_digits` significant digits; NaN and infinities stay as they are."""
    if isinstance(payload, float):
        return float(f"{payload:.{significant_digits}g}")
    if isinstance(payload, dict):
        return {key: round_floats(value, significant_digits) for key, value in payload.items()}
    if isinstance(payload, list | tuple):
        return [round_floats(value, significant_digits) for value in payload]
    return payload


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
