"""PQN's Q-network and epsilon-greedy policy: shapes, initial law, action distribution."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents.pqn.networks import chosen_q, epsilon_greedy, make_agent
from jaxrl.envs import numerics
from tests.agents.pqn.conftest import TINY


def _uniforms(seed, shape):
    return numerics.uniform_from_bits(jax.random.bits(jax.random.key(seed), shape))


@pytest.mark.parametrize("epsilon", [0.0, 0.3, 1.0])
def test_epsilon_greedy_action_distribution(epsilon):
    # Four actions, the greedy one is 2: it comes with probability 1 - epsilon + epsilon / 4,
    # every other action with epsilon / 4.
    samples = 200_000
    q_values = jnp.broadcast_to(jnp.array([0.1, -1.0, 0.5, 0.4]), (samples, 4))
    actions = jax.jit(epsilon_greedy)(q_values, epsilon, _uniforms(0, (samples, 2)))
    assert actions.dtype == jnp.int32
    frequencies = np.bincount(np.asarray(actions), minlength=4) / samples
    expected = np.full(4, epsilon / 4)
    expected[2] += 1 - epsilon
    # Five standard errors of a binomial frequency.
    tolerance = 5 * np.sqrt(0.25 / samples)
    np.testing.assert_allclose(frequencies, expected, atol=tolerance)


def test_epsilon_greedy_reads_the_coin_and_the_random_draw():
    q_values = jnp.array([[0.0, 1.0, 0.0]] * 4)
    noise = jnp.array([[0.5, 0.0], [0.1, 0.0], [0.1, 0.5], [0.1, 1.0 - 2**-24]])
    np.testing.assert_array_equal(epsilon_greedy(q_values, 0.2, noise), [1, 0, 1, 2])


def test_chosen_q_picks_each_rows_action():
    q_values = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(chosen_q(q_values, jnp.array([2, 1])), [2.0, 4.0])


@pytest.mark.parametrize("env_id", ["CartPole-v1", "GridWorld-FourRooms-v0", "Acrobot-v1"])
def test_q_network_fits_the_env_and_starts_with_layer_norm_at_unit_scale(env_id):
    env, params = envs.make(env_id)
    agent = make_agent(TINY, env, params)
    bits = jax.random.bits(jax.random.key(1), (agent.flat.size,))
    network_params = agent.unravel(agent.flat.init_from_bits(bits))
    layers = network_params["params"]
    np.testing.assert_array_equal(layers["LayerNorm_0"]["scale"], np.ones(16))
    np.testing.assert_array_equal(layers["Dense_0"]["bias"], np.zeros(16))
    obs, _ = env.reset_batch(jax.random.key(0), 5, params)
    q_values = agent.network.apply(network_params, obs)
    assert q_values.shape == (5, env.action_space(params).n)
    assert np.all(np.isfinite(q_values))


def test_continuous_actions_are_refused_with_a_one_line_error():
    env, params = envs.make("Pendulum-v1")
    with pytest.raises(ValueError, match="needs a Discrete action space") as error:
        make_agent(TINY, env, params)
    assert "\n" not in str(error.value)
