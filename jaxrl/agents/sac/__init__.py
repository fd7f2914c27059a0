"""Soft Actor-Critic for continuous actions, fused into one compiled program.

>>> import jaxrl
>>> from jaxrl import envs
>>> from jaxrl.agents import sac
>>> env, env_params = envs.make("Pendulum-v1")
>>> config = sac.default_config("Pendulum-v1")
>>> train = sac.make_train(config, env, env_params)
>>> result = jaxrl.jit(train, sac.compile_options(config))(jax.random.key(0))
"""

from jaxrl.agents.common.grid import hyperparams_grid
from jaxrl.agents.sac.config import SACConfig, SACHyperparams, compile_options
from jaxrl.agents.sac.defaults import default_config
from jaxrl.agents.sac.evaluate import make_evaluate
from jaxrl.agents.sac.train import TrainResult, make_init, make_run_updates, make_train

__all__ = [
    "SACConfig",
    "SACHyperparams",
    "TrainResult",
    "compile_options",
    "default_config",
    "hyperparams_grid",
    "make_evaluate",
    "make_init",
    "make_run_updates",
    "make_train",
]
