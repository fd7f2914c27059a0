"""The three numbers every policy is judged by: gold score, proxy score, KL to the reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.rlhf import corpus, labeller
from jaxrl.rlhf.model import (
    ModelConfig,
    generate_from,
    log_probs_from_hidden,
    response_mask,
    stacked_hidden,
)
from jaxrl.rlhf.reward_model import RewardModel, reward_from_hidden


def kl_to_reference(log_probs: jax.Array, ref_log_probs: jax.Array, mask: jax.Array) -> jax.Array:
    """Sample estimate of KL(pi || pi_ref) per sequence, in nats.

    The sum over response tokens of log pi - log pi_ref at the tokens pi sampled; its mean over
    samples from pi is an unbiased estimate of the sequence-level KL.

    Args:
        log_probs, ref_log_probs: `[B, L-1]` per-token log-probabilities of the sampled tokens.
        mask: `[B, L-1]` bool, the response tokens (`model.response_mask`).

    Returns:
        `[B]` float32.
    """
    return jnp.sum(jnp.where(mask, log_probs - ref_log_probs, 0.0), axis=1)


def evaluate_policy(
    model_config: ModelConfig,
    policy_params: dict,
    ref_params: dict,
    reward_model: RewardModel,
    key: jax.Array,
    num_samples: int,
    temperature: jax.typing.ArrayLike = 1.0,
    prompt_len: int = 0,
) -> dict[str, jax.Array]:
    """Samples `num_samples` sequences from the policy and measures them.

    With `prompt_len > 0` each sample answers its own prompt, drawn from
    `corpus.prompt_key(key)`: policies evaluated with the same key answer the same prompts.

    Returns:
        Scalars: "gold" (mean hidden labeller score of the whole review), "proxy" (mean
        normalised reward-model score), "kl" (mean KL to the reference policy over the response
        tokens, nats per sequence), "eos_rate" (fraction that ended with EOS) and "length"
        (mean response tokens, EOS included, prompt not); and "tokens", the `[num_samples, L]`
        samples themselves, prompts included.
    """
    prompts = corpus.sample_prompts(corpus.prompt_key(key), num_samples, prompt_len)
    tokens = generate_from(model_config, policy_params, key, prompts, temperature)
    mask = response_mask(tokens, prompt_len)
    hidden = stacked_hidden(
        model_config,
        [policy_params["body"], ref_params["body"], reward_model.params["body"]],
        tokens,
    )
    log_probs, ref_log_probs = (
        log_probs_from_hidden(model_config, params["lm_head"], h, tokens, temperature)
        for params, h in ((policy_params, hidden[0]), (ref_params, hidden[1]))
    )
    return {
        "gold": labeller.gold_score(tokens).mean(),
        "proxy": reward_from_hidden(reward_model, hidden[2], tokens).mean(),
        "kl": kl_to_reference(log_probs, ref_log_probs, mask).mean(),
        "eos_rate": ended_with_eos(tokens).mean(),
        "length": mask.sum(axis=1).mean(),
        "tokens": tokens,
    }


def ended_with_eos(tokens: jax.Array) -> jax.Array:
    """`[B]` float32: 1 where the sequence contains EOS."""
    return jnp.any(tokens == corpus.EOS_ID, axis=1).astype(jnp.float32)
