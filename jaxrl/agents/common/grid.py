"""Hyperparameter grids for `jax.vmap(train, in_axes=(None, 0))`: one helper for every learner.

A learner's config is a frozen dataclass whose `hyperparams` property gives its traceable
settings as a pytree of scalars (of the class `hyperparams_type` names) and whose
`replace(**changes)` validates; the grid is the
cartesian product of the swept values, each point a validated `config.replace(**point)`, its
hyperparams stacked into `[B]` leaves.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp


def grid_points(**values: Sequence[Any]) -> list[dict[str, Any]]:
    """The cartesian product of `values` as dicts, last name fastest; plain Python, no JAX.

    >>> grid_points(learning_rate=[1e-3, 3e-3], clip_eps=[0.1, 0.2])[1]
    {'learning_rate': 0.001, 'clip_eps': 0.2}
    """
    for name, options in values.items():
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or not options:
            raise ValueError(
                f"{name}={options!r}: give a non-empty list of values to sweep, e.g. "
                f"{name}=[1e-3, 3e-3]."
            )
    names = list(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())]


def sweepable(config: Any) -> tuple[str, ...]:
    """The names of `config`'s traceable settings: what a grid may sweep (no JAX computation)."""
    return tuple(field.name for field in dataclasses.fields(config.hyperparams_type))


def hyperparams_grid(config: Any, **values: Sequence[Any]) -> tuple[Any, list[dict[str, Any]]]:
    """Every combination of the swept values as one batched hyperparams pytree.

    Args:
        config: a learner's config (e.g. `ppo.PPOConfig`); it supplies every setting not swept.
        **values: traceable settings and their values, e.g. `learning_rate=[1e-4, 3e-4]`.

    Returns:
        The config's hyperparams with `[B]` leaves (B = the product of the lengths), for
        `jax.vmap(train, in_axes=(None, 0))(key, hyperparams)`, and the B points as dicts in the
        same order.

    Raises:
        ValueError: a name is not a traceable setting (static ones fix the program's shapes and
            need a program each), or a value is out of range (the config's own message).
    """
    points = checked_points(config, **values)
    stacked = [config.replace(**point).hyperparams for point in points]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *stacked), points


def checked_points(config: Any, **values: Sequence[Any]) -> list[dict[str, Any]]:
    """`grid_points(**values)` once every name is one of `config`'s traceable settings and every
    point a valid config; plain Python (no JAX), so a command line can check a sweep before JAX
    starts. Raises the ValueErrors `hyperparams_grid` documents."""
    names = sweepable(config)
    for name in values:
        if name not in names:
            raise ValueError(
                f"{name!r} cannot be swept in one program for {type(config).__name__}; "
                f"sweepable: {', '.join(names)}."
            )
    points = grid_points(**values)
    for point in points:
        config.replace(**point)
    return points
