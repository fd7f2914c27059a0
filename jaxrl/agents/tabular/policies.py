"""Policies read off a Q table, and a policy drawn on its grid.

A tabular agent's state is the argmax of the observation: a GridWorld's observation is the
one-hot of its cell `row * W + col`, the same index `grid_model` uses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.envs import gridworld

# One character per action, indexed by GridWorld's action codes (UP, RIGHT, DOWN, LEFT).
_ARROWS = {gridworld.UP: "^", gridworld.RIGHT: ">", gridworld.DOWN: "v", gridworld.LEFT: "<"}
_CELL_CHARS = {gridworld.WALL: "#", gridworld.GOAL: "G", gridworld.CLIFF: "C"}


def state_index(obs: jax.Array) -> jax.Array:
    """The tabular state of a one-hot observation `[S]` (or `[..., S]`): int32 `[...]`."""
    return jnp.argmax(obs, axis=-1).astype(jnp.int32)


def greedy_action(key: jax.Array, q_row: jax.Array) -> jax.Array:
    """A uniformly random action among the maximisers of `q_row` `[A]`: int32 scalar.

    Breaking ties at random matters early on, when a fresh table is all ties: the lowest index
    would send every untried state the same way.
    """
    return _greedy_with_scores(q_row, jax.random.uniform(key, q_row.shape))


def epsilon_greedy(key: jax.Array, q_row: jax.Array, epsilon: jax.typing.ArrayLike) -> jax.Array:
    """With probability `epsilon` a uniformly random action, else a greedy one: int32 scalar."""
    num_actions = q_row.shape[-1]
    # One draw serves the coin, the random action and the tie-break: every random-number call
    # is a threefry block the compiler has to build, and this runs inside the hot step loop.
    uniform = jax.random.uniform(key, (num_actions + 2,))
    explore = uniform[0] < epsilon
    random_action = jnp.minimum(
        jnp.floor(uniform[1] * num_actions).astype(jnp.int32), num_actions - 1
    )
    return jnp.where(explore, random_action, _greedy_with_scores(q_row, uniform[2:]))


def _greedy_with_scores(q_row: jax.Array, scores: jax.Array) -> jax.Array:
    """The maximiser of `q_row` with the highest score: with i.i.d. uniform scores, a uniformly
    random one among ties."""
    best = q_row == jnp.max(q_row)
    return jnp.argmax(jnp.where(best, scores, -1.0)).astype(jnp.int32)


def policy_grid(layout: np.ndarray, policy: np.ndarray) -> str:
    """Draws a policy on its layout: arrows `^ > v <` in decision cells, `#` walls, `G` goals,
    `C` cliffs.

    Args:
        layout: int `[H, W]` cell codes (a GridWorld's `params.layout`).
        policy: int `[H * W]` actions, row-major.

    Returns:
        H lines of W characters separated by spaces.
    """
    layout = np.asarray(layout)
    policy = np.asarray(policy).reshape(layout.shape)
    rows = []
    for codes, actions in zip(layout, policy, strict=True):
        cells = [
            _CELL_CHARS.get(int(code), _ARROWS[int(action)])
            for code, action in zip(codes, actions, strict=True)
        ]
        rows.append(" ".join(cells))
    return "\n".join(rows)
