"""Tabular agents for the grid worlds: value iteration (the exact optimum, from the layout's
transition model), Q-learning and Sarsa (epsilon-greedy, on the real env).

>>> from jaxrl import envs
>>> from jaxrl.agents import tabular
>>> env, params = envs.make("GridWorld-CliffWalking-v0")
>>> optimum = tabular.value_iteration(tabular.grid_model(env, params), gamma=1.0)
>>> config = tabular.default_config("GridWorld-CliffWalking-v0").replace(algorithm="sarsa")
>>> train = tabular.make_train(config, env, params)
>>> results = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 8))  # 8 seeds
>>> grid, _ = tabular.hyperparams_grid(config, algorithm=["q_learning", "sarsa"])
>>> both = jax.jit(jax.vmap(train, in_axes=(None, 0)))(jax.random.key(0), grid)  # one program
>>> returns = tabular.make_evaluate(config, env, params)(results.q_values[0], key)
"""

from jaxrl.agents.common.grid import hyperparams_grid
from jaxrl.agents.tabular.model import grid_model
from jaxrl.agents.tabular.policies import policy_grid
from jaxrl.agents.tabular.q_learning import (
    ALGORITHMS,
    TabularConfig,
    TabularHyperparams,
    TabularResult,
    default_config,
    make_evaluate,
    make_train,
)
from jaxrl.agents.tabular.value_iteration import ValueIterationResult, value_iteration

__all__ = [
    "ALGORITHMS",
    "TabularConfig",
    "TabularHyperparams",
    "TabularResult",
    "ValueIterationResult",
    "default_config",
    "grid_model",
    "hyperparams_grid",
    "make_evaluate",
    "make_train",
    "policy_grid",
    "value_iteration",
]
