"""A tiny decoder-only transformer: a language model, and the same body with a scalar head.

`LanguageModel` predicts the next token; `ScalarModel` has the same `body` and puts one number
on every position: read at a sequence's last token it is the reward model, read everywhere it
is PPO's value network. Because the bodies' parameter trees match, a reward model starts from
the pretrained language model's body, and the value network from the reward model.

Generation (`generate`, `generate_from` a prompt) is a `lax.scan` over positions with a
key/value cache: each step feeds one token and attends to the cached keys and values of the
earlier ones, instead of running the whole prefix again. A prompt enters the cache in one
forward pass first (the prefill). A sequence is `[BOS, prompt..., response..., EOS, PAD...]`;
`response_mask(tokens, prompt_len)` marks the predictions the policy made, so that
log-probabilities, KL and losses count the response alone.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.flatten_util import ravel_pytree

from jaxrl.checks import check_positive_ints
from jaxrl.rlhf import corpus


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Transformer shape (all static).

    Attributes:
        vocab_size: number of token ids.
        max_len: tokens per sequence, BOS included.
        d_model: width of the residual stream.
        num_layers: transformer blocks.
        num_heads: attention heads; must divide d_model.
        mlp_ratio: the MLP's hidden width over d_model.
    """

    vocab_size: int = corpus.VOCAB_SIZE
    max_len: int = 24
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    mlp_ratio: int = 4

    def __post_init__(self):
        check_positive_ints(
            self,
            ("vocab_size", "max_len", "d_model", "num_layers", "num_heads", "mlp_ratio"),
            owner="ModelConfig",
        )
        if self.d_model % self.num_heads:
            raise ValueError(
                f"ModelConfig: num_heads={self.num_heads} does not divide d_model={self.d_model}; "
                "choose a divisor (e.g. 4 for d_model=64)."
            )
        if self.max_len < 2:
            raise ValueError(f"ModelConfig.max_len={self.max_len}: need BOS and one more token.")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads


@struct.dataclass
class KVCache:
    """Cached attention keys and values of every layer.

    Attributes:
        keys, values: `[layers, B, max_len, heads, head_dim]` float32; positions not yet fed
            hold zeros and are masked out.
    """

    keys: jax.Array
    values: jax.Array


