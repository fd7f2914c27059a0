"""Q(lambda) targets against a NumPy reference and hand-worked rollouts (terminations,
truncations, lambda = 0 and 1), and the TD loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.agents.pqn.losses import q_lambda_returns, q_loss


def numpy_q_lambda(rewards, next_q, terminated, truncated, gamma, lam):
    """The recursion of the paper, one env at a time, in float64: G_t = r_t + gamma * [(1 -
    lambda) * Q'_t + lambda * G_{t+1}], where a terminated step bootstraps nothing, a
    truncated one bootstraps from its final observation and cuts the trace, and the rollout's
    last step bootstraps from the next observation."""
    num_steps, num_envs = rewards.shape
    returns = np.zeros((num_steps, num_envs))
    for env in range(num_envs):
        for t in reversed(range(num_steps)):
            if terminated[t, env]:
                returns[t, env] = rewards[t, env]
            elif truncated[t, env] or t == num_steps - 1:
                returns[t, env] = rewards[t, env] + gamma * next_q[t, env]
            else:
                mixed = (1 - lam) * next_q[t, env] + lam * returns[t + 1, env]
                returns[t, env] = rewards[t, env] + gamma * mixed
    return returns


def _rollout(seed, shape=(50, 6)):
    rng = np.random.default_rng(seed)
    terminated = rng.random(shape) < 0.1
    truncated = ~terminated & (rng.random(shape) < 0.1)
    return rng.normal(size=shape), rng.normal(size=shape), terminated, truncated


def _jax_returns(rewards, next_q, terminated, truncated, gamma, lam):
    return jax.jit(q_lambda_returns)(
        jnp.asarray(rewards, jnp.float32),
        jnp.asarray(next_q, jnp.float32),
        jnp.asarray(terminated),
        jnp.asarray(truncated),
        gamma,
        lam,
    )


@pytest.mark.parametrize("lam", [0.0, 0.65, 0.95, 1.0])
def test_matches_numpy_reference_on_random_rollouts(lam):
    rollout = _rollout(0)
    expected = numpy_q_lambda(*rollout, 0.97, lam)
    got = _jax_returns(*rollout, 0.97, lam)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_lambda_zero_is_the_one_step_target():
    rewards, next_q, terminated, truncated = _rollout(1)
    got = _jax_returns(rewards, next_q, terminated, truncated, 0.9, 0.0)
    np.testing.assert_allclose(got, rewards + 0.9 * ~terminated * next_q, rtol=1e-5, atol=1e-5)


def test_lambda_one_is_the_discounted_return_bootstrapped_where_the_trace_is_cut():
    # One env, gamma 0.5: rewards 1, 2, 3, 4, 5, 6; step 1 is truncated (final observation's
    # Q 10), step 3 terminated, and the rollout ends after step 5 (next Q 8). The next Q of
    # steps that continue their episode must not enter at lambda = 1.
    rewards = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]])
    next_q = np.array([[-100.0], [10.0], [-100.0], [-100.0], [-100.0], [8.0]])
    terminated = np.zeros((6, 1), bool)
    truncated = np.zeros((6, 1), bool)
    truncated[1, 0] = terminated[3, 0] = True
    got = np.asarray(_jax_returns(rewards, next_q, terminated, truncated, 0.5, 1.0))[:, 0]
    # G_5 = 6 + 0.5 * 8 = 10, G_4 = 5 + 0.5 * 10 = 10; G_3 = 4 (terminated), G_2 = 3 + 2 = 5;
    # G_1 = 2 + 0.5 * 10 = 7 (truncated), G_0 = 1 + 0.5 * 7 = 4.5.
    np.testing.assert_allclose(got, [4.5, 7.0, 5.0, 4.0, 10.0, 10.0])


def test_hand_worked_mixture_of_bootstrap_and_trace():
    # One env, gamma 0.5, lambda 0.5, rewards 1, next Q 2 everywhere, no episode end:
    # G_2 = 1 + 0.5 * 2 = 2; G_1 = 1 + 0.5 * (0.5 * 2 + 0.5 * 2) = 2; all 2. With next Q 4 at
    # the middle step only: G_2 = 2, G_1 = 1 + 0.5 * (0.5 * 4 + 0.5 * 2) = 2.5,
    # G_0 = 1 + 0.5 * (0.5 * 2 + 0.5 * 2.5) = 2.125.
    rewards, no = np.ones((3, 1)), np.zeros((3, 1), bool)
    got = _jax_returns(rewards, np.full((3, 1), 2.0), no, no, 0.5, 0.5)
    np.testing.assert_allclose(np.asarray(got)[:, 0], [2.0, 2.0, 2.0])
    got = _jax_returns(rewards, np.array([[2.0], [4.0], [2.0]]), no, no, 0.5, 0.5)
    np.testing.assert_allclose(np.asarray(got)[:, 0], [2.125, 2.5, 2.0])


def test_truncation_is_not_termination():
    rewards = np.ones((2, 1))
    next_q = np.full((2, 1), 3.0)
    flag, no = np.array([[True], [False]]), np.zeros((2, 1), bool)
    truncated = _jax_returns(rewards, next_q, no, flag, 1.0, 0.9)
    terminated = _jax_returns(rewards, next_q, flag, no, 1.0, 0.9)
    assert float(truncated[0, 0]) == pytest.approx(4.0)
    assert float(terminated[0, 0]) == pytest.approx(1.0)


def test_loss_is_half_the_squared_error_of_the_chosen_action_and_targets_get_no_gradient():
    q_values = jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    actions = jnp.array([2, 0])
    targets = jnp.array([1.0, 6.0])
    loss, info = q_loss(q_values, actions, targets)
    np.testing.assert_allclose(loss, 0.5 * (4.0 + 4.0) / 2)
    np.testing.assert_allclose(info.q_mean, 3.5)
    grad_q, grad_target = jax.grad(lambda q, g: q_loss(q, actions, g)[0], argnums=(0, 1))(
        q_values, targets
    )
    np.testing.assert_allclose(grad_q, [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(grad_target, [0.0, 0.0])
