"""RLOO: REINFORCE with a leave-one-out baseline (Ahmadian et al. 2024, "Back to Basics:
Revisiting REINFORCE Style Optimization for Learning from Human Feedback in LLMs").

No value network: each whole response is one action. Each iteration of
`train = make_train(...)`:

1. `collect_rollout` samples `rollouts` sequences in `rollouts // k` groups of `k`
   consecutive samples, the `k` of a group answering the same prompt (a fresh one per group
   and iteration, `rollout.draw_prompts`; the empty prompt when `prompt_len` is 0), and scores
   them with the shared `rollout.sample_and_score`. Each sequence's
   reward is `score - kl_coef * KL(seq)`, the KL being the sampled
   `sum_t log pi - log pi_ref` over its response tokens; its advantage is its reward less the
   mean reward of the other `k - 1` samples of its group (`leave_one_out_advantages`), an
   unbiased baseline that needs no critic: the same prompt, so it removes what the prompt
   alone makes of the reward.
2. `update_epochs` passes of shuffled minibatches minimise PPO's clipped surrogate at the
   sequence level (`rloo_loss`): the ratio is pi(response) / pi_old(response), the product of
   the token ratios, clipped once per sequence. This is the paper's view (the generation is
   one action) and TRL's original RLOOTrainer's (`logprobs.sum(1)` before the ratio); TRL's
   later rewrite broadcasts the sequence advantage over token-level ratios, as `grpo` does.

The KL coefficient lives in the state (`PolicyState.kl_coef`), so `jax.vmap` over states
sweeps it within one compiled program.
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
class RLOOConfig(shared.GroupConfig):
    """RLOO settings: those of `rollout.GroupConfig`, which documents them, with RLOO's defaults.

    Attributes:
        k: samples per group (the paper's k; TRL's `rloo_k` / `num_generations`, default 2
            there); each sample's baseline is the mean reward of the other `k - 1`. 4: the
            paper finds k=4 beats k=2 at the same number of prompts, and 64 rollouts keep 16
            groups.
        clip_eps: the sequence-level ratio clip: one ratio pi(response) / pi_old(response)
            per sequence.
        kl_coef: the KL penalty's coefficient in the reward, `score - kl_coef * KL(seq)`
            (TRL's default 0.05, PPO's here).
    """

    baseline_name = "the leave-one-out baseline"

    k: int = 4
    kl_coef: float = 0.05


# The shared group-baseline helpers, under the names every learner module has.
make_optimizer = shared.group_optimizer
init_state = shared.init_group_state


def leave_one_out_advantages(rewards: jax.Array, k: int) -> jax.Array:
    """Each sample's reward less the mean reward of the other samples of its group.

    Args:
        rewards: `[B]`, in consecutive groups of `k` (B divisible by k, k >= 2).
        k: the group size.

    Returns:
        `[B]`: `r_i - (sum_group r - r_i) / (k - 1)`, which is `k / (k - 1)` times `r_i` less
        its group's mean; each group's advantages sum to 0.
    """
    groups = shared.grouped(rewards, k)
    baseline = (jnp.sum(groups, axis=1, keepdims=True) - groups) / (k - 1)
    return (groups - baseline).reshape(rewards.shape)


def collect_rollout(
    model_config: ModelConfig,
    config: RLOOConfig,
    ref_params: dict,
    reward_model: RewardModel,
    state: PolicyState,
    key: jax.Array,
) -> tuple[SequenceBatch, Metrics]:
    """Samples and scores one iteration's groups and gives each sequence its advantage.

    Returns:
        The batch, and its metrics: `rollout.sample_metrics`'s, "reward" (mean KL-penalised
        reward) and "kl_coef".
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
    rewards = samples.score - state.kl_coef * samples.kl
    batch = SequenceBatch(
        tokens=samples.tokens,
        mask=samples.mask,
        log_probs=samples.log_probs,
        ref_log_probs=samples.ref_log_probs,
        advantages=leave_one_out_advantages(rewards, config.k),
    )
    metrics = {**shared.sample_metrics(samples), "reward": rewards.mean(), "kl_coef": state.kl_coef}
    return batch, metrics


def rloo_loss(
    log_probs: jax.Array,
    old_log_probs: jax.Array,
    mask: jax.Array,
    advantages: jax.Array,
    clip_eps: jax.typing.ArrayLike,
) -> tuple[jax.Array, Metrics]:
    """The clipped surrogate with one ratio per sequence.

    Args:
        log_probs: `[B, T]`, of the sampled tokens under the policy being updated.
        old_log_probs: `[B, T]`, under the policy that sampled them.
        mask: `[B, T]` bool, the response tokens.
        advantages: `[B]`, one per sequence.
        clip_eps: the ratio clip.

    Returns:
        The mean over sequences of `-min(r A, clip(r) A)` with `r = pi(seq) / pi_old(seq)`,
        and "policy_loss", "approx_kl" (per sequence) and "clip_fraction" (of sequences).
    """
    log_ratio = jnp.sum(jnp.where(mask, log_probs - old_log_probs, 0.0), axis=1)
    loss, approx_kl, clipped = shared.clipped_surrogate(log_ratio, advantages, clip_eps)
    loss = loss.mean()
    return loss, {
        "policy_loss": loss,
        "approx_kl": approx_kl.mean(),
        "clip_fraction": clipped.mean(),
    }


def update(
    model_config: ModelConfig,
    config: RLOOConfig,
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
        return rloo_loss(
            log_probs, minibatch.log_probs, minibatch.mask, minibatch.advantages, config.clip_eps
        )

    return shared.update_policy(loss_fn, config, state, batch, key)


def make_train(
    model_config: ModelConfig,
    config: RLOOConfig,
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
