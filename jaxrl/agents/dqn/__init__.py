"""Deep Q-Networks with Double-DQN targets, n-step returns, an optional dueling head and a
replay buffer on the device, fused into one compiled program.

>>> import jaxrl
>>> from jaxrl import envs
>>> from jaxrl.agents import dqn
>>> env, env_params = envs.make("CartPole-v1")
>>> config = dqn.default_config("CartPole-v1")
>>> train = jaxrl.jit(dqn.make_train(config, env, env_params), dqn.compile_options(config))
>>> result = train(jax.random.key(0))
"""

from jaxrl.agents.common.grid import hyperparams_grid
from jaxrl.agents.dqn.config import DQNConfig, DQNHyperparams, compile_options
from jaxrl.agents.dqn.defaults import default_config
from jaxrl.agents.dqn.defaults import tuned_env_ids as tuned_env_ids  # `jaxrl list` reads it
from jaxrl.agents.dqn.train import (
    TrainResult,
    make_evaluate,
    make_init,
    make_policy,
    make_run_updates,
    make_train,
)

__all__ = [
    "DQNConfig",
    "DQNHyperparams",
    "TrainResult",
    "compile_options",
    "default_config",
    "hyperparams_grid",
    "make_evaluate",
    "make_init",
    "make_policy",
    "make_run_updates",
    "make_train",
]
