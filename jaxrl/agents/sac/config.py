"""SAC's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.compilation import CompileOptions, options_for_run

ACTIVATIONS = ("relu", "tanh")


@struct.dataclass
class SACHyperparams:
    """The numeric hyperparameters, as a pytree so `jax.vmap` can sweep them.

    Every leaf is a float32 scalar (or `[B]` in a batched sweep).
    """

    actor_learning_rate: Any
    critic_learning_rate: Any
    alpha_learning_rate: Any
    gamma: Any
    tau: Any
    initial_alpha: Any
    target_entropy_scale: Any


#: The traceable (sweepable) settings: `SACHyperparams`'s fields.
NUMERIC_FIELDS = tuple(field.name for field in dataclasses.fields(SACHyperparams))


@dataclasses.dataclass(frozen=True)
class SACConfig:
    """SAC settings, validated before anything compiles.

    Shape-setting (static) settings:
        total_timesteps: env steps over the whole run (all envs together).
        num_envs: envs stepped in parallel.
        num_steps: steps per env in one rollout; one update collects num_envs * num_steps.
        buffer_size: transitions the replay buffer holds (all envs together); a multiple of
            num_envs, at least one rollout.
        batch_size: transitions per gradient step.
        hidden_sizes: widths of the actor's and each critic's hidden layers.
        activation: "relu" or "tanh".
        learning_starts: env steps taken with uniformly random actions before the policy acts;
            gradient steps start with the update whose rollout reaches this count.
        replay_ratio: gradient steps per env step: each update makes
            `round(replay_ratio * num_envs * num_steps)` of them.
        initial_log_std: the actor's initial log standard deviation (before the tanh).

    Numeric hyperparameters (may be traced, see `hyperparams`):
        actor_learning_rate, critic_learning_rate, alpha_learning_rate: Adam's step sizes.
        gamma: the discount.
        tau: the Polyak rate of the target critics (1 copies the critics every step).
        initial_alpha: the entropy temperature before any update.
        target_entropy_scale: the target entropy per action dimension, in nats of the
            squashed action in [-1, 1]; -1 gives SAC's target of -action_dim.
    """

    hyperparams_type: ClassVar[type] = SACHyperparams

    total_timesteps: int = 100_000
    num_envs: int = 1
    num_steps: int = 1
    buffer_size: int = 1_000_000
    batch_size: int = 256
    hidden_sizes: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    learning_starts: int = 100
    replay_ratio: float = 1.0
    initial_log_std: float = 0.0
    actor_learning_rate: float = 3e-4
    critic_learning_rate: float = 3e-4
    alpha_learning_rate: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    initial_alpha: float = 1.0
    target_entropy_scale: float = -1.0

    def __post_init__(self):
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        for name in ("total_timesteps", "num_envs", "num_steps", "buffer_size", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SACConfig.{name}={value!r}: must be a positive integer.")
        if not self.hidden_sizes or any(not isinstance(h, int) or h < 1 for h in self.hidden_sizes):
            raise ValueError(
                f"SACConfig.hidden_sizes={self.hidden_sizes!r}: give positive layer widths, "
                "e.g. (256, 256)."
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"SACConfig.activation={self.activation!r}: choose one of {ACTIVATIONS}."
            )
        if self.total_timesteps < self.rollout_size:
            raise ValueError(
                f"SACConfig: total_timesteps={self.total_timesteps} is less than one rollout "
                f"(num_envs * num_steps = {self.rollout_size}); raise total_timesteps or "
                "shrink the rollout."
            )
        if self.buffer_size % self.num_envs or self.buffer_size < self.rollout_size:
            raise ValueError(
                f"SACConfig.buffer_size={self.buffer_size}: use a multiple of num_envs="
                f"{self.num_envs} no smaller than one rollout (num_envs * num_steps = "
                f"{self.rollout_size})."
            )
        starts = self.learning_starts
        if isinstance(starts, bool) or not isinstance(starts, int) or starts < 0:
            raise ValueError(
                f"SACConfig.learning_starts={starts!r}: must be a non-negative integer."
            )
        if starts > self.num_updates * self.rollout_size:
            raise ValueError(
                f"SACConfig.learning_starts={starts} leaves no update that learns in "
                f"{self.num_updates * self.rollout_size} env steps; lower it or raise "
                "total_timesteps."
            )
        ratio = self.replay_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 0:
            raise ValueError(
                f"SACConfig.replay_ratio={ratio!r}: give gradient steps per env step, a "
                "positive number such as 1.0."
            )
        if self.gradient_steps < 1:
            raise ValueError(
                f"SACConfig: replay_ratio={ratio} makes round({ratio} * {self.rollout_size})"
                " = 0 gradient steps per update; raise replay_ratio or num_envs * num_steps."
            )
        if not isinstance(self.initial_log_std, (int, float)) or not math.isfinite(
            self.initial_log_std
        ):
            raise ValueError(
                f"SACConfig.initial_log_std={self.initial_log_std!r}: give a finite number."
            )
        validate_hyperparams({name: getattr(self, name) for name in NUMERIC_FIELDS})

    @property
    def rollout_size(self) -> int:
        """Env steps one update collects: num_envs * num_steps."""
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        """Updates in the run; total_timesteps rounded down to whole rollouts."""
        return self.total_timesteps // self.rollout_size

    @property
    def gradient_steps(self) -> int:
        """Gradient steps per update (once learning has started)."""
        return round(self.replay_ratio * self.rollout_size)

    @property
    def buffer_rows(self) -> int:
        """Rows of the replay ring: each holds one step of every env."""
        return self.buffer_size // self.num_envs

    @property
    def hyperparams(self) -> SACHyperparams:
        """The numeric hyperparameters as float32 scalars."""
        return SACHyperparams(
            **{name: jnp.asarray(getattr(self, name), jnp.float32) for name in NUMERIC_FIELDS}
        )

    def replace(self, **changes: Any) -> SACConfig:
        """A copy with `changes`, validated; unknown names are a ValueError listing the fields."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in valid]
        if unknown:
            raise ValueError(
                f"SACConfig has no field {unknown[0]!r}; valid fields: {', '.join(valid)}."
            )
        return dataclasses.replace(self, **changes)


