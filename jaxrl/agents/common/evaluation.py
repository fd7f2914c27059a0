"""How every learner is evaluated and how its training episodes are summarised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl.agents.common.rollout import Transition
from jaxrl.envs.core import Environment, EnvParams


def play_episodes(
    act: Callable[[jax.Array, Any], jax.Array],
    env: Environment,
    env_params: EnvParams,
    num_episodes: int,
    key: jax.Array,
    *,
    action_noise_fn: Callable[[jax.Array], Any] | None = None,
) -> jax.Array:
    """Each of `num_episodes` envs plays one episode: float32 `[num_episodes]` returns.

    The envs run for exactly `env_params.max_steps` steps (every episode has ended by then)
    without auto-reset (`step_without_reset`), and each env's rewards are summed up to its
    first episode end, so the cost is bounded by the time limit, with no data-dependent loop.
    The random numbers (action noise, stochastic dynamics) are drawn before the loop.

    Args:
        act: `(obs [num_episodes, ...], action_noise_t) -> actions [num_episodes, ...]`, the
            policy; `action_noise_t` is step t's slice of what `action_noise_fn` returned
            (None without it).
        env, env_params: the env to play.
        num_episodes: episodes, played in parallel.
        key: split into the reset key, the action-noise key and the dynamics key.
        action_noise_fn: `key -> noise [max_steps, ...]` for a stochastic policy.
    """
    check_num_episodes(num_episodes)
    horizon = int(env_params.max_steps)
    step_envs = jax.vmap(
        env.step_without_reset, in_axes=(0 if env.stochastic_step else None, 0, 0, None)
    )
    key_reset, key_actions, key_dynamics = jax.random.split(key, 3)
    obs, env_state = env.reset_batch(key_reset, num_episodes, env_params)
    step_inputs = {}
    if action_noise_fn is not None:
        step_inputs["action_noise"] = action_noise_fn(key_actions)
    if env.stochastic_step:
        step_inputs["env_keys"] = jax.random.split(key_dynamics, horizon * num_episodes).reshape(
            (horizon, num_episodes)
        )

    def step(carry, inputs):
        obs, env_state, returns, running = carry
        action = act(obs, inputs.get("action_noise"))
        obs, env_state, reward, terminated, truncated, _ = step_envs(
            inputs.get("env_keys", key_dynamics), env_state, action, env_params
        )
        returns = returns + jnp.where(running, reward, 0.0)
        running = jnp.logical_and(running, ~jnp.logical_or(terminated, truncated))
        return (obs, env_state, returns, running), None

    init = (obs, env_state, jnp.zeros(num_episodes), jnp.ones(num_episodes, jnp.bool_))
    (_, _, returns, _), _ = jax.lax.scan(step, init, step_inputs, length=horizon)
    return returns


def check_num_episodes(num_episodes: Any) -> None:
    """A one-line ValueError unless `num_episodes` is a positive int."""
    if isinstance(num_episodes, bool) or not isinstance(num_episodes, int) or num_episodes < 1:
        raise ValueError(f"num_episodes={num_episodes!r}: evaluate at least one episode.")


def episode_metrics(rollout: Transition, axis_name: str | None = None) -> dict[str, jax.Array]:
    """Mean return and length of the episodes that ended in `rollout`, NaN when none did (never
    a 0 that reads like a result), and their count; over every shard under `axis_name`."""
    ended = jnp.logical_or(rollout.terminated, rollout.truncated)
    count = sum_over_shards(jnp.sum(ended.astype(jnp.float32)), axis_name)

    def mean_over_ended(values):
        total = jnp.sum(jnp.where(ended, values.astype(jnp.float32), 0.0))
        total = sum_over_shards(total, axis_name)
        return jnp.where(count > 0, total / jnp.maximum(count, 1.0), jnp.nan)

    return {
        "episode_return": mean_over_ended(rollout.episode_return),
        "episode_length": mean_over_ended(rollout.episode_length),
        "episodes": count,
    }


def sum_over_shards(x: jax.Array, axis_name: str | None) -> jax.Array:
    """`x` summed over the shards of `axis_name` (as it is without one)."""
    return x if axis_name is None else jax.lax.psum(x, axis_name)
