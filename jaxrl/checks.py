"""The checks configs run on their fields before anything compiles, each failing with a one-line
ValueError that names the field and what to give instead.

`owner` names the config in the message (`"DQNConfig.num_envs=0: ..."`); without it the field
stands alone, as a command-line flag's setting does (`"num_pairs=0: ..."`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def is_bool(value: Any) -> bool:
    """A Python or NumPy bool (which `isinstance(value, int)` would let through as an int)."""
    return isinstance(value, (bool, np.bool_))


def is_int(value: Any) -> bool:
    """A Python int that is not a bool."""
    return not is_bool(value) and isinstance(value, int)


def _label(owner: str | None, name: str) -> str:
    return name if owner is None else f"{owner}.{name}"


def check_positive_ints(config: Any, names: Iterable[str], *, owner: str | None = None) -> None:
    """Each `config.<name>` is an int >= 1."""
    for name in names:
        value = getattr(config, name)
        if not is_int(value) or value < 1:
            raise ValueError(f"{_label(owner, name)}={value!r}: must be a positive integer.")


def check_positive(config: Any, names: Iterable[str], *, owner: str | None = None) -> None:
    """Each `config.<name>` is a finite number > 0."""
    for name in names:
        value = getattr(config, name)
        if is_bool(value) or not (
            isinstance(value, int | float) and value > 0 and math.isfinite(value)
        ):
            raise ValueError(f"{_label(owner, name)}={value!r}: must be a positive number.")


def check_non_negative(config: Any, names: Iterable[str], *, owner: str | None = None) -> None:
    """Each `config.<name>` is a finite number >= 0."""
    for name in names:
        value = getattr(config, name)
        if is_bool(value) or not (
            isinstance(value, int | float) and value >= 0 and math.isfinite(value)
        ):
            raise ValueError(f"{_label(owner, name)}={value!r}: must be a non-negative number.")


def check_flags(config: Any, names: Iterable[str], *, owner: str | None = None) -> None:
    """Each `config.<name>` is True or False."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, bool):
            raise ValueError(f"{_label(owner, name)}={value!r}: use True or False.")
