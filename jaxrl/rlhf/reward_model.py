"""Stages 2 and 3: preference pairs labelled by the hidden labeller, and a Bradley-Terry reward
model trained on them.

The reward model is the language model's body with a scalar head, read at each sequence's last
token (its EOS), so it scores the whole review, prompt and response. With prompts, the two
sides of a preference pair are two responses to one prompt. After training it is normalised
(the "reward normalisation" of Ziegler et al. and of "The N implementation details of RLHF with
PPO"): a gain and bias chosen so that its scores on the pretrained policy's samples have mean 0
and standard deviation 1, which fixes the scale PPO's KL coefficient is measured against.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.rlhf import corpus, labeller
from jaxrl.rlhf.model import (
    ModelConfig,
    ScalarModel,
    generate_from,
    last_token_index,
    scalar_params_from,
    scalars_from_hidden,
)
from jaxrl.rlhf.training import FitConfig, fit


@struct.dataclass
class Preferences:
    """Pairs of sampled sequences and the labeller's choice between them.

    Attributes:
        chosen, rejected: `[N, L]` int32 token sequences; the labeller preferred `chosen`.
            Both sides of a pair share their first `prompt_len + 1` tokens (BOS, the prompt).
        gold_chosen, gold_rejected: `[N]` float32 gold scores (for evaluation only: no learner
            reads them).
        prompt_len: the prompt's tokens after BOS (static; 0 for none), which DPO leaves out
            of each response's log-probability.
    """

    chosen: jax.Array
    rejected: jax.Array
    gold_chosen: jax.Array
    gold_rejected: jax.Array
    prompt_len: int = struct.field(pytree_node=False, default=0)

    def split(self, num_train: int) -> tuple[Preferences, Preferences]:
        """The first `num_train` pairs and the rest."""
        return (
            jax.tree.map(lambda x: x[:num_train], self),
            jax.tree.map(lambda x: x[num_train:], self),
        )


@struct.dataclass
class RewardModel:
    """A trained, normalised reward model: score = (raw - bias) / gain.

    Attributes:
        params: ScalarModel parameters.
        bias, gain: float32 scalars of the normalisation.
    """

    params: dict
    bias: jax.Array
    gain: jax.Array


def make_preferences(
    model_config: ModelConfig,
    policy_params: dict,
    key: jax.Array,
    num_pairs: int,
    label_temperature: jax.typing.ArrayLike,
    sample_temperature: jax.typing.ArrayLike = 1.0,
    prompt_len: int = 0,
) -> Preferences:
    """Samples `num_pairs` pairs from the policy and has the hidden labeller choose in each.

    With `prompt_len > 0` each pair draws one prompt (`corpus.sample_prompts`) and both sides
    are responses to it. The labeller's choice is drawn from Bradley-Terry on the gold scores of
    the whole reviews with `label_temperature` as its noise scale
    (`labeller.noisy_preferences`).
    """
    prompts = corpus.sample_prompts(corpus.prompt_key(key), num_pairs, prompt_len)
    key_a, key_b, key_label = jax.random.split(key, 3)
    a = generate_from(model_config, policy_params, key_a, prompts, sample_temperature)
    b = generate_from(model_config, policy_params, key_b, prompts, sample_temperature)
    gold_a, gold_b = labeller.gold_score(a), labeller.gold_score(b)
    a_wins = labeller.noisy_preferences(key_label, gold_a, gold_b, label_temperature)
    pick = lambda x, y: jnp.where(a_wins.reshape(a_wins.shape + (1,) * (x.ndim - 1)), x, y)
    return Preferences(
        chosen=pick(a, b),
        rejected=pick(b, a),
        gold_chosen=pick(gold_a, gold_b),
        gold_rejected=pick(gold_b, gold_a),
        prompt_len=prompt_len,
    )


def raw_reward(model_config: ModelConfig, params: dict, tokens: jax.Array) -> jax.Array:
    """The scalar head at each sequence's last token (EOS, or the final position): `[B]`."""
    per_position = ScalarModel(model_config).apply({"params": params}, tokens)
    return jnp.take_along_axis(per_position, last_token_index(tokens)[:, None], 1)[:, 0]