def init_cache(config: ModelConfig, batch: int) -> KVCache:
    shape = (config.num_layers, batch, config.max_len, config.num_heads, config.head_dim)
    return KVCache(keys=jnp.zeros(shape, jnp.float32), values=jnp.zeros(shape, jnp.float32))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: causal self-attention, then an MLP."""

    config: ModelConfig

    @nn.compact
    def __call__(
        self,
        x: jax.Array,
        mask: jax.Array,
        cache: KVCache | None = None,
        index: jax.Array | None = None,
        layer: int = 0,
    ) -> tuple[jax.Array, KVCache | None]:
        """x `[B, T, D]`, mask `[T, S]` bool (query t may see key s) -> `[B, T, D]`, new cache.

        With a cache (every layer's), the T new positions start at `index`, S = max_len, and
        this block writes its keys and values into the cache's `layer` slot in place (slicing
        the layer out and stacking the layers back would copy the whole cache every step).
        """
        c = self.config
        h = nn.LayerNorm(name="ln_attention")(x)
        qkv = nn.Dense(3 * c.d_model, name="qkv")(h)
        qkv = qkv.reshape(x.shape[:2] + (3, c.num_heads, c.head_dim))
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        if cache is not None:
            start = (layer, 0, index, 0, 0)
            cache = KVCache(
                keys=jax.lax.dynamic_update_slice(cache.keys, k[None], start),
                values=jax.lax.dynamic_update_slice(cache.values, v[None], start),
            )
            k, v = cache.keys[layer], cache.values[layer]
        scores = jnp.einsum("bthd,bshd->bhts", q, k) / jnp.sqrt(jnp.float32(c.head_dim))
        scores = jnp.where(mask[None, None], scores, jnp.finfo(jnp.float32).min)
        attended = jnp.einsum("bhts,bshd->bthd", jax.nn.softmax(scores, axis=-1), v)
        x = x + nn.Dense(c.d_model, name="attention_out")(attended.reshape(x.shape))
        h = nn.LayerNorm(name="ln_mlp")(x)
        h = nn.gelu(nn.Dense(c.mlp_ratio * c.d_model, name="mlp_in")(h))
        return x + nn.Dense(c.d_model, name="mlp_out")(h), cache


class Body(nn.Module):
    """Token and position embeddings, the blocks and a final LayerNorm."""

    config: ModelConfig

    @nn.compact
    def __call__(
        self, tokens: jax.Array, cache: KVCache | None = None, index: jax.Array | None = None
    ) -> tuple[jax.Array, KVCache | None]:
        """tokens `[B, T]` int32 -> hidden states `[B, T, D]` (and the updated cache).

        Without a cache the T tokens are positions 0..T-1 under a causal mask; with one they
        are positions index..index+T-1 and attend to every cached position before them.
        """
        c = self.config
        positions = jnp.arange(tokens.shape[1])
        if cache is not None:
            positions = positions + index
        x = nn.Embed(c.vocab_size, c.d_model, name="token_embed")(tokens)
        x = x + nn.Embed(c.max_len, c.d_model, name="position_embed")(positions)[None]
        if cache is None:
            mask = positions[:, None] >= positions[None, :]
        else:
            mask = positions[:, None] >= jnp.arange(c.max_len)[None, :]
        for layer in range(c.num_layers):
            x, cache = Block(c, name=f"block_{layer}")(x, mask, cache, index, layer)
        return nn.LayerNorm(name="ln_final")(x), cache


class LanguageModel(nn.Module):
    """Next-token logits: `__call__(tokens [B, T]) -> [B, T, V]` (logits at t predict t+1)."""

    config: ModelConfig

    def setup(self):
        self.body = Body(self.config)
        self.lm_head = nn.Dense(self.config.vocab_size)

    def __call__(self, tokens: jax.Array) -> jax.Array:
        hidden, _ = self.body(tokens)
        return self.lm_head(hidden)

    def decode_step(
        self, tokens: jax.Array, index: jax.Array, cache: KVCache
    ) -> tuple[jax.Array, KVCache]:
        """tokens `[B]` at position `index` -> logits `[B, V]` for position index+1, new cache."""
        hidden, cache = self.body(tokens[:, None], cache, index)
        return self.lm_head(hidden[:, 0]), cache

    def prefill(self, tokens: jax.Array, cache: KVCache) -> KVCache:
        """tokens `[B, T]` at positions 0..T-1 -> the cache holding their keys and values."""
        _, cache = self.body(tokens, cache, jnp.int32(0))
        return cache


class ScalarModel(nn.Module):
    """One scalar per position: `__call__(tokens [B, T]) -> [B, T]` float32."""

    config: ModelConfig

    def setup(self):
        self.body = Body(self.config)
        self.scalar_head = nn.Dense(1, kernel_init=nn.initializers.zeros)

    def __call__(self, tokens: jax.Array) -> jax.Array:
        hidden, _ = self.body(tokens)
        return self.scalar_head(hidden)[..., 0]


def init_language_model(config: ModelConfig, key: jax.Array) -> dict:
    """Fresh LanguageModel parameters, drawn with one random call.

    Dense kernels are normal with std 1/sqrt(fan_in), embeddings normal with std 0.02,
    LayerNorm scales 1, biases 0. One `normal` draw over the flat parameter vector instead of
    one per array keeps the compiled program small (as `jaxrl.agents.ppo.networks` does).
    """
    tokens = jnp.zeros((1, config.max_len), jnp.int32)
    abstract = jax.eval_shape(LanguageModel(config).init, jax.random.key(0), tokens)["params"]

    def law(path, leaf):
        name = getattr(path[-1], "key", "")
        if name == "kernel":
            return 0.0, 1.0 / math.sqrt(leaf.shape[0])
        if name == "embedding":
            return 0.0, 0.02
        if name == "scale":
            return 1.0, 0.0
        return 0.0, 0.0

    laws = jax.tree_util.tree_map_with_path(law, abstract)
    is_law = lambda x: isinstance(x, tuple)
    means = jax.tree.map(
        lambda law, leaf: np.full(leaf.shape, law[0], np.float32), laws, abstract, is_leaf=is_law
    )
    scales = jax.tree.map(
        lambda law, leaf: np.full(leaf.shape, law[1], np.float32), laws, abstract, is_leaf=is_law
    )
    flat_mean, unravel = ravel_pytree(means)
    flat_scale, _ = ravel_pytree(scales)
    noise = jax.random.normal(key, flat_mean.shape, jnp.float32)
    return unravel(jnp.asarray(flat_mean) + jnp.asarray(flat_scale) * noise)


def scalar_params_from(params: dict) -> dict:
    """ScalarModel parameters whose body is `params["body"]` (a LanguageModel's or a
    ScalarModel's) and whose head is `params["scalar_head"]` if present, else zero (so a fresh
    reward model starts by scoring every sequence 0)."""
    d_model = params["body"]["ln_final"]["scale"].shape[0]
    zero_head = {
        "kernel": jnp.zeros((d_model, 1), jnp.float32),
        "bias": jnp.zeros((1,), jnp.float32),
    }
    return {"body": params["body"], "scalar_head": params.get("scalar_head", zero_head)}


def response_mask(tokens: jax.Array, prompt_len: int = 0) -> jax.Array:
    """Which next-token predictions are part of the response.

    Args:
        tokens: `[B, L]`, `[BOS, prompt..., words..., EOS, PAD...]`.
        prompt_len: the prompt's tokens after BOS (static; 0 for none).

    Returns:
        `[B, L-1]` bool: entry t is True when token t+1 was generated (the words and the EOS),
        False for BOS, the prompt and the padding after EOS.
    """
    targets = tokens[:, 1:]
    ended_before = jnp.cumsum(targets == corpus.EOS_ID, axis=1) - (targets == corpus.EOS_ID)
    mask = ended_before == 0
    if prompt_len:
        mask = mask & (jnp.arange(targets.shape[1]) >= prompt_len)[None, :]
    return mask


def last_token_index(tokens: jax.Array) -> jax.Array:
    """`[B]` int32: the index of each sequence's EOS, or L-1 for one cut off without EOS."""
    is_eos = tokens == corpus.EOS_ID
    first_eos = jnp.argmax(is_eos, axis=1)
    return jnp.where(is_eos.any(axis=1), first_eos, tokens.shape[1] - 1).astype(jnp.int32)


