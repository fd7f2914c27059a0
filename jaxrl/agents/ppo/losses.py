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
    *,
    mask: jax.Array | None = None,
    axis_name: str | None = None,
    normalize_advantages: bool = True,
) -> tuple[jax.Array, LossInfo]:
    """PPO's loss on a minibatch: the clipped surrogate, the clipped value loss and the entropy
    bonus (Schulman et al. 2017; the value clip as in OpenAI's baselines).

    Args:
        policy: the current policy at the minibatch's observations, batch `[B]` (or any batch
            shape with `mask`).
        values: `[B]`, the current critic's values.
        actions: `[B]` ints or `[B, action_dim]` floats, the actions taken.
        old_log_probs: `[B]`, log-probabilities of `actions` under the rollout's policy.
        old_values: `[B]`, the rollout critic's values (the centre of the value clip).
        advantages: `[B]`, GAE advantages; normalised here over the minibatch.
        targets: `[B]`, value targets.
        clip_eps: the ratio clip (also the value clip's radius).
        vf_coef, ent_coef: weights of the value loss and the entropy bonus.
        mask: bool, the entries that count (e.g. a language model's response tokens, not the
            padding after it): every mean, and the advantages' normalisation, are over these.
            None: every entry counts.
        axis_name: data parallelism: the minibatch is the union of equal shares held by the
            shards of this axis, and the advantages are normalised over all of it.
        normalize_advantages: False when the caller has already normalised them
            (`normalize_minibatch_advantages`).

    Returns:
        The scalar loss to minimise, and its terms.
    """
    log_probs = policy.log_prob(actions)
    log_ratio = log_probs - old_log_probs
    if mask is not None:
        log_ratio = jnp.where(mask, log_ratio, 0.0)
    ratio = jnp.exp(log_ratio)
    if normalize_advantages:
        if mask is None:
            advantages = normalize_minibatch_advantages(advantages, axis_name)
        else:
            advantages = _normalize_masked(advantages, mask)
    surrogate = ratio * advantages
    clipped_surrogate = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    clipped_values = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
    per_sample = [
        -jnp.minimum(surrogate, clipped_surrogate),
        0.5 * jnp.maximum(jnp.square(values - targets), jnp.square(clipped_values - targets)),
        policy.entropy(),
        # Schulman's low-variance estimator of KL(old || new).
        (ratio - 1.0) - log_ratio,
        (jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32),
    ]
    if mask is None:
        # The five means as one reduction of a [B, 5] array: XLA's CPU backend compiles and
        # launches each reduction (and the store of its result) separately.
        means = jnp.mean(jnp.stack(per_sample, axis=-1), axis=0)
    else:
        means = [_masked_mean(term, mask) for term in per_sample]
    policy_loss, value_loss, entropy, approx_kl, clip_fraction = means
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


def _masked_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
    """The mean of `x` over the entries where `mask` is True (0 when there are none)."""
    weight = mask.astype(jnp.float32)
    return jnp.sum(x * weight) / jnp.maximum(weight.sum(), 1.0)


def _normalize_masked(advantages: jax.Array, mask: jax.Array) -> jax.Array:
    """Advantages less their mean over `mask`, over their (population) std there plus 1e-8."""
    mean = _masked_mean(advantages, mask)
    std = jnp.sqrt(_masked_mean(jnp.square(advantages - mean), mask))
    return (advantages - mean) / (std + 1e-8)


def explained_variance(
    values: jax.Array, targets: jax.Array, axis_name: str | None = None
) -> jax.Array:
    """1 - Var[targets - values] / Var[targets]; NaN when the targets are constant. Over every
    shard's (equal) share under `axis_name`."""
    target_var = _variance(targets, axis_name)
    residual_var = _variance(targets - values, axis_name)
    return jnp.where(target_var > 0, 1.0 - residual_var / target_var, jnp.nan)


def _variance(x: jax.Array, axis_name: str | None) -> jax.Array:
    """Population variance of `x`'s entries, over all shards under `axis_name` (equal sizes)."""
    if axis_name is None:
        return jnp.var(x)
    mean = jax.lax.pmean(jnp.mean(x), axis_name)
    return jax.lax.pmean(jnp.mean(jnp.square(x - mean)), axis_name)
