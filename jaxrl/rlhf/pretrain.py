"""Stage 1: pretraining the language model by next-token prediction on the generated corpus."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.rlhf import corpus
from jaxrl.rlhf.model import LanguageModel, ModelConfig
from jaxrl.rlhf.training import FitConfig, fit


def lm_loss(
    config: ModelConfig, params: dict, tokens: jax.Array
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean next-token cross-entropy (nats/token) over every target that is not padding.

    Args:
        tokens: `[B, L]` int32, `[BOS, words..., EOS, PAD...]`.

    Returns:
        The loss, and {"accuracy": greedy next-token accuracy on the same targets}.
    """
    logits = LanguageModel(config).apply({"params": params}, tokens[:, :-1])
    targets = tokens[:, 1:]
    mask = (targets != corpus.PAD_ID).astype(jnp.float32)
    log_probs = jax.nn.log_softmax(logits)
    nll = -jnp.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    count = jnp.maximum(mask.sum(), 1.0)
    accuracy = jnp.sum((jnp.argmax(logits, -1) == targets) * mask) / count
    return jnp.sum(nll * mask) / count, {"accuracy": accuracy}


def pretrain(
    model_config: ModelConfig,
    fit_config: FitConfig,
    params: dict,
    key: jax.Array,
    tokens: jax.Array,
) -> tuple[dict, dict[str, jax.Array]]:
    """The language model `params` (e.g. from `model.init_language_model`) trained on `tokens`
    `[N, L]` by next-token prediction.

    Returns:
        LanguageModel parameters and the per-step metrics ("loss", "accuracy", `[steps]`).
    """
    return fit(lambda p, batch: lm_loss(model_config, p, batch), params, tokens, key, fit_config)
