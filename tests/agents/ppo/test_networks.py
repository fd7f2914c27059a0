"""PPO's actor-critic: the noise it samples with, and its shared first layer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.agents.ppo.networks import ActorCritic


@pytest.mark.parametrize("discrete", [True, False])
def test_action_noise_from_bits_is_action_noise_from_the_key(discrete):
    network = ActorCritic(action_dim=3, discrete=discrete)
    for seed in range(3):
        key = jax.random.key(seed)
        np.testing.assert_array_equal(
            network.action_noise_from_bits(jax.random.bits(key, (7, 5, 3))),
            network.action_noise(key, (7, 5)),
        )


@pytest.mark.parametrize("discrete", [True, False])
def test_the_shared_input_layer_is_two_separate_first_layers(discrete):
    """`input_layer`'s kernel `[obs, 2H]` is the actor's first layer in its left half and the
    critic's in its right: the network is two independent MLPs, written out here in NumPy."""
    network = ActorCritic(action_dim=3, discrete=discrete, hidden_sizes=(6, 5))
    params = network.init(jax.random.key(0), jnp.zeros((4,)))["params"]
    # Non-zero biases, so that a mixed-up half would show.
    params = jax.tree.map(
        lambda leaf: leaf + 0.1 * jnp.arange(leaf.size).reshape(leaf.shape), params
    )
    obs = np.asarray(jax.random.normal(jax.random.key(1), (7, 4)))
    policy, value = network.apply({"params": params}, obs)

    def mlp(x, first_kernel, first_bias, torso, head):
        x = np.tanh(x @ first_kernel + first_bias)
        x = np.tanh(
            x @ np.asarray(torso["Dense_0"]["kernel"]) + np.asarray(torso["Dense_0"]["bias"])
        )
        return x @ np.asarray(head["kernel"]) + np.asarray(head["bias"])

    kernel, bias = (
        np.asarray(params["input_layer"]["kernel"]),
        np.asarray(params["input_layer"]["bias"]),
    )
    out = mlp(obs, kernel[:, :6], bias[:6], params["actor_torso"], params["policy_head"])
    expected_value = mlp(obs, kernel[:, 6:], bias[6:], params["critic_torso"], params["value_head"])
    np.testing.assert_allclose(
        policy.logits if discrete else policy.mean, out, rtol=2e-5, atol=2e-6
    )
    np.testing.assert_allclose(value, expected_value[:, 0], rtol=2e-5, atol=2e-6)
