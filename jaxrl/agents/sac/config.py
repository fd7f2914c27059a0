"""SAC's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

from flax import struct

from jaxrl.agents.common.config import (
    UNIT_OPEN_LOW,
    LearnerConfig,
    Range,
    checked_runs_per_device,
    positive,
)
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
    noise_correlation: Any


@dataclasses.dataclass(frozen=True)
class SACConfig(LearnerConfig):
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
        noise_correlation: rho in [0, 1], the lag-1 autocorrelation per env step of the
            standard normal noise behind the rollout's actions (the random actions before
            `learning_starts` too): an AR(1) process, restarted at each episode's start, that
            keeps a draw for about `1 / (1 - rho)` steps (`rollout.CorrelatedNoise`). 0 draws
            i.i.d. noise, as plain SAC does. Its marginal stays standard normal, so the
            gradient steps' log-densities and entropy are unchanged; only the behaviour
            policy's draws persist, which a sparse reward behind a long manoeuvre needs
            (MountainCarContinuous: i.i.d. noise rarely reaches the flag).
    """

    hyperparams_type: ClassVar[type] = SACHyperparams
    hyperparam_ranges: ClassVar[dict[str, Range]] = {
        "actor_learning_rate": positive("3e-4"),
        "critic_learning_rate": positive("3e-4"),
        "alpha_learning_rate": Range(0.0, math.inf, True, "non-negative (0 keeps alpha fixed)"),
        "gamma": UNIT_OPEN_LOW,
        "tau": UNIT_OPEN_LOW,
        "initial_alpha": positive("1.0"),
        "target_entropy_scale": Range(-math.inf, math.inf, True, "a finite number such as -1.0"),
        "noise_correlation": Range(0.0, 1.0, True, "in [0, 1] (0: i.i.d. noise; e.g. 0.95)"),
    }

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
    noise_correlation: float = 0.0

    def __post_init__(self):
        self._check_common(
            positive_ints=("total_timesteps", "num_envs", "num_steps", "buffer_size", "batch_size"),
            example_widths="(256, 256)",
        )
        self._check_choice("activation", ACTIVATIONS)
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
        self._check_replay_ratio("1.0")
        ratio = self.replay_ratio
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
        self._check_hyperparams()

    @property
    def gradient_steps(self) -> int:
        """Gradient steps per update (once learning has started)."""
        return round(self.replay_ratio * self.rollout_size)

    @property
    def buffer_rows(self) -> int:
        """Rows of the replay ring: each holds one step of every env."""
        return self.buffer_size // self.num_envs


def compile_options(config: SACConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`): pass them to
    `jaxrl.jit(train, options)`. Every gradient step processes `batch_size` samples."""
    runs_per_device = checked_runs_per_device(runs_per_device)
    gradient_steps = config.num_updates * config.gradient_steps
    return options_for_run(
        gradient_samples=gradient_steps * config.batch_size * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
