"""What every on-policy RLHF learner shares, written once: sampling a batch and scoring it, its
metrics, the clipped surrogate, the optimiser and the shuffled-minibatch loop; and the settings,
state and update of the group-baseline methods (`GroupConfig`, `PolicyState`, `update_policy`).

PPO (`ppo`), RLOO (`rloo`) and GRPO (`grpo`) differ only in what they make of the scored samples
(advantages from GAE with a value network, from a leave-one-out baseline, or from the group's
mean and std) and in where the KL to the reference policy enters (the reward or the loss).

`sample_and_score` is one iteration's environment step: `model.generate_from` samples one
response to each prompt (`draw_prompts`: a prompt per group of samples, drawn from the corpus'
openings; empty prompts when `prompt_len` is 0), then one forward pass of the stacked bodies
(policy, reference, optionally the value network, reward model: `model.stacked_hidden`, a
single copy of the network in the compiled program) gives every log-probability at the sampling
temperature, the values and the reward model's score of the whole review, prompt included.
Only the response's tokens count in the mask, the KL and the losses. A response cut off without
EOS is scored `no_eos_penalty` instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import optax
from flax import struct
from jax.flatten_util import ravel_pytree

from jaxrl.checks import check_non_negative, check_positive, check_positive_ints
from jaxrl.rlhf import corpus, labeller
from jaxrl.rlhf.evaluation import ended_with_eos, kl_to_reference
from jaxrl.rlhf.model import (
    ModelConfig,
    generate_from,
    log_probs_from_hidden,
    response_mask,
    scalars_from_hidden,
    stacked_hidden,
)
from jaxrl.rlhf.reward_model import RewardModel, reward_from_hidden

Metrics = dict[str, jax.Array]


@struct.dataclass
class Samples:
    """One iteration's sequences, scored. `T = max_len - 1` next-token decisions each.

    Attributes:
        tokens: `[B, L]` int32 sequences, `[BOS, prompt..., response...]`.
        mask: `[B, T]` bool, the response tokens (the generated words and the EOS; not BOS,
            not the prompt).
        log_probs, ref_log_probs: `[B, T]` float32, of the sampled tokens under pi and pi_ref
            at the sampling temperature.
        proxy: `[B]` float32, the (normalised) reward model's score.
        ended: `[B]` bool, the response ended with EOS.
        score: `[B]` float32, `proxy` where `ended`, else the no-EOS penalty.
        values: `[B, T]` float32, the value network's V(tokens <= t), zero outside the response;
            None when no value network was given.
    """

    tokens: jax.Array
    mask: jax.Array
    log_probs: jax.Array
    ref_log_probs: jax.Array
    proxy: jax.Array
    ended: jax.Array
    score: jax.Array
    values: jax.Array | None = None

    @property
    def kl(self) -> jax.Array:
        """`[B]` float32: each sequence's sampled KL(pi || pi_ref) in nats."""
        return kl_to_reference(self.log_probs, self.ref_log_probs, self.mask)


def sample_and_score(
    model_config: ModelConfig,
    policy_params: dict,
    ref_params: dict,
    reward_model: RewardModel,
    key: jax.Array,
    prompts: jax.Array,
    temperature: jax.typing.ArrayLike,
    no_eos_penalty: jax.typing.ArrayLike,
    value_params: dict | None = None,
) -> Samples:
    """Samples a response to each prompt and scores them in one stacked forward pass.

    Log-probabilities are recomputed by a full forward pass at the sampling temperature, not
    taken from the sampler: the update recomputes them the same way, so the first minibatch's
    ratio is exactly 1.

    Args:
        model_config: the shared transformer shape.
        policy_params, ref_params: LanguageModel parameters of pi and pi_ref.
        reward_model: the normalised reward model.
        key: the sampling randomness.
        prompts: `[B, P]` int32, one prompt per sequence (`draw_prompts`); P may be 0.
        temperature: the sampling temperature, also that of every log-probability.
        no_eos_penalty: the score of a response cut off without EOS.
        value_params: ScalarModel parameters of a value network, or None for learners
            without one.

    Returns:
        The scored samples.
    """
    tokens = generate_from(model_config, policy_params, key, prompts, temperature)
    mask = response_mask(tokens, prompts.shape[1])
    bodies = [policy_params["body"], ref_params["body"]]
    if value_params is not None:
        bodies.append(value_params["body"])
    hidden = stacked_hidden(model_config, bodies + [reward_model.params["body"]], tokens)
    log_probs, ref_log_probs = (
        log_probs_from_hidden(model_config, params["lm_head"], h, tokens, temperature)
        for params, h in ((policy_params, hidden[0]), (ref_params, hidden[1]))
    )
    values = None
    if value_params is not None:
        values = scalars_from_hidden(value_params["scalar_head"], hidden[2])[:, :-1]
        values = jnp.where(mask, values, 0.0)
    proxy = reward_from_hidden(reward_model, hidden[-1], tokens)
    ended = ended_with_eos(tokens) > 0
    return Samples(
        tokens=tokens,
        mask=mask,
        log_probs=log_probs,
        ref_log_probs=ref_log_probs,
        proxy=proxy,
        ended=ended,
        score=jnp.where(ended, proxy, no_eos_penalty),
        values=values,
    )


