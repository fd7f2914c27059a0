"""Typed `--set key=value` overrides and config files, checked against the learner's config
class before any compile.

Everything here is plain Python (no JAX), so a bad flag fails in milliseconds.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jaxrl.agents.common.grid import sweepable

#: `--set env.<field>=value` reaches the env's params (`jaxrl.envs.make` overrides).
ENV_PREFIX = "env."
#: Keys of a run folder's config.json beside the config's fields.
RUN_KEYS = frozenset(
    {"env", "env_id", "algo", "seeds", "seed", "sweep", "chunk_updates", "checkpoint_every"}
    | {"eval_episodes"}
)


class UsageError(ValueError):
    """Bad command-line input: printed as one line, exit status 2."""


def split_settings(settings: Iterable[str], flag: str = "--set") -> dict[str, str]:
    """`["lr=1e-3", "env.gravity=9"]` -> `{"lr": "1e-3", "env.gravity": "9"}`; one-line errors."""
    values: dict[str, str] = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise UsageError(f"{flag} {setting!r}: write NAME=VALUE (e.g. learning_rate=1e-3).")
        if name in values:
            raise UsageError(f"{flag} {name} given twice: give each setting once.")
        values[name] = value.strip()
    return values


def config_field_types(config_type: type) -> dict[str, Any]:
    """A config class's field names mapped to their resolved types."""
    hints = typing.get_type_hints(config_type)
    return {field.name: hints[field.name] for field in dataclasses.fields(config_type)}


def parse_field(name: str, text: str, config_type: type) -> Any:
    """One config field's value from its command-line text, by the field's type.

    Raises:
        UsageError: unknown field (with the closest names) or a value of the wrong type.
    """
    types = config_field_types(config_type)
    if name not in types:
        close = difflib.get_close_matches(name, types, n=2)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UsageError(
            f"--set {name}: {config_type.__name__} has no such field; {hint}valid: "
            f"{', '.join(types)}; env params as {ENV_PREFIX}<field>."
        )
    kind = types[name]
    try:
        if kind is bool:
            return _parse_bool(text)
        if kind is int:
            return _parse_int(text)
        if kind is float:
            value = float(text)
            if math.isnan(value):
                raise ValueError
            return value
        if kind is str:
            return text
        if typing.get_origin(kind) is tuple:
            parts = text.strip("()[] ").split(",")
            return tuple(_parse_int(part) for part in parts if part.strip())
    except ValueError:
        example = {bool: "true or false", int: "an integer", float: "a number", str: "text"}
        expected = example.get(kind, "comma-separated integers such as 64,64")
        raise UsageError(f"--set {name}={text}: {name} takes {expected}.") from None
    raise UsageError(f"--set {name}: this field cannot be set from the command line.")


def parse_env_value(text: str) -> Any:
    """An env param's value: an int, a float, true/false, else the text itself."""
    for parse in (_parse_int, float, _parse_bool):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def apply_settings(
    config: Any, env_overrides: dict[str, Any], settings: dict[str, str]
) -> tuple[Any, dict[str, Any]]:
    """`config` and the env overrides with `settings` applied; the config is re-validated.

    Raises:
        UsageError: unknown field, wrong type, or an invalid combination (the config's message).
    """
    changes = {}
    env_overrides = dict(env_overrides)
    for name, text in settings.items():
        if name.startswith(ENV_PREFIX):
            env_overrides[name[len(ENV_PREFIX) :]] = parse_env_value(text)
        else:
            changes[name] = parse_field(name, text, type(config))
    try:
        return config.replace(**changes), env_overrides
    except ValueError as error:
        raise UsageError(str(error)) from None


def load_config_file(path: Path, config_type: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """Config fields and env overrides from a JSON or TOML file.

    The file is a mapping of the learner's config fields, with env params under an "env" table;
    a run folder's `config.json` (fields under "config") works too, so a run can seed another.

    Returns:
        (config field values, env overrides), types checked against `config_type`.
    """
    if not path.is_file():
        raise UsageError(
            f"--config {path}: no such file; give a JSON or TOML file of config fields."
        )
    try:
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(path.read_text())
        else:
            data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"--config {path}: cannot parse it ({error}).") from None
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: expected a mapping of config fields.")
    fields = data.get("config", data)
    env_overrides = data.get("env", {}) or {}
    if not isinstance(fields, dict) or not isinstance(env_overrides, dict):
        raise UsageError(f"--config {path}: 'config' and 'env' must be mappings.")
    types = config_field_types(config_type)
    values = {}
    for name, value in fields.items():
        if name in RUN_KEYS:
            continue  # a run's config.json carries these beside the config's fields
        if name not in types:
            parse_field(name, "", config_type)  # raises the unknown-field message
        values[name] = _check_type(name, value, types[name], path, config_type)
    return values, env_overrides


def parse_sweep(
    settings: dict[str, str], config: Any
) -> tuple[dict[str, str], dict[str, list[float]]]:
    """Splits sweep settings into single values and swept lists (`NAME=V1,V2,...`).

    Returns:
        (settings with one value, applied to the config; swept numeric hyperparameters).

    Raises:
        UsageError: a list for a field that fixes shapes (it cannot vary in one program) or
            nothing to sweep.
    """
    numeric, types = sweepable(config), config_field_types(type(config))
    single, swept = {}, {}
    for name, text in settings.items():
        parts = [part for part in text.split(",") if part.strip()]
        if len(parts) > 1 and name in numeric:
            try:
                swept[name] = [float(part) for part in parts]
            except ValueError:
                raise UsageError(
                    f"--set {name}={text}: give numbers, e.g. {name}=1e-4,3e-4."
                ) from None
        elif len(parts) > 1 and name in types and name != "hidden_sizes":
            raise UsageError(
                f"--set {name}={text}: {name} fixes the program's shapes, so one program cannot "
                f"sweep it; sweep one of {', '.join(numeric)}, or run one sweep per value."
            )
        else:
            if name in types:
                parse_field(name, text, type(config))  # a bad value before "nothing to sweep"
            single[name] = text
    if not swept:
        raise UsageError(
            "nothing to sweep: add --set NAME=V1,V2,... for one of " + ", ".join(numeric)
        )
    return single, swept


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(text)


def _parse_int(text: str) -> int:
    value = float(text.strip().replace("_", ""))  # accepts 1e6 and 1_000_000
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


def _check_type(name: str, value: Any, kind: Any, path: Path, config_type: type) -> Any:
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(kind)
    if ok is None:  # tuple[int, ...]
        ok = isinstance(value, list | tuple) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        value = tuple(value) if ok else value
    if not ok:
        raise UsageError(
            f"--config {path}: {name}={value!r} has the wrong type for "
            f"{config_type.__name__}.{name}."
        )
    return float(value) if kind is float else value
