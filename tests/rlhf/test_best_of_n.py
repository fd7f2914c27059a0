"""Best-of-n from one batch: the order-statistics weights against binomials and against drawing
random subsets, the edge cases n = 1 and n = N, and the KL formula."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.rlhf.best_of_n import best_of_n, best_of_n_kl

# One compiled program per batch shape (max_n is static).
best_of_n_jit = jax.jit(best_of_n, static_argnames="max_n")


def _scores(num_samples, seed=0):
    """Proxy and gold scores that are correlated but not equal, `[N]` each."""
    key_proxy, key_noise = jax.random.split(jax.random.key(seed))
    proxy = jax.random.normal(key_proxy, (num_samples,))
    return proxy, proxy + 1.5 * jax.random.normal(key_noise, (num_samples,))


def test_weights_are_the_binomial_order_statistics():
    # A one-hot gold score reads off P(sample j is the proxy's best of n) for every n.
    num_samples = 9
    proxy, _ = _scores(num_samples)
    chosen = jax.jit(jax.vmap(lambda gold: best_of_n(proxy, gold).gold, out_axes=1))(
        jnp.eye(num_samples)
    )
    ranks = np.argsort(np.argsort(np.asarray(proxy))) + 1
    expected = [
        [math.comb(rank - 1, n - 1) / math.comb(num_samples, n) for rank in ranks]
        for n in range(1, num_samples + 1)
    ]
    np.testing.assert_allclose(chosen, expected, atol=1e-6)


def test_matches_drawing_random_subsets():
    num_samples, draws = 40, 20_000
    proxy, gold = _scores(num_samples, seed=1)
    result = best_of_n_jit(proxy, gold)
    assert result.n.shape == (num_samples,)  # max_n = 256 clipped to N
    rng = np.random.default_rng(0)
    proxy_np, gold_np = np.asarray(proxy), np.asarray(gold)
    for n in (2, 5, 17):
        subsets = np.argsort(rng.random((draws, num_samples)), axis=1)[:, :n]
        best = subsets[np.arange(draws), np.argmax(proxy_np[subsets], axis=1)]
        for exact, sampled in ((result.gold, gold_np[best]), (result.proxy, proxy_np[best])):
            # 4.5 standard errors of the Monte-Carlo mean.
            tolerance = 4.5 * float(sampled.std()) / math.sqrt(draws)
            assert float(exact[n - 1]) == pytest.approx(sampled.mean(), abs=tolerance)


def test_n_one_is_the_mean_and_n_all_is_the_proxy_argmax():
    proxy, gold = _scores(300, seed=2)
    result = best_of_n_jit(proxy, gold)
    assert result.proxy.shape == result.gold.shape == result.kl.shape == (256,)
    assert float(result.gold[0]) == pytest.approx(float(gold.mean()), abs=1e-5)
    assert float(result.proxy[0]) == pytest.approx(float(proxy.mean()), abs=1e-5)
    small_proxy, small_gold = proxy[:100], gold[:100]
    full = best_of_n_jit(small_proxy, small_gold, max_n=100)
    best = int(jnp.argmax(small_proxy))
    assert float(full.gold[-1]) == pytest.approx(float(small_gold[best]), abs=1e-5)
    assert float(full.proxy[-1]) == pytest.approx(float(small_proxy[best]), abs=1e-5)
    # More samples can only raise the expected proxy maximum.
    assert (np.diff(np.asarray(result.proxy)) > 0).all()


def test_large_batches_stay_accurate():
    # E[max of n standard normals]: 1/sqrt(pi) for n = 2; 1.0294 for n = 4 (tables).
    proxy, gold = _scores(50_000, seed=3)
    result = best_of_n_jit(proxy, gold)
    assert bool(jnp.isfinite(result.gold).all())
    assert float(result.proxy[1]) == pytest.approx(1 / math.sqrt(math.pi), abs=0.02)
    assert float(result.proxy[3]) == pytest.approx(1.0294, abs=0.02)


def test_kl_formula():
    kl = np.asarray(best_of_n_kl(jnp.arange(1, 257)))
    assert kl[0] == 0.0
    assert kl[1] == pytest.approx(math.log(2) - 0.5, rel=1e-6)
    assert kl[255] == pytest.approx(math.log(256) - 255 / 256, rel=1e-6)
    assert (np.diff(kl) > 0).all()
    np.testing.assert_allclose(best_of_n_jit(*_scores(8)).kl, kl[:8], rtol=1e-6)


def test_rejects_mismatched_scores():
    with pytest.raises(ValueError, match="score the same samples"):
        best_of_n(jnp.zeros(5), jnp.zeros(4))
