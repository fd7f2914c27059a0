"""SAC's evaluation: the deterministic policy's returns over whole episodes (`play_episodes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from jaxrl.agents.common.evaluation import check_num_episodes, play_episodes
from jaxrl.agents.sac.config import SACConfig
from jaxrl.agents.sac.networks import make_agent
from jaxrl.envs.core import Environment, EnvParams


def make_evaluate(
    config: SACConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_episodes: int = 100,
) -> Callable[[Any, jax.Array], jax.Array]:
    """Builds `evaluate(params, key) -> returns [num_episodes]` float32.

    `play_episodes` with the deterministic policy, `tanh(mean)` mapped onto the action Box:
    `num_episodes` envs in parallel for exactly `max_steps` steps, each env's rewards summed up
    to its first episode end. `params` is the actor's params pytree (`TrainResult.params`).
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    check_num_episodes(num_episodes)

    def evaluate(params: Any, key: jax.Array) -> jax.Array:
        def act(obs, _):
            return agent.env_action(agent.actor.apply(params, obs).mode())

        return play_episodes(act, env, env_params, num_episodes, key)

    return evaluate
