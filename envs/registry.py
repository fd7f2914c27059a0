"""The registry: `make(env_id, **overrides) -> (env, params)` and `registered()`.

Entry points are "module:attribute" strings imported on first use, so `import jaxrl.envs` stays
cheap and never imports gymnax. Ids prefixed `gymnax:` wrap a gymnax environment.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import numbers
from typing import Any

import jax
import numpy as np

from jaxrl.envs.core import Environment, EnvParams

GYMNAX_PREFIX = "gymnax:"

_ENTRY_POINTS: dict[str, str] = {}


def register(env_id: str, entry_point: str, *, overwrite: bool = False) -> None:
    """Registers `env_id`; `entry_point` is "module:callable", the callable returning the env.

    Raises:
        ValueError: when `env_id` is taken (pass `overwrite=True` to replace it) or malformed.
    """
    if env_id.startswith(GYMNAX_PREFIX):
        raise ValueError(f"Ids starting with {GYMNAX_PREFIX!r} are reserved for gymnax envs.")
    if ":" not in entry_point:
        raise ValueError(f"entry_point {entry_point!r} must read 'module:callable'.")
    if env_id in _ENTRY_POINTS and not overwrite:
        raise ValueError(f"{env_id!r} is already registered; pass overwrite=True to replace it.")
    _ENTRY_POINTS[env_id] = entry_point


def registered() -> list[str]:
    """The registered env ids, sorted (gymnax envs are reachable as 'gymnax:<id>' too)."""
    return sorted(_ENTRY_POINTS)


def make(env_id: str, **overrides: Any) -> tuple[Environment, EnvParams]:
    """Builds a registered environment and its params.

    Args:
        env_id: a registered id such as "CartPole-v1", or "gymnax:<gymnax id>".
        **overrides: values replacing fields of the env's default params (e.g. `gravity=9.0`,
            `max_steps=200`).

    Returns:
        (env, params).

    Raises:
        ValueError: unknown id (with the closest ids), unknown override (with the valid fields)
            or an override of the wrong type.
    """
    if not isinstance(env_id, str):
        raise ValueError(f"env_id must be a string such as 'CartPole-v1', got {env_id!r}.")
    if env_id.startswith(GYMNAX_PREFIX):
        from jaxrl.envs import gymnax_interop

        env = gymnax_interop.make_gymnax(env_id[len(GYMNAX_PREFIX) :])
    else:
        if env_id not in _ENTRY_POINTS:
            raise ValueError(_unknown_id_message(env_id))
        module_name, attribute = _ENTRY_POINTS[env_id].split(":")
        env = getattr(importlib.import_module(module_name), attribute)()
    return env, _apply_overrides(env_id, env.default_params, overrides)


def _unknown_id_message(env_id: str) -> str:
    ids = registered()
    close = difflib.get_close_matches(env_id, ids, n=3, cutoff=0.5)
    if not close:
        lowered = {i.lower(): i for i in ids}
        close = [lowered[m] for m in difflib.get_close_matches(env_id.lower(), lowered, n=3)]
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return (
        f"Unknown env id {env_id!r}: {hint}Registered ids: {', '.join(ids)}; "
        f"gymnax envs as '{GYMNAX_PREFIX}<id>'."
    )


def _apply_overrides(env_id: str, params: EnvParams, overrides: dict[str, Any]) -> EnvParams:
    """Replaces fields of `params`; a name that is not a field of `params` itself may name a
    field of a params dataclass nested one level down (e.g. a wrapped gymnax env's params)."""
    top, nested = {}, {}
    for name, value in overrides.items():
        owner = _owner_of(params, name)
        if owner is None:
            raise ValueError(
                f"{env_id} has no parameter {name!r}; valid parameters: "
                f"{', '.join(_parameter_names(params))}."
            )
        value = _checked_value(env_id, name, getattr(owner[1], name), value)
        if owner[0] is None:
            top[name] = value
        else:
            nested.setdefault(owner[0], {})[name] = value
    for field_name, changes in nested.items():
        top[field_name] = getattr(params, field_name).replace(**changes)
    return params.replace(**top)


def _nested_params(params: Any) -> dict[str, Any]:
    return {
        f.name: getattr(params, f.name)
        for f in dataclasses.fields(params)
        if dataclasses.is_dataclass(getattr(params, f.name))
    }


def _owner_of(params: Any, name: str) -> tuple[str | None, Any] | None:
    """(None, params) when `name` is a field of params, (field, nested) when of a nested one."""
    if name in {f.name for f in dataclasses.fields(params)} and name not in _nested_params(params):
        return None, params
    for field_name, nested in _nested_params(params).items():
        if name in {f.name for f in dataclasses.fields(nested)}:
            return field_name, nested
    return None


def _parameter_names(params: Any) -> list[str]:
    nested = _nested_params(params)
    names = [f.name for f in dataclasses.fields(params) if f.name not in nested]
    for value in nested.values():
        names += [f.name for f in dataclasses.fields(value)]
    return names


def _checked_value(env_id: str, name: str, default: Any, value: Any) -> Any:
    if not isinstance(value, (numbers.Real, np.ndarray, jax.Array)):
        raise ValueError(
            f"{env_id} parameter {name}={value!r}: expected a number or array like the "
            f"default {default!r}."
        )
    if isinstance(default, int) and not isinstance(default, bool) and np.ndim(value) == 0:
        if float(value) != int(value):
            raise ValueError(f"{env_id} parameter {name}={value!r}: expected an integer.")
        if isinstance(value, numbers.Real):
            value = int(value)
    return value