def validate_hyperparams(values: dict[str, Any]) -> None:
    """Checks numeric hyperparameters given as numbers or sequences of numbers."""
    positive = (0.0, math.inf, False, "a positive number such as 3e-4")
    ranges = {
        "actor_learning_rate": positive,
        "critic_learning_rate": positive,
        "alpha_learning_rate": (0.0, math.inf, True, "non-negative (0 keeps alpha fixed)"),
        "gamma": (0.0, 1.0, False, "in (0, 1]"),
        "tau": (0.0, 1.0, False, "in (0, 1]"),
        "initial_alpha": (0.0, math.inf, False, "a positive number such as 1.0"),
        "target_entropy_scale": (-math.inf, math.inf, True, "a finite number such as -1.0"),
    }
    for name, value in values.items():
        if name not in ranges:
            raise ValueError(
                f"{name!r} is not a numeric SAC hyperparameter; sweepable: "
                f"{', '.join(NUMERIC_FIELDS)}."
            )
        low, high, low_allowed, expected = ranges[name]
        for v in np.ravel(np.asarray(value, np.float32)).tolist():
            ok = (v >= low if low_allowed else v > low) and v <= high and math.isfinite(v)
            if not ok:
                raise ValueError(f"SACConfig.{name}={v!r}: must be {expected}.")


def compile_options(config: SACConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`): pass them to
    `jaxrl.jit(train, options)`. Every gradient step processes `batch_size` samples."""
    if isinstance(runs_per_device, bool) or not isinstance(runs_per_device, int):
        raise ValueError(f"runs_per_device={runs_per_device!r}: pass a positive int.")
    if runs_per_device < 1:
        raise ValueError(f"runs_per_device={runs_per_device!r}: pass a positive int.")
    gradient_steps = config.num_updates * config.gradient_steps
    return options_for_run(
        gradient_samples=gradient_steps * config.batch_size * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
