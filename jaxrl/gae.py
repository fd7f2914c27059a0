"""Generalized advantage estimation with Gymnasium's terminated/truncated split."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl._xla_cpu import batched_from_start


def compute_gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: jax.typing.ArrayLike,
    gae_lambda: jax.typing.ArrayLike,
) -> tuple[jax.Array, jax.Array]:
    """Advantages and value targets of a rollout, time-major.

    A terminated step bootstraps nothing (the episode really ended); a truncated step bootstraps
    from the value of the observation it produced (`info["final_observation"]`), since the
    episode was only cut short. Either ends the advantage trace, because the next step belongs
    to a new episode. The step after the rollout's last is bootstrapped through `next_values`.

    Args:
        rewards: `[T, N]` float.
        values: `[T, N]`, V(s_t).
        next_values: `[T, N]`, V of the observation step t produced, before any auto-reset.
        terminated: `[T, N]` bool.
        truncated: `[T, N]` bool.
        gamma: discount, scalar.
        gae_lambda: GAE's lambda, scalar.

    Returns:
        advantages `[T, N]` and value targets `advantages + values`, `[T, N]`.
    """
    terminated = terminated.astype(values.dtype)
    episode_ends = jnp.logical_or(terminated.astype(jnp.bool_), truncated).astype(values.dtype)
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values

    def backward(advantage_after, step):
        delta, ends = step
        advantage = delta + gamma * gae_lambda * (1.0 - ends) * advantage_after
        return advantage, advantage

    # The zero carry depends on `deltas`, so that under `jax.vmap` the loop is batched once.
    no_advantage = batched_from_start(jnp.zeros_like(values[0]), deltas)
    _, advantages = jax.lax.scan(backward, no_advantage, (deltas, episode_ends), reverse=True)
    return advantages, advantages + values
