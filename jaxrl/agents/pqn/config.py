"""PQN's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.compilation import CompileOptions, options_for_run


@struct.dataclass
class PQNHyperparams:
    """The numeric hyperparameters, as a pytree so `jax.vmap` can sweep them.

    Every leaf is a float32 scalar (or `[B]` in a batched sweep).
    """

    learning_rate: Any
    gamma: Any
    q_lambda: Any
    epsilon_start: Any
    epsilon_finish: Any
    epsilon_anneal_fraction: Any
    max_grad_norm: Any
    reward_scale: Any


#: The traceable (sweepable) settings: `PQNHyperparams`'s fields.
NUMERIC_FIELDS = tuple(field.name for field in dataclasses.fields(PQNHyperparams))


@dataclasses.dataclass(frozen=True)
class PQNConfig:
    """PQN settings, validated before anything compiles.

    Shape-setting (static) settings:
        total_timesteps: env steps over the whole run (all envs together).
        num_envs: envs stepped in parallel.
        num_steps: steps per env in one rollout; one update consumes num_envs * num_steps.
        num_epochs: passes over each rollout.
        num_minibatches: minibatches per epoch; must divide num_envs * num_steps.
        hidden_sizes: widths of the Q-network's hidden layers (each Dense, LayerNorm, ReLU).
        normalize_observations: running mean/std normalisation of observations.
        anneal_lr: decay the learning rate linearly to 0 over the run.

    Numeric hyperparameters (may be traced, see `hyperparams`):
        learning_rate: Adam's step size (its start when annealed).
        gamma: discount.
        q_lambda: Q(lambda)'s trace parameter (0: one-step targets, 1: Monte Carlo returns
            bootstrapped at the rollout's end and at truncations).
        epsilon_start, epsilon_finish: epsilon-greedy's exploration rate at the first update
            and from the end of its decay on.
        epsilon_anneal_fraction: the fraction of the run's updates over which epsilon decays
            linearly from epsilon_start to epsilon_finish.
        max_grad_norm: global-norm clipping of each gradient.
        reward_scale: rewards are multiplied by it before the targets (Q-values in its units;
            reported returns stay in the env's).
    """

    hyperparams_type: ClassVar[type] = PQNHyperparams

    total_timesteps: int = 500_000
    num_envs: int = 32
    num_steps: int = 64
    num_epochs: int = 4
    num_minibatches: int = 16
    hidden_sizes: tuple[int, ...] = (128, 128)
    normalize_observations: bool = False
    anneal_lr: bool = True
    learning_rate: float = 1e-4
    gamma: float = 0.99
    q_lambda: float = 0.95
    epsilon_start: float = 1.0
    epsilon_finish: float = 0.05
    epsilon_anneal_fraction: float = 0.2
    max_grad_norm: float = 10.0
    reward_scale: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        for name in ("total_timesteps", "num_envs", "num_steps", "num_epochs", "num_minibatches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PQNConfig.{name}={value!r}: must be a positive integer.")
        if not self.hidden_sizes or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.hidden_sizes
        ):
            raise ValueError(
                f"PQNConfig.hidden_sizes={self.hidden_sizes!r}: give positive layer widths, "
                "e.g. (128, 128)."
            )
        for name in ("normalize_observations", "anneal_lr"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"PQNConfig.{name}={getattr(self, name)!r}: use True or False.")
        if self.batch_size % self.num_minibatches:
            divisors = [d for d in range(2, 65) if self.batch_size % d == 0][:6]
            raise ValueError(
                f"PQNConfig: the batch num_envs * num_steps = {self.num_envs} * {self.num_steps}"
                f" = {self.batch_size} does not split into num_minibatches="
                f"{self.num_minibatches}; choose a divisor of {self.batch_size}"
                f" (e.g. {', '.join(map(str, divisors)) or 1}) or change num_envs/num_steps."
            )
        if self.total_timesteps < self.batch_size:
            raise ValueError(
                f"PQNConfig: total_timesteps={self.total_timesteps} is less than one rollout "
                f"(num_envs * num_steps = {self.batch_size}); raise total_timesteps or shrink "
                "the rollout."
            )
        validate_hyperparams({name: getattr(self, name) for name in NUMERIC_FIELDS})

    @property
    def batch_size(self) -> int:
        """Transitions per update: num_envs * num_steps."""
        return self.num_envs * self.num_steps

    @property
    def rollout_size(self) -> int:
        """Env steps per update (all envs together): the batch."""
        return self.batch_size

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_updates(self) -> int:
        """Updates in the run; total_timesteps rounded down to whole rollouts."""
        return self.total_timesteps // self.batch_size

    @property
    def hyperparams(self) -> PQNHyperparams:
        """The numeric hyperparameters as float32 scalars."""
        return PQNHyperparams(
            **{name: jnp.asarray(getattr(self, name), jnp.float32) for name in NUMERIC_FIELDS}
        )

    def replace(self, **changes: Any) -> PQNConfig:
        """A copy with `changes`, validated; unknown names are a ValueError listing the fields."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in valid]
        if unknown:
            raise ValueError(
                f"PQNConfig has no field {unknown[0]!r}; valid fields: {', '.join(valid)}."
            )
        return dataclasses.replace(self, **changes)


#: name -> (low, high, low is allowed, what to give).
_RANGES = {
    "learning_rate": (0.0, math.inf, False, "a positive number such as 1e-4"),
    "gamma": (0.0, 1.0, False, "in (0, 1]"),
    "q_lambda": (0.0, 1.0, True, "in [0, 1]"),
    "epsilon_start": (0.0, 1.0, True, "in [0, 1]"),
    "epsilon_finish": (0.0, 1.0, True, "in [0, 1]"),
    "epsilon_anneal_fraction": (0.0, 1.0, False, "in (0, 1]"),
    "max_grad_norm": (0.0, math.inf, False, "a positive number such as 10"),
    "reward_scale": (0.0, math.inf, False, "a positive number such as 0.1"),
}


def validate_hyperparams(values: dict[str, Any]) -> None:
    """Checks numeric hyperparameters given as numbers or sequences of numbers."""
    for name, value in values.items():
        if name not in _RANGES:
            raise ValueError(
                f"{name!r} is not a numeric PQN hyperparameter; sweepable: "
                f"{', '.join(NUMERIC_FIELDS)}."
            )
        low, high, low_allowed, expected = _RANGES[name]
        for v in np.ravel(np.asarray(value, np.float32)).tolist():
            ok = (v >= low if low_allowed else v > low) and v <= high
            if not ok or math.isnan(v):
                raise ValueError(f"PQNConfig.{name}={v!r}: must be {expected}.")


def compile_options(config: PQNConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`): pass them to
    `jaxrl.jit(train, options)`. Every gradient sample is `num_epochs` passes over an env step."""
    if isinstance(runs_per_device, bool) or not isinstance(runs_per_device, int):
        raise ValueError(f"runs_per_device={runs_per_device!r}: pass a positive int.")
    return options_for_run(
        gradient_samples=config.total_timesteps * config.num_epochs * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
