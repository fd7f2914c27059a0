"""PPO's clipped surrogate, clipped value loss and entropy bonus."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.agents.ppo.networks import Distribution


@struct.dataclass
class LossInfo:
    """Scalars of one minibatch update (float32)."""

    total_loss: jax.Array
    policy_loss: jax.Array
    value_loss: jax.Array
    entropy: jax.Array
    approx_kl: jax.Array
    clip_fraction: jax.Array


def normalize_minibatch_advantages(
    advantages: jax.Array, axis_name: str | None = None
) -> jax.Array:
    """Advantages `[..., B]` less their mean over the minibatch (the last axis), over their std
    plus 1e-8. Under `axis_name` the minibatch is the union of every shard's equal share."""
    if axis_name is None:
        mean = advantages.mean(axis=-1, keepdims=True)
        std = advantages.std(axis=-1, keepdims=True)
    else:
        mean = jax.lax.pmean(advantages.mean(axis=-1, keepdims=True), axis_name)
        variance = jnp.mean(jnp.square(advantages - mean), axis=-1, keepdims=True)
        std = jnp.sqrt(jax.lax.pmean(variance, axis_name))
    return (advantages - mean) / (std + 1e-8)


def ppo_loss(
    policy: Distribution,
    values: jax.Array,
    actions: jax.Array,
    old_log_probs: jax.Array,
    old_values: jax.Array,
    advantages: jax.Array,
    targets: jax.Array,
    clip_eps: jax.typing.ArrayLike,
    vf_coef: jax.typing.ArrayLike,
    ent_coef: jax.typing.ArrayLike,
    axis_name: str | None = None,
    normalize_advantages: bool = True,
) -> tuple[jax.Array, LossInfo]:
    """PPO's loss on a minibatch.

    Args:
        policy: the current policy at the minibatch's observations, batch `[B]`.
        values: `[B]`, the current critic's values.
        actions: `[B]` ints or `[B, action_dim]` floats, the actions taken.
        old_log_probs: `[B]`, log-probabilities of `actions` under the rollout's policy.
        old_values: `[B]`, the rollout critic's values (the centre of the value clip).
        advantages: `[B]`, GAE advantages; normalised here over the minibatch.
        targets: `[B]`, value targets.
        clip_eps: the ratio clip (also the value clip's radius).
        vf_coef, ent_coef: weights of the value loss and the entropy bonus.
        axis_name: data parallelism: the minibatch is the union of equal shares held by the
            shards of this axis, and the advantages are normalised over all of it.
        normalize_advantages: False when the caller has already normalised them
            (`normalize_advantages`).

    Returns:
        The scalar loss to minimise, and its terms.
    """
    log_probs = policy.log_prob(actions)
    log_ratio = log_probs - old_log_probs
    ratio = jnp.exp(log_ratio)
    if normalize_advantages:
        advantages = normalize_minibatch_advantages(advantages, axis_name)
    surrogate = ratio * advantages
    clipped_surrogate = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    clipped_values = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
    # The five means over the minibatch as one reduction of a [B, 5] array: XLA's CPU backend
    # compiles and launches each reduction (and the stores of its result) separately.
    per_sample = jnp.stack(
        [
            -jnp.minimum(surrogate, clipped_surrogate),
            0.5 * jnp.maximum(jnp.square(values - targets), jnp.square(clipped_values - targets)),
            policy.entropy(),
            # Schulman's low-variance estimator of KL(old || new).
            (ratio - 1.0) - log_ratio,
            (jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32),
        ],
        axis=-1,
    )
    policy_loss, value_loss, entropy, approx_kl, clip_fraction = jnp.mean(per_sample, axis=0)
    total_loss = policy_loss + vf_coef * value_loss - ent_coef * entropy
    info = LossInfo(
        total_loss=total_loss,
        policy_loss=policy_loss,
        value_loss=value_loss,
        entropy=entropy,
        approx_kl=approx_kl,
        clip_fraction=clip_fraction,
    )
    return total_loss, info