def draw_prompts(key: jax.Array, batch: int, prompt_len: int, group_size: int = 1) -> jax.Array:
    """One iteration's prompts: a fresh prompt for each group of `group_size` consecutive
    sequences (the groups of `grouped`), drawn from `corpus.prompt_key(key)`.

    Args:
        key: the iteration's sampling key; the prompts take a key folded off it, so the
            sampler's own use of `key` is what it is without prompts.
        batch: sequences (static); `group_size` must divide it.
        prompt_len: words per prompt (static; 0 gives `[batch, 0]`).
        group_size: sequences that share each prompt (static).

    Returns:
        `[batch, prompt_len]` int32.
    """
    prompts = corpus.sample_prompts(corpus.prompt_key(key), batch // group_size, prompt_len)
    return jnp.repeat(prompts, group_size, axis=0, total_repeat_length=batch)


def sample_metrics(samples: Samples) -> Metrics:
    """The numbers every learner reports on its own rollout (as `evaluation.evaluate_policy`).

    Returns:
        Scalars: "gold" (the hidden labeller's mean score of the whole review, prompt
        included), "proxy" (mean reward-model score, before the no-EOS penalty), "kl" (mean KL
        to pi_ref per sequence, nats), "eos_rate" and "length" (mean response tokens, EOS
        included, prompt not).
    """
    return {
        "gold": labeller.gold_score(samples.tokens).mean(),
        "proxy": samples.proxy.mean(),
        "kl": samples.kl.mean(),
        "eos_rate": samples.ended.mean(),
        "length": samples.mask.sum(axis=1).mean(),
    }


def masked_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
    """The mean of `x` over the entries where `mask` is True (0 when there are none)."""
    weight = mask.astype(jnp.float32)
    return jnp.sum(x * weight) / jnp.maximum(weight.sum(), 1.0)


def clipped_surrogate(
    log_ratio: jax.Array, advantages: jax.Array, clip_eps: jax.typing.ArrayLike
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """PPO's clipped surrogate, per element (a token or a whole sequence), to be averaged.

    Args:
        log_ratio: log pi_new - log pi_old of each element.
        advantages: the same shape (or broadcastable to it).
        clip_eps: the ratio clip.

    Returns:
        Three arrays of `log_ratio`'s shape: the loss `-min(r A, clip(r) A)`; Schulman's
        low-variance estimate of KL(old || new), `(r - 1) - log r`; and 1.0 where the ratio
        is outside the clip range.
    """
    ratio = jnp.exp(log_ratio)
    surrogate = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    return (
        -jnp.minimum(surrogate, clipped),
        (ratio - 1.0) - log_ratio,
        (jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32),
    )


def make_optimizer(learning_rate: float, max_grad_norm: float) -> optax.GradientTransformation:
    """Adam with eps 1e-5 after global-norm gradient clipping (the RLHF-PPO recipe's)."""
    return optax.chain(
        optax.clip_by_global_norm(max_grad_norm),
        optax.adam(learning_rate, eps=1e-5),
    )


def minibatch_updates(
    loss_fn: Callable[[Any, Any], tuple[jax.Array, Any]],
    optimizer: optax.GradientTransformation,
    params: Any,
    opt_state: optax.OptState,
    batch: Any,
    key: jax.Array,
    update_epochs: int,
    num_minibatches: int,
) -> tuple[Any, optax.OptState, Any]:
    """`update_epochs` passes of shuffled-minibatch steps of `optimizer` on `loss_fn`.

    The optimiser sees `params` flattened into one vector (`ravel_pytree`): one Adam update
    instead of one per array, for a smaller program; `opt_state` must be over that vector.

    Args:
        loss_fn: `(params, minibatch) -> (scalar loss, aux)`, `aux` a pytree of scalars.
        optimizer: the gradient transformation.
        params: the parameters (any pytree).
        opt_state: `optimizer.init(ravel_pytree(params)[0])` or its successor.
        batch: a pytree of arrays `[B, ...]`; each epoch shuffles its B rows.
        key: the shuffles' randomness.
        update_epochs, num_minibatches: passes, and minibatches per pass (must divide B).

    Returns:
        The new parameters and optimiser state, and the last epoch's `aux` averaged over its
        minibatches.
    """
    size = jax.tree.leaves(batch)[0].shape[0]
    flat_params, unravel = ravel_pytree(params)
    flat_loss = lambda flat, minibatch: loss_fn(unravel(flat), minibatch)

    def step(carry, minibatch):
        flat_params, opt_state = carry
        grads, aux = jax.grad(flat_loss, has_aux=True)(flat_params, minibatch)
        updates, opt_state = optimizer.update(grads, opt_state, flat_params)
        return (optax.apply_updates(flat_params, updates), opt_state), aux

    def epoch(carry, epoch_key):
        permutation = jax.random.permutation(epoch_key, size)
        minibatches = jax.tree.map(
            lambda x: x[permutation].reshape((num_minibatches, -1) + x.shape[1:]), batch
        )
        carry, auxes = jax.lax.scan(step, carry, minibatches)
        return carry, jax.tree.map(jnp.mean, auxes)

    (flat_params, opt_state), auxes = jax.lax.scan(
        epoch, (flat_params, opt_state), jax.random.split(key, update_epochs)
    )
    return unravel(flat_params), opt_state, jax.tree.map(lambda x: x[-1], auxes)


@struct.dataclass
class PolicyState:
    """What one iteration of a learner without a value network (RLOO, GRPO) hands the next.

    Attributes:
        policy_params: LanguageModel parameters being fine-tuned.
        opt_state: the optimiser's state over `policy_params` flattened into one vector.
        kl_coef: float32 scalar, the KL coefficient. A traced leaf, so `jax.vmap` over states
            sweeps it within one compiled program.
    """

    policy_params: dict
    opt_state: optax.OptState
    kl_coef: jax.Array


@dataclasses.dataclass(frozen=True)
class GroupConfig:
    """The settings every group-baseline method (`rloo.RLOOConfig`, `grpo.GRPOConfig`) shares,
    validated before anything compiles.

    `k` and `kl_coef` have no default here: each method's config sets its own, and says what
    they mean for it (the KL in the reward or in the loss), and whether `clip_eps` clips one
    ratio per sequence or one per token.

    Attributes:
        iterations: rollout-and-update rounds.
        rollouts: sequences sampled per iteration, in `rollouts // k` groups of `k` consecutive
            samples that answer the same prompt.
        k: samples per group, at least 2: the group is its own baseline.
        update_epochs: passes over each rollout (PPO's 4, so the learners compare at equal
            samples and gradient steps).
        num_minibatches: minibatches of sequences per epoch; must divide `rollouts`.
        learning_rate: Adam's step size.
        clip_eps: the ratio clip.
        kl_coef: the weight of the KL to pi_ref, the initial `PolicyState.kl_coef`.
        temperature: sampling temperature, also used for every log-probability.
        no_eos_penalty: the score given to a response cut off without EOS.
        max_grad_norm: global gradient-norm clip.
        prompt_len: words of each group's prompt (`corpus.sample_prompts`, one drawn per group
            each iteration and shared by its `k` samples); 0, the default, samples from BOS
            alone.
    """

    #: What the k < 2 error says needs two samples; a method names its own baseline.
    baseline_name: ClassVar[str] = "a group baseline"

    iterations: int = 60
    rollouts: int = 64
    k: int = dataclasses.field(kw_only=True)
    update_epochs: int = 4
    num_minibatches: int = 4
    learning_rate: float = 3e-4
    clip_eps: float = 0.2
    kl_coef: float = dataclasses.field(kw_only=True)
    temperature: float = 1.0
    no_eos_penalty: float = -2.0
    max_grad_norm: float = 1.0
    prompt_len: int = 0

    def __post_init__(self):
        check_positive_ints(
            self, ("iterations", "rollouts", "k", "update_epochs", "num_minibatches")
        )
        corpus.check_prompt_len(self.prompt_len)
        if self.k < 2:
            raise ValueError(f"k={self.k}: {self.baseline_name} needs k >= 2 samples per group.")
        check_divides(self, "k", "rollouts")
        check_divides(self, "num_minibatches", "rollouts")
        check_positive(self, ("learning_rate", "clip_eps", "temperature", "max_grad_norm"))
        check_non_negative(self, ("kl_coef",))
        if not math.isfinite(self.no_eos_penalty):
            raise ValueError(f"no_eos_penalty={self.no_eos_penalty!r}: must be finite.")

    @property
    def num_groups(self) -> int:
        return self.rollouts // self.k


def group_optimizer(config: GroupConfig) -> optax.GradientTransformation:
    """`make_optimizer` at `config`'s learning rate and gradient-norm clip."""
    return make_optimizer(config.learning_rate, config.max_grad_norm)


def init_group_state(config: GroupConfig, policy_params: dict) -> PolicyState:
    """The state at `policy_params` (usually the reference's) with `config.kl_coef`."""
    flat_params, _ = ravel_pytree(policy_params)
    return PolicyState(
        policy_params=policy_params,
        opt_state=group_optimizer(config).init(flat_params),
        kl_coef=jnp.float32(config.kl_coef),
    )


@struct.dataclass
class SequenceBatch:
    """Scored sequences with one advantage each, for learners without a value network.

    Attributes:
        tokens: `[B, L]` int32.
        mask: `[B, T]` bool, the response tokens.
        log_probs, ref_log_probs: `[B, T]`, of the sampled tokens under the sampling policy and
            pi_ref.
        advantages: `[B]` float32, one per sequence.
    """

    tokens: jax.Array
    mask: jax.Array
    log_probs: jax.Array
    ref_log_probs: jax.Array
    advantages: jax.Array


def grouped(x: jax.Array, k: int) -> jax.Array:
    """`[B]` -> `[B // k, k]`: consecutive blocks of `k` samples, one row per group."""
    return x.reshape((x.shape[0] // k, k))


def check_divides(config: Any, divisor: str, total: str) -> None:
    d, n = getattr(config, divisor), getattr(config, total)
    if n % d:
        raise ValueError(f"{divisor}={d} does not divide {total}={n}; choose a divisor of {n}.")


def update_policy(loss_fn, config: GroupConfig, state: PolicyState, batch, key: jax.Array):
    """A critic-free method's update: `config.update_epochs` passes of shuffled minibatch Adam
    steps of `loss_fn(policy_params, minibatch) -> (loss, info)` over `batch`; the new state
    and the last epoch's loss terms, averaged over its minibatches."""
    policy_params, opt_state, info = minibatch_updates(
        loss_fn,
        group_optimizer(config),
        state.policy_params,
        state.opt_state,
        batch,
        key,
        config.update_epochs,
        config.num_minibatches,
    )
    return state.replace(policy_params=policy_params, opt_state=opt_state), info


def make_train_loop(collect_rollout, update, model_config, config, ref_params, reward_model):
    """`train(key, state) -> (final state, metrics)` of a critic-free method: `config.iterations`
    rounds of `collect_rollout` then `update`, in one `lax.scan`.

    Metrics are `[iterations]` arrays: those of `collect_rollout` (measured on each iteration's
    rollout, before its update) and the update's loss terms.
    """

    def iteration(state: PolicyState, key: jax.Array) -> tuple[PolicyState, Metrics]:
        key_rollout, key_update = jax.random.split(key)
        batch, metrics = collect_rollout(
            model_config, config, ref_params, reward_model, state, key_rollout
        )
        state, info = update(model_config, config, state, batch, key_update)
        return state, {**metrics, **info}

    def train(key: jax.Array, state: PolicyState) -> tuple[PolicyState, Metrics]:
        return jax.lax.scan(iteration, state, jax.random.split(key, config.iterations))

    return train
