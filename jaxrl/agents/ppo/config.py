"""PPO's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.compilation import CompileOptions, options_for_run

ACTIVATIONS = ("tanh", "relu")


@struct.dataclass
class PPOHyperparams:
    """The numeric hyperparameters, as a pytree so `jax.vmap` can sweep them.

    Every leaf is a float32 scalar (or `[B]` in a batched sweep).
    """

    learning_rate: Any
    gamma: Any
    gae_lambda: Any
    clip_eps: Any
    ent_coef: Any
    vf_coef: Any
    max_grad_norm: Any


#: The traceable (sweepable) settings: `PPOHyperparams`'s fields.
NUMERIC_FIELDS = tuple(field.name for field in dataclasses.fields(PPOHyperparams))


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO settings, validated before anything compiles.

    Shape-setting (static) settings:
        total_timesteps: env steps over the whole run (all envs together).
        num_envs: envs stepped in parallel.
        num_steps: steps per env in one rollout; one update consumes num_envs * num_steps.
        update_epochs: passes over each rollout.
        num_minibatches: minibatches per epoch; must divide num_envs * num_steps.
        hidden_sizes: widths of the actor's and the critic's hidden layers.
        activation: "tanh" or "relu".
        normalize_observations: running mean/std normalisation of observations.
        normalize_rewards: divide rewards by the running std of the discounted return.
        anneal_lr: decay the learning rate linearly to 0 over the run.
        initial_log_std: initial log standard deviation of a Gaussian policy.

    Numeric hyperparameters (may be traced, see `hyperparams`):
        learning_rate, gamma, gae_lambda, clip_eps, ent_coef, vf_coef, max_grad_norm.
    """

    hyperparams_type: ClassVar[type] = PPOHyperparams

    total_timesteps: int = 500_000
    num_envs: int = 8
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 4
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_observations: bool = False
    normalize_rewards: bool = False
    anneal_lr: bool = True
    initial_log_std: float = 0.0
    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        for name in (
            "total_timesteps",
            "num_envs",
            "num_steps",
            "update_epochs",
            "num_minibatches",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PPOConfig.{name}={value!r}: must be a positive integer.")
        if not self.hidden_sizes or any(not isinstance(h, int) or h < 1 for h in self.hidden_sizes):
            raise ValueError(
                f"PPOConfig.hidden_sizes={self.hidden_sizes!r}: give positive layer widths, "
                "e.g. (64, 64)."
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"PPOConfig.activation={self.activation!r}: choose one of {ACTIVATIONS}."
            )
        if self.batch_size % self.num_minibatches:
            divisors = [d for d in range(2, 65) if self.batch_size % d == 0][:6]
            raise ValueError(
                f"PPOConfig: the batch num_envs * num_steps = {self.num_envs} * {self.num_steps}"
                f" = {self.batch_size} does not split into num_minibatches="
                f"{self.num_minibatches}; choose a divisor of {self.batch_size}"
                f" (e.g. {', '.join(map(str, divisors)) or 1}) or change num_envs/num_steps."
            )
        if self.total_timesteps < self.batch_size:
            raise ValueError(
                f"PPOConfig: total_timesteps={self.total_timesteps} is less than one rollout "
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
    def hyperparams(self) -> PPOHyperparams:
        """The numeric hyperparameters as float32 scalars."""
        return PPOHyperparams(
            **{name: jnp.asarray(getattr(self, name), jnp.float32) for name in NUMERIC_FIELDS}
        )

    def per_shard(self, num_shards: int) -> PPOConfig:
        """The config each of `num_shards` data-parallel shards runs: `num_envs / num_shards`
        envs, and `total_timesteps` divided too, so the number of updates (and the learning-rate
        schedule) is the whole run's. A one-line ValueError naming the fix when the envs or a
        minibatch do not split evenly."""
        if self.num_envs % num_shards:
            raise ValueError(
                f"num_envs={self.num_envs} does not split over {num_shards} devices; use a "
                f"multiple of {num_shards} (e.g. {num_shards * -(-self.num_envs // num_shards)})."
            )
        num_envs = self.num_envs // num_shards
        if (num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(
                f"each of {num_shards} devices holds {num_envs} envs x {self.num_steps} steps = "
                f"{num_envs * self.num_steps} transitions, which do not split into "
                f"num_minibatches={self.num_minibatches}; change num_envs, num_steps or "
                "num_minibatches."
            )
        return self.replace(num_envs=num_envs, total_timesteps=self.total_timesteps // num_shards)

    def replace(self, **changes: Any) -> PPOConfig:
        """A copy with `changes`, validated; unknown names are a ValueError listing the fields."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in valid]
        if unknown:
            raise ValueError(
                f"PPOConfig has no field {unknown[0]!r}; valid fields: {', '.join(valid)}."
            )
        return dataclasses.replace(self, **changes)


def validate_hyperparams(values: dict[str, Any]) -> None:
    """Checks numeric hyperparameters given as numbers or sequences of numbers."""
    ranges = {
        "learning_rate": (0.0, math.inf, "a positive number such as 3e-4"),
        "gamma": (0.0, 1.0, "in (0, 1]"),
        "gae_lambda": (0.0, 1.0, "in [0, 1]"),
        "clip_eps": (0.0, math.inf, "a positive number such as 0.2"),
        "ent_coef": (0.0, math.inf, "non-negative"),
        "vf_coef": (0.0, math.inf, "non-negative"),
        "max_grad_norm": (0.0, math.inf, "a positive number such as 0.5"),
    }
    for name, value in values.items():
        if name not in ranges:
            raise ValueError(
                f"{name!r} is not a numeric PPO hyperparameter; sweepable: "
                f"{', '.join(NUMERIC_FIELDS)}."
            )
        low, high, expected = ranges[name]
        for v in np.ravel(np.asarray(value, np.float32)).tolist():
            strictly_positive = name in ("learning_rate", "gamma", "clip_eps", "max_grad_norm")
            ok = (v > low if strictly_positive else v >= low) and v <= high
            if not ok or math.isnan(v):
                raise ValueError(f"PPOConfig.{name}={v!r}: must be {expected}.")


def compile_options(config: PPOConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`): pass them to
    `jaxrl.jit(train, options)`. Every gradient sample is `update_epochs` passes over an env
    step."""
    if isinstance(runs_per_device, bool) or not isinstance(runs_per_device, int):
        raise ValueError(f"runs_per_device={runs_per_device!r}: pass a positive int.")
    return options_for_run(
        gradient_samples=config.total_timesteps * config.update_epochs * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
