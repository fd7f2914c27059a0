"""GridWorld: the textbook agent-environment loop on a grid whose layout is data.

The cliff walk ports Gymnasium's `gymnasium/envs/toy_text/cliffwalking.py` (CliffWalking-v1,
Sutton & Barto Example 6.6); the open room and the four rooms (Sutton, Precup & Singh 1999) have
no Gymnasium counterpart.

Coordinates are (row, col), row 0 at the top and rows growing downwards, as in Gymnasium's
toy-text envs. Actions follow CliffWalking-v1: 0 up, 1 right, 2 down, 3 left. A move into a
wall or off the grid leaves the agent in place. Entering a CLIFF cell pays `cliff_reward` and
sends the agent back to the START cell without ending the episode; entering a GOAL cell pays
`goal_reward` and terminates; every other move (blocked ones included) pays `step_reward`.

The layout is an int array in `EnvParams` (cell codes EMPTY, WALL, START, GOAL, CLIFF), so one
compiled program runs every layout of the same shape, vmapped over params if need be. The start
is the layout's single START cell.

Observation: a float32 one-hot of the agent's cell over the row-major flattened grid, shape
`[H * W]`; its argmax `row * W + col` is Gymnasium's CliffWalking observation. `position(state)`
gives the integer (row, col) for tabular agents.

Slip: with probability `slip` the chosen action is replaced by one drawn uniformly from all four
(possibly the chosen one). Gymnasium's `is_slippery=True` instead picks the intended or either
perpendicular move with probability 1/3 each; that variant is not ported.

Time limit: Gymnasium registers CliffWalking-v1 without `max_episode_steps`; here it is
truncated at 200 steps so that an exploring learner's episodes end. Open room: 100, four rooms:
200.

Out-of-range actions: Gymnasium raises a KeyError; here they are clipped into {0, ..., 3}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.envs import core, rendering, spaces

EMPTY, WALL, START, GOAL, CLIFF = 0, 1, 2, 3, 4
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
NUM_ACTIONS = 4

# (row, col) offsets of UP, RIGHT, DOWN, LEFT.
_ROW_DELTA = np.array([-1, 0, 1, 0], np.int32)
_COL_DELTA = np.array([0, 1, 0, -1], np.int32)
_CELL_CODES = {".": EMPTY, "#": WALL, "S": START, "G": GOAL, "C": CLIFF}

# RGB of EMPTY, WALL, START, GOAL and CLIFF cells, indexed by cell code.
CELL_COLORS = np.array(
    [(245, 245, 245), (60, 60, 60), (200, 215, 240), (70, 170, 80), (130, 30, 30)], np.float32
)
GRID_LINE_COLOR = (190, 190, 190)
AGENT_COLOR = (30, 90, 210)


@struct.dataclass
class EnvState(core.EnvState):
    row: jax.Array
    col: jax.Array


@struct.dataclass
class EnvParams(core.EnvParams):
    """GridWorld parameters; every field is a traced leaf, the layout's shape fixes the grid.

    Attributes:
        layout: int32 `[H, W]` cell codes (EMPTY, WALL, START, GOAL, CLIFF), one START cell.
        step_reward: reward of a move into an EMPTY or START cell, or a blocked move.
        goal_reward: reward of the move into a GOAL cell (replaces `step_reward`).
        cliff_reward: reward of the move into a CLIFF cell (replaces `step_reward`).
        slip: probability that the action is replaced by a uniformly random one.
        max_steps: steps before truncation.
    """

    _: dataclasses.KW_ONLY
    layout: jax.Array
    step_reward: float = -1.0
    goal_reward: float = -1.0
    cliff_reward: float = -100.0
    slip: float = 0.0
    max_steps: int = 100


def parse_layout(rows: Sequence[str]) -> np.ndarray:
    """Turns rows of characters into a layout: '.' empty, '#' wall, 'S' start, 'G' goal,
    'C' cliff.

    Returns:
        int32 `[len(rows), len(rows[0])]` cell codes.

    Raises:
        ValueError: ragged rows, an unknown character, or not exactly one 'S' or no 'G'.
    """
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"Layout rows must have equal lengths, got {[len(r) for r in rows]}.")
    unknown = set("".join(rows)) - set(_CELL_CODES)
    if unknown:
        raise ValueError(f"Unknown layout characters {sorted(unknown)}; use {list(_CELL_CODES)}.")
    layout = np.array([[_CELL_CODES[c] for c in r] for r in rows], np.int32)
    if np.sum(layout == START) != 1 or not np.any(layout == GOAL):
        raise ValueError("A layout needs exactly one start 'S' and at least one goal 'G'.")
    return layout


class GridWorld(core.Environment[EnvState, EnvParams]):
    """A grid walk with walls, goals, cliffs and slip; the layout lives in `EnvParams`.

    Args:
        params: the default params (layout, rewards, slip, time limit).
        name: the env's id.
    """

    stochastic_step = True
    #: Side of a cell in rendered frames, pixels.
    cell_pixels: ClassVar[int] = 32

    def __init__(self, params: EnvParams, name: str = "GridWorld"):
        self._params = params
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def default_params(self) -> EnvParams:
        return self._params

    def reward_threshold(self, params: EnvParams | None = None) -> float:
        """The optimal return from the start (`optimal_return`): solved means walking a
        shortest safe path."""
        return optimal_return(self.default_params if params is None else params)

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        start_row, start_col = _start_cell(params.layout)
        state = EnvState(row=start_row, col=start_col)
        return self.observation(state, params), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        key_slip, key_action = jax.random.split(key)
        slipped = jax.random.uniform(key_slip) < params.slip
        random_action = jax.random.randint(key_action, (), 0, NUM_ACTIONS, dtype=jnp.int32)
        action = jnp.where(slipped, random_action, action)
        row, col, reward = _move(params, state.row, state.col, action)
        next_state = state.replace(row=row, col=col)
        terminated = self.is_terminated(next_state, params)
        return self.observation(next_state, params), next_state, reward, terminated, {}

    def observation(self, state: EnvState, params: EnvParams) -> jax.Array:
        """One-hot of the agent's cell, float32 `[H * W]`, index `row * W + col`."""
        height, width = params.layout.shape
        return jax.nn.one_hot(state.row * width + state.col, height * width, dtype=jnp.float32)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return jnp.asarray(params.layout)[state.row, state.col] == GOAL

    def render(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """The grid, cells coloured by code (`CELL_COLORS`: walls dark, goal green, cliff dark
        red, start light blue), thin grid lines, and the agent as a blue disc in its cell.

        Returns:
            uint8 `[H * cell_pixels, W * cell_pixels, 3]` for an `[H, W]` layout, row 0 on top.
        """
        params = self.default_params if params is None else params
        layout = jnp.asarray(params.layout)
        height, width = layout.shape
        cell = self.cell_pixels
        colors = jnp.asarray(CELL_COLORS)[jnp.clip(layout, 0, len(CELL_COLORS) - 1)]
        frame = jnp.repeat(jnp.repeat(colors, cell, axis=0), cell, axis=1)
        pixel_row = jnp.arange(height * cell)[:, None]
        pixel_col = jnp.arange(width * cell)[None, :]
        # Each cell's top and left pixel lines, plus the frame's bottom and right ones.
        on_line = (
            (pixel_row % cell == 0)
            | (pixel_col % cell == 0)
            | (pixel_row == height * cell - 1)
            | (pixel_col == width * cell - 1)
        )
        line_color = jnp.reshape(jnp.asarray(GRID_LINE_COLOR, jnp.float32), (1, 1, 3))
        frame = jnp.where(on_line[..., None], line_color, frame)
        center = jnp.stack([state.col + 0.5, height - state.row - 0.5]).astype(jnp.float32) * cell
        frame = rendering.fill_circle(frame, center, 0.35 * cell, AGENT_COLOR)
        return rendering.to_uint8(frame)

    def position(self, state: EnvState) -> jax.Array:
        """The agent's integer (row, col): int32 `[2]` (batched states give `[..., 2]`)."""
        return jnp.stack([state.row, state.col], axis=-1).astype(jnp.int32)

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_ACTIONS)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        return spaces.Box(0.0, 1.0, (params.layout.size,), jnp.float32)


