"""Value iteration: the exact optimal values and policy of a `TabularModel`.

`Q(s, a) = R(s, a) + gamma * sum_s' P(s, a, s') V(s')` and `V(s) = max_a Q(s, a)`, swept until
the largest change of `V` is at most `tolerance`. Every state but the decision states (terminal
ones, and walls and cliffs, which are never occupied) keeps `V = 0`. With
`gamma = 1` this converges whenever every state can reach a terminal one and rewards are
negative (the grid worlds' shortest-path setting): from `V = 0` the sweeps are Bellman-Ford.

Pure and jittable; `gamma` and `tolerance` may be traced, so `jax.vmap` runs a batch of
layouts or discounts in one program (the while loop runs until the slowest has converged).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.agents.tabular.model import TabularModel


@struct.dataclass
class ValueIterationResult:
    """What value iteration returns.

    Attributes:
        values: float32 `[S]`, `V*(s)` (0 outside `model.decision`).
        q_values: float32 `[S, A]`, `Q*(s, a)` (0 outside `model.decision`).
        policy: int32 `[S]`, a greedy action (the lowest index among ties).
        iterations: int32 scalar, sweeps made.
        residual: float32 scalar, the largest change of `V` in the last sweep; above
            `tolerance` only when `max_iterations` stopped the loop.
    """

    values: jax.Array
    q_values: jax.Array
    policy: jax.Array
    iterations: jax.Array
    residual: jax.Array


def bellman_q(model: TabularModel, values: jax.Array, gamma: jax.typing.ArrayLike) -> jax.Array:
    """One Bellman backup: float32 `[S, A]` action values of the state values `values` `[S]`."""
    q_values = model.rewards + gamma * jnp.einsum("sat,t->sa", model.transitions, values)
    # Terminal cells are worth 0; walls and cliffs are never occupied, so 0 there too rather
    # than the values of a walk that cannot happen.
    return jnp.where(model.decision[:, None], q_values, 0.0)


def value_iteration(
    model: TabularModel,
    gamma: jax.typing.ArrayLike = 0.99,
    tolerance: jax.typing.ArrayLike = 1e-6,
    max_iterations: int = 10_000,
) -> ValueIterationResult:
    """Sweeps Bellman optimality backups from `V = 0` until `V` changes by at most `tolerance`.

    Args:
        model: the MDP (unbatched; vmap for a batch).
        gamma: discount in (0, 1].
        tolerance: stop once `max |V_k - V_{k-1}| <= tolerance`, in reward units.
        max_iterations: an upper bound on the sweeps (static).

    Returns:
        The optimal values, action values, greedy policy, sweeps made and the last residual.

    Raises:
        ValueError: a concrete `gamma` outside (0, 1], a negative `tolerance`, or
            `max_iterations < 1`.
    """
    if isinstance(gamma, numbers.Real) and not 0.0 < gamma <= 1.0:
        raise ValueError(f"value_iteration: gamma={gamma!r} must be in (0, 1].")
    if isinstance(tolerance, numbers.Real) and tolerance < 0:
        raise ValueError(f"value_iteration: tolerance={tolerance!r} must be >= 0.")
    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int)
        or max_iterations < 1
    ):
        raise ValueError(f"value_iteration: max_iterations={max_iterations!r}: give an int >= 1.")

    def keep_going(carry):
        _, iteration, residual = carry
        return (iteration < max_iterations) & (residual > tolerance)

    def sweep(carry):
        values, iteration, _ = carry
        new_values = jnp.max(bellman_q(model, values, gamma), axis=-1)
        return new_values, iteration + 1, jnp.max(jnp.abs(new_values - values))

    values = jnp.zeros(model.num_states, jnp.float32)
    values, iterations, residual = jax.lax.while_loop(
        keep_going, sweep, (values, jnp.int32(0), jnp.float32(jnp.inf))
    )
    q_values = bellman_q(model, values, gamma)
    return ValueIterationResult(
        values=values,
        q_values=q_values,
        policy=jnp.argmax(q_values, axis=-1).astype(jnp.int32),
        iterations=iterations,
        residual=residual,
    )
