"""Stage 4: PPO fine-tuning of the language model against the reward model, with a per-token
KL penalty to the frozen pretrained policy.

Generation is the environment: the state is the tokens so far, the action the next token, and
the episode ends at EOS (or at `max_len`). Each iteration is one fused step of
`train = make_train(...)`:

1. `collect_rollout` samples `rollouts` sequences from the policy, each from its own prompt
   when `prompt_len > 0`, and scores them
   (`rollout.sample_and_score`, shared with RLOO and GRPO): the per-token reward is
   `-kl_coef * (log pi - log pi_ref)` on every response token plus the reward model's score on
   the last (`per_token_rewards`); a sequence cut off without EOS gets `no_eos_penalty` instead
   of a score. Log-probabilities are recomputed by a full forward pass at the sampling
   temperature, not taken from the sampler.
2. `jaxrl.gae.compute_gae` (gamma = 1, the end of the response is a termination) gives
   advantages and value targets per token.
3. `update_epochs` passes of shuffled minibatches of sequences minimise jaxrl's `ppo_loss`
   (clipped surrogate, clipped value loss) with `mask=` the response tokens.
4. With `kl_target` set, the KL coefficient adapts (`adaptive_kl_coef`, Ziegler et al. 2019),
   over a horizon scaled to the run unless `kl_horizon` is given.

The details that make RLHF-PPO work, after "The N implementation details of RLHF with PPO"
(Huang et al. 2022): the reward model is normalised on pretrained samples
(`reward_model.normalise`); the value network is a separate transformer initialised from the
reward model; the no-EOS penalty; log-probs recomputed at the sampling temperature; advantages
whitened per minibatch over response tokens only; optional reward whitening without shifting
the mean (`whiten_rewards`); Adam with eps 1e-5 and gradient clipping.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import optax
from flax import struct
from jax.flatten_util import ravel_pytree

from jaxrl.agents.ppo.losses import LossInfo, ppo_loss
from jaxrl.agents.ppo.networks import Categorical
from jaxrl.checks import check_non_negative, check_positive, check_positive_ints
from jaxrl.gae import compute_gae
from jaxrl.rlhf import corpus
from jaxrl.rlhf import rollout as shared
from jaxrl.rlhf.model import (
    ModelConfig,
    last_token_index,
    logits_from_hidden,
    scalars_from_hidden,
    stacked_hidden,
)
from jaxrl.rlhf.reward_model import RewardModel
from jaxrl.rlhf.rollout import Metrics, check_divides

#: The adaptive KL controller's default horizon as a share of the run's sequences, capped at
#: Ziegler et al.'s 10,000. The coefficient's time constant is then a twentieth of the run and,
#: with the error clipped at 20%, it can move by up to e^4 (about 55x) either way within the
#: run; the fixed 10,000 barely moves it in a run of a few thousand sequences. A long run keeps
#: Ziegler's pace.
KL_HORIZON_FRACTION = 0.05
ZIEGLER_KL_HORIZON = 10_000


@dataclasses.dataclass(frozen=True)
class RLHFPPOConfig:
    """RLHF-PPO settings, validated before anything compiles.

    Attributes:
        iterations: rollout-and-update rounds.
        rollouts: sequences sampled per iteration.
        update_epochs: passes over each rollout.
        num_minibatches: minibatches of sequences per epoch; must divide `rollouts`.
        learning_rate: Adam's step size for the policy and the value network.
        clip_eps: PPO's ratio clip (and the value clip's radius).
        vf_coef: weight of the value loss.
        ent_coef: weight of the entropy bonus (0 in the RLHF recipes: the KL penalty already
            keeps the policy spread out).
        gamma, gae_lambda: GAE's discount (1: the episode is short and ends) and lambda.
        kl_coef: the KL penalty's coefficient (its initial value when adaptive).
        kl_target: target KL per sequence in nats; None keeps `kl_coef` fixed.
        kl_horizon: the adaptive controller's horizon in sequences; None (the default) scales
            it to the run: `KL_HORIZON_FRACTION` of its `iterations * rollouts` sequences, at
            most Ziegler et al.'s 10,000 and at least `rollouts` (see `adaptive_kl_horizon`).
        temperature: sampling temperature, also used for every log-probability.
        no_eos_penalty: the score given to a response cut off without EOS.
        whiten_rewards: divide the per-token rewards by their std over response tokens.
        max_grad_norm: global gradient-norm clip.
        prompt_len: words of each sequence's prompt (`corpus.sample_prompts`, one drawn per
            sequence each iteration); 0, the default, samples from BOS alone.
    """

    iterations: int = 60
    rollouts: int = 64
    update_epochs: int = 4
    num_minibatches: int = 4
    learning_rate: float = 3e-4
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    gamma: float = 1.0
    gae_lambda: float = 0.95
    kl_coef: float = 0.05
    kl_target: float | None = None
    kl_horizon: int | None = None
    temperature: float = 1.0
    no_eos_penalty: float = -2.0
    whiten_rewards: bool = False
    max_grad_norm: float = 1.0
    prompt_len: int = 0

    def __post_init__(self):
        check_positive_ints(self, ("iterations", "rollouts", "update_epochs", "num_minibatches"))
        corpus.check_prompt_len(self.prompt_len)
        if not isinstance(self.whiten_rewards, bool):
            raise ValueError(f"whiten_rewards={self.whiten_rewards!r}: use True or False.")
        if self.kl_horizon is not None:
            check_positive_ints(self, ("kl_horizon",))
        check_divides(self, "num_minibatches", "rollouts")
        check_positive(self, ("learning_rate", "clip_eps", "temperature", "max_grad_norm"))
        check_non_negative(self, ("vf_coef", "ent_coef", "kl_coef"))
        if not 0 < self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(
                f"gamma={self.gamma}, gae_lambda={self.gae_lambda}: need 0 < gamma <= 1 and "
                "0 <= gae_lambda <= 1."
            )
        if self.kl_target is not None and not self.kl_target > 0:
            raise ValueError(
                f"kl_target={self.kl_target!r}: a positive KL in nats, or None for a fixed "
                "coefficient."
            )
        if self.kl_target is not None and self.kl_coef == 0:
            raise ValueError("kl_target needs kl_coef > 0 to adapt from (e.g. 0.05).")
        if not math.isfinite(self.no_eos_penalty):
            raise ValueError(f"no_eos_penalty={self.no_eos_penalty!r}: must be finite.")

    @property
    def minibatch_size(self) -> int:
        return self.rollouts // self.num_minibatches

    @property
    def adaptive_kl_horizon(self) -> int:
        """The KL controller's horizon in sequences: `kl_horizon`, or scaled to the run."""
        if self.kl_horizon is not None:
            return self.kl_horizon
        scaled = round(KL_HORIZON_FRACTION * self.iterations * self.rollouts)
        # At least one iteration's sequences: a gain rollouts / horizon above 1 would step past
        # the coefficient that holds the target.
        return max(self.rollouts, min(ZIEGLER_KL_HORIZON, scaled))


