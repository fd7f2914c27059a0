"""The tabular model of a grid world: `P[s, a, s']`, expected rewards `R[s, a]`, terminal cells.

States are cells, indexed row-major (`s = row * W + col`), the argmax of the GridWorld's one-hot
observation. The model is read off the env's own `step_env` (slip switched off, one call per
cell and action), so the dynamic programming below and the env the learners step can never
disagree; slip then mixes in the uniformly random action exactly as `step_env` draws it.

Everything is a pure function of `EnvParams`: `jax.vmap(lambda p: grid_model(env, p))` builds
the models of a batch of same-shaped layouts in one call.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.envs import gridworld


@struct.dataclass
class TabularModel:
    """A finite MDP: transitions, expected rewards and the cells where episodes end or go on.

    Attributes:
        transitions: float32 `[S, A, S]`, `P[s, a, s']`, each `[s, a]` row sums to 1. Terminal
            states are absorbing.
        rewards: float32 `[S, A]`, the expected reward of taking `a` in `s` (0 in terminal states).
        terminal: bool `[S]`, cells whose entry ends the episode (GOAL cells).
        decision: bool `[S]`, cells where an episode can be in progress and an action is taken
            (EMPTY and START); walls and cliffs are never occupied, goals end the episode.
    """

    transitions: jax.Array
    rewards: jax.Array
    terminal: jax.Array
    decision: jax.Array

    @property
    def num_states(self) -> int:
        return self.rewards.shape[-2]

    @property
    def num_actions(self) -> int:
        return self.rewards.shape[-1]


def grid_model(env: gridworld.GridWorld, params: gridworld.EnvParams) -> TabularModel:
    """The tabular model of a GridWorld layout, slip included.

    Args:
        env: the GridWorld (its `step_env` defines the moves and rewards).
        params: unbatched params; vmap this function for a batch of layouts of one shape.

    Returns:
        The model with `S = H * W` states and 4 actions.
    """
    layout = jnp.asarray(params.layout)
    height, width = layout.shape
    num_states, num_actions = height * width, gridworld.NUM_ACTIONS
    cells = jnp.arange(num_states, dtype=jnp.int32)
    actions = jnp.arange(num_actions, dtype=jnp.int32)
    # Slip is the only randomness of step_env; with it off the key is never used for a draw
    # that matters, so one fixed key serves every (cell, action).
    no_slip = params.replace(slip=jnp.zeros_like(jnp.asarray(params.slip, jnp.float32)))
    key = jax.random.key(0)

    def move(cell, action):
        state = gridworld.EnvState(row=cell // width, col=cell % width)
        _, next_state, reward, _, _ = env.step_env(key, state, action, no_slip)
        return next_state.row * width + next_state.col, jnp.asarray(reward, jnp.float32)

    next_cell, reward = jax.vmap(jax.vmap(move, in_axes=(None, 0)), in_axes=(0, None))(
        cells, actions
    )  # [S, A] each
    intended = jax.nn.one_hot(next_cell, num_states, dtype=jnp.float32)  # [S, A, S]
    slip = jnp.asarray(params.slip, jnp.float32)
    # With probability `slip` the action is redrawn uniformly from all four (step_env's rule).
    transitions = (1.0 - slip) * intended + slip * jnp.mean(intended, axis=1, keepdims=True)
    rewards = (1.0 - slip) * reward + slip * jnp.mean(reward, axis=1, keepdims=True)

    codes = layout.reshape(-1)
    terminal = codes == gridworld.GOAL
    absorbing = jnp.broadcast_to(jnp.eye(num_states, dtype=jnp.float32)[:, None, :], intended.shape)
    transitions = jnp.where(terminal[:, None, None], absorbing, transitions)
    rewards = jnp.where(terminal[:, None], 0.0, rewards)
    decision = (codes == gridworld.EMPTY) | (codes == gridworld.START)
    return TabularModel(
        transitions=transitions, rewards=rewards, terminal=terminal, decision=decision
    )


def start_state(params: gridworld.EnvParams) -> jax.Array:
    """The START cell's state index `row * W + col`, int32 scalar."""
    layout = jnp.asarray(params.layout)
    return jnp.argmax(layout.reshape(-1) == gridworld.START).astype(jnp.int32)
