"""The flat parameter vector (its law, `unravel` and its gradient) and the minibatch shuffle."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxrl.agents.ppo import ActorCritic
from jaxrl.agents.ppo.networks import flat_init_distribution
from jaxrl.agents.ppo.train import (
    PACKED_SORT_MAX_SIZE,
    permutation_from_bits,
    shuffled_indices,
)

NETWORK = ActorCritic(action_dim=2, discrete=True, hidden_sizes=(8, 8))


def test_unravel_and_its_gradient_match_ravel_pytree():
    """`unravel` lays parameters out as `ravel_pytree` does, and its custom gradient (one
    concatenate) equals differentiating through `ravel_pytree`'s slices."""
    mean, scale, unravel = flat_init_distribution(NETWORK, (4,))
    flat = jnp.asarray(mean) + jnp.asarray(scale) * jax.random.normal(jax.random.key(0), mean.shape)
    reference, reference_unravel = ravel_pytree(unravel(flat))
    np.testing.assert_array_equal(reference, flat)
    obs = jax.random.normal(jax.random.key(1), (5, 4))

    def loss(unravel_fn, flat_params):
        policy, value = NETWORK.apply(unravel_fn(flat_params), obs)
        return jnp.sum(policy.logits**2) + jnp.sum(jnp.sin(value))

    grad = jax.jit(jax.grad(lambda f: loss(unravel, f)))(flat)
    reference_grad = jax.jit(jax.grad(lambda f: loss(reference_unravel, f)))(flat)
    np.testing.assert_allclose(grad, reference_grad, rtol=1e-6, atol=1e-7)


def test_initial_parameter_law_is_host_side_and_traceable():
    """Building the law inside a traced function (e.g. `make_train` under `jax.jit`) works."""
    mean, scale, _ = flat_init_distribution(NETWORK, (4,))
    assert mean.dtype == scale.dtype == np.float32
    traced = jax.jit(lambda x: x + jnp.sum(flat_init_distribution(NETWORK, (4,))[1]))(0.0)
    np.testing.assert_allclose(traced, scale.sum(), rtol=1e-6)


@pytest.mark.parametrize("size", [1, 2, 5, 500, 512, 513, PACKED_SORT_MAX_SIZE + 3])
def test_shuffled_indices_is_a_permutation(size):
    shuffle = jax.jit(shuffled_indices, static_argnums=1)
    permutation = np.asarray(shuffle(jax.random.key(size), size))
    assert permutation.dtype == np.int32
    np.testing.assert_array_equal(np.sort(permutation), np.arange(size))


def test_shuffled_indices_is_uniform():
    """Each element lands in each position with probability 1/size (chi-square, 10 x 10)."""
    size, draws = 10, 20000
    keys = jax.random.split(jax.random.key(0), draws)
    permutations = np.asarray(jax.jit(jax.vmap(lambda k: shuffled_indices(k, size)))(keys))
    counts = np.stack([np.bincount(permutations[:, i], minlength=size) for i in range(size)])
    expected = draws / size
    chi_square = np.sum((counts - expected) ** 2 / expected)
    # 81 degrees of freedom: mean 81, std ~12.7; 150 is beyond 5 standard deviations.
    assert chi_square < 150, chi_square
    assert not np.array_equal(permutations[0], permutations[1])


@pytest.mark.parametrize("discrete", [True, False])
def test_action_noise_from_bits_is_action_noise_from_the_key(discrete):
    network = ActorCritic(action_dim=3, discrete=discrete)
    for seed in range(3):
        key = jax.random.key(seed)
        np.testing.assert_array_equal(
            network.action_noise_from_bits(jax.random.bits(key, (7, 5, 3))),
            network.action_noise(key, (7, 5)),
        )


def test_permutation_from_bits_is_shuffled_indices_of_the_key():
    for size in (5, 500, PACKED_SORT_MAX_SIZE + 3):
        key = jax.random.key(size)
        np.testing.assert_array_equal(
            permutation_from_bits(jax.random.bits(key, (size,))), shuffled_indices(key, size)
        )


def test_the_initial_parameter_law_compiles_nothing():
    """`flat_init_distribution` runs no XLA program: each eager one costs a compile of its own."""
    network = ActorCritic(action_dim=3, discrete=True, hidden_sizes=(7, 5))  # unseen shapes
    compiles = []

    def listener(event, duration_s, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        flat_init_distribution(network, (6,))
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiles == []


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


def test_the_flat_law_is_the_networks_initialisers():
    """`flat_init_distribution`'s per-parameter scale is what each Flax initialiser draws: the
    kernels' empirical std over many draws of `network.init` matches it, layer by layer."""
    network = ActorCritic(action_dim=2, discrete=False, hidden_sizes=(16, 16), initial_log_std=-0.5)
    mean, scale, unravel = flat_init_distribution(network, (4,))
    draws = jax.vmap(lambda key: network.init(key, jnp.zeros((4,))))(
        jax.random.split(jax.random.key(0), 400)
    )
    expected_mean, expected_scale = unravel(jnp.asarray(mean)), unravel(jnp.asarray(scale))
    for path, leaf in jax.tree_util.tree_leaves_with_path(draws):
        want_mean = _at(expected_mean, path)
        want_scale = _at(expected_scale, path)
        np.testing.assert_allclose(
            np.mean(leaf, axis=0), want_mean, atol=0.25 * np.max(want_scale) + 1e-7
        )
        np.testing.assert_allclose(
            np.std(leaf, axis=0).mean(), np.mean(want_scale), rtol=0.1, atol=1e-7
        )


def _at(tree, path):
    for entry in path:
        tree = tree[entry.key]
    return tree
