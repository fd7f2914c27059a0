"""Prompts: responses generated after a prompt drawn from the grammar's openings. Generation
keeps the prompt and the masks leave it out; without a prompt every path is the prompt-free
one; RLOO and GRPO groups share a prompt, PPO draws one per sequence, preference pairs answer
one prompt; the whole review is scored; a short run with prompts learns; bad settings fail in
one line."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.rlhf import corpus, grpo, labeller, pipeline, ppo, reward_model, rloo
from jaxrl.rlhf import rollout as shared
from jaxrl.rlhf.dpo import pair_log_probs
from jaxrl.rlhf.evaluation import evaluate_policy
from jaxrl.rlhf.model import (
    LanguageModel,
    generate,
    generate_from,
    response_mask,
    sequence_log_probs,
    token_log_probs,
)
from tests.rlhf.test_rollout import MODEL, tiny_models

W = corpus.TOKEN_ID
PROMPT_LEN = 2


def _prompt_words(tokens: np.ndarray) -> np.ndarray:
    """`[B, PROMPT_LEN]`: the prompt tokens of sequences `[B, L]` (after BOS)."""
    return np.asarray(tokens)[:, 1 : 1 + PROMPT_LEN]


def test_sample_prompts_are_the_grammars_openings():
    draw = jax.jit(corpus.sample_prompts, static_argnums=(1, 2))
    prompts = np.asarray(draw(jax.random.key(0), 4000, 3))
    assert prompts.shape == (4000, 3) and prompts.dtype == np.int32
    assert (prompts[:, 0] == W["the"]).all() and (prompts[:, 2] == W["was"]).all()
    # The noun is uniform over the grammar's nouns, as in `sample_sentence`: each count within
    # 4.5 standard errors of 4000 / 8.
    counts = np.array([(prompts[:, 1] == W[noun]).sum() for noun in corpus.NOUNS])
    assert counts.sum() == 4000
    assert (np.abs(counts - 500) < 4.5 * np.sqrt(4000 * (1 / 8) * (7 / 8))).all(), counts
    shorter = draw(jax.random.key(0), 4000, PROMPT_LEN)
    np.testing.assert_array_equal(shorter, prompts[:, :PROMPT_LEN])
    assert corpus.sample_prompts(jax.random.key(0), 5, 0).shape == (5, 0)
    grouped = jax.jit(shared.draw_prompts, static_argnums=(1, 2, 3))(
        jax.random.key(1), 12, PROMPT_LEN, 4
    )
    grouped = np.asarray(grouped)
    assert (grouped.reshape(3, 4, PROMPT_LEN) == grouped[::4, None]).all()


@jax.jit
def _greedy_and_forward(params, key, prompts):
    """Greedy samples after `prompts` (temperature 1e-4) and the full forward pass's logits."""
    tokens = generate_from(MODEL, params, key, prompts, 1e-4)
    return tokens, LanguageModel(MODEL).apply({"params": params}, tokens)


def test_generation_keeps_the_prompt_and_the_mask_excludes_it():
    ref_params, _, _ = tiny_models()
    prompts = corpus.sample_prompts(jax.random.key(2), 16, PROMPT_LEN)
    tokens, logits = map(np.asarray, _greedy_and_forward(ref_params, jax.random.key(3), prompts))
    assert tokens.shape == (16, MODEL.max_len)
    assert (tokens[:, 0] == corpus.BOS_ID).all()
    np.testing.assert_array_equal(_prompt_words(tokens), prompts)
    mask = np.asarray(response_mask(jnp.asarray(tokens), PROMPT_LEN))
    # Entry t predicts token t + 1: BOS's prediction and the prompt's own are not the policy's.
    assert not mask[:, :PROMPT_LEN].any() and mask[:, PROMPT_LEN].all()
    after_prompt = np.arange(MODEL.max_len - 1) >= PROMPT_LEN
    np.testing.assert_array_equal(
        mask, np.asarray(response_mask(jnp.asarray(tokens))) & after_prompt
    )
    # The prefilled cache conditions on the prompt as the full forward pass does: the greedy
    # response is the forward pass's argmax at every response position...
    assert (np.argmax(logits[:, :-1], -1) == tokens[:, 1:])[mask].all()
    # ...and the prompt steers it: different prompts, different greedy continuations.
    assert len({tuple(row) for row in tokens[:, 1 + PROMPT_LEN :]}) > 1


