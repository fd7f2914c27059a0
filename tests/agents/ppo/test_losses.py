"""PPO's loss terms on hand-worked values, and the policy distributions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.agents.ppo import ppo_loss
from jaxrl.agents.ppo.losses import normalize_minibatch_advantages
from jaxrl.agents.ppo.networks import ActorCritic, Categorical, DiagGaussian


def _loss(ratios, advantages, values=None, targets=None, old_values=None):
    """ppo_loss on a standard-normal policy at action 0, with old log-probs set so that the
    probability ratios are `ratios`."""
    n = len(advantages)
    policy = DiagGaussian(mean=jnp.zeros((n, 1)), log_std=jnp.zeros((n, 1)))
    log_prob_now = -0.5 * math.log(2 * math.pi)
    zeros = jnp.zeros(n)
    return ppo_loss(
        policy,
        zeros if values is None else jnp.asarray(values),
        jnp.zeros((n, 1)),
        log_prob_now - jnp.log(jnp.asarray(ratios, jnp.float32)),
        zeros if old_values is None else jnp.asarray(old_values),
        jnp.asarray(advantages, jnp.float32),
        zeros if targets is None else jnp.asarray(targets),
        clip_eps=0.2,
        vf_coef=0.5,
        ent_coef=0.0,
    )


def test_clipped_surrogate_hand_worked():
    # Ratios 0.5 and 1.5 (log-ratio log 0.5, log 1.5), advantages +1, -1 (already normalised:
    # mean 0, std 1). min(r A, clip(r) A): 0.5 * 1 = 0.5 vs 0.8 -> 0.5; 1.5 * -1 = -1.5 vs
    # 1.2 * -1 = -1.2 -> -1.5. Policy loss = -mean(0.5, -1.5) = 0.5.
    _, info = _loss([0.5, 1.5], [1.0, -1.0])
    np.testing.assert_allclose(info.policy_loss, 0.5, rtol=1e-4)
    np.testing.assert_allclose(info.clip_fraction, 1.0)
    # approx KL: mean((r - 1) - log r) over r = 0.5, 1.5.
    expected_kl = np.mean([(0.5 - 1) - math.log(0.5), (1.5 - 1) - math.log(1.5)])
    np.testing.assert_allclose(info.approx_kl, expected_kl, rtol=1e-4)


def test_clipped_value_loss_hand_worked():
    # Old value 0, new 1, target 2: clipped value 0.2; max((1-2)^2, (0.2-2)^2) = 3.24 -> 0.5*3.24.
    _, info = _loss([1.0], [0.0], values=[1.0], targets=[2.0], old_values=[0.0])
    np.testing.assert_allclose(info.value_loss, 0.5 * 3.24, rtol=1e-5)


def test_categorical_log_prob_entropy_and_mode():
    logits = jnp.log(jnp.array([[0.2, 0.3, 0.5]]))
    dist = Categorical(logits=logits)
    np.testing.assert_allclose(dist.log_prob(jnp.array([2])), [math.log(0.5)], rtol=1e-6)
    entropy = -sum(p * math.log(p) for p in (0.2, 0.3, 0.5))
    np.testing.assert_allclose(dist.entropy(), [entropy], rtol=1e-6)
    assert int(dist.mode()[0]) == 2
    samples = jax.vmap(Categorical(logits=logits[0]).sample)(
        jax.random.split(jax.random.key(0), 20000)
    )
    np.testing.assert_allclose(
        np.bincount(samples, minlength=3) / 20000, [0.2, 0.3, 0.5], atol=0.015
    )


def test_gaussian_log_prob_and_entropy_match_closed_form():
    dist = DiagGaussian(mean=jnp.array([[1.0, -1.0]]), log_std=jnp.log(jnp.array([[2.0, 0.5]])))
    action = jnp.array([[2.0, 0.0]])
    expected = sum(
        -0.5 * ((a - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)
        for a, m, s in [(2.0, 1.0, 2.0), (0.0, -1.0, 0.5)]
    )
    np.testing.assert_allclose(dist.log_prob(action), [expected], rtol=1e-6)
    entropy = sum(0.5 * math.log(2 * math.pi * math.e * s**2) for s in (2.0, 0.5))
    np.testing.assert_allclose(dist.entropy(), [entropy], rtol=1e-6)


@pytest.mark.parametrize("ent_coef", [0.0, 0.1])
def test_entropy_bonus_enters_with_its_coefficient(ent_coef):
    n = 4
    policy = DiagGaussian(mean=jnp.zeros((n, 1)), log_std=jnp.zeros((n, 1)))
    zeros = jnp.zeros(n)
    loss, info = ppo_loss(
        policy,
        zeros,
        jnp.zeros((n, 1)),
        policy.log_prob(jnp.zeros((n, 1))),
        zeros,
        jnp.array([1.0, -1.0, 1.0, -1.0]),
        zeros,
        0.2,
        0.5,
        ent_coef,
    )
    np.testing.assert_allclose(
        loss, info.policy_loss + 0.5 * info.value_loss - ent_coef * info.entropy, rtol=1e-6
    )
    np.testing.assert_allclose(info.entropy, 0.5 * math.log(2 * math.pi * math.e), rtol=1e-6)


def test_sampling_from_noise_drawn_ahead_equals_sampling_from_the_key():
    """`sample_with_noise(network.action_noise(key, ...))` is `sample(key)` bit for bit, and
    the categorical draw is `jax.random.categorical`'s: a rollout may draw its noise ahead."""
    logits = jax.random.normal(jax.random.key(0), (7, 3))
    mean = jax.random.normal(jax.random.key(1), (7, 2))
    gaussian = DiagGaussian(mean=mean, log_std=jnp.full((7, 2), -0.5))
    for seed in range(5):
        key = jax.random.key(seed)
        drawn = Categorical(logits).sample(key)
        np.testing.assert_array_equal(drawn, jax.random.categorical(key, logits))
        noise = ActorCritic(action_dim=3, discrete=True).action_noise(key, (7,))
        np.testing.assert_array_equal(Categorical(logits).sample_with_noise(noise), drawn)
        noise = ActorCritic(action_dim=2, discrete=False).action_noise(key, (7,))
        np.testing.assert_array_equal(gaussian.sample_with_noise(noise), gaussian.sample(key))


