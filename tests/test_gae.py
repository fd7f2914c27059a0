"""GAE against a plain NumPy reference, with terminated and truncated steps."""

import jax.numpy as jnp
import numpy as np

from jaxrl.gae import compute_gae


def numpy_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """The textbook recursion, one env at a time, in float64."""
    num_steps, num_envs = rewards.shape
    advantages = np.zeros((num_steps, num_envs))
    for env in range(num_envs):
        running = 0.0
        for t in reversed(range(num_steps)):
            bootstrap = 0.0 if terminated[t, env] else gamma * next_values[t, env]
            delta = rewards[t, env] + bootstrap - values[t, env]
            if terminated[t, env] or truncated[t, env]:
                running = 0.0
            running = delta + gamma * lam * running
            advantages[t, env] = running
    return advantages


def test_matches_numpy_reference_on_random_rollouts():
    rng = np.random.default_rng(0)
    shape = (64, 7)
    rewards = rng.normal(size=shape)
    values = rng.normal(size=shape)
    next_values = rng.normal(size=shape)
    terminated = rng.random(shape) < 0.1
    truncated = rng.random(shape) < 0.1
    expected = numpy_gae(rewards, values, next_values, terminated, truncated, 0.97, 0.9)
    advantages, targets = compute_gae(
        *(jnp.asarray(x, jnp.float32) for x in (rewards, values, next_values)),
        jnp.asarray(terminated),
        jnp.asarray(truncated),
        0.97,
        0.9,
    )
    np.testing.assert_allclose(advantages, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(targets, expected + values, rtol=1e-4, atol=1e-4)


def test_hand_worked_three_steps():
    # One env, gamma = 0.5, lambda = 1: rewards 1, 1, 1; V = 0 everywhere except the bootstrap.
    rewards = jnp.ones((3, 1))
    values = jnp.zeros((3, 1))
    next_values = jnp.full((3, 1), 4.0)
    no = jnp.zeros((3, 1), bool)
    # Episode goes on: deltas are 1 + 0.5 * 4 = 3 each; A_2 = 3, A_1 = 3 + 0.5 * 3 = 4.5,
    # A_0 = 3 + 0.5 * 4.5 = 5.25.
    advantages, _ = compute_gae(rewards, values, next_values, no, no, 0.5, 1.0)
    np.testing.assert_allclose(advantages[:, 0], [5.25, 4.5, 3.0])
    # Terminated at step 1: delta_1 = 1 (no bootstrap), the trace stops there: A_1 = 1,
    # A_0 = 3 + 0.5 * 1 = 3.5, A_2 = 3 (a new episode).
    terminated = no.at[1, 0].set(True)
    advantages, _ = compute_gae(rewards, values, next_values, terminated, no, 0.5, 1.0)
    np.testing.assert_allclose(advantages[:, 0], [3.5, 1.0, 3.0])
    # Truncated at step 1: delta_1 bootstraps from the final observation's value (3), the
    # trace still stops: A_1 = 3, A_0 = 3 + 0.5 * 3 = 4.5.
    truncated = no.at[1, 0].set(True)
    advantages, _ = compute_gae(rewards, values, next_values, no, truncated, 0.5, 1.0)
    np.testing.assert_allclose(advantages[:, 0], [4.5, 3.0, 3.0])


def test_truncation_is_not_death():
    """Where truncation matters: treating it as termination (PureJaxRL, rejax) loses the
    bootstrap of an episode cut by the time limit and biases the value target down."""
    rewards = jnp.ones((1, 1))
    values = jnp.full((1, 1), 10.0)
    next_values = jnp.full((1, 1), 10.0)
    yes, no = jnp.ones((1, 1), bool), jnp.zeros((1, 1), bool)
    _, target_truncated = compute_gae(rewards, values, next_values, no, yes, 0.9, 0.95)
    _, target_as_death = compute_gae(rewards, values, next_values, yes, no, 0.9, 0.95)
    np.testing.assert_allclose(target_truncated, [[1.0 + 0.9 * 10.0]])
    np.testing.assert_allclose(target_as_death, [[1.0]])