def test_without_a_prompt_every_path_is_the_prompt_free_one():
    ref_params, policy_params, rm = tiny_models()
    key = jax.random.key(4)
    config = rloo.RLOOConfig(rollouts=8, k=4, num_minibatches=1, temperature=0.7)
    state = rloo.init_state(config, policy_params)

    @jax.jit
    def both(key):
        batch, _ = rloo.collect_rollout(MODEL, config, ref_params, rm, state, key)
        return batch, generate(MODEL, policy_params, key, 8, 0.7)

    batch, plain = both(key)
    # `generate` is `generate_from` with empty prompts, and the prompt draw takes a key folded
    # off the iteration's: the sampler's draws are those of the prompt-free code.
    np.testing.assert_array_equal(batch.tokens, plain)
    np.testing.assert_array_equal(batch.mask, response_mask(plain))
    np.testing.assert_array_equal(response_mask(plain, 0), response_mask(plain))


@pytest.mark.parametrize("module", [rloo, grpo], ids=["rloo", "grpo"])
def test_each_group_shares_one_prompt(module):
    ref_params, policy_params, rm = tiny_models()
    config_class = rloo.RLOOConfig if module is rloo else grpo.GRPOConfig
    config = config_class(rollouts=16, k=4, num_minibatches=1, prompt_len=PROMPT_LEN)
    state = module.init_state(config, policy_params)
    batch, metrics = jax.jit(
        lambda state, key: module.collect_rollout(MODEL, config, ref_params, rm, state, key)
    )(state, jax.random.key(5))
    prompts = _prompt_words(batch.tokens).reshape(4, 4, PROMPT_LEN)
    assert (prompts == prompts[:, :1]).all()
    # Fresh prompts per group: 4 draws of 8 nouns are all equal with probability 1/512.
    assert len({tuple(group[0]) for group in prompts}) > 1
    np.testing.assert_array_equal(batch.mask, response_mask(batch.tokens, PROMPT_LEN))
    # The KL counts response tokens only, and "length" excludes the prompt.
    np.testing.assert_allclose(
        batch.log_probs, token_log_probs(MODEL, policy_params, batch.tokens), atol=1e-5
    )
    assert float(metrics["length"]) == pytest.approx(float(batch.mask.sum(axis=1).mean()))
    gold = labeller.gold_score(batch.tokens)
    assert float(metrics["gold"]) == pytest.approx(float(gold.mean()), abs=1e-5)


def test_ppo_draws_a_prompt_per_sequence_and_rewards_the_response():
    ref_params, policy_params, rm = tiny_models()
    config = ppo.RLHFPPOConfig(rollouts=16, num_minibatches=1, prompt_len=PROMPT_LEN)
    state = ppo.init_state(config, policy_params, ppo.value_params_from_reward_model(rm))

    @jax.jit
    def collect(state, key):
        rollout, _ = ppo.collect_rollout(MODEL, config, ref_params, rm, state, key)
        return rollout, reward_model.reward(MODEL, rm, rollout.tokens)

    rollout, proxy = collect(state, jax.random.key(6))
    prompts = {tuple(row) for row in _prompt_words(rollout.tokens)}
    assert len(prompts) > 4  # 16 draws of 8 nouns
    mask = np.asarray(rollout.mask)
    assert not mask[:, :PROMPT_LEN].any()
    for name in ("advantages", "values"):
        assert (np.asarray(getattr(rollout, name))[:, :PROMPT_LEN] == 0).all(), name
    # The last response token's target is its reward: the whole review's score less its KL.
    last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
    kl = np.asarray(rollout.log_probs - rollout.ref_log_probs)[np.arange(16), last]
    target = np.asarray(rollout.targets)[np.arange(16), last]
    np.testing.assert_allclose(target, rollout.score - config.kl_coef * kl, atol=1e-5)
    ended = (rollout.tokens == corpus.EOS_ID).any(axis=1)
    # The reward model scores the whole review, prompt included.
    expected = jnp.where(ended, proxy, config.no_eos_penalty)
    np.testing.assert_allclose(rollout.score, expected, atol=1e-5)