@struct.dataclass
class PPOState:
    """What one iteration hands to the next.

    Attributes:
        policy_params: LanguageModel parameters being fine-tuned.
        value_params: ScalarModel parameters of the value network.
        opt_state: Adam's state over (policy_params, value_params) flattened into one vector
            (`ravel_pytree`): one Adam update instead of one per array, for a smaller program.
        kl_coef: float32 scalar, the current KL coefficient.
    """

    policy_params: dict
    value_params: dict
    opt_state: optax.OptState
    kl_coef: jax.Array


@struct.dataclass
class Rollout:
    """One iteration's sequences, scored. `T = max_len - 1` next-token decisions each.

    Attributes:
        tokens: `[B, L]` int32 sequences, `[BOS, prompt..., response...]`.
        mask: `[B, T]` bool, the response tokens (not BOS, not the prompt).
        log_probs, ref_log_probs: `[B, T]`, of the sampled tokens under pi and pi_ref.
        values: `[B, T]`, the value network's V(tokens <= t), zero outside the response.
        advantages, targets: `[B, T]`, from GAE.
        score: `[B]`, the reward model's score (or `no_eos_penalty`).
    """

    tokens: jax.Array
    mask: jax.Array
    log_probs: jax.Array
    ref_log_probs: jax.Array
    values: jax.Array
    advantages: jax.Array
    targets: jax.Array
    score: jax.Array


def make_optimizer(config: RLHFPPOConfig) -> optax.GradientTransformation:
    return shared.make_optimizer(config.learning_rate, config.max_grad_norm)


