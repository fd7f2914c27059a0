"""GRPO: Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath), with TRL's
GRPOTrainer as the reference point for its details.

No value network: a group of `k` samples of the same prompt is its own baseline. Each
iteration of `train = make_train(...)`:

1. `collect_rollout` samples `rollouts` sequences in `rollouts // k` groups of `k`
   consecutive samples, the `k` of a group answering the same prompt (a fresh one per group
   and iteration, `rollout.draw_prompts`; the empty prompt when `prompt_len` is 0), and scores
   them with the shared `rollout.sample_and_score`. The reward
   is the score alone; each sequence's advantage is its reward less its group's mean, over the
   group's std plus 1e-4 (`group_advantages`; `scale_rewards=False` keeps only the centring,
   as Dr. GRPO does).
2. `update_epochs` passes of shuffled minibatches minimise `grpo_loss`: PPO's clipped
   surrogate per token, the sequence's advantage broadcast over its response tokens, plus
   `kl_coef` times the k3 estimator of KL(pi || pi_ref) per token (`k3_kl`), averaged over
   every response token of the minibatch (TRL's "bnpo"/"dapo" aggregation: each token weighs
   the same, so long responses are not discounted).

The KL coefficient (the paper's and TRL's beta) lives in the state (`PolicyState.kl_coef`), so
`jax.vmap` over states sweeps it within one compiled program.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxrl.rlhf import rollout as shared
from jaxrl.rlhf.model import ModelConfig, token_log_probs
from jaxrl.rlhf.reward_model import RewardModel
from jaxrl.rlhf.rollout import Metrics, PolicyState, SequenceBatch


@dataclasses.dataclass(frozen=True)
class GRPOConfig(shared.GroupConfig):
    """GRPO settings: those of `rollout.GroupConfig`, which documents them, with GRPO's
    defaults, plus `scale_rewards`.

    Attributes:
        k: samples per group (TRL's `num_generations`, 8 as there); each sample's baseline is
            its group's mean reward.
        update_epochs: TRL's `num_iterations` is 1; 4 here, PPO's, so the learners compare at
            equal samples and gradient steps (and the clip acts).
        clip_eps: the token-level ratio clip (TRL's `epsilon`, 0.2).
        kl_coef: the k3 KL term's weight in the loss (beta). 0.04, the paper's: TRL defaults to
            0 for verifiable rewards, but here the reward is a learned proxy that the policy
            can over-optimise, and the KL is what keeps the gold score from falling behind.
        scale_rewards: divide each group's centred rewards by its std (TRL's default);
            False keeps the centring only.
    """

    k: int = 8
    kl_coef: float = 0.04
    scale_rewards: bool = True

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.scale_rewards, bool):
            raise ValueError(f"scale_rewards={self.scale_rewards!r}: must be True or False.")


# The shared group-baseline helpers, under the names every learner module has.
make_optimizer = shared.group_optimizer
init_state = shared.init_group_state


def group_advantages(rewards: jax.Array, k: int, scale: bool = True) -> jax.Array:
    """Each sample's reward less its group's mean, over the group's std plus 1e-4.

    Args:
        rewards: `[B]`, in consecutive groups of `k` (B divisible by k, k >= 2).
        k: the group size.
        scale: divide by the std; False returns the centred rewards.

    Returns:
        `[B]`. The std is the sample std (ddof 1), as TRL's `torch.std`; a group whose
        rewards are all equal gets advantages 0.
    """
    groups = shared.grouped(rewards, k)
    centred = groups - groups.mean(axis=1, keepdims=True)
    if scale:
        centred = centred / (groups.std(axis=1, ddof=1, keepdims=True) + 1e-4)
    return centred.reshape(rewards.shape)


def k3_kl(log_probs: jax.Array, ref_log_probs: jax.Array) -> jax.Array:
    """Schulman's k3 estimator of KL(pi || pi_ref) at tokens sampled from pi, per token.

    `exp(d) - d - 1` with `d = log pi_ref - log pi`: non-negative, unbiased, and lower in
    variance than `-d`; its gradient pulls log pi towards log pi_ref.
    """
    delta = ref_log_probs - log_probs
    return jnp.exp(delta) - delta - 1.0


def collect_rollout(
    model_config: ModelConfig,
    config: GRPOConfig,
    ref_params: dict,
    reward_model: RewardModel,
    state: PolicyState,
    key: jax.Array,
) -> tuple[SequenceBatch, Metrics]:
    """Samples and scores one iteration's groups and gives each sequence its advantage.

    Returns:
        The batch, and its metrics: `rollout.sample_metrics`'s, "reward" (mean score, no-EOS
        penalty included) and "kl_coef".
    """
    samples = shared.sample_and_score(
        model_config,
        state.policy_params,
        ref_params,
        reward_model,
        key,
        shared.draw_prompts(key, config.rollouts, config.prompt_len, group_size=config.k),
        config.temperature,
        config.no_eos_penalty,
    )
    batch = SequenceBatch(
        tokens=samples.tokens,
        mask=samples.mask,
        log_probs=samples.log_probs,
        ref_log_probs=samples.ref_log_probs,
        advantages=group_advantages(samples.score, config.k, config.scale_rewards),
    )
    metrics = {
        **shared.sample_metrics(samples),
        "reward": samples.score.mean(),
        "kl_coef": state.kl_coef,
    }
    return batch, metrics


def grpo_loss(
    log_probs: jax.Array,
    old_log_probs: jax.Array,
    ref_log_probs: jax.Array,
    mask: jax.Array,
    advantages: jax.Array,
    clip_eps: jax.typing.ArrayLike,
    kl_coef: jax.typing.ArrayLike,
) -> tuple[jax.Array, Metrics]:
    """The clipped surrogate per token plus `kl_coef` times the k3 KL, over response tokens.

    Args:
        log_probs: `[B, T]`, of the sampled tokens under the policy being updated.
        old_log_probs: `[B, T]`, under the policy that sampled them.
        ref_log_probs: `[B, T]`, under pi_ref.
        mask: `[B, T]` bool, the response tokens.
        advantages: `[B]`, one per sequence, broadcast over its tokens.
        clip_eps: the ratio clip.
        kl_coef: the k3 term's weight (scalar, may be traced).

    Returns:
        The loss, the mean over the minibatch's response tokens of
        `-min(r_t A, clip(r_t) A) + kl_coef * k3_t`, and "policy_loss", "kl_loss" (the mean
        k3, unweighted), "approx_kl" and "clip_fraction" (per token).
    """
    log_ratio = jnp.where(mask, log_probs - old_log_probs, 0.0)
    surrogate, approx_kl, clipped = shared.clipped_surrogate(
        log_ratio, advantages[:, None], clip_eps
    )
    # The padding is masked out of the mean, but an overflowing exp there would still put
    # inf * 0 = NaN into the gradient: compare the response tokens only.
    kl = k3_kl(jnp.where(mask, log_probs, 0.0), jnp.where(mask, ref_log_probs, 0.0))
    policy_loss = shared.masked_mean(surrogate, mask)
    kl_loss = shared.masked_mean(kl, mask)
    loss = policy_loss + kl_coef * kl_loss
    return loss, {
        "policy_loss": policy_loss,
        "kl_loss": kl_loss,
        "approx_kl": shared.masked_mean(approx_kl, mask),
        "clip_fraction": shared.masked_mean(clipped, mask),
    }


def update(
    model_config: ModelConfig,
    config: GRPOConfig,
    state: PolicyState,
    batch: SequenceBatch,
    key: jax.Array,
) -> tuple[PolicyState, Metrics]:
    """`update_epochs` passes of shuffled minibatch Adam steps; returns the last epoch's loss
    terms, averaged over its minibatches."""

    def loss_fn(policy_params, minibatch: SequenceBatch):
        log_probs = token_log_probs(
            model_config, policy_params, minibatch.tokens, config.temperature
        )
        return grpo_loss(
            log_probs,
            minibatch.log_probs,
            minibatch.ref_log_probs,
            minibatch.mask,
            minibatch.advantages,
            config.clip_eps,
            state.kl_coef,
        )

    return shared.update_policy(loss_fn, config, state, batch, key)


def make_train(
    model_config: ModelConfig,
    config: GRPOConfig,
    ref_params: dict,
    reward_model: RewardModel,
):
    """`train(key, state) -> (final state, metrics)`: `iterations` rounds in one `lax.scan`.

    Pure and unjitted; the caller compiles it (and may `vmap` it over keys and over states
    with different `kl_coef`). `state` comes from `init_state`. Metrics are `[iterations]`
    arrays: those of `collect_rollout` (measured on each iteration's rollout, before its
    update) and the update's loss terms.
    """
    return shared.make_train_loop(
        collect_rollout, update, model_config, config, ref_params, reward_model
    )
