"""PQN's evaluation: the greedy policy's returns over whole episodes (`play_episodes`), and the
policy of a run's training state (`make_policy`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl.agents.common.evaluation import check_num_episodes, play_episodes
from jaxrl.agents.common.policy import Policy
from jaxrl.agents.ppo.evaluate import observation_normalizer
from jaxrl.agents.pqn.config import PQNConfig
from jaxrl.agents.pqn.networks import ACTION_NOISE_SHAPE, epsilon_greedy, make_agent
from jaxrl.envs.core import Environment, EnvParams
from jaxrl.normalization import RunningStats


def make_evaluate(
    config: PQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_episodes: int = 100,
) -> Callable[..., jax.Array]:
    """Builds `evaluate(params, key, obs_stats=None) -> returns [num_episodes]` float32.

    `play_episodes` with the greedy policy (argmax of the Q-values, no exploration):
    `num_episodes` envs in parallel for exactly `max_steps` steps, each env's rewards (in the
    env's units) summed up to its first episode end. `obs_stats` is `TrainResult.obs_stats`,
    needed when the config normalises observations.
    """
    env_params = env.default_params if env_params is None else env_params
    network = make_agent(config, env, env_params).network
    check_num_episodes(num_episodes)

    def evaluate(params: Any, key: jax.Array, obs_stats: RunningStats | None = None) -> jax.Array:
        if config.normalize_observations and obs_stats is None:
            raise ValueError(
                "This config normalises observations: pass obs_stats=result.obs_stats."
            )
        normalize = observation_normalizer(config, obs_stats)

        def act(obs, _):
            return jnp.argmax(network.apply(params, normalize(obs)), axis=-1).astype(jnp.int32)

        return play_episodes(act, env, env_params, num_episodes, key)

    return evaluate


def make_policy(
    config: PQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    deterministic: bool = True,
) -> Policy:
    """The policy of a run's training state (`RunnerState.learner`): its Q-network's parameters
    and observation statistics; greedy in the Q-values, or epsilon-greedy at the run's final
    epsilon (`epsilon_finish`) when not deterministic."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)

    def params(learner) -> dict[str, Any]:
        return {"params": agent.unravel(learner.params), "obs_stats": learner.obs_stats}

    def act(params: dict[str, Any], obs: jax.Array, key: jax.Array) -> jax.Array:
        normalize = observation_normalizer(config, params["obs_stats"])
        q_values = agent.network.apply(params["params"], normalize(obs))
        if deterministic:
            return jnp.argmax(q_values, axis=-1).astype(jnp.int32)
        noise = jax.random.uniform(key, q_values.shape[:-1] + ACTION_NOISE_SHAPE)
        return epsilon_greedy(q_values, jnp.float32(config.epsilon_finish), noise)

    return Policy(params=params, act=act)
