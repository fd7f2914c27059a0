"""An experience replay buffer on the device, inside the compiled training loop.

The buffer keeps each env's steps in order: every leaf of `Replay.data` is `[capacity, num_envs,
...]`, row `r` holding one step of every env, written in time order, round the ring. Keeping
the streams lets a sample read the steps that follow it, so n-step returns are computed when a
transition is sampled, stopping at the episode's end: a terminated step bootstraps nothing, a
truncated one bootstraps from the observation it produced (`final_obs`), as Gymnasium's
time limits mean. Flat buffers that store `(s, a, r, s', done)` cannot tell the two apart.

    replay = replay_init(example_step, capacity=...)     # example_step: one step, leaves [N, ...]
    replay = replay_add(replay, rollout)                 # rollout: leaves [T, N, ...]
    rows, envs = sample_positions(replay, uniforms, horizon=n)   # uniforms: [B, 2] in [0, 1)
    batch = n_step_transitions(replay, rows, envs, n=n, gamma=gamma)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

#: The fields `n_step_transitions` reads from each stored step.
STEP_FIELDS = ("obs", "action", "reward", "terminated", "truncated", "final_obs")


@struct.dataclass
class Replay:
    """A ring of `capacity` steps of `num_envs` envs.

    Attributes:
        data: the stored steps, a dict of leaves `[capacity, num_envs, ...]` (at least
            `STEP_FIELDS` for n-step sampling).
        position: int32 scalar, the row the next step is written to.
        filled: int32 scalar, rows written so far, at most `capacity`.
    """

    data: dict[str, jax.Array]
    position: jax.Array
    filled: jax.Array

    @property
    def capacity(self) -> int:
        return next(iter(self.data.values())).shape[0]

    @property
    def num_envs(self) -> int:
        return next(iter(self.data.values())).shape[1]


@struct.dataclass
class NStepTransition:
    """Sampled transitions with their n-step returns, leaves `[B, ...]`.

    Attributes:
        obs, action: the first step's observation and action.
        returns: float32, the discounted rewards of up to n steps, stopping at the episode's end.
        next_obs: the observation to bootstrap from: the last step's `final_obs`.
        discount: float32, `gamma ** m` after m steps, or 0 when the episode terminated within
            them (the target is `returns + discount * V(next_obs)`).
    """

    obs: jax.Array
    action: jax.Array
    returns: jax.Array
    next_obs: jax.Array
    discount: jax.Array


def replay_init(example_step: dict[str, jax.Array], *, capacity: int) -> Replay:
    """An empty buffer of `capacity` rows for steps shaped like `example_step` (a dict of
    leaves `[num_envs, ...]`, e.g. one step of a rollout); zeros until written."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"capacity={capacity!r}: give a positive number of rows.")
    data = {
        name: jnp.zeros((capacity,) + leaf.shape, leaf.dtype) for name, leaf in example_step.items()
    }
    return Replay(data=data, position=jnp.int32(0), filled=jnp.int32(0))


def replay_add(replay: Replay, steps: dict[str, jax.Array]) -> Replay:
    """`replay` with `steps` (leaves `[T, num_envs, ...]`, T at most the capacity) written at
    rows `position, ..., position + T - 1`, round the ring, overwriting the oldest."""
    num_steps, capacity = next(iter(steps.values())).shape[0], replay.capacity
    if num_steps > capacity:
        raise ValueError(
            f"{num_steps} steps do not fit a buffer of {capacity} rows; raise its capacity."
        )
    rows = (replay.position + jnp.arange(num_steps, dtype=jnp.int32)) % capacity
    data = {name: replay.data[name].at[rows].set(steps[name]) for name in replay.data}
    return Replay(
        data=data,
        position=(replay.position + num_steps) % capacity,
        filled=jnp.minimum(replay.filled + num_steps, capacity),
    )


def sample_positions(
    replay: Replay, uniforms: jax.Array, *, horizon: int = 1
) -> tuple[jax.Array, jax.Array]:
    """Rows and envs drawn uniformly among the stored steps whose next `horizon - 1` steps are
    stored too (n-step returns read them): int32 `[B]` each.

    Args:
        replay: a buffer holding at least `horizon` rows (check `can_sample`).
        uniforms: `[B, 2]` float32 in [0, 1): the row's and the env's draw.
        horizon: steps each sample reads, from its row on.
    """
    valid = jnp.maximum(replay.filled - (horizon - 1), 1)
    oldest = (replay.position - replay.filled) % replay.capacity
    offset = jnp.minimum((uniforms[:, 0] * valid).astype(jnp.int32), valid - 1)
    rows = (oldest + offset) % replay.capacity
    envs = jnp.minimum((uniforms[:, 1] * replay.num_envs).astype(jnp.int32), replay.num_envs - 1)
    return rows, envs


def can_sample(replay: Replay, horizon: int = 1) -> jax.Array:
    """Whether `replay` holds a step whose next `horizon - 1` steps are stored (bool scalar)."""
    return replay.filled >= horizon


def n_step_transitions(
    replay: Replay, rows: jax.Array, envs: jax.Array, *, n: int, gamma: jax.typing.ArrayLike
) -> NStepTransition:
    """The transitions starting at `(rows, envs)` with their n-step returns.

    Each return adds `gamma ** k * reward` for k = 0, 1, ... up to n steps, stopping after the
    step that ends the episode. A step that terminated bootstraps nothing (discount 0); a
    truncated step bootstraps from its `final_obs` with `gamma ** m`, as does the n-th step of
    an episode that goes on.
    """
    steps = jnp.arange(n, dtype=jnp.int32)
    read_rows = (rows[:, None] + steps[None, :]) % replay.capacity  # [B, n]

    def read(name):
        return replay.data[name][read_rows, envs[:, None]]  # [B, n, ...]

    reward = read("reward").astype(jnp.float32)
    terminated, truncated = read("terminated"), read("truncated")
    ended = jnp.logical_or(terminated, truncated)
    # Step k counts while no earlier step of the window ended the episode.
    ended_before = jnp.cumsum(ended.astype(jnp.int32), axis=1) - ended.astype(jnp.int32)
    counts = ended_before == 0
    gammas = jnp.asarray(gamma, jnp.float32) ** steps.astype(jnp.float32)
    returns = jnp.sum(jnp.where(counts, gammas[None, :] * reward, 0.0), axis=1)
    # The last step that counts: the first that ended the episode, else the n-th.
    last = jnp.minimum(jnp.sum(counts.astype(jnp.int32), axis=1), n) - 1
    pick = lambda leaf: jnp.take_along_axis(
        leaf, last.reshape((-1, 1) + (1,) * (leaf.ndim - 2)), axis=1
    )[:, 0]
    last_terminated = pick(terminated)
    discount = jnp.where(
        last_terminated, 0.0, jnp.asarray(gamma, jnp.float32) ** (last + 1).astype(jnp.float32)
    )
    final_obs = replay.data["final_obs"][read_rows, envs[:, None]]
    return NStepTransition(
        obs=replay.data["obs"][rows, envs],
        action=replay.data["action"][rows, envs],
        returns=returns,
        next_obs=pick(final_obs),
        discount=discount,
    )


def buffer_bytes(replay: Any) -> int:
    """Bytes the buffer's arrays take (for configs that size it)."""
    return sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(replay.data))