def _move(params: EnvParams, row, col, action, xp=jnp):
    """The slip-free move: next (row, col) after bounds, walls and cliff, and its reward.

    Written against the array API shared by `jax.numpy` and `numpy` (`xp`), so the compiled
    dynamics and the host-side `optimal_return` are one definition.
    """
    layout = xp.asarray(params.layout)
    height, width = layout.shape
    target_row = xp.clip(row + xp.asarray(_ROW_DELTA)[action], 0, height - 1)
    target_col = xp.clip(col + xp.asarray(_COL_DELTA)[action], 0, width - 1)
    blocked = layout[target_row, target_col] == WALL
    row = xp.where(blocked, row, target_row)
    col = xp.where(blocked, col, target_col)
    cell = layout[row, col]
    start_row, start_col = _start_cell(layout, xp)
    fell = cell == CLIFF
    row = xp.where(fell, start_row, row).astype(xp.int32)
    col = xp.where(fell, start_col, col).astype(xp.int32)
    reward = xp.where(
        fell,
        params.cliff_reward,
        xp.where(cell == GOAL, params.goal_reward, params.step_reward),
    )
    return row, col, reward


def _start_cell(layout, xp=jnp):
    """The START cell's (row, col), int32 scalars."""
    start = xp.argmax(xp.asarray(layout).reshape(-1) == START).astype(xp.int32)
    return start // layout.shape[1], start % layout.shape[1]


