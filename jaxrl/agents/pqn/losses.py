"""PQN's targets and loss: Q(lambda) returns over a rollout, and the squared TD error."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.agents.pqn.networks import chosen_q


@struct.dataclass
class LossInfo:
    """One minibatch step's diagnostics, float32 scalars.

    Attributes:
        q_loss: half the mean squared error of Q(s_t, a_t) against the targets.
        q_mean: the mean of Q(s_t, a_t) over the minibatch.
    """

    q_loss: jax.Array
    q_mean: jax.Array


def q_lambda_returns(
    rewards: jax.Array,
    next_q: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: jax.typing.ArrayLike,
    q_lambda: jax.typing.ArrayLike,
) -> jax.Array:
    """Peng's Q(lambda) returns of a rollout, time-major, computed backward:

        G_t = r_t + gamma * (1 - terminated_t) * [(1 - lambda) * next_q_t + lambda * G'_t]

    where G'_t is G_{t+1} while the episode goes on and next_q_t where it ended (terminated or
    truncated: the next step is a new episode) or the rollout does. A terminated step
    bootstraps nothing; a truncated one bootstraps from its final observation (`next_q_t` is
    Q of the observation step t produced, before any auto-reset), since the episode was only
    cut short. lambda = 0 gives one-step targets; lambda = 1, discounted reward sums
    bootstrapped where the trace is cut.

    Args:
        rewards: `[T, N]` float32.
        next_q: `[T, N]`, max_a Q(s'_t, a) of the observation step t produced.
        terminated: `[T, N]` bool.
        truncated: `[T, N]` bool.
        gamma: discount, scalar.
        q_lambda: the trace parameter, scalar in [0, 1].

    Returns:
        The targets G_t, `[T, N]` float32.
    """
    ended = jnp.logical_or(terminated, truncated)
    continues = 1.0 - terminated.astype(rewards.dtype)

    def backward(return_after, step):
        reward, next_value, continues, ended = step
        tail = jnp.where(ended, next_value, return_after)
        mixed = (1.0 - q_lambda) * next_value + q_lambda * tail
        value = reward + gamma * continues * mixed
        return value, value

    # After the rollout's last step the trace is cut: its tail is its own next_q.
    _, returns = jax.lax.scan(
        backward, next_q[-1], (rewards, next_q, continues, ended), reverse=True
    )
    return returns


def q_loss(
    q_values: jax.Array, actions: jax.Array, targets: jax.Array
) -> tuple[jax.Array, LossInfo]:
    """Half the mean squared error of Q(s, a) against fixed targets.

    Args:
        q_values: `[B, n]`, Q(s, .) under the parameters being trained.
        actions: `[B]` int, the actions taken.
        targets: `[B]`, the Q(lambda) returns (no gradient flows into them).

    Returns:
        The loss (scalar) and its `LossInfo`.
    """
    chosen = chosen_q(q_values, actions)
    loss = 0.5 * jnp.mean(jnp.square(chosen - jax.lax.stop_gradient(targets)))
    return loss, LossInfo(q_loss=loss, q_mean=jnp.mean(chosen))
