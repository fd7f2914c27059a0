"""PQN's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from flax import struct

from jaxrl.agents.common.config import (
    UNIT,
    UNIT_OPEN_LOW,
    LearnerConfig,
    Range,
    checked_runs_per_device,
    positive,
)
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


@dataclasses.dataclass(frozen=True)
class PQNConfig(LearnerConfig):
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
    hyperparam_ranges: ClassVar[dict[str, Range]] = {
        "learning_rate": positive("1e-4"),
        "gamma": UNIT_OPEN_LOW,
        "q_lambda": UNIT,
        "epsilon_start": UNIT,
        "epsilon_finish": UNIT,
        "epsilon_anneal_fraction": UNIT_OPEN_LOW,
        "max_grad_norm": positive("10"),
        "reward_scale": positive("0.1"),
    }

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
        self._check_common(
            positive_ints=(
                "total_timesteps",
                "num_envs",
                "num_steps",
                "num_epochs",
                "num_minibatches",
            ),
            flags=("normalize_observations", "anneal_lr"),
            example_widths="(128, 128)",
        )
        self._check_minibatches(self.num_minibatches)
        self._check_hyperparams()

    @property
    def batch_size(self) -> int:
        """Transitions per update: num_envs * num_steps."""
        return self.rollout_size

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches


def compile_options(config: PQNConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`): pass them to
    `jaxrl.jit(train, options)`. Every gradient sample is `num_epochs` passes over an env step."""
    runs_per_device = checked_runs_per_device(runs_per_device)
    return options_for_run(
        gradient_samples=config.total_timesteps * config.num_epochs * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