def pair_rewards(
    model_config: ModelConfig, params: dict, chosen: jax.Array, rejected: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`raw_reward` of both sides `[N, L]` in one forward pass (one copy of the network in the
    compiled program instead of two): `[N]`, `[N]`."""
    both = raw_reward(model_config, params, jnp.concatenate([chosen, rejected]))
    return both[: chosen.shape[0]], both[chosen.shape[0] :]


def reward(model_config: ModelConfig, reward_model: RewardModel, tokens: jax.Array) -> jax.Array:
    """The normalised reward-model score ("proxy reward") of sequences `[B, L]`: `[B]`."""
    raw = raw_reward(model_config, reward_model.params, tokens)
    return (raw - reward_model.bias) / reward_model.gain


def reward_from_hidden(
    reward_model: RewardModel, hidden: jax.Array, tokens: jax.Array
) -> jax.Array:
    """`reward` from the reward model body's hidden states `[B, L, D]` (`model.stacked_hidden`)."""
    per_position = scalars_from_hidden(reward_model.params["scalar_head"], hidden)
    raw = jnp.take_along_axis(per_position, last_token_index(tokens)[:, None], 1)[:, 0]
    return (raw - reward_model.bias) / reward_model.gain


def bradley_terry_loss(reward_chosen: jax.Array, reward_rejected: jax.Array) -> jax.Array:
    """Mean of -log sigmoid(r_chosen - r_rejected) over pairs `[N]`: the negative log-likelihood
    of the labels under Bradley-Terry."""
    return -jnp.mean(jax.nn.log_sigmoid(reward_chosen - reward_rejected))


def preference_accuracy(
    model_config: ModelConfig, params: dict, pairs: Preferences
) -> dict[str, jax.Array]:
    """How often the reward model agrees with the labels, and with the noiseless gold order.

    Returns:
        "label_accuracy": fraction of pairs where r(chosen) > r(rejected);
        "gold_accuracy": the same against the gold scores, over the pairs whose gold differs.
    """
    r_chosen, r_rejected = pair_rewards(model_config, params, pairs.chosen, pairs.rejected)
    margin = r_chosen - r_rejected
    gold_margin = pairs.gold_chosen - pairs.gold_rejected
    decided = gold_margin != 0
    agrees = (margin > 0) == (gold_margin > 0)
    return {
        "label_accuracy": jnp.mean(margin > 0),
        "gold_accuracy": jnp.sum(agrees & decided) / jnp.maximum(decided.sum(), 1),
    }


def train_reward_model(
    model_config: ModelConfig,
    fit_config: FitConfig,
    pretrained_params: dict,
    pairs: Preferences,
    key: jax.Array,
) -> tuple[dict, dict[str, jax.Array]]:
    """A reward model started from the pretrained body and fitted with the Bradley-Terry loss.

    Returns:
        ScalarModel parameters (unnormalised) and per-step metrics ("loss", "accuracy").
    """
    params = scalar_params_from(pretrained_params)

    def loss_fn(params, batch: Preferences):
        r_chosen, r_rejected = pair_rewards(model_config, params, batch.chosen, batch.rejected)
        return bradley_terry_loss(r_chosen, r_rejected), {
            "accuracy": jnp.mean(r_chosen > r_rejected)
        }

    return fit(loss_fn, params, pairs, key, fit_config)


def normalise(model_config: ModelConfig, params: dict, reference_samples: jax.Array) -> RewardModel:
    """Bias and gain that give the reference samples' scores mean 0 and standard deviation 1."""
    raw = raw_reward(model_config, params, reference_samples)
    return RewardModel(params=params, bias=raw.mean(), gain=raw.std() + 1e-6)
