"""Running mean and variance (Chan et al.'s parallel update), for observation and reward scaling."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class RunningStats:
    """Running statistics of a stream of vectors.

    Attributes:
        mean: `shape` float32.
        var: `shape` float32, population variance.
        count: float32 scalar, samples seen (starts at a tiny epsilon, as Gymnasium's
            RunningMeanStd does, so the first update is well defined).
    """

    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def create(cls, shape: tuple[int, ...]) -> RunningStats:
        return cls(
            mean=jnp.zeros(shape, jnp.float32),
            var=jnp.ones(shape, jnp.float32),
            count=jnp.asarray(1e-4, jnp.float32),
        )

    def update(self, batch: jax.Array, axis_name: str | None = None) -> RunningStats:
        """Folds in `batch`, `[..., *shape]`: every leading axis is a sample axis.

        Under `axis_name` the batch is every shard's (equal-sized) batch together: the global
        mean and variance are means over shards, so every shard keeps identical statistics.
        """
        event_ndim = self.mean.ndim
        samples = batch.reshape((-1,) + batch.shape[batch.ndim - event_ndim :])
        if axis_name is None:
            return self.merge(
                jnp.mean(samples, axis=0),
                jnp.var(samples, axis=0),
                jnp.asarray(samples.shape[0], jnp.float32),
            )
        batch_mean = jax.lax.pmean(jnp.mean(samples, axis=0), axis_name)
        batch_var = jax.lax.pmean(
            jnp.mean(jnp.square(samples - batch_mean[None]), axis=0), axis_name
        )
        batch_count = jnp.asarray(samples.shape[0] * jax.lax.axis_size(axis_name), jnp.float32)
        return self.merge(batch_mean, batch_var, batch_count)

    def merge(
        self, batch_mean: jax.Array, batch_var: jax.Array, batch_count: jax.Array
    ) -> RunningStats:
        """Folds in a batch given by its moments (Chan et al.'s parallel update)."""
        delta = batch_mean - self.mean
        total = self.count + batch_count
        mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count
        m2 = m2 + jnp.square(delta) * self.count * batch_count / total
        return RunningStats(mean=mean, var=m2 / total, count=total)

    def normalize(self, x: jax.Array, clip: float = 10.0) -> jax.Array:
        """(x - mean) / std, clipped to [-clip, clip]."""
        mean = jnp.broadcast_to(self.mean, x.shape)
        std = jnp.broadcast_to(jnp.sqrt(self.var + 1e-8), x.shape)
        return jnp.clip((x - mean) / std, -clip, clip)


def scale_rewards(
    rewards: jax.Array,
    ends: jax.Array,
    discounted_return: jax.Array,
    return_stats: RunningStats,
    gamma: jax.typing.ArrayLike,
    axis_name: str | None = None,
) -> tuple[jax.Array, jax.Array, RunningStats]:
    """Rewards divided by the running std of each env's discounted return (SB3's VecNormalize).

    Args:
        rewards: `[T, N]`, a rollout's rewards.
        ends: `[T, N]` bool, whether each step ended its episode (terminated or truncated).
        discounted_return: `[N]`, each env's running discounted return before the rollout.
        return_stats: the running statistics of discounted returns (scalar shape).
        gamma: the discount.
        axis_name: under data parallelism, the statistics are over every shard's returns.

    Returns:
        The scaled rewards `[T, N]`, the running discounted returns after the rollout and the
        updated statistics.
    """

    def accumulate(discounted, step):
        reward, done = step
        discounted = discounted * gamma + reward
        return discounted * (1.0 - done), discounted

    done = ends.astype(jnp.float32)
    discounted_return, returns = jax.lax.scan(accumulate, discounted_return, (rewards, done))
    return_stats = return_stats.update(returns, axis_name)
    return rewards / jnp.sqrt(return_stats.var + 1e-8), discounted_return, return_stats
