"""Stage 5: Direct Preference Optimisation (Rafailov et al. 2023) on the same preference pairs,
the baseline RLHF-PPO is compared against: no reward model, no sampling during training."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.rlhf.model import ModelConfig, sequence_log_probs
from jaxrl.rlhf.reward_model import Preferences
from jaxrl.rlhf.training import FitConfig, fit


@dataclasses.dataclass(frozen=True)
class DPOConfig:
    """DPO settings.

    Attributes:
        beta: the inverse temperature of DPO's implicit reward, `beta * log(pi / pi_ref)`;
            smaller lets the policy move further from the reference.
        fit: steps, batch size and optimiser of the fit.
    """

    beta: float = 0.1
    fit: FitConfig = FitConfig(steps=400, batch_size=64, learning_rate=3e-4)

    def __post_init__(self):
        if not (isinstance(self.beta, int | float) and self.beta > 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta={self.beta!r}: must be a positive number, e.g. 0.1.")


@struct.dataclass
class DPOBatch:
    """Pairs with their reference log-probabilities, computed once before training.

    Attributes:
        chosen, rejected: `[N, L]` int32.
        ref_chosen, ref_rejected: `[N]` float32, log pi_ref of each response.
    """

    chosen: jax.Array
    rejected: jax.Array
    ref_chosen: jax.Array
    ref_rejected: jax.Array


def dpo_loss(
    policy_chosen: jax.Array,
    policy_rejected: jax.Array,
    ref_chosen: jax.Array,
    ref_rejected: jax.Array,
    beta: jax.typing.ArrayLike,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """DPO's loss: the Bradley-Terry loss of the implicit rewards `beta * log(pi / pi_ref)`.

    Args:
        policy_chosen, policy_rejected: `[N]` sequence log-probabilities under the policy.
        ref_chosen, ref_rejected: `[N]` the same under the reference policy.
        beta: inverse temperature (scalar).

    Returns:
        mean of -log sigmoid(beta * ((pc - rc) - (pr - rr))), and {"accuracy": fraction of
        pairs whose implicit reward ranks chosen first, "margin": mean implicit reward margin}.
    """
    reward_chosen = beta * (policy_chosen - ref_chosen)
    reward_rejected = beta * (policy_rejected - ref_rejected)
    margin = reward_chosen - reward_rejected
    return -jnp.mean(jax.nn.log_sigmoid(margin)), {
        "accuracy": jnp.mean(margin > 0),
        "margin": jnp.mean(margin),
    }


def pair_log_probs(
    model_config: ModelConfig, params: dict, chosen: jax.Array, rejected: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`sequence_log_probs` of both sides `[N, L]` in one forward pass: `[N]`, `[N]`."""
    both = sequence_log_probs(model_config, params, jnp.concatenate([chosen, rejected]))
    return both[: chosen.shape[0]], both[chosen.shape[0] :]


def train_dpo(
    model_config: ModelConfig,
    config: DPOConfig,
    ref_params: dict,
    pairs: Preferences,
    key: jax.Array,
) -> tuple[dict, dict[str, jax.Array]]:
    """A policy fitted by DPO from `ref_params` on `pairs`.

    Returns:
        LanguageModel parameters and per-step metrics ("loss", "accuracy", "margin").
    """
    ref_chosen, ref_rejected = pair_log_probs(
        model_config, ref_params, pairs.chosen, pairs.rejected
    )
    batch = DPOBatch(
        chosen=pairs.chosen,
        rejected=pairs.rejected,
        ref_chosen=ref_chosen,
        ref_rejected=ref_rejected,
    )

    def loss_fn(params, batch: DPOBatch):
        policy_chosen, policy_rejected = pair_log_probs(
            model_config, params, batch.chosen, batch.rejected
        )
        return dpo_loss(
            policy_chosen, policy_rejected, batch.ref_chosen, batch.ref_rejected, config.beta
        )

    return fit(loss_fn, ref_params, batch, key, config.fit)
