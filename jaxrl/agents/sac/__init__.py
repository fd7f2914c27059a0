"""Soft Actor-Critic for continuous actions, fused into one compiled program.

>>> import jax
>>> import jaxrl
>>> from jaxrl import envs
>>> from jaxrl.agents import sac
>>> env, env_params = envs.make("Pendulum-v1")
>>> config = sac.default_config("Pendulum-v1")
>>> train = jaxrl.jit(sac.make_train(config, env, env_params), sac.compile_options(config))
>>> result = train(jax.random.key(0))
>>> returns = sac.make_evaluate(config, env, env_params)(result.params, jax.random.key(1))
"""

from jaxrl.agents.common.grid import hyperparams_grid
from jaxrl.agents.sac.config import SACConfig, SACHyperparams, compile_options
from jaxrl.agents.sac.defaults import default_config
from jaxrl.agents.sac.defaults import tuned_env_ids as tuned_env_ids  # `jaxrl list` reads it
from jaxrl.agents.sac.evaluate import make_evaluate, make_policy
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
    "make_policy",
    "make_run_updates",
    "make_train",
]
