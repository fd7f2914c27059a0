"""The transformer: KV-cached decoding equals the full forward pass; generation is
deterministic per key and ends cleanly at EOS; masks and indices of responses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.rlhf import corpus
from jaxrl.rlhf.model import (
    LanguageModel,
    ModelConfig,
    ScalarModel,
    generate,
    init_cache,
    init_language_model,
    last_token_index,
    response_mask,
    scalar_params_from,
    sequence_log_probs,
    token_log_probs,
)

CONFIG = ModelConfig(d_model=16, num_heads=2, num_layers=2)


# Compiled once for the module; the temperature is traced, so changing it does not recompile.
gen = jax.jit(lambda params, key, temperature: generate(CONFIG, params, key, 16, temperature))
forward = jax.jit(lambda params, tokens: LanguageModel(CONFIG).apply({"params": params}, tokens))


@pytest.fixture(scope="module")
def params():
    return jax.jit(lambda key: init_language_model(CONFIG, key))(jax.random.key(1))


@pytest.fixture(scope="module")
def samples(params):
    return gen(params, jax.random.key(2), 1.0)


def _tokens(*texts):
    return jnp.asarray(np.stack([corpus.encode(text, CONFIG.max_len) for text in texts]))


def test_model_config_rejects_bad_shapes():
    with pytest.raises(ValueError, match="num_heads=3 does not divide d_model=64"):
        ModelConfig(num_heads=3)
    with pytest.raises(ValueError, match="d_model=0"):
        ModelConfig(d_model=0)


def test_init_laws(params):
    block = params["body"]["block_0"]
    assert float(jnp.abs(block["qkv"]["bias"]).max()) == 0.0
    assert (block["ln_attention"]["scale"] == 1.0).all()
    kernel = block["mlp_in"]["kernel"]
    assert float(kernel.std()) == pytest.approx(1 / np.sqrt(CONFIG.d_model), rel=0.15)
    embed = params["body"]["token_embed"]["embedding"]
    assert float(embed.std()) == pytest.approx(0.02, rel=0.2)


def test_cached_decoding_equals_the_full_forward_pass(params, samples):
    full = forward(params, samples)

    def decode_all(params, tokens):
        def step(cache, index):
            logits, cache = LanguageModel(CONFIG).apply(
                {"params": params},
                tokens[:, index],
                index,
                cache,
                method=LanguageModel.decode_step,
            )
            return cache, logits

        _, logits = jax.lax.scan(
            step, init_cache(CONFIG, tokens.shape[0]), jnp.arange(CONFIG.max_len)
        )
        return logits.transpose(1, 0, 2)

    np.testing.assert_allclose(jax.jit(decode_all)(params, samples), full, atol=2e-5)


def test_generation_is_deterministic_per_key_and_ends_at_eos(params, samples):
    assert (gen(params, jax.random.key(2), 1.0) == samples).all()
    assert not (gen(params, jax.random.key(3), 1.0) == samples).all()
    samples = np.asarray(samples)
    assert samples.shape == (16, CONFIG.max_len) and samples.dtype == np.int32
    assert (samples[:, 0] == corpus.BOS_ID).all()
    assert (samples[:, 1:] != corpus.BOS_ID).any()  # an untrained model emits anything...
    for row in samples:
        eos = np.flatnonzero(row == corpus.EOS_ID)
        if eos.size:  # ...but after its first EOS only padding
            assert (row[eos[0] + 1 :] == corpus.PAD_ID).all()


def test_low_temperature_generation_is_greedy(params):
    tokens = gen(params, jax.random.key(5), 1e-4)
    assert (tokens == tokens[:1]).all()  # every sequence follows the argmax path
    logits = forward(params, tokens)
    mask = np.asarray(response_mask(tokens))
    greedy = np.asarray(jnp.argmax(logits[:, :-1], -1) == tokens[:, 1:])
    assert greedy[mask].all()


def test_response_mask_and_last_token_index():
    tokens = _tokens("the room was okay", "the food was very great but the view was fine")
    mask = np.asarray(response_mask(tokens))
    assert mask.shape == (2, CONFIG.max_len - 1)
    assert mask.sum(axis=1).tolist() == [5, 11]  # the words and the EOS
    assert mask[0, :5].all() and not mask[0, 5:].any()
    assert last_token_index(tokens).tolist() == [5, 11]
    cut = tokens.at[0, 5:].set(corpus.TOKEN_ID["very"])
    assert int(last_token_index(cut)[0]) == CONFIG.max_len - 1
    assert bool(response_mask(cut)[0].all())


def test_sequence_log_probs_sum_the_response_tokens(params):
    tokens = _tokens("the room was okay", "the coffee was cold and the view was lovely")
    per_token, total = jax.jit(
        lambda p, t: (token_log_probs(CONFIG, p, t, 0.7), sequence_log_probs(CONFIG, p, t, 0.7))
    )(params, tokens)
    logits = forward(params, tokens)[0, 2] / 0.7
    expected = jax.nn.log_softmax(logits)[tokens[0, 3]]
    assert float(per_token[0, 2]) == pytest.approx(float(expected), abs=1e-5)
    assert float(total[0]) == pytest.approx(float(per_token[0, :5].sum()), abs=1e-5)


def test_scalar_model_shares_the_language_model_body(params):
    scalar = scalar_params_from(params)
    assert scalar["body"] is params["body"]
    values = jax.jit(ScalarModel(CONFIG).apply)({"params": scalar}, _tokens("the room was okay"))
    assert values.shape == (1, CONFIG.max_len) and float(jnp.abs(values).max()) == 0.0


SHORT = ModelConfig(d_model=16, num_heads=2, num_layers=1, max_len=3)
NUM_DRAWS = 20_000


@jax.jit
def _draws_and_laws(params, key, temperature, first):
    """NUM_DRAWS samples `[NUM_DRAWS, 3]` from `generate` at `temperature`; and, from
    `token_log_probs` at `temperature` and at 1, P(token 1 = v) and P(token 2 = v | token 1 =
    first) for every v, `[2, V]` each."""
    tokens = generate(SHORT, params, key, NUM_DRAWS, temperature)
    every = jnp.arange(SHORT.vocab_size)
    bos, given = jnp.full_like(every, corpus.BOS_ID), jnp.full_like(every, first)
    candidates = jnp.concatenate(
        [jnp.stack([bos, every, every], 1), jnp.stack([bos, given, every], 1)]
    )

    def law(t):
        probs = jnp.exp(token_log_probs(SHORT, params, candidates, t))
        return jnp.stack([probs[: SHORT.vocab_size, 0], probs[SHORT.vocab_size :, 1]])

    return tokens, law(temperature), law(1.0)


@pytest.fixture(scope="module")
def sharp_params():
    params = jax.jit(lambda key: init_language_model(SHORT, key))(jax.random.key(7))
    # A sharper head than the initial one, so that the temperature matters.
    return {**params, "lm_head": jax.tree.map(lambda x: 3.0 * x, params["lm_head"])}


@pytest.mark.parametrize("temperature", [0.7, 1.5])
def test_generate_samples_from_the_scorers_tempered_probabilities(sharp_params, temperature):
    # What generate draws at temperature T is what token_log_probs(..., T) scores: the first
    # two tokens' frequencies over many draws match exp(token_log_probs) within sampling error,
    # and the untempered law is further off than that error.
    key = jax.random.key(8)
    tokens, law, untempered = map(np.asarray, _draws_and_laws(sharp_params, key, temperature, 0))
    frequency = np.bincount(tokens[:, 1], minlength=SHORT.vocab_size) / NUM_DRAWS
    error = 4.5 * np.sqrt(law[0] * (1 - law[0]) / NUM_DRAWS) + 1e-3
    assert (np.abs(frequency - law[0]) < error).all()
    assert (np.abs(frequency - untempered[0]) > error).any()
    # Token 2 given the most frequent token 1 that is not EOS (after EOS comes only PAD).
    first = int(np.argmax(np.where(np.arange(SHORT.vocab_size) == corpus.EOS_ID, -1, frequency)))
    _, law, untempered = map(np.asarray, _draws_and_laws(sharp_params, key, temperature, first))
    rows = tokens[:, 1] == first
    frequency = np.bincount(tokens[rows, 2], minlength=SHORT.vocab_size) / rows.sum()
    error = 4.5 * np.sqrt(law[1] * (1 - law[1]) / rows.sum()) + 1e-3
    assert (np.abs(frequency - law[1]) < error).all()
    assert (np.abs(frequency - untempered[1]) > error).any()
