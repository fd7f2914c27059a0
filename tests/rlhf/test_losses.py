"""Bradley-Terry and DPO losses, the KL penalty and its adaptive coefficient, on hand-worked
values (the masked PPO loss RLHF uses is tested with PPO's loss, tests/agents/)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.gae import compute_gae
from jaxrl.rlhf.dpo import DPOConfig, dpo_loss
from jaxrl.rlhf.evaluation import kl_to_reference
from jaxrl.rlhf.ppo import RLHFPPOConfig, adaptive_kl_coef, per_token_rewards
from jaxrl.rlhf.reward_model import bradley_terry_loss


def softplus(x):
    return math.log1p(math.exp(x))


def test_bradley_terry_loss_hand_worked():
    # -log sigmoid(m) = log(1 + e^-m): margins 1.5 and -1.
    loss = bradley_terry_loss(jnp.array([2.0, 0.0]), jnp.array([0.5, 1.0]))
    assert float(loss) == pytest.approx((softplus(-1.5) + softplus(1.0)) / 2, rel=1e-6)
    assert float(bradley_terry_loss(jnp.zeros(3), jnp.zeros(3))) == pytest.approx(math.log(2))


def test_dpo_loss_hand_worked():
    # beta * ((pc - rc) - (pr - rr)) = 0.5 * ((-1 + 2) - (-3 + 2)) = 1 for the first pair,
    # 0.5 * ((-4 + 2) - (-1 + 1)) = -1 for the second.
    loss, info = dpo_loss(
        jnp.array([-1.0, -4.0]),
        jnp.array([-3.0, -1.0]),
        jnp.array([-2.0, -2.0]),
        jnp.array([-2.0, -1.0]),
        0.5,
    )
    assert float(loss) == pytest.approx((softplus(-1.0) + softplus(1.0)) / 2, rel=1e-6)
    assert float(info["accuracy"]) == 0.5
    assert float(info["margin"]) == pytest.approx(0.0, abs=1e-7)


def test_dpo_loss_is_bradley_terry_on_implicit_rewards():
    pc, pr, rc, rr = (jax.random.normal(jax.random.key(i), (8,)) for i in range(4))
    loss, _ = dpo_loss(pc, pr, rc, rr, 0.1)
    assert float(loss) == pytest.approx(float(bradley_terry_loss(0.1 * (pc - rc), 0.1 * (pr - rr))))


def test_kl_to_reference_sums_response_tokens():
    log_probs = jnp.array([[-1.0, -2.0, -0.5], [-1.0, -1.0, -1.0]])
    ref = jnp.array([[-1.5, -1.0, -9.0], [-2.0, -1.0, -1.0]])
    mask = jnp.array([[True, True, False], [True, True, True]])
    np.testing.assert_allclose(kl_to_reference(log_probs, ref, mask), [0.5 - 1.0, 1.0])


def test_per_token_rewards_hand_worked():
    log_probs = jnp.array([[-1.0, -2.0, -0.5, -3.0], [-1.0, -1.0, -1.0, -1.0]])
    ref = jnp.array([[-1.5, -1.0, -0.5, -1.0], [-2.0, -1.0, -3.0, -0.5]])
    mask = jnp.array([[True, True, True, False], [True, True, True, True]])
    rewards = per_token_rewards(jnp.array([2.0, -1.0]), log_probs, ref, mask, 0.1)
    # -0.1 * (log pi - log pi_ref) per response token, the score added on the last one.
    expected = [[-0.05, 0.1, 0.0 + 2.0, 0.0], [-0.1, 0.0, -0.2, 0.05 - 1.0]]
    np.testing.assert_allclose(rewards, expected, atol=1e-6)


def test_adaptive_kl_coefficient_hand_worked():
    # Above target, clipped at +20% of the step: 0.1 * (1 + 0.2 * 64 / 1000).
    assert float(adaptive_kl_coef(jnp.float32(0.1), jnp.float32(6.0), 4.0, 64, 1000)) == (
        pytest.approx(0.1 * (1 + 0.2 * 0.064))
    )
    # Below target, proportional: kl/target - 1 = -0.1.
    assert float(adaptive_kl_coef(jnp.float32(0.1), jnp.float32(3.6), 4.0, 64, 1000)) == (
        pytest.approx(0.1 * (1 - 0.1 * 0.064))
    )


def test_gae_over_a_response_is_the_return_to_go():
    # One response of 3 tokens then padding; gamma = lambda = 1: advantage = rewards-to-go - V.
    rewards = jnp.array([[0.1, -0.2, 1.0, 0.0]])
    values = jnp.array([[0.5, 0.3, 0.2, 0.0]])
    mask = jnp.array([[True, True, True, False]])
    ends = jnp.array([[False, False, True, True]])
    next_values = jnp.concatenate([values[:, 1:], jnp.zeros((1, 1))], axis=1)
    advantages, targets = compute_gae(
        rewards.T, values.T, next_values.T, ends.T, jnp.zeros_like(mask).T, 1.0, 1.0
    )
    np.testing.assert_allclose(targets.T[0, :3], [0.9, 0.8, 1.0], atol=1e-6)
    np.testing.assert_allclose(advantages.T[0], [0.4, 0.5, 0.8, 0.0], atol=1e-6)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"num_minibatches": 5}, "does not divide rollouts=64"),
        ({"kl_coef": -0.1}, "kl_coef=-0.1"),
        ({"kl_target": 0.0}, "kl_target=0.0"),
        ({"temperature": 0}, "temperature=0"),
        ({"gamma": 1.5}, "gamma=1.5"),
    ],
)
def test_ppo_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        RLHFPPOConfig(**changes)


def test_dpo_config_rejects_bad_beta():
    with pytest.raises(ValueError, match="beta=0"):
        DPOConfig(beta=0)
