"""Stage 5: Direct Preference Optimisation on the same preference pairs, the baseline RLHF-PPO
is compared against: no reward model, no sampling during training.

Three losses of the log-ratio margin `h = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) -
log pi_ref(y_l))` of each pair (chosen `y_w`, rejected `y_l`):

- "sigmoid", DPO (Rafailov et al. 2023, eq. 7): `-log sigmoid(beta * h)`.
- "ipo", IPO (Azar et al. 2023, eq. 17, with `tau = beta`): `(h - 1 / (2 * beta))^2`, which
  regresses the margin onto a finite target instead of pushing it to infinity. As in TRL's
  `DPOTrainer`, the log-probabilities of IPO are averaged over each response's tokens (EOS
  included) rather than summed, so the target is in nats per token.
- "conservative", cDPO (Mitchell 2023, "A note on DPO with noisy preferences"; TRL's
  `label_smoothing`): DPO's loss when each label is flipped with probability `eps`,
  `(1 - eps) * -log sigmoid(beta * h) + eps * -log sigmoid(-beta * h)`. Its minimum is at the
  finite margin `beta * h = log((1 - eps) / eps)`.

With prompts (`Preferences.prompt_len > 0`) both sides of a pair answer the same prompt and
every log-probability is of the response given the prompt: the prompt's tokens are left out.

`beta` is an argument of the trainer `make_train_dpo` returns, not a static setting, so one
program can `vmap` over seeds and betas.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.rlhf.model import ModelConfig, response_mask, sequence_log_probs
from jaxrl.rlhf.reward_model import Preferences
from jaxrl.rlhf.training import FitConfig, fit

LOSS_TYPES = ("sigmoid", "ipo", "conservative")


@dataclasses.dataclass(frozen=True)
class DPOConfig:
    """DPO settings.

    Attributes:
        beta: the inverse temperature of DPO's implicit reward, `beta * log(pi / pi_ref)`;
            smaller lets the policy move further from the reference. For "ipo" it is the
            regulariser tau, the margin's target being `1 / (2 * beta)`. The default trainer
            reads it from here; `make_train_dpo`'s trainer takes it as a (traceable) argument.
        loss_type: "sigmoid" (DPO), "ipo" or "conservative" (cDPO); see the module docstring.
        label_smoothing: cDPO's label-flip probability `eps` in (0, 0.5), only with
            `loss_type="conservative"` (0 otherwise).
        fit: steps, batch size and optimiser of the fit.
    """

    beta: float = 0.1
    loss_type: str = "sigmoid"
    label_smoothing: float = 0.0
    fit: FitConfig = FitConfig(steps=400, batch_size=64, learning_rate=3e-4)

    def __post_init__(self):
        if not (
            isinstance(self.beta, int | float)
            and not isinstance(self.beta, bool)
            and self.beta > 0
            and math.isfinite(self.beta)
        ):
            raise ValueError(f"beta={self.beta!r}: must be a positive number, e.g. 0.1.")
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(
                f"loss_type={self.loss_type!r}: choose one of {', '.join(map(repr, LOSS_TYPES))}."
            )
        eps = self.label_smoothing
        if not (isinstance(eps, int | float) and not isinstance(eps, bool) and 0 <= eps < 0.5):
            raise ValueError(
                f"label_smoothing={eps!r}: must be in [0, 0.5), e.g. 0.1 (at 0.5 the labels "
                "carry no information)."
            )
        if self.loss_type == "conservative" and eps == 0:
            raise ValueError(
                "loss_type='conservative' with label_smoothing=0 is plain DPO; set "
                "label_smoothing in (0, 0.5), e.g. 0.1, or use loss_type='sigmoid'."
            )
        if self.loss_type != "conservative" and eps != 0:
            raise ValueError(
                f"label_smoothing={eps!r} applies only to loss_type='conservative'; set "
                f"loss_type='conservative' or label_smoothing=0 (loss_type={self.loss_type!r})."
            )


@struct.dataclass
class DPOBatch:
    """Pairs with their reference log-probabilities, computed once before training.

    Attributes:
        chosen, rejected: `[N, L]` int32.
        ref_chosen, ref_rejected: `[N]` float32, log pi_ref of each response (per token for
            "ipo", see `pair_log_probs`).
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
    *,
    loss_type: str = "sigmoid",
    label_smoothing: jax.typing.ArrayLike = 0.0,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The mean over pairs of a DPO-family loss of the log-ratio margin.

    Args:
        policy_chosen, policy_rejected: `[N]` response log-probabilities under the policy
            (summed over tokens for "sigmoid" and "conservative", averaged for "ipo").
        ref_chosen, ref_rejected: `[N]` the same under the reference policy.
        beta: inverse temperature (scalar; may be traced).
        loss_type: "sigmoid", "ipo" or "conservative" (static; see the module docstring).
        label_smoothing: cDPO's label-flip probability, read only by "conservative".

    Returns:
        The scalar loss, and {"accuracy": fraction of pairs whose implicit reward ranks chosen
        first, "margin": mean implicit reward margin `beta * h`}.
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(
            f"loss_type={loss_type!r}: choose one of {', '.join(map(repr, LOSS_TYPES))}."
        )
    log_ratio_margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    margin = beta * log_ratio_margin
    if loss_type == "sigmoid":
        losses = -jax.nn.log_sigmoid(margin)
    elif loss_type == "ipo":
        losses = jnp.square(log_ratio_margin - 1.0 / (2.0 * beta))
    else:
        eps = label_smoothing
        losses = -(1.0 - eps) * jax.nn.log_sigmoid(margin) - eps * jax.nn.log_sigmoid(-margin)
    return jnp.mean(losses), {
        "accuracy": jnp.mean(margin > 0),
        "margin": jnp.mean(margin),
    }


