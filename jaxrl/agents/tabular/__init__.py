"""Tabular agents for the grid worlds: value iteration (the exact optimum, from the layout's
transition model), Q-learning and Sarsa (epsilon-greedy, on the real env).

>>> from jaxrl import envs
>>> from jaxrl.agents import tabular
>>> env, params = envs.make("GridWorld-CliffWalking-v0")
>>> optimum = tabular.value_iteration(tabular.grid_model(env, params), gamma=1.0)
>>> config = tabular.TabularConfig(algorithm="sarsa")
>>> train = tabular.make_train(config, env, params)
>>> results = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 8))  # 8 seeds
>>> both = tabular.stack_hyperparams([config.replace(algorithm="q_learning"), config])
>>> results = jax.jit(jax.vmap(train, in_axes=(None, None, 0)))(key, params, both)  # one program
"""

from jaxrl.agents.tabular.model import TabularModel, grid_model, start_state
from jaxrl.agents.tabular.policies import (
    epsilon_greedy,
    greedy_action,
    greedy_episode,
    policy_grid,
    state_index,
)
from jaxrl.agents.tabular.q_learning import (
    ALGORITHMS,
    Q_LEARNING,
    SARSA,
    TabularConfig,
    TabularHyperparams,
    TabularResult,
    TDCarry,
    make_train,
    run_episode,
    stack_hyperparams,
    td_step,
    td_target,
)
from jaxrl.agents.tabular.value_iteration import (
    ValueIterationResult,
    bellman_q,
    value_iteration,
)

__all__ = [
    "ALGORITHMS",
    "Q_LEARNING",
    "SARSA",
    "TDCarry",
    "TabularConfig",
    "TabularHyperparams",
    "TabularModel",
    "TabularResult",
    "ValueIterationResult",
    "bellman_q",
    "epsilon_greedy",
    "greedy_action",
    "greedy_episode",
    "grid_model",
    "make_train",
    "policy_grid",
    "run_episode",
    "stack_hyperparams",
    "start_state",
    "state_index",
    "td_step",
    "td_target",
    "value_iteration",
]
