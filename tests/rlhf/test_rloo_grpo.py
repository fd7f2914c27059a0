"""RLOO and GRPO: their advantages, losses and KL estimator on hand-worked values; configs that
fail fast with one line; and each learner's `train` jitted and vmapped over seeds x KL
coefficients equals the eager loop, and raises the reward model's score."""

import math
import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxrl.rlhf import grpo, rloo
from tests.rlhf.test_rollout import MODEL, tiny_models


def test_leave_one_out_advantages_hand_worked():
    rewards = jnp.array([1.0, 2.0, 3.0, 6.0, 0.0, 0.0, 1.0, -1.0])
    # Group one sums to 12: 1 - 11/3, 2 - 10/3, 3 - 9/3, 6 - 6/3. Group two sums to 0.
    expected = [-8 / 3, -4 / 3, 0.0, 4.0, 0.0, 0.0, 4 / 3, -4 / 3]
    np.testing.assert_allclose(rloo.leave_one_out_advantages(rewards, 4), expected, atol=1e-6)
    # k = 2: each sample's baseline is its partner.
    np.testing.assert_allclose(
        rloo.leave_one_out_advantages(rewards[:4], 2), [-1.0, 1.0, -3.0, 3.0], atol=1e-6
    )


def test_group_advantages_hand_worked():
    rewards = jnp.array([1.0, 2.0, 3.0, 6.0, 2.0, 2.0, 2.0, 2.0])
    # Mean 3, centred [-2, -1, 0, 3], sample std sqrt(14 / 3); an all-equal group gets 0.
    std = math.sqrt(14 / 3) + 1e-4
    expected = [-2 / std, -1 / std, 0.0, 3 / std, 0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(grpo.group_advantages(rewards, 4), expected, rtol=1e-6)
    np.testing.assert_allclose(
        grpo.group_advantages(rewards, 4, scale=False), [-2, -1, 0, 3, 0, 0, 0, 0], atol=1e-6
    )


def test_k3_kl_hand_worked():
    # d = log pi_ref - log pi: exp(d) - d - 1.
    kl = grpo.k3_kl(jnp.array([-1.0, -2.0, -0.7]), jnp.array([-1.5, -1.0, -0.7]))
    np.testing.assert_allclose(kl, [math.exp(-0.5) - 0.5, math.e - 2.0, 0.0], atol=1e-6)


def test_rloo_loss_clips_the_sequence_ratio():
    old = jnp.zeros((2, 3))
    new = jnp.array([[0.1, 0.2, 5.0], [-0.1, 0.0, 0.0]])
    mask = jnp.array([[True, True, False], [True, True, True]])
    # Sequence log-ratios 0.3 (the masked 5.0 ignored) and -0.1.
    loss, info = rloo.rloo_loss(new, old, mask, jnp.array([1.0, -2.0]), 0.2)
    r0, r1 = math.exp(0.3), math.exp(-0.1)
    # The first ratio is clipped at 1.2 (advantage > 0); the second is inside the clip.
    assert float(loss) == pytest.approx((-1.2 + 2.0 * r1) / 2, rel=1e-6)
    assert float(info["clip_fraction"]) == 0.5
    expected_kl = ((r0 - 1 - 0.3) + (r1 - 1 + 0.1)) / 2
    assert float(info["approx_kl"]) == pytest.approx(expected_kl, rel=1e-5)


def test_grpo_loss_hand_worked():
    old = jnp.zeros((2, 2))
    new = jnp.array([[0.5, 0.0], [0.0, 9.0]])
    ref = jnp.array([[0.0, 0.0], [1.0, 0.0]])
    mask = jnp.array([[True, True], [True, False]])
    loss, info = grpo.grpo_loss(new, old, ref, mask, jnp.array([2.0, -1.0]), 0.2, 0.1)
    # Three response tokens: ratio e^0.5 clipped to 1.2 with A = 2; ratio 1 with A = 2 and
    # with A = -1. k3: d = -0.5, 0, 1 on them.
    policy = (-2.4 - 2.0 + 1.0) / 3
    k3 = ((math.exp(-0.5) - 0.5) + 0.0 + (math.e - 2.0)) / 3
    assert float(info["policy_loss"]) == pytest.approx(policy, rel=1e-6)
    assert float(info["kl_loss"]) == pytest.approx(k3, rel=1e-6)
    assert float(loss) == pytest.approx(policy + 0.1 * k3, rel=1e-6)
    assert float(info["clip_fraction"]) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: rloo.RLOOConfig(k=1), "k=1: the leave-one-out baseline needs k >= 2"),
        (lambda: rloo.RLOOConfig(k=3), "k=3 does not divide rollouts=64; choose a divisor"),
        (lambda: rloo.RLOOConfig(num_minibatches=5), "num_minibatches=5 does not divide"),
        (lambda: rloo.RLOOConfig(kl_coef=-0.1), "kl_coef=-0.1: must be a non-negative"),
        (lambda: rloo.RLOOConfig(iterations=0), "iterations=0: must be a positive integer"),
        (lambda: grpo.GRPOConfig(k=1), "k=1: a group baseline needs k >= 2"),
        (lambda: grpo.GRPOConfig(rollouts=60), "k=8 does not divide rollouts=60"),
        (lambda: grpo.GRPOConfig(clip_eps=0), "clip_eps=0: must be a positive number"),
        (lambda: grpo.GRPOConfig(scale_rewards="yes"), "scale_rewards='yes': must be True"),
        (lambda: grpo.GRPOConfig(no_eos_penalty=math.inf), "no_eos_penalty=inf"),
    ],
)
def test_configs_reject_bad_values_in_one_line(make, message):
    with pytest.raises(ValueError, match=message) as error:
        make()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("config_class", [rloo.RLOOConfig, grpo.GRPOConfig])
