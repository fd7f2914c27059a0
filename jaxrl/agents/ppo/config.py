"""PPO's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from flax import struct

from jaxrl.agents.common.config import (
    NON_NEGATIVE,
    UNIT,
    UNIT_OPEN_LOW,
    LearnerConfig,
    Range,
    checked_runs_per_device,
    positive,
)
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


@dataclasses.dataclass(frozen=True)
class PPOConfig(LearnerConfig):
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
    hyperparam_ranges: ClassVar[dict[str, Range]] = {
        "learning_rate": positive("3e-4"),
        "gamma": UNIT_OPEN_LOW,
        "gae_lambda": UNIT,
        "clip_eps": positive("0.2"),
        "ent_coef": NON_NEGATIVE,
        "vf_coef": NON_NEGATIVE,
        "max_grad_norm": positive("0.5"),
    }

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
        self._check_common(
            positive_ints=(
                "total_timesteps",
                "num_envs",
                "num_steps",
                "update_epochs",
                "num_minibatches",
            ),
            flags=("normalize_observations", "normalize_rewards", "anneal_lr"),
            example_widths="(64, 64)",
        )
        self._check_choice("activation", ACTIVATIONS)
        self._check_minibatches(self.num_minibatches)
        self._check_hyperparams()

    @property
    def batch_size(self) -> int:
        """Transitions per update: num_envs * num_steps."""
        return self.rollout_size

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

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


def compile_options(config: PPOConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`): pass them to
    `jaxrl.jit(train, options)`. Every gradient sample is `update_epochs` passes over an env
    step."""
    runs_per_device = checked_runs_per_device(runs_per_device)
    return options_for_run(
        gradient_samples=config.total_timesteps * config.update_epochs * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
