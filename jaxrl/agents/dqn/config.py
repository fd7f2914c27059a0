"""DQN's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax.numpy as jnp
from flax import struct

from jaxrl.compilation import CompileOptions, options_for_run


@struct.dataclass
class DQNHyperparams:
    """The numeric hyperparameters, a pytree of float32 scalars (`[B]` leaves in a sweep)."""

    learning_rate: Any
    gamma: Any
    tau: Any
    epsilon_start: Any
    epsilon_end: Any
    exploration_fraction: Any
    max_grad_norm: Any


#: The traceable (sweepable) settings: `DQNHyperparams`'s fields.
NUMERIC_FIELDS = tuple(field.name for field in dataclasses.fields(DQNHyperparams))


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    """DQN settings, validated before anything compiles.

    Shape-setting (static) settings:
        total_timesteps: env steps over the whole run (all envs together).
        num_envs: envs stepped in parallel.
        num_steps: steps per env between learning phases; an update is a rollout of
            `num_envs * num_steps` env steps, then its gradient steps.
        replay_ratio: gradient steps per env step (an update makes
            `replay_ratio * num_envs * num_steps` of them, rounded).
        batch_size: transitions per gradient step.
        buffer_size: transitions the replay buffer holds (all envs together).
        learning_starts: env steps before the first gradient step.
        n_step: steps of reward in each target before it bootstraps.
        target_update_interval: gradient steps between target-network updates.
        hidden_sizes: widths of the Q-network's hidden layers.
        layer_norm: LayerNorm in each hidden layer (steadier TD regression).
        double: Double DQN targets (the online network picks the action, the target network
            values it).
        dueling: a dueling head (a value and advantages less their mean).
        anneal_lr: decay the learning rate linearly to 0 over the run's gradient steps.

    Numeric hyperparameters (may be traced, see `hyperparams`):
        learning_rate, gamma, tau (the target network moves `tau` of the way to the online one
        at each target update: 1 copies it), epsilon_start, epsilon_end, exploration_fraction
        (of the run over which epsilon decays linearly), max_grad_norm.
    """

    hyperparams_type: ClassVar[type] = DQNHyperparams

    total_timesteps: int = 100_000
    num_envs: int = 8
    num_steps: int = 32
    replay_ratio: float = 0.25
    batch_size: int = 64
    buffer_size: int = 50_000
    learning_starts: int = 1_000
    n_step: int = 1
    target_update_interval: int = 64
    hidden_sizes: tuple[int, ...] = (64, 64)
    layer_norm: bool = False
    double: bool = True
    dueling: bool = False
    anneal_lr: bool = False
    learning_rate: float = 1e-3
    gamma: float = 0.99
    tau: float = 1.0
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.2
    max_grad_norm: float = 10.0

    def __post_init__(self):
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        for name in (
            "total_timesteps",
            "num_envs",
            "num_steps",
            "batch_size",
            "buffer_size",
            "n_step",
            "target_update_interval",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DQNConfig.{name}={value!r}: must be a positive integer.")
        if isinstance(self.learning_starts, bool) or not isinstance(self.learning_starts, int):
            raise ValueError(
                f"DQNConfig.learning_starts={self.learning_starts!r}: must be an integer."
            )
        if not self.hidden_sizes or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.hidden_sizes
        ):
            raise ValueError(
                f"DQNConfig.hidden_sizes={self.hidden_sizes!r}: give positive layer widths, "
                "e.g. (64, 64)."
            )
        for name in ("layer_norm", "double", "dueling", "anneal_lr"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"DQNConfig.{name}={getattr(self, name)!r}: use True or False.")
        if not isinstance(self.replay_ratio, (int, float)) or not self.replay_ratio > 0:
            raise ValueError(
                f"DQNConfig.replay_ratio={self.replay_ratio!r}: gradient steps per env step, a "
                "positive number such as 0.25."
            )
        if self.total_timesteps < self.rollout_size:
            raise ValueError(
                f"DQNConfig: total_timesteps={self.total_timesteps} is less than one rollout "
                f"(num_envs * num_steps = {self.rollout_size}); raise total_timesteps."
            )
        if self.buffer_rows < self.num_steps + self.n_step:
            raise ValueError(
                f"DQNConfig: buffer_size={self.buffer_size} holds {self.buffer_rows} steps per "
                f"env, fewer than a rollout ({self.num_steps}) plus n_step ({self.n_step}); "
                "raise buffer_size."
            )
        validate_hyperparams({name: getattr(self, name) for name in NUMERIC_FIELDS})

    @property
    def rollout_size(self) -> int:
        """Env steps per update: num_envs * num_steps."""
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        """Updates in the run: total_timesteps rounded down to whole rollouts."""
        return self.total_timesteps // self.rollout_size

    @property
    def gradient_steps(self) -> int:
        """Gradient steps per update (at least one)."""
        return max(1, round(self.replay_ratio * self.rollout_size))

    @property
    def buffer_rows(self) -> int:
        """Steps per env the buffer holds."""
        return self.buffer_size // self.num_envs

    @property
    def hyperparams(self) -> DQNHyperparams:
        """The numeric hyperparameters as float32 scalars."""
        return DQNHyperparams(
            **{name: jnp.asarray(getattr(self, name), jnp.float32) for name in NUMERIC_FIELDS}
        )

    def replace(self, **changes: Any) -> DQNConfig:
        """A copy with `changes`, validated; unknown names are a ValueError listing the fields."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in valid]
        if unknown:
            raise ValueError(
                f"DQNConfig has no field {unknown[0]!r}; valid fields: {', '.join(valid)}."
            )
        return dataclasses.replace(self, **changes)


def validate_hyperparams(values: dict[str, Any]) -> None:
    """Checks numeric hyperparameters given as numbers."""
    ranges = {
        "learning_rate": (False, math.inf, "a positive number such as 1e-3"),
        "gamma": (False, 1.0, "in (0, 1]"),
        "tau": (False, 1.0, "in (0, 1] (1 copies the online network)"),
        "epsilon_start": (True, 1.0, "in [0, 1]"),
        "epsilon_end": (True, 1.0, "in [0, 1]"),
        "exploration_fraction": (False, 1.0, "in (0, 1]"),
        "max_grad_norm": (False, math.inf, "a positive number such as 10"),
    }
    for name, value in values.items():
        zero_allowed, high, expected = ranges[name]
        v = float(value)
        ok = (v >= 0 if zero_allowed else v > 0) and v <= high
        if not ok or math.isnan(v):
            raise ValueError(f"DQNConfig.{name}={value!r}: must be {expected}.")


def compile_options(config: DQNConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`)."""
    if isinstance(runs_per_device, bool) or not isinstance(runs_per_device, int):
        raise ValueError(f"runs_per_device={runs_per_device!r}: pass a positive int.")
    gradient_samples = config.num_updates * config.gradient_steps * config.batch_size
    return options_for_run(
        gradient_samples=gradient_samples * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
