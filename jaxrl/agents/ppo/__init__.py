"""Proximal Policy Optimization, fused into one compiled program.

>>> from jaxrl.agents import ppo
>>> config = ppo.default_config("CartPole-v1")
>>> train = ppo.make_train(config, env, env_params)
>>> result = jax.jit(train)(jax.random.key(0))
"""

from jaxrl.agents.ppo.config import PPOConfig, PPOHyperparams, hyperparams_grid
from jaxrl.agents.ppo.defaults import SOLVED_THRESHOLDS, default_config, solved_threshold
from jaxrl.agents.ppo.losses import LossInfo, ppo_loss
from jaxrl.agents.ppo.networks import ActorCritic, Categorical, DiagGaussian
from jaxrl.agents.ppo.train import (
    RunnerState,
    TrainResult,
    Transition,
    fast_compile_level,
    init_runner_state,
    make_agent,
    make_evaluate,
    make_init,
    make_run_updates,
    make_train,
    parallel_tasks_pay_off,
    play_episodes,
    result_from_runner,
    update_step,
)

__all__ = [
    "ActorCritic",
    "Categorical",
    "DiagGaussian",
    "LossInfo",
    "PPOConfig",
    "PPOHyperparams",
    "RunnerState",
    "TrainResult",
    "Transition",
    "default_config",
    "fast_compile_level",
    "solved_threshold",
    "SOLVED_THRESHOLDS",
    "hyperparams_grid",
    "init_runner_state",
    "make_agent",
    "make_evaluate",
    "make_init",
    "make_run_updates",
    "make_train",
    "parallel_tasks_pay_off",
    "play_episodes",
    "result_from_runner",
    "ppo_loss",
    "update_step",
]