def optimal_return(params: EnvParams) -> float:
    """The best undiscounted return from the start without slip, within `max_steps` steps.

    Finite-horizon dynamic programming over the slip-free moves, in numpy on the host, so any
    rewards (a positive goal, costly cliffs) and the time limit are accounted for exactly.

    Args:
        params: unbatched params with a concrete layout.

    Returns:
        The optimal episode return, a Python float.
    """
    layout = np.asarray(params.layout)
    height, width = layout.shape
    # Every (cell, action) pair, cells row-major and actions last.
    rows, cols, actions = (
        grid.reshape(-1)
        for grid in np.meshgrid(
            np.arange(height), np.arange(width), np.arange(NUM_ACTIONS), indexing="ij"
        )
    )
    next_row, next_col, reward = _move(params, rows, cols, actions, xp=np)
    next_cell = next_row * width + next_col
    continues = layout.reshape(-1)[next_cell] != GOAL
    reward = reward.astype(np.float64)
    # value[s]: the best return from cell s with k steps left.
    value = np.zeros(height * width)
    for _ in range(int(params.max_steps)):
        value = np.max((reward + continues * value[next_cell]).reshape(-1, NUM_ACTIONS), axis=1)
    start_row, start_col = _start_cell(layout, np)
    return float(value[start_row * width + start_col])


OPEN_ROOM = (
    "S....",
    ".....",
    ".....",
    ".....",
    "....G",
)

# Sutton, Precup & Singh (1999): an 11x11 interior inside a border of walls, four rooms
# joined by the hallways (3, 6), (6, 2), (7, 9) and (10, 6).
FOUR_ROOMS = (
    "#############",
    "#S....#.....#",
    "#.....#.....#",
    "#...........#",
    "#.....#.....#",
    "#.....#.....#",
    "##.####.....#",
    "#.....###.###",
    "#.....#.....#",
    "#.....#.....#",
    "#...........#",
    "#.....#....G#",
    "#############",
)

# Gymnasium's CliffWalking-v1: start (3, 0), goal (3, 11), cliff (3, 1..10).
CLIFF_WALKING = (
    "............",
    "............",
    "............",
    "SCCCCCCCCCCG",
)


def _named(rows: Sequence[str], name: str, max_steps: int) -> GridWorld:
    params = EnvParams(layout=jnp.asarray(parse_layout(rows)), max_steps=max_steps)
    return GridWorld(params, name)


def open_room() -> GridWorld:
    """GridWorld-OpenRoom-v0: 5x5, start top-left, goal bottom-right, -1 a step, 100 steps."""
    return _named(OPEN_ROOM, "GridWorld-OpenRoom-v0", max_steps=100)


def four_rooms() -> GridWorld:
    """GridWorld-FourRooms-v0: 13x13 with border walls, start (1, 1), goal (11, 11), 200 steps."""
    return _named(FOUR_ROOMS, "GridWorld-FourRooms-v0", max_steps=200)


def cliff_walking() -> GridWorld:
    """GridWorld-CliffWalking-v0: Gymnasium's CliffWalking-v1 (-1 a step, -100 for the cliff)
    truncated at 200 steps."""
    return _named(CLIFF_WALKING, "GridWorld-CliffWalking-v0", max_steps=200)
