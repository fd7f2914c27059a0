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
import math

import jax
import jax.numpy as jnp
import optax

from jaxrl.rlhf import corpus
from jaxrl.rlhf import rollout as shared
from jaxrl.rlhf.model import ModelConfig, token_log_probs
from jaxrl.rlhf.reward_model import RewardModel
from jaxrl.rlhf.rollout import Metrics, PolicyState, SequenceBatch


@dataclasses.dataclass(frozen=True)
class RLOOConfig:
    """RLOO settings, validated before anything compiles.

    Attributes:
        iterations: rollout-and-update rounds.
        rollouts: sequences sampled per iteration (`rollouts // k` groups of `k`).
        k: samples per group (the paper's k; TRL's `rloo_k` / `num_generations`, default 2
            there). 4: the paper finds k=4 beats k=2 at the same number of prompts, and 64
            rollouts keep 16 groups.
        update_epochs: passes over each rollout (PPO's 4, so the learners compare at equal
            samples and gradient steps).
        num_minibatches: minibatches of sequences per epoch; must divide `rollouts`.
        learning_rate: Adam's step size.
        clip_eps: the sequence-level ratio clip.
        kl_coef: the KL penalty's coefficient in the reward (TRL's default 0.05, PPO's here).
        temperature: sampling temperature, also used for every log-probability.
        no_eos_penalty: the score given to a response cut off without EOS.
        max_grad_norm: global gradient-norm clip.
        prompt_len: words of each group's prompt (`corpus.sample_prompts`, one drawn per group
            each iteration and shared by its `k` samples); 0, the default, samples from BOS
            alone.
    """

    iterations: int = 60
    rollouts: int = 64
    k: int = 4
    update_epochs: int = 4
    num_minibatches: int = 4
    learning_rate: float = 3e-4
    clip_eps: float = 0.2
    kl_coef: float = 0.05
    temperature: float = 1.0
    no_eos_penalty: float = -2.0
    max_grad_norm: float = 1.0
    prompt_len: int = 0

    def __post_init__(self):
        shared.check_positive_ints(
            self, ("iterations", "rollouts", "k", "update_epochs", "num_minibatches")
        )
        corpus.check_prompt_len(self.prompt_len)
        if self.k < 2:
            raise ValueError(
                f"k={self.k}: the leave-one-out baseline needs k >= 2 samples per group (e.g. 4)."
            )
        shared.check_divides(self, "k", "rollouts")
        shared.check_divides(self, "num_minibatches", "rollouts")
        shared.check_positive(self, ("learning_rate", "clip_eps", "temperature", "max_grad_norm"))
        shared.check_non_negative(self, ("kl_coef",))
        if not math.isfinite(self.no_eos_penalty):
            raise ValueError(f"no_eos_penalty={self.no_eos_penalty!r}: must be finite.")

    @property
    def num_groups(self) -> int:
        return self.rollouts // self.k


def make_optimizer(config: RLOOConfig) -> optax.GradientTransformation:
    return shared.make_optimizer(config.learning_rate, config.max_grad_norm)


def init_state(config: RLOOConfig, policy_params: dict) -> PolicyState:
    """The state at `policy_params` (usually the reference's) with `config.kl_coef`."""
    return shared.init_policy_state(make_optimizer(config), policy_params, config.kl_coef)


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