def test_advantages_normalised_per_minibatch_hand_worked():
    """Each row (a minibatch) less its mean over its population std: [1, 3] -> [-1, 1] and
    [2, 2, ...] (no spread) -> 0, rows apart from each other."""
    out = normalize_minibatch_advantages(jnp.array([[1.0, 3.0], [2.0, 2.0], [-4.0, 0.0]]))
    np.testing.assert_allclose(out, [[-1.0, 1.0], [0.0, 0.0], [-1.0, 1.0]], atol=1e-6)


def test_normalising_ahead_of_the_loss_is_the_losss_own_normalisation():
    """`update_epoch` normalises each minibatch's advantages before its loop and passes
    `normalize_advantages=False`: the loss and its terms are what normalising inside gives."""
    advantages = jnp.array([0.3, -1.2, 2.5, 0.1])
    inside = _loss([0.7, 1.1, 1.4, 0.9], advantages)
    n = len(advantages)
    policy = DiagGaussian(mean=jnp.zeros((n, 1)), log_std=jnp.zeros((n, 1)))
    ahead = ppo_loss(
        policy,
        jnp.zeros(n),
        jnp.zeros((n, 1)),
        -0.5 * math.log(2 * math.pi) - jnp.log(jnp.array([0.7, 1.1, 1.4, 0.9])),
        jnp.zeros(n),
        normalize_minibatch_advantages(advantages),
        jnp.zeros(n),
        clip_eps=0.2,
        vf_coef=0.5,
        ent_coef=0.0,
        normalize_advantages=False,
    )
    np.testing.assert_allclose(ahead[0], inside[0], rtol=1e-6)
    for term in ("policy_loss", "clip_fraction", "approx_kl"):
        np.testing.assert_allclose(getattr(ahead[1], term), getattr(inside[1], term), rtol=1e-6)


@jax.jit
def _loss_inputs(key):
    shape = (6, 7)
    keys = jax.random.split(key, 7)
    logits = jax.random.normal(keys[0], shape + (5,))
    actions = jax.random.randint(keys[1], shape, 0, 5)
    old_log_probs = Categorical(logits).log_prob(actions) + 0.3 * jax.random.normal(keys[2], shape)
    values, old_values, advantages, targets = (jax.random.normal(k, shape) for k in keys[3:7])
    return Categorical(logits), values, actions, old_log_probs, old_values, advantages, targets


def test_a_mask_of_every_entry_is_the_unmasked_loss(key):
    inputs = _loss_inputs(key)
    flat = jax.tree.map(lambda x: x.reshape((42,) + x.shape[2:]), inputs)
    masked, masked_info = jax.jit(ppo_loss)(*inputs, 0.2, 0.5, 0.01, mask=jnp.ones((6, 7), bool))
    shared, shared_info = jax.jit(ppo_loss)(*flat, 0.2, 0.5, 0.01)
    assert float(masked) == pytest.approx(float(shared), rel=1e-5)
    for a, b in zip(jax.tree.leaves(masked_info), jax.tree.leaves(shared_info), strict=True):
        assert float(a) == pytest.approx(float(b), rel=1e-5, abs=1e-7)


def test_a_masked_loss_is_the_loss_of_the_entries_it_keeps(key):
    inputs = _loss_inputs(key)
    mask = jnp.arange(7)[None, :] < jnp.array([7, 3, 5, 1, 6, 2])[:, None]
    loss = jax.jit(ppo_loss)
    masked, info = loss(*inputs, 0.2, 0.5, 0.01, mask=mask)
    # The shared loss on the response entries only (a data-dependent gather, outside jit).
    selected = jax.tree.map(lambda x: x[np.asarray(mask)], inputs)
    shared, shared_info = jax.jit(ppo_loss)(*selected, 0.2, 0.5, 0.01)
    assert float(masked) == pytest.approx(float(shared), rel=1e-5)
    assert float(info.approx_kl) == pytest.approx(float(shared_info.approx_kl), rel=1e-5)
    # Changing what the mask hides changes nothing.
    scrambled = list(inputs)
    scrambled[5] = jnp.where(mask, inputs[5], 100.0)
    assert float(loss(*scrambled, 0.2, 0.5, 0.01, mask=mask)[0]) == pytest.approx(
        float(masked), rel=1e-6
    )
