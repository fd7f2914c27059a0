"""DQN's configuration: shape-setting settings (static) and numeric hyperparameters (traceable)."""

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
class DQNHyperparams:
    """The numeric hyperparameters, a pytree of float32 scalars (`[B]` leaves in a sweep)."""

    learning_rate: Any
    gamma: Any
    tau: Any
    epsilon_start: Any
    epsilon_end: Any
    exploration_fraction: Any
    max_grad_norm: Any


@dataclasses.dataclass(frozen=True)
class DQNConfig(LearnerConfig):
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
    hyperparam_ranges: ClassVar[dict[str, Range]] = {
        "learning_rate": positive("1e-3"),
        "gamma": UNIT_OPEN_LOW,
        "tau": Range(0.0, 1.0, False, "in (0, 1] (1 copies the online network)"),
        "epsilon_start": UNIT,
        "epsilon_end": UNIT,
        "exploration_fraction": UNIT_OPEN_LOW,
        "max_grad_norm": positive("10"),
    }

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
        self._check_common(
            positive_ints=(
                "total_timesteps",
                "num_envs",
                "num_steps",
                "batch_size",
                "buffer_size",
                "n_step",
                "target_update_interval",
            ),
            flags=("layer_norm", "double", "dueling", "anneal_lr"),
            example_widths="(64, 64)",
        )
        if isinstance(self.learning_starts, bool) or not isinstance(self.learning_starts, int):
            raise ValueError(
                f"DQNConfig.learning_starts={self.learning_starts!r}: must be an integer."
            )
        self._check_replay_ratio("0.25")
        if self.buffer_rows < self.num_steps + self.n_step:
            raise ValueError(
                f"DQNConfig: buffer_size={self.buffer_size} holds {self.buffer_rows} steps per "
                f"env, fewer than a rollout ({self.num_steps}) plus n_step ({self.n_step}); "
                "raise buffer_size."
            )
        self._check_hyperparams()

    @property
    def gradient_steps(self) -> int:
        """Gradient steps per update (at least one)."""
        return max(1, round(self.replay_ratio * self.rollout_size))

    @property
    def buffer_rows(self) -> int:
        """Steps per env the buffer holds."""
        return self.buffer_size // self.num_envs


def compile_options(config: DQNConfig, *, runs_per_device: int = 1) -> CompileOptions:
    """The XLA options that bring `runs_per_device` vmapped runs of `config` on one device to
    trained parameters soonest (`jaxrl.compilation.options_for_run`)."""
    runs_per_device = checked_runs_per_device(runs_per_device)
    gradient_samples = config.num_updates * config.gradient_steps * config.batch_size
    return options_for_run(
        gradient_samples=gradient_samples * runs_per_device,
        envs=config.num_envs * runs_per_device,
    )