def value_params_from_reward_model(reward_model: RewardModel) -> dict:
    """ScalarModel parameters that output the normalised reward at every position: the reward
    model with its normalisation folded into the head, so the value network starts on the
    reward's scale."""
    head = reward_model.params["scalar_head"]
    return {
        "body": reward_model.params["body"],
        "scalar_head": {
            "kernel": head["kernel"] / reward_model.gain,
            "bias": (head["bias"] - reward_model.bias) / reward_model.gain,
        },
    }


def init_state(config: RLHFPPOConfig, policy_params: dict, value_params: dict) -> PPOState:
    params, _ = ravel_pytree((policy_params, value_params))
    return PPOState(
        policy_params=policy_params,
        value_params=value_params,
        opt_state=make_optimizer(config).init(params),
        kl_coef=jnp.float32(config.kl_coef),
    )


def per_token_rewards(
    score: jax.Array,
    log_probs: jax.Array,
    ref_log_probs: jax.Array,
    mask: jax.Array,
    kl_coef: jax.typing.ArrayLike,
) -> jax.Array:
    """The rewards PPO maximises: a KL penalty on every response token, the score on the last.

    Args:
        score: `[B]`, each sequence's score.
        log_probs, ref_log_probs: `[B, T]`, of the sampled tokens under pi and pi_ref.
        mask: `[B, T]` bool, the response tokens (one contiguous run per row, after the
            prompt's).
        kl_coef: the penalty's coefficient (scalar).

    Returns:
        `[B, T]` float32: `-kl_coef * (log_probs - ref_log_probs)` on response tokens, plus
        `score` on each row's last response token, 0 elsewhere.
    """
    penalty = jnp.where(mask, -kl_coef * (log_probs - ref_log_probs), 0.0)
    is_last = mask & ~jnp.concatenate([mask[:, 1:], jnp.zeros_like(mask[:, :1])], axis=1)
    return penalty + jnp.where(is_last, score[:, None], 0.0)


def adaptive_kl_coef(
    kl_coef: jax.Array, kl: jax.Array, target: float, num_sequences: int, horizon: int
) -> jax.Array:
    """Ziegler et al.'s proportional controller: raises the coefficient when the measured KL is
    above target, lowers it when below.

    kl_coef * (1 + clip(kl / target - 1, -0.2, 0.2) * num_sequences / horizon). Where the KL
    falls as 1 / kl_coef, the coefficient's distance to its fixed point shrinks by a factor
    (1 - num_sequences / horizon) per call once inside the clip: the horizon is the controller's
    time constant in sequences (`RLHFPPOConfig.adaptive_kl_horizon` scales it to the run).
    """
    error = jnp.clip(kl / target - 1.0, -0.2, 0.2)
    return kl_coef * (1.0 + error * num_sequences / horizon)


def collect_rollout(
    model_config: ModelConfig,
    config: RLHFPPOConfig,
    ref_params: dict,
    reward_model: RewardModel,
    state: PPOState,
    key: jax.Array,
) -> tuple[Rollout, Metrics]:
    """Samples, scores and evaluates one iteration's sequences (see the module docstring).

    Returns:
        The rollout, and its metrics: "gold", "proxy" (mean reward-model score, before the
        no-EOS penalty), "kl" (mean KL to pi_ref per sequence), "eos_rate", "length",
        "reward" (mean return including the KL penalty), "kl_coef".
    """
    samples = shared.sample_and_score(
        model_config,
        state.policy_params,
        ref_params,
        reward_model,
        key,
        shared.draw_prompts(key, config.rollouts, config.prompt_len),
        config.temperature,
        config.no_eos_penalty,
        value_params=state.value_params,
    )
    mask, values = samples.mask, samples.values
    rewards = per_token_rewards(
        samples.score, samples.log_probs, samples.ref_log_probs, mask, state.kl_coef
    )
    if config.whiten_rewards:
        valid = mask.astype(jnp.float32)
        mean = jnp.sum(rewards * valid) / valid.sum()
        std = jnp.sqrt(jnp.sum(jnp.square(rewards - mean) * valid) / valid.sum())
        rewards = jnp.where(mask, rewards / (std + 1e-8), 0.0)

    # Time-major for compute_gae. The last response token ends the episode (terminated: it
    # bootstraps nothing); the prompt and the padding are terminated too, so their advantages
    # are 0.
    last = last_token_index(samples.tokens) - 1
    is_last = jnp.arange(mask.shape[1])[None, :] == last[:, None]
    next_values = jnp.concatenate([values[:, 1:], jnp.zeros_like(values[:, :1])], axis=1)
    advantages, targets = compute_gae(
        rewards.T,
        values.T,
        next_values.T,
        (is_last | ~mask).T,
        jnp.zeros_like(mask).T,
        config.gamma,
        config.gae_lambda,
    )
    rollout = Rollout(
        tokens=samples.tokens,
        mask=mask,
        log_probs=samples.log_probs,
        ref_log_probs=samples.ref_log_probs,
        values=values,
        advantages=advantages.T,
        targets=targets.T,
        score=samples.score,
    )
    metrics = {
        **shared.sample_metrics(samples),
        "reward": jnp.sum(rewards, axis=1).mean(),
        "kl_coef": state.kl_coef,
    }
    return rollout, metrics


