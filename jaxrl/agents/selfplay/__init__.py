"""Self-play PPO for two-player games, against a league of its past selves, and the
evaluation ladder its players are measured on.

>>> from jaxrl import envs
>>> from jaxrl.agents import selfplay
>>> game, _ = envs.make("TicTacToe-v0")
>>> config = selfplay.default_config("TicTacToe-v0")
>>> result = jax.jit(selfplay.make_train(config, game))(jax.random.key(0))
>>> player = selfplay.make_player(config, game, result.params)
"""

from jaxrl.agents.common.grid import hyperparams_grid
from jaxrl.agents.selfplay.config import SelfPlayConfig
from jaxrl.agents.selfplay.defaults import default_config
from jaxrl.agents.selfplay.defaults import tuned_env_ids as tuned_env_ids  # `jaxrl list` reads it
from jaxrl.agents.selfplay.train import (
    TrainResult,
    make_init,
    make_player,
    make_run_updates,
    make_train,
)

__all__ = [
    "SelfPlayConfig",
    "TrainResult",
    "default_config",
    "hyperparams_grid",
    "make_init",
    "make_player",
    "make_run_updates",
    "make_train",
]