def pair_log_probs(
    model_config: ModelConfig,
    params: dict,
    chosen: jax.Array,
    rejected: jax.Array,
    length_average: bool = False,
    prompt_len: int = 0,
) -> tuple[jax.Array, jax.Array]:
    """`sequence_log_probs` of both sides `[N, L]` in one forward pass: `[N]`, `[N]`.

    Only the response tokens after the `prompt_len` prompt tokens count (static). With
    `length_average` (static) each is divided by its response's length, EOS included.
    """
    both = jnp.concatenate([chosen, rejected])
    log_probs = sequence_log_probs(model_config, params, both, prompt_len=prompt_len)
    if length_average:
        log_probs = log_probs / jnp.sum(response_mask(both, prompt_len), axis=1)
    return log_probs[: chosen.shape[0]], log_probs[chosen.shape[0] :]


def make_train_dpo(
    model_config: ModelConfig, config: DPOConfig
) -> Callable[[dict, Preferences, jax.Array, jax.typing.ArrayLike], tuple[dict, dict]]:
    """The DPO trainer `train(ref_params, pairs, key, beta) -> (params, metrics)`.

    `train` is pure and unjitted; `beta` is an ordinary argument, so the caller can jit it once
    for every beta and vmap it over seeds and betas together (`config.beta` is not read).

    Args:
        model_config: the policy's shape.
        config: loss type, label smoothing and fit settings (static).

    Returns:
        `train`, whose arguments are the reference's LanguageModel parameters (also the
        policy's start), the preference pairs (`[N, L]` each side, their `prompt_len`
        static), the key of the minibatch
        draws and beta (float32 scalar), and whose results are the fitted LanguageModel
        parameters and per-step metrics `[steps]` ("loss", "accuracy", "margin").
    """
    length_average = config.loss_type == "ipo"

    def train(
        ref_params: dict, pairs: Preferences, key: jax.Array, beta: jax.typing.ArrayLike
    ) -> tuple[dict, dict[str, jax.Array]]:
        prompt_len = pairs.prompt_len
        ref_chosen, ref_rejected = pair_log_probs(
            model_config, ref_params, pairs.chosen, pairs.rejected, length_average, prompt_len
        )
        batch = DPOBatch(
            chosen=pairs.chosen,
            rejected=pairs.rejected,
            ref_chosen=ref_chosen,
            ref_rejected=ref_rejected,
        )

        def loss_fn(params, batch: DPOBatch):
            policy_chosen, policy_rejected = pair_log_probs(
                model_config, params, batch.chosen, batch.rejected, length_average, prompt_len
            )
            return dpo_loss(
                policy_chosen,
                policy_rejected,
                batch.ref_chosen,
                batch.ref_rejected,
                beta,
                loss_type=config.loss_type,
                label_smoothing=config.label_smoothing,
            )

        return fit(loss_fn, ref_params, batch, key, config.fit)

    return train


def train_dpo(
    model_config: ModelConfig,
    config: DPOConfig,
    ref_params: dict,
    pairs: Preferences,
    key: jax.Array,
) -> tuple[dict, dict[str, jax.Array]]:
    """A policy fitted by `config.loss_type` from `ref_params` on `pairs`, at `config.beta`.

    Returns:
        LanguageModel parameters and per-step metrics ("loss", "accuracy", "margin").
    """
    return make_train_dpo(model_config, config)(ref_params, pairs, key, config.beta)
