"""PPO's evaluation: the trained policy's returns over whole episodes (`play_episodes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl.agents.common.evaluation import check_num_episodes, play_episodes
from jaxrl.agents.common.policy import Policy
from jaxrl.agents.ppo.config import PPOConfig
from jaxrl.agents.ppo.networks import ActorCritic, make_agent
from jaxrl.envs.core import Environment, EnvParams
from jaxrl.normalization import RunningStats


def make_evaluate(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_episodes: int = 100,
    deterministic: bool = True,
) -> Callable[..., jax.Array]:
    """Builds `evaluate(params, key, obs_stats=None) -> returns [num_episodes]`.

    `play_episodes` with this config's policy: `num_episodes` envs in parallel for exactly
    `max_steps` steps, each env's rewards summed up to its first episode end. Deterministic
    actions (argmax, or the Gaussian's mean) unless `deterministic=False`.
    """
    env_params = env.default_params if env_params is None else env_params
    network = make_agent(config, env, env_params).network
    horizon = int(env_params.max_steps)
    check_num_episodes(num_episodes)

    def draw_noise(key: jax.Array) -> jax.Array:
        keys = jax.random.split(key, horizon)
        return jax.vmap(lambda key: network.action_noise(key, (num_episodes,)))(keys)

    def evaluate(params: Any, key: jax.Array, obs_stats: RunningStats | None = None) -> jax.Array:
        if config.normalize_observations and obs_stats is None:
            raise ValueError(
                "This config normalises observations: pass obs_stats=result.obs_stats."
            )
        normalize = observation_normalizer(config, obs_stats)

        def act(obs, action_noise):
            policy = network.apply(params, normalize(obs), method=ActorCritic.policy)
            return policy.mode() if deterministic else policy.sample_with_noise(action_noise)

        noise_fn = None if deterministic else draw_noise
        return play_episodes(act, env, env_params, num_episodes, key, action_noise_fn=noise_fn)

    return evaluate


def observation_normalizer(
    config: PPOConfig, obs_stats: RunningStats | None
) -> Callable[[jax.Array], jax.Array]:
    """Raw observations -> the network's float32 inputs: normalised by `obs_stats` when the
    config normalises observations."""
    if config.normalize_observations:
        return obs_stats.normalize
    return lambda obs: obs.astype(jnp.float32)


def make_policy(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    deterministic: bool = True,
) -> Policy:
    """The policy of a run's training state (`RunnerState.learner`): its parameters and
    observation statistics; the mode of the action distribution, or a sample of it."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)

    def params(learner) -> dict[str, Any]:
        return {"params": agent.unravel(learner.params), "obs_stats": learner.obs_stats}

    def act(params: dict[str, Any], obs: jax.Array, key: jax.Array) -> jax.Array:
        normalize = observation_normalizer(config, params["obs_stats"])
        policy = agent.network.apply(params["params"], normalize(obs), method=ActorCritic.policy)
        return policy.mode() if deterministic else policy.sample(key)

    return Policy(params=params, act=act)
