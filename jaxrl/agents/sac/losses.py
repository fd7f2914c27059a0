"""SAC's losses (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications").

Shapes: B transitions; the twin critics' values stack on a leading axis of 2.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def critic_target(
    reward: jax.Array,
    discount: jax.Array,
    next_q: jax.Array,
    next_log_prob: jax.Array,
    alpha: jax.typing.ArrayLike,
) -> jax.Array:
    """The soft Bellman target `r + discount * (min(Q1', Q2') - alpha * log pi(a'|s'))`.

    Args:
        reward: `[B]` float32, the step's reward.
        discount: `[B]` float32, gamma, or 0 where the step terminated the episode (a
            truncated step keeps gamma and bootstraps from its final observation).
        next_q: `[2, B]`, the target critics' values of the next observation and an action
            the current policy samples there (clipped double-Q takes their minimum).
        next_log_prob: `[B]`, that action's log-density.
        alpha: the entropy temperature.

    Returns:
        `[B]` float32 targets, constants for the critics' gradient.
    """
    soft_value = jnp.min(next_q, axis=0) - alpha * next_log_prob
    return jax.lax.stop_gradient(reward + discount * soft_value)


def critic_loss(q: jax.Array, target: jax.Array) -> jax.Array:
    """Half the sum over the two critics of their mean squared error: `q` `[2, B]`, `target`
    `[B]`; a float32 scalar."""
    return 0.5 * jnp.sum(jnp.mean(jnp.square(q - target[None, :]), axis=-1))


def actor_loss(q: jax.Array, log_prob: jax.Array, alpha: jax.typing.ArrayLike) -> jax.Array:
    """`mean(alpha * log pi(a|s) - min(Q1, Q2)(s, a))` for actions the policy sampled
    (reparameterised): `q` `[2, B]`, `log_prob` `[B]`; a float32 scalar."""
    return jnp.mean(alpha * log_prob - jnp.min(q, axis=0))


def alpha_loss(
    log_alpha: jax.Array, log_prob: jax.Array, target_entropy: jax.typing.ArrayLike
) -> jax.Array:
    """`-log_alpha * (mean log pi(a|s) + target_entropy)`: its gradient in log-alpha is the
    policy's entropy estimate less the target, so alpha falls while the entropy is above the
    target and rises while it is below. `log_prob` `[B]` is a constant here."""
    return -log_alpha * (jnp.mean(jax.lax.stop_gradient(log_prob)) + target_entropy)
