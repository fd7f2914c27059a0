"""Proximal Policy Optimization, fused into one compiled program.

>>> import jaxrl
>>> from jaxrl import envs
>>> from jaxrl.agents import ppo
>>> env, env_params = envs.make("CartPole-v1")
>>> config = ppo.default_config("CartPole-v1")
>>> train = ppo.make_train(config, env, env_params)
>>> result = jaxrl.jit(train, ppo.compile_options(config))(jax.random.key(0))
"""

from jaxrl.agents.common.grid import hyperparams_grid
from jaxrl.agents.ppo.config import PPOConfig, PPOHyperparams, compile_options
from jaxrl.agents.ppo.defaults import default_config
from jaxrl.agents.ppo.defaults import tuned_env_ids as tuned_env_ids  # `jaxrl list` reads it
from jaxrl.agents.ppo.evaluate import make_evaluate, make_policy
from jaxrl.agents.ppo.losses import ppo_loss
from jaxrl.agents.ppo.train import TrainResult, make_init, make_run_updates, make_train

__all__ = [
    "PPOConfig",
    "PPOHyperparams",
    "TrainResult",
    "compile_options",
    "default_config",
    "hyperparams_grid",
    "make_evaluate",
    "make_init",
    "make_policy",
    "make_run_updates",
    "make_train",
    "ppo_loss",
]
