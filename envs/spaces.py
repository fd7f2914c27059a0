"""Action and observation spaces: `Discrete` and `Box`, jittable `sample` and `contains`."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Discrete:
    """The integers `0, 1, ..., n - 1`.

    Attributes:
        n: number of actions (static).
        dtype: dtype of a sample, int32 by default.
    """

    n: int
    dtype: Any = jnp.int32

    def __post_init__(self):
        if int(self.n) < 1:
            raise ValueError(f"Discrete(n={self.n}): n must be a positive integer.")

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    def sample(self, key: jax.Array) -> jax.Array:
        """A uniform sample: int scalar in `[0, n)`."""
        return jax.random.randint(key, (), 0, self.n, dtype=self.dtype)

    def contains(self, x: jax.typing.ArrayLike) -> jax.Array:
        """Whether `x` (a scalar) is a valid action; a bool scalar, jittable."""
        x = jnp.asarray(x)
        is_integral = jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.bool_)
        return jnp.logical_and(
            jnp.asarray(x.shape == () and is_integral), jnp.logical_and(x >= 0, x < self.n)
        )

    def clip(self, x: jax.Array) -> jax.Array:
        """Clips `x` into `[0, n)`: out-of-range discrete actions become the nearest valid one."""
        return jnp.clip(x, 0, self.n - 1).astype(self.dtype)


@dataclasses.dataclass(frozen=True)
class Box:
    """A box in R^shape: `low <= x <= high` elementwise.

    Attributes:
        low: lower bound, broadcastable to `shape` (may be -inf).
        high: upper bound, broadcastable to `shape` (may be +inf).
        shape: the shape of one element (static).
        dtype: float32 by default.
    """

    low: Any
    high: Any
    shape: tuple[int, ...]
    dtype: Any = jnp.float32

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if isinstance(self.low, (int, float, np.ndarray)) and isinstance(
            self.high, (int, float, np.ndarray)
        ):
            if np.any(np.asarray(self.low) > np.asarray(self.high)):
                raise ValueError(f"Box: low {self.low} exceeds high {self.high} somewhere.")

    def sample(self, key: jax.Array) -> jax.Array:
        """A sample of `shape`: uniform where both bounds are finite, normal where both are
        infinite, shifted exponential where only one is (Gymnasium's convention)."""
        low = jnp.broadcast_to(jnp.asarray(self.low, self.dtype), self.shape)
        high = jnp.broadcast_to(jnp.asarray(self.high, self.dtype), self.shape)
        key_uniform, key_normal, key_exp = jax.random.split(key, 3)
        uniform = jax.random.uniform(
            key_uniform,
            self.shape,
            self.dtype,
            jnp.where(jnp.isfinite(low), low, 0.0),
            jnp.where(jnp.isfinite(high), high, 1.0),
        )
        normal = jax.random.normal(key_normal, self.shape, self.dtype)
        exponential = jax.random.exponential(key_exp, self.shape, self.dtype)
        bounded_below, bounded_above = jnp.isfinite(low), jnp.isfinite(high)
        sample = jnp.where(
            bounded_below & bounded_above,
            uniform,
            jnp.where(
                bounded_below,
                low + exponential,
                jnp.where(bounded_above, high - exponential, normal),
            ),
        )
        return sample.astype(self.dtype)

    def contains(self, x: jax.typing.ArrayLike) -> jax.Array:
        """Whether `x` has this shape and lies inside the bounds; a bool scalar, jittable."""
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.asarray(False)
        return jnp.all(jnp.logical_and(x >= self.low, x <= self.high))

    def clip(self, x: jax.Array) -> jax.Array:
        """Clips `x` into the bounds, as Gymnasium's continuous envs clip their actions."""
        return jnp.clip(jnp.asarray(x, self.dtype), self.low, self.high)


Space = Discrete | Box
