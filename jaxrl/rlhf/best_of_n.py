"""Best-of-n sampling measured exactly from one batch of samples (Gao et al. 2022, "Scaling
laws for reward model overoptimization", section 2.3).

Best-of-n draws n responses from the reference policy and keeps the one the proxy (the reward
model) scores highest. Its expected gold and proxy scores for every n come from one batch of N
scored samples, without resampling: with the batch sorted by proxy score, ascending, the sample
of rank i (1-based) is the proxy's best of a uniformly random n-subset of the batch with
probability `C(i - 1, n - 1) / C(N, n)` (it must be in the subset and the other n - 1 must come
from the i - 1 below it). The weighted sums are the unbiased estimates of best-of-n from the
batch's empirical distribution that Gao et al. use. With prompts, best-of-n chooses among n
responses to one prompt: pass the scores of one prompt's samples, and `jax.vmap` over prompts.

Its KL to the reference policy is `log n - (n - 1) / n` nats (Stiennon et al. 2020, appendix
G.3; Gao et al. eq. 1). Beirami et al. 2024 show this is an upper bound, exact when no two of
the n samples can be equal; for a small vocabulary with repeated responses the true KL is lower.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class BestOfN:
    """Best-of-n by proxy score for n = 1..K.

    Attributes:
        n: `[K]` int32, 1..K.
        proxy: `[K]` float32, the expected proxy score of the best of n.
        gold: `[K]` float32, the expected gold score of the proxy's best of n.
        kl: `[K]` float32, `best_of_n_kl(n)` in nats.
    """

    n: jax.Array
    proxy: jax.Array
    gold: jax.Array
    kl: jax.Array


def best_of_n_kl(n: jax.typing.ArrayLike) -> jax.Array:
    """KL(best-of-n || reference) = log n - (n - 1) / n nats, elementwise over `n >= 1`."""
    n = jnp.asarray(n, jnp.float32)
    return jnp.log(n) - (n - 1.0) / n


def best_of_n(proxy: jax.Array, gold: jax.Array, max_n: int = 256) -> BestOfN:
    """Expected proxy and gold scores of best-of-n by proxy, for n = 1..min(max_n, N).

    The weights `C(i - 1, n - 1) / C(N, n) = (n / N) * prod_{j=1}^{n-1} (i - j) / (N - j)` are
    built in log space, one factor of at most 2 per n, so they stay accurate in float32 where
    the binomial coefficients themselves would overflow; only one `[N]` row of them is alive
    at a time. Ties in the proxy score are broken by position in the batch
    (the later sample ranks higher), as if the proxy added an infinitesimal to each sample.

    Args:
        proxy: `[N]` float32 proxy (reward-model) scores of N samples from the reference.
        gold: `[N]` float32 gold scores of the same samples.
        max_n: the largest n (static); clipped to N.

    Returns:
        `BestOfN` with `[K]` fields, K = min(max_n, N).
    """
    (num_samples,) = proxy.shape
    if gold.shape != proxy.shape:
        raise ValueError(f"gold {gold.shape} and proxy {proxy.shape}: score the same samples.")
    if max_n < 1:
        raise ValueError(f"max_n={max_n}: must be at least 1.")
    max_n = min(max_n, num_samples)
    order = jnp.argsort(proxy, stable=True)
    sorted_proxy, sorted_gold = proxy[order], gold[order]
    rank = jnp.arange(1, num_samples + 1, dtype=jnp.float32)

    def expectations(log_weights):
        weights = jnp.exp(log_weights)
        # The weights sum to 1 in real arithmetic; dividing by their float32 sum removes the
        # rounding drift of the accumulated factors.
        total = jnp.sum(weights)
        return jnp.sum(weights * sorted_proxy) / total, jnp.sum(weights * sorted_gold) / total

    def next_n(log_weights, n):
        # From n to n + 1: times ((n + 1) / n) * (i - n) / (N - n), which is 0 for i <= n.
        factor = ((n + 1.0) / n) * jnp.maximum(rank - n, 0.0) / (num_samples - n)
        log_weights = log_weights + jnp.log(factor)
        return log_weights, expectations(log_weights)

    first = jnp.full((num_samples,), -jnp.log(jnp.float32(num_samples)))
    _, (proxy_rest, gold_rest) = jax.lax.scan(
        next_n, first, jnp.arange(1, max_n, dtype=jnp.float32)
    )
    proxy_first, gold_first = expectations(first)
    n = jnp.arange(1, max_n + 1, dtype=jnp.int32)
    return BestOfN(
        n=n,
        proxy=jnp.concatenate([proxy_first[None], proxy_rest]),
        gold=jnp.concatenate([gold_first[None], gold_rest]),
        kl=best_of_n_kl(n),
    )