def token_log_probs(
    config: ModelConfig, params: dict, tokens: jax.Array, temperature: jax.typing.ArrayLike = 1.0
) -> jax.Array:
    """log pi(token t+1 | tokens <= t) at temperature `temperature`: `[B, L-1]` float32."""
    hidden, _ = Body(config).apply({"params": params["body"]}, tokens)
    return log_probs_from_hidden(config, params["lm_head"], hidden, tokens, temperature)


def stacked_hidden(config: ModelConfig, bodies: list[dict], tokens: jax.Array) -> jax.Array:
    """The hidden states of several bodies on the same tokens, `[K, B, L, D]`.

    One `vmap` over the stacked parameters puts a single copy of the network in the compiled
    program instead of K, which cuts compile time (the policy, reference, value network and
    reward model all read every rollout).
    """
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *bodies)
    return jax.vmap(lambda body: Body(config).apply({"params": body}, tokens)[0])(stacked)


def log_probs_from_hidden(
    config: ModelConfig,
    lm_head: dict,
    hidden: jax.Array,
    tokens: jax.Array,
    temperature: jax.typing.ArrayLike = 1.0,
) -> jax.Array:
    """`token_log_probs` from a body's hidden states `[B, L, D]` and an `lm_head`: `[B, L-1]`."""
    log_probs = jax.nn.log_softmax(
        logits_from_hidden(config, lm_head, hidden[:, :-1]) / temperature
    )
    return jnp.take_along_axis(log_probs, tokens[:, 1:, None], -1)[..., 0]


