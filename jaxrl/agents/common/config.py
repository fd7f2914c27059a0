"""What every learner's config shares: the rollout arithmetic, `replace` with a helpful error,
the traceable `hyperparams` pytree, and the checks that reject bad settings before anything
compiles, each a one-line ValueError that names the setting and what to give instead.

A learner's config is a frozen dataclass that subclasses `LearnerConfig` and sets two class
variables: `hyperparams_type` (the `flax.struct` dataclass of its traceable settings) and
`hyperparam_ranges` (each traceable setting's `Range`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

import jax.numpy as jnp
import numpy as np

from jaxrl.checks import check_flags, check_positive_ints, is_bool, is_int

ConfigT = TypeVar("ConfigT", bound="LearnerConfig")


@dataclasses.dataclass(frozen=True)
class Range:
    """The values a numeric hyperparameter may take: `low < v <= high` (`low <= v` when
    `low_allowed`), finite; `expected` says so in words for the error message."""

    low: float
    high: float
    low_allowed: bool
    expected: str


def positive(example: str) -> Range:
    """`(0, inf)`, e.g. a learning rate."""
    return Range(0.0, math.inf, False, f"a positive number such as {example}")


NON_NEGATIVE = Range(0.0, math.inf, True, "non-negative")
UNIT_OPEN_LOW = Range(0.0, 1.0, False, "in (0, 1]")
UNIT = Range(0.0, 1.0, True, "in [0, 1]")


class LearnerConfig:
    """Base of the learners' frozen config dataclasses; it adds no fields.

    Subclasses have `total_timesteps`, `num_envs`, `num_steps` and `hidden_sizes` fields, and set
    `hyperparams_type` and `hyperparam_ranges`.
    """

    hyperparams_type: ClassVar[type]
    hyperparam_ranges: ClassVar[dict[str, Range]]

    @property
    def rollout_size(self) -> int:
        """Env steps one update collects (all envs together): num_envs * num_steps."""
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        """Updates in the run: total_timesteps rounded down to whole rollouts."""
        return self.total_timesteps // self.rollout_size

    @property
    def hyperparams(self) -> Any:
        """The numeric hyperparameters as float32 scalars, a `hyperparams_type` pytree."""
        values = {name: getattr(self, name) for name in self.numeric_fields()}
        return self.hyperparams_type(
            **{name: jnp.asarray(value, jnp.float32) for name, value in values.items()}
        )

    @classmethod
    def numeric_fields(cls) -> tuple[str, ...]:
        """The traceable (sweepable) settings: `hyperparams_type`'s fields."""
        return tuple(field.name for field in dataclasses.fields(cls.hyperparams_type))

    def replace(self: ConfigT, **changes: Any) -> ConfigT:
        """A copy with `changes`, validated; unknown names are a ValueError listing the fields."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in valid]
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no field {unknown[0]!r}; valid fields: "
                f"{', '.join(valid)}."
            )
        return dataclasses.replace(self, **changes)

    @classmethod
    def validate_hyperparams(cls, values: dict[str, Any]) -> None:
        """Checks numeric hyperparameters given as numbers or sequences of numbers."""
        for name, value in values.items():
            if name not in cls.hyperparam_ranges:
                raise ValueError(
                    f"{name!r} is not a numeric hyperparameter of {cls.__name__}; sweepable: "
                    f"{', '.join(cls.numeric_fields())}."
                )
            bounds = cls.hyperparam_ranges[name]
            for v in np.ravel(np.asarray(value, np.float32)).tolist():
                above = v >= bounds.low if bounds.low_allowed else v > bounds.low
                if not (above and v <= bounds.high and math.isfinite(v)):
                    raise ValueError(f"{cls.__name__}.{name}={v!r}: must be {bounds.expected}.")

    # The checks `__post_init__` runs, in the order a user would fix them.

    def _check_common(
        self, *, positive_ints: Iterable[str], flags: Iterable[str] = (), example_widths: str
    ) -> None:
        """Positive-integer sizes, boolean flags, hidden layer widths, a run of at least one
        rollout; `hidden_sizes` becomes a tuple."""
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        name_of = type(self).__name__
        check_positive_ints(self, positive_ints, owner=name_of)
        check_flags(self, flags, owner=name_of)
        if not self.hidden_sizes or any(not is_int(h) or h < 1 for h in self.hidden_sizes):
            raise ValueError(
                f"{name_of}.hidden_sizes={self.hidden_sizes!r}: give positive layer widths, "
                f"e.g. {example_widths}."
            )
        if self.total_timesteps < self.rollout_size:
            raise ValueError(
                f"{name_of}: total_timesteps={self.total_timesteps} is less than one rollout "
                f"(num_envs * num_steps = {self.rollout_size}); raise total_timesteps or "
                "shrink the rollout."
            )

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        if getattr(self, name) not in choices:
            raise ValueError(
                f"{type(self).__name__}.{name}={getattr(self, name)!r}: choose one of {choices}."
            )

    def _check_minibatches(self, num_minibatches: int) -> None:
        """The rollout splits into `num_minibatches` equal minibatches."""
        batch = self.rollout_size
        if batch % num_minibatches:
            divisors = [d for d in range(2, 65) if batch % d == 0][:6]
            raise ValueError(
                f"{type(self).__name__}: the batch num_envs * num_steps = {self.num_envs} * "
                f"{self.num_steps} = {batch} does not split into num_minibatches="
                f"{num_minibatches}; choose a divisor of {batch}"
                f" (e.g. {', '.join(map(str, divisors)) or 1}) or change num_envs/num_steps."
            )

    def _check_replay_ratio(self, example: str) -> None:
        ratio = self.replay_ratio
        if is_bool(ratio) or not isinstance(ratio, (int, float)) or not ratio > 0:
            raise ValueError(
                f"{type(self).__name__}.replay_ratio={ratio!r}: gradient steps per env step, "
                f"a positive number such as {example}."
            )

    def _check_hyperparams(self) -> None:
        self.validate_hyperparams({name: getattr(self, name) for name in self.numeric_fields()})


def checked_runs_per_device(runs_per_device: Any) -> int:
    """`runs_per_device` for a learner's `compile_options`, a positive int."""
    if not is_int(runs_per_device) or runs_per_device < 1:
        raise ValueError(f"runs_per_device={runs_per_device!r}: pass a positive int.")
    return runs_per_device
