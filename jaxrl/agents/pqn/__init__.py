"""PQN (parallelised Q-learning: vectorised envs, Q(lambda), LayerNorm, no replay buffer and no
target network), fused into one compiled program.

>>> import jaxrl
>>> from jaxrl import envs
>>> from jaxrl.agents import pqn
>>> env, env_params = envs.make("CartPole-v1")
>>> config = pqn.default_config("CartPole-v1")
>>> train = pqn.make_train(config, env, env_params)
>>> result = jaxrl.jit(train, pqn.compile_options(config))(jax.random.key(0))
>>> policy = pqn.make_policy(config, env, env_params)
>>> actions = policy.act(policy.params(result.runner_state.learner), obs, key)  # obs [N, ...]
"""

from jaxrl.agents.common.grid import hyperparams_grid
from jaxrl.agents.pqn.config import PQNConfig, PQNHyperparams, compile_options
from jaxrl.agents.pqn.defaults import default_config
from jaxrl.agents.pqn.defaults import tuned_env_ids as tuned_env_ids  # `jaxrl list` reads it
from jaxrl.agents.pqn.evaluate import make_evaluate, make_policy
from jaxrl.agents.pqn.train import TrainResult, make_init, make_run_updates, make_train

__all__ = [
    "PQNConfig",
    "PQNHyperparams",
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