def update(
    model_config: ModelConfig, config: RLHFPPOConfig, state: PPOState, rollout: Rollout, key
) -> tuple[PPOState, LossInfo]:
    """`update_epochs` passes of shuffled minibatch Adam steps over the rollout's sequences;
    returns the last epoch's loss terms, averaged over its minibatches."""

    def loss_fn(params, minibatch: Rollout):
        policy_params, value_params = params
        hidden = stacked_hidden(
            model_config, [policy_params["body"], value_params["body"]], minibatch.tokens
        )
        logits = logits_from_hidden(model_config, policy_params["lm_head"], hidden[0, :, :-1])
        values = scalars_from_hidden(value_params["scalar_head"], hidden[1, :, :-1])
        # Means and the advantages' whitening over response tokens only: the padding after
        # each EOS would dilute every term and shift the advantages' statistics.
        return ppo_loss(
            Categorical(logits=logits / config.temperature),
            values,
            minibatch.tokens[:, 1:],
            minibatch.log_probs,
            minibatch.values,
            minibatch.advantages,
            minibatch.targets,
            config.clip_eps,
            config.vf_coef,
            config.ent_coef,
            mask=minibatch.mask,
        )

    (policy_params, value_params), opt_state, info = shared.minibatch_updates(
        loss_fn,
        make_optimizer(config),
        (state.policy_params, state.value_params),
        state.opt_state,
        rollout,
        key,
        config.update_epochs,
        config.num_minibatches,
    )
    state = state.replace(
        policy_params=policy_params, value_params=value_params, opt_state=opt_state
    )
    return state, info


def make_train(
    model_config: ModelConfig,
    config: RLHFPPOConfig,
    ref_params: dict,
    reward_model: RewardModel,
):
    """`train(key, state) -> (final state, metrics)`: `iterations` rounds in one `lax.scan`.

    Pure and unjitted; the caller compiles it. `state` comes from `init_state` (the policy
    usually starts at `ref_params`, the value network at `value_params_from_reward_model`).
    Metrics are `[iterations]` arrays: those of `collect_rollout` (measured on each
    iteration's rollout, before its update) and the update's loss terms.
    """

    def iteration(state: PPOState, key: jax.Array) -> tuple[PPOState, Metrics]:
        key_rollout, key_update = jax.random.split(key)
        rollout, metrics = collect_rollout(
            model_config, config, ref_params, reward_model, state, key_rollout
        )
        state, info = update(model_config, config, state, rollout, key_update)
        if config.kl_target is not None:
            state = state.replace(
                kl_coef=adaptive_kl_coef(
                    state.kl_coef,
                    metrics["kl"],
                    config.kl_target,
                    config.rollouts,
                    config.adaptive_kl_horizon,
                )
            )
        return state, {
            **metrics,
            "policy_loss": info.policy_loss,
            "value_loss": info.value_loss,
            "entropy": info.entropy,
            "approx_kl": info.approx_kl,
            "clip_fraction": info.clip_fraction,
        }

    def train(key: jax.Array, state: PPOState) -> tuple[PPOState, Metrics]:
        return jax.lax.scan(iteration, state, jax.random.split(key, config.iterations))

    return train
