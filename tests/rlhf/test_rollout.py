"""The on-policy loop's pieces, one at a time: what `collect_rollout` hands the update (checked
against separate forward passes), the first minibatch of every learner's update sees ratio 1,
and the adaptive KL controller settles at its target."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.rlhf import corpus, grpo, ppo, rloo
from jaxrl.rlhf.model import (
    ModelConfig,
    ScalarModel,
    generate,
    init_language_model,
    response_mask,
    scalar_params_from,
    token_log_probs,
)
from jaxrl.rlhf.reward_model import RewardModel, normalise, reward

#: One block, short sequences: every program here compiles in seconds.
MODEL = ModelConfig(d_model=32, num_layers=1, num_heads=2, max_len=12)


@functools.cache
def tiny_models() -> tuple[dict, dict, RewardModel]:
    """Reference and (different) policy parameters, and a random reward model normalised on
    the reference's samples, as the pipeline normalises its trained one.

    The reference favours EOS (most of its samples end within `max_len`, as a pretrained
    model's do), so a learner raises the score by what it says rather than by ending at all.
    """
    ref_params = init_language_model(MODEL, jax.random.key(1))
    bias = ref_params["lm_head"]["bias"].at[corpus.EOS_ID].set(2.0)
    ref_params = {**ref_params, "lm_head": {**ref_params["lm_head"], "bias": bias}}
    policy_params = init_language_model(MODEL, jax.random.key(2))
    head = {
        "kernel": jax.random.normal(jax.random.key(3), (MODEL.d_model, 1)),
        "bias": jnp.zeros((1,)),
    }
    body = init_language_model(MODEL, jax.random.key(4))["body"]
    samples = generate(MODEL, ref_params, jax.random.key(5), 256)
    return ref_params, policy_params, normalise(MODEL, {"body": body, "scalar_head": head}, samples)


def collect_then_update(module, config, state, key):
    """One compiled program: `collect_rollout`, then one `update` on what it collected."""
    ref_params, _, rm = tiny_models()

    def step(state, key):
        key_rollout, key_update = jax.random.split(key)
        batch, metrics = module.collect_rollout(MODEL, config, ref_params, rm, state, key_rollout)
        new_state, info = module.update(MODEL, config, state, batch, key_update)
        return batch, metrics, new_state, info

    return jax.jit(step)(state, key)


# One epoch of one minibatch: the update's reported loss terms are those of its first (and
# only) minibatch, measured before its gradient step.
PPO = ppo.RLHFPPOConfig(rollouts=16, update_epochs=1, num_minibatches=1, temperature=0.7)
RLOO = rloo.RLOOConfig(rollouts=16, k=4, update_epochs=1, num_minibatches=1, temperature=0.7)
GRPO = grpo.GRPOConfig(rollouts=16, k=4, update_epochs=1, num_minibatches=1, temperature=0.7)


def assert_first_minibatch_is_on_policy(approx_kl, clip_fraction):
    # Before any gradient step the recomputed log-probs equal the rollout's: ratio 1.
    assert abs(float(approx_kl)) < 1e-6
    assert float(clip_fraction) == 0.0


def assert_policy_moved(old: dict, new: dict):
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), old, new)
    assert max(jax.tree.leaves(moved)) > 0


def test_ppo_collect_rollout_and_first_update():
    ref_params, policy_params, rm = tiny_models()
    value_params = ppo.value_params_from_reward_model(rm)
    state = ppo.init_state(PPO, policy_params, value_params)
    rollout, metrics, new_state, info = collect_then_update(ppo, PPO, state, jax.random.key(5))

    tokens, mask = rollout.tokens, rollout.mask
    assert tokens.shape == (16, MODEL.max_len) and (tokens[:, 0] == corpus.BOS_ID).all()
    np.testing.assert_array_equal(mask, response_mask(tokens))
    # Log-probabilities at the sampling temperature, of pi and pi_ref, as separate passes give.
    np.testing.assert_allclose(
        rollout.log_probs, token_log_probs(MODEL, policy_params, tokens, 0.7), atol=1e-5
    )
    np.testing.assert_allclose(
        rollout.ref_log_probs, token_log_probs(MODEL, ref_params, tokens, 0.7), atol=1e-5
    )
    values = ScalarModel(MODEL).apply({"params": scalar_params_from(value_params)}, tokens)
    np.testing.assert_allclose(rollout.values, jnp.where(mask, values[:, :-1], 0.0), atol=1e-5)
    ended = (tokens == corpus.EOS_ID).any(axis=1)
    assert 0 < int(ended.sum()) < 16  # both branches of the no-EOS penalty are exercised
    expected_score = jnp.where(ended, reward(MODEL, rm, tokens), PPO.no_eos_penalty)
    np.testing.assert_allclose(rollout.score, expected_score, atol=1e-5)
    assert (rollout.advantages[~mask] == 0).all()
    # gamma = 1, lambda = 0.95: the first token's target is not the return, but the last
    # response token's target is its reward (the score less its KL penalty).
    kl = jnp.where(mask, rollout.log_probs - rollout.ref_log_probs, 0.0)
    last = mask.sum(axis=1) - 1
    last_target = jnp.take_along_axis(rollout.targets, last[:, None], 1)[:, 0]
    last_kl = jnp.take_along_axis(kl, last[:, None], 1)[:, 0]
    np.testing.assert_allclose(last_target, rollout.score - PPO.kl_coef * last_kl, atol=1e-5)
    assert float(metrics["kl"]) == pytest.approx(float(kl.sum(axis=1).mean()), abs=1e-5)
    assert float(metrics["eos_rate"]) == pytest.approx(float(ended.mean()))

    assert_first_minibatch_is_on_policy(info.approx_kl, info.clip_fraction)
    assert_policy_moved(state.policy_params, new_state.policy_params)


def test_rloo_collect_rollout_and_first_update():
    ref_params, policy_params, rm = tiny_models()
    state = rloo.init_state(RLOO, policy_params)
    batch, metrics, new_state, info = collect_then_update(rloo, RLOO, state, jax.random.key(6))

    np.testing.assert_allclose(
        batch.log_probs, token_log_probs(MODEL, policy_params, batch.tokens, 0.7), atol=1e-5
    )
    kl = jnp.sum(jnp.where(batch.mask, batch.log_probs - batch.ref_log_probs, 0.0), axis=1)
    ended = (batch.tokens == corpus.EOS_ID).any(axis=1)
    score = jnp.where(ended, reward(MODEL, rm, batch.tokens), RLOO.no_eos_penalty)
    rewards = np.asarray(score - RLOO.kl_coef * kl).reshape(4, 4)
    # Leave-one-out, written as the definition: r_i less the mean of the other three.
    expected = [[r[i] - np.delete(r, i).mean() for i in range(4)] for r in rewards]
    np.testing.assert_allclose(batch.advantages.reshape(4, 4), expected, atol=1e-4)
    assert float(metrics["reward"]) == pytest.approx(float(rewards.mean()), abs=1e-5)

    assert_first_minibatch_is_on_policy(info["approx_kl"], info["clip_fraction"])
    assert_policy_moved(state.policy_params, new_state.policy_params)


def test_grpo_collect_rollout_and_first_update():
    ref_params, policy_params, rm = tiny_models()
    state = grpo.init_state(GRPO, policy_params)
    batch, metrics, new_state, info = collect_then_update(grpo, GRPO, state, jax.random.key(7))

    np.testing.assert_allclose(
        batch.ref_log_probs, token_log_probs(MODEL, ref_params, batch.tokens, 0.7), atol=1e-5
    )
    ended = (batch.tokens == corpus.EOS_ID).any(axis=1)
    score = np.asarray(jnp.where(ended, reward(MODEL, rm, batch.tokens), GRPO.no_eos_penalty))
    groups = score.reshape(4, 4)
    expected = (groups - groups.mean(1, keepdims=True)) / (
        groups.std(1, ddof=1, keepdims=True) + 1e-4
    )
    np.testing.assert_allclose(batch.advantages.reshape(4, 4), expected, atol=1e-4)

    assert_first_minibatch_is_on_policy(info["approx_kl"], info["clip_fraction"])
    # The policy starts away from pi_ref, so the k3 term is positive from the first step.
    assert float(info["kl_loss"]) > 0
    assert_policy_moved(state.policy_params, new_state.policy_params)


def test_adaptive_kl_horizon_scales_with_the_run():
    assert ppo.RLHFPPOConfig(iterations=40, rollouts=64).adaptive_kl_horizon == 128
    # Never slower than Ziegler et al.'s 10,000 sequences, never a step larger than the error.
    assert ppo.RLHFPPOConfig(iterations=10_000, rollouts=64).adaptive_kl_horizon == 10_000
    assert ppo.RLHFPPOConfig(iterations=10, rollouts=64).adaptive_kl_horizon == 64
    assert ppo.RLHFPPOConfig(kl_horizon=500).adaptive_kl_horizon == 500
    with pytest.raises(ValueError, match="kl_horizon=0"):
        ppo.RLHFPPOConfig(kl_horizon=0)


@pytest.mark.parametrize("start", [0.3, 3.0])
def test_adaptive_kl_settles_on_a_toy_system(start):
    # A toy policy whose KL falls as 1 / coefficient: KL = c0 / kl_coef, at target when
    # kl_coef = c0 / target = 1. Started 3x off either way, with the run-scaled horizon of a
    # 60-iteration run, the last 10 iterations' KL is within 25% of the target.
    config = ppo.RLHFPPOConfig(iterations=60, rollouts=64, kl_target=2.0, kl_coef=start)
    c0, coef, kls = 2.0, jnp.float32(start), []
    for _ in range(config.iterations):
        kl = c0 / coef
        kls.append(float(kl))
        coef = ppo.adaptive_kl_coef(
            coef, kl, config.kl_target, config.rollouts, config.adaptive_kl_horizon
        )
    assert np.mean(kls[-10:]) == pytest.approx(config.kl_target, rel=0.25)
    # Ziegler's fixed 10,000-sequence horizon barely moves in the same run (3,840 sequences).
    fixed = jnp.float32(start)
    for _ in range(config.iterations):
        fixed = ppo.adaptive_kl_coef(fixed, c0 / fixed, config.kl_target, config.rollouts, 10_000)
    assert abs(float(fixed) / start - 1) < 0.1
    assert float(c0 / fixed) != pytest.approx(config.kl_target, rel=0.25)


@pytest.mark.slow  # 80 PPO iterations
def test_adaptive_kl_settles_on_a_tiny_model():
    # A random reward model pulls the policy away from pi_ref; from a coefficient about 4x too
    # small to hold it at 2 nats, the controller brings the KL to within 25% of the target.
    ref_params, _, rm = tiny_models()
    config = ppo.RLHFPPOConfig(
        iterations=80,
        rollouts=32,
        update_epochs=2,
        num_minibatches=2,
        kl_coef=0.1,
        kl_target=2.0,
    )
    state = ppo.init_state(config, ref_params, ppo.value_params_from_reward_model(rm))
    train = jax.jit(ppo.make_train(MODEL, config, ref_params, rm))
    _, metrics = train(jax.random.key(0), state)
    assert float(metrics["kl"][-10:].mean()) == pytest.approx(config.kl_target, rel=0.25)
    assert float(metrics["kl_coef"][-1]) > 0.2  # it climbed to hold the KL


def test_whiten_rewards_is_a_flag():
    with pytest.raises(ValueError, match="whiten_rewards=1: use True or False"):
        ppo.RLHFPPOConfig(whiten_rewards=1)