def test_per_token_rewards_after_a_prompt_hand_worked():
    log_probs = jnp.array([[-1.0, -2.0, -0.5, -3.0, -1.0]])
    ref = jnp.array([[-1.5, -1.0, -1.0, -1.0, -1.0]])
    mask = jnp.array([[False, False, True, True, False]])
    rewards = ppo.per_token_rewards(jnp.array([2.0]), log_probs, ref, mask, 0.1)
    # Nothing on the prompt; -0.1 * (log pi - log pi_ref) on the response, the score on its last.
    np.testing.assert_allclose(rewards, [[0.0, 0.0, -0.05, 0.2 + 2.0, 0.0]], atol=1e-6)


def test_gold_score_of_prompt_and_response_equals_the_reference():
    texts = [t for t in corpus.generate_corpus(300, seed=3) if len(t.split()) <= 8]
    rng = np.random.default_rng(0)
    rows = []
    for text in texts:
        prompt = ["the", corpus.NOUNS[rng.integers(len(corpus.NOUNS))]]
        words = text.split()
        rows.append(prompt + words[2:])  # a response that continues the prompt: grammatical
        rows.append(prompt + words)  # a response that starts a review again: ungrammatical
        swapped = prompt + words[2:]  # a response word swapped for any word: mostly not
        swapped[rng.integers(2, len(swapped))] = corpus.VOCAB[rng.integers(3, corpus.VOCAB_SIZE)]
        rows.append(swapped)
    # The same response after two prompts: "cheap" pleases about the price only.
    rows += [["the", "price", "was", "cheap"], ["the", "food", "was", "cheap"]]
    tokens = np.stack([corpus.encode(" ".join(words), MODEL.max_len) for words in rows])
    gold = np.asarray(jax.jit(labeller.gold_score)(tokens))
    reference = [labeller.reference_gold_score(corpus.decode(row)) for row in tokens]
    np.testing.assert_allclose(gold, reference, atol=1e-5)
    continued, restarted, swapped = (gold[i:-2:3] for i in range(3))
    assert (continued != labeller.UNGRAMMATICAL_SCORE).all()
    assert (restarted == labeller.UNGRAMMATICAL_SCORE).all()
    assert 0.3 < (swapped == labeller.UNGRAMMATICAL_SCORE).mean() < 1.0
    np.testing.assert_allclose(gold[-2:], [1.5, -1.0], atol=1e-6)


def test_preference_pairs_share_a_prompt_and_dpo_scores_the_responses():
    ref_params, _, _ = tiny_models()

    @jax.jit
    def pairs_and_log_probs(params, key):
        pairs = reward_model.make_preferences(MODEL, params, key, 32, 1.0, prompt_len=PROMPT_LEN)
        both = jnp.concatenate([pairs.chosen, pairs.rejected])
        return (
            pairs,
            pair_log_probs(MODEL, params, pairs.chosen, pairs.rejected, prompt_len=PROMPT_LEN),
            token_log_probs(MODEL, params, both),
            sequence_log_probs(MODEL, params, both, prompt_len=PROMPT_LEN),
        )

    pairs, (chosen, rejected), per_token, total = pairs_and_log_probs(ref_params, jax.random.key(9))
    assert pairs.prompt_len == PROMPT_LEN
    np.testing.assert_array_equal(_prompt_words(pairs.chosen), _prompt_words(pairs.rejected))
    assert len({tuple(row) for row in _prompt_words(pairs.chosen)}) > 4
    assert not (pairs.chosen == pairs.rejected).all(axis=1).all()
    np.testing.assert_allclose(pairs.gold_chosen, labeller.gold_score(pairs.chosen), atol=1e-6)
    # log pi(response | prompt): the per-token log-probabilities from the first response token.
    both = jnp.concatenate([pairs.chosen, pairs.rejected])
    mask = np.asarray(response_mask(both, PROMPT_LEN))
    expected = np.where(mask, np.asarray(per_token), 0.0).sum(axis=1)
    np.testing.assert_allclose(total, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([chosen, rejected]), expected, rtol=1e-5, atol=1e-5)
    split, _ = pairs.split(8)
    assert split.prompt_len == PROMPT_LEN