def logits_from_hidden(config: ModelConfig, lm_head: dict, hidden: jax.Array) -> jax.Array:
    """A `LanguageModel`'s logits from hidden states `[..., D]` and its `lm_head`: `[..., V]`."""
    return nn.Dense(config.vocab_size).apply({"params": lm_head}, hidden)


def scalars_from_hidden(scalar_head: dict, hidden: jax.Array) -> jax.Array:
    """A `ScalarModel`'s output from hidden states `[B, L, D]` and its `scalar_head`: `[B, L]`."""
    return nn.Dense(1).apply({"params": scalar_head}, hidden)[..., 0]


def sequence_log_probs(
    config: ModelConfig,
    params: dict,
    tokens: jax.Array,
    temperature: jax.typing.ArrayLike = 1.0,
    prompt_len: int = 0,
) -> jax.Array:
    """log pi(response | prompt) summed over the response tokens (`response_mask`): `[B]`."""
    per_token = token_log_probs(config, params, tokens, temperature)
    return jnp.sum(jnp.where(response_mask(tokens, prompt_len), per_token, 0.0), axis=1)


def generate(
    config: ModelConfig,
    params: dict,
    key: jax.Array,
    batch: int,
    temperature: jax.typing.ArrayLike = 1.0,
) -> jax.Array:
    """Samples `batch` sequences from BOS alone: `generate_from` with empty prompts.

    Returns:
        `[batch, max_len]` int32 tokens, BOS first.
    """
    return generate_from(config, params, key, jnp.zeros((batch, 0), jnp.int32), temperature)


def generate_from(
    config: ModelConfig,
    params: dict,
    key: jax.Array,
    prompts: jax.Array,
    temperature: jax.typing.ArrayLike = 1.0,
) -> jax.Array:
    """Samples one response to each prompt, one `lax.scan` over positions with a KV cache.

    BOS and the prompt enter the cache in one forward pass; the scan then samples every later
    position, each token from softmax(logits / temperature). Once a sequence has emitted EOS,
    every later token is PAD. A sequence that has not ended by `max_len` is left cut off.

    Args:
        config: the model's shape.
        params: LanguageModel parameters.
        key: the sampling randomness; the same key gives the same sequences. With empty
            prompts it is used as `generate` always has, so `generate` is unchanged by prompts.
        prompts: `[B, P]` int32 prompt tokens without BOS or EOS; P (static) may be 0, and
            must leave at least one position to generate (P <= max_len - 2).
        temperature: > 0.

    Returns:
        `[B, max_len]` int32 tokens, `[BOS, prompt..., response...]`.
    """
    batch, prompt_len = prompts.shape
    if prompt_len > config.max_len - 2:
        raise ValueError(
            f"prompts of {prompt_len} tokens leave max_len={config.max_len} no room for BOS and "
            f"a response; use prompts of at most {config.max_len - 2} tokens."
        )
    model = LanguageModel(config)
    bos = jnp.full((batch, 1), corpus.BOS_ID, jnp.int32)
    context = jnp.concatenate([bos, prompts.astype(jnp.int32)], axis=1)
    cache = init_cache(config, batch)
    if prompt_len:
        # Every context token but the last: the scan feeds that one and samples what follows.
        cache = model.apply(
            {"params": params}, context[:, :-1], cache, method=LanguageModel.prefill
        )

    def step(carry, inputs):
        token, done, cache = carry
        index, step_key = inputs
        logits, cache = model.apply(
            {"params": params}, token, index, cache, method=LanguageModel.decode_step
        )
        sampled = jax.random.categorical(step_key, logits / temperature).astype(jnp.int32)
        sampled = jnp.where(done, corpus.PAD_ID, sampled)
        done = done | (sampled == corpus.EOS_ID)
        return (sampled, done, cache), sampled

    steps = config.max_len - 1 - prompt_len
    init = (context[:, -1], jnp.zeros((batch,), jnp.bool_), cache)
    indices = jnp.arange(prompt_len, prompt_len + steps, dtype=jnp.int32)
    _, sampled = jax.lax.scan(step, init, (indices, jax.random.split(key, steps)))
    return jnp.concatenate([context, sampled.T], axis=1)