@pytest.mark.parametrize(
    "bad, message",
    [
        ({"rollouts": 0}, "rollouts=0: must be a positive integer"),
        ({"update_epochs": 1.5}, "update_epochs=1.5: must be a positive integer"),
        ({"k": 1}, "k=1: .* baseline needs k >= 2 samples per group"),
        ({"rollouts": 8, "k": 4, "num_minibatches": 3}, "num_minibatches=3 does not divide"),
        ({"learning_rate": -1e-3}, "learning_rate=-0.001: must be a positive number"),
        ({"temperature": math.nan}, "temperature=nan: must be a positive number"),
        ({"kl_coef": math.inf}, "kl_coef=inf: must be a non-negative number"),
        ({"no_eos_penalty": -math.inf}, "no_eos_penalty=-inf: must be finite"),
        ({"prompt_len": True}, "prompt_len=True: must be an integer"),
    ],
)
def test_both_group_configs_reject_the_shared_bad_values_alike(config_class, bad, message):
    with pytest.raises(ValueError, match=message) as error:
        config_class(**bad)
    assert "\n" not in str(error.value)


#: Short runs that still learn: 8 iterations of 8 groups of 4, one block.
RUNS = {
    "rloo": (
        rloo,
        rloo.RLOOConfig(iterations=8, rollouts=32, k=4, num_minibatches=2, learning_rate=1e-3),
    ),
    "grpo": (
        grpo,
        grpo.GRPOConfig(iterations=8, rollouts=32, k=4, num_minibatches=2, learning_rate=1e-3),
    ),
}
KL_COEFS = (0.0, 0.5)


@pytest.mark.slow  # a sweep program and two eager runs per learner
@pytest.mark.parametrize("name", sorted(RUNS))
def test_vmap_over_seeds_and_kl_coefs_equals_the_eager_loop_and_learns(name):
    module, config = RUNS[name]
    ref_params, _, rm = tiny_models()
    train = module.make_train(MODEL, config, ref_params, rm)
    state = module.init_state(config, ref_params)
    keys = jax.random.split(jax.random.key(0), 2)
    coefs = jnp.array(KL_COEFS, jnp.float32)

    # Seeds x KL coefficients in one compiled program: the coefficient is a traced state leaf.
    sweep = jax.jit(
        jax.vmap(
            jax.vmap(lambda key, coef: train(key, state.replace(kl_coef=coef)), (None, 0)),
            (0, None),
        )
    )
    final, metrics = sweep(keys, coefs)
    # Two cells of the grid (each seed, each coefficient once), unjitted: `train` is pure, so
    # the eager call is the reference.
    for i, j in ((0, 0), (1, 1)):
        one_final, one = train(keys[i], state.replace(kl_coef=jnp.float32(KL_COEFS[j])))
        for metric, values in one.items():
            np.testing.assert_allclose(
                metrics[metric][i, j], values, rtol=1e-4, atol=1e-5, err_msg=metric
            )
        swept_params = jax.tree.map(operator.itemgetter((i, j)), final.policy_params)
        np.testing.assert_allclose(
            ravel_pytree(swept_params)[0],
            ravel_pytree(one_final.policy_params)[0],
            rtol=1e-4,
            atol=1e-5,
        )
    np.testing.assert_array_equal(metrics["kl_coef"][:, :, -1], [KL_COEFS, KL_COEFS])
    # Unpenalised, every seed raises the reward model's score (the first iteration samples
    # pi_ref), by about half its standard deviation on pi_ref's samples.
    proxy = np.asarray(metrics["proxy"])[:, 0]
    assert (proxy[:, -3:].mean(axis=-1) > proxy[:, 0] + 0.2).all(), proxy
    # The penalised runs stay closer to pi_ref.
    kl = np.asarray(metrics["kl"])[:, :, -3:].mean(axis=-1)
    assert (kl[:, 1] < kl[:, 0]).all(), kl