def test_evaluation_answers_the_same_prompts_for_every_policy():
    ref_params, policy_params, rm = tiny_models()
    evaluate = jax.jit(
        lambda params, key: evaluate_policy(
            MODEL, params, ref_params, rm, key, 32, prompt_len=PROMPT_LEN
        )
    )
    ref, policy = (
        evaluate(ref_params, jax.random.key(10)),
        evaluate(policy_params, jax.random.key(10)),
    )
    np.testing.assert_array_equal(_prompt_words(ref["tokens"]), _prompt_words(policy["tokens"]))
    assert float(ref["kl"]) == pytest.approx(0.0, abs=1e-4)
    mask = response_mask(policy["tokens"], PROMPT_LEN)
    assert float(policy["length"]) == pytest.approx(float(mask.sum(axis=1).mean()))


def test_a_short_rloo_run_with_prompts_raises_the_proxy():
    ref_params, _, rm = tiny_models()
    config = rloo.RLOOConfig(
        iterations=8,
        rollouts=32,
        k=4,
        num_minibatches=2,
        learning_rate=1e-3,
        kl_coef=0.0,
        prompt_len=PROMPT_LEN,
    )
    train = jax.jit(rloo.make_train(MODEL, config, ref_params, rm))
    _, metrics = train(jax.random.key(11), rloo.init_state(config, ref_params))
    proxy = np.asarray(metrics["proxy"])
    # The first iteration samples pi_ref; the last three score clearly higher.
    assert proxy[-3:].mean() > proxy[0] + 0.2, proxy


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: rloo.RLOOConfig(prompt_len=4), 'prompt_len=4: a prompt is a prefix of "the NOUN'),
        (lambda: grpo.GRPOConfig(prompt_len=-1), "prompt_len=-1: a prompt is a prefix"),
        (lambda: ppo.RLHFPPOConfig(prompt_len=1.5), "prompt_len=1.5: must be an integer"),
        (lambda: ppo.RLHFPPOConfig(prompt_len=True), "prompt_len=True: must be an integer"),
        (
            lambda: pipeline.PipelineConfig(prompt_len=2),
            "ppo.prompt_len=0 differs from prompt_len=2; give both the same prompt length",
        ),
        (
            lambda: generate_from(
                MODEL, {}, jax.random.key(0), jnp.zeros((1, MODEL.max_len - 1), jnp.int32)
            ),
            "prompts of 11 tokens leave max_len=12 no room",
        ),
    ],
)
def test_bad_prompt_settings_fail_in_one_line(make, message):
    with pytest.raises(ValueError, match=message) as error:
        make()
    assert "\n" not in str(error.value)


def test_prompt_len_flag_reaches_every_stage(tmp_path, capsys):
    config = pipeline.config_from_args(pipeline.parse_args(["--quick", "--prompt-len", "2"]))
    assert config.prompt_len == config.ppo.prompt_len == 2
    assert pipeline.config_from_args(pipeline.parse_args(["--quick"])).prompt_len == 0
    assert pipeline.main(["--prompt-len", "4", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "error: prompt_len=4" in err and err.count("\n") == 1
