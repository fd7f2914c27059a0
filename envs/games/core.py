"""Two-player, zero-sum, alternating-move board games on the `Environment` API.

A game is an `Environment` whose `step` is one move of the player whose turn it is; what a game
adds is what two players need and nothing else:

- `state.current_player`: int32, 0 or 1, who moves next (0 opens every game).
- `state.legal_action_mask`: bool `[num_actions]`, the moves the current player may make.
- rewards per player: `step`'s `reward` is the mover's (the player who took `action`, from its
  own perspective), and `info["rewards"]` is float32 `[2]` indexed by player, zero-sum
  (`rewards[mover] == reward`, `rewards[1 - mover] == -reward`). A win pays +1, a loss -1, a
  draw 0; every other move 0.
- an egocentric observation: float32 `[rows, cols, 2]`, plane 0 the current player's pieces,
  plane 1 the opponent's, so one network plays both seats.
- `state.winner`: int32, the player who won the game that just ended, -1 for a draw or while
  it goes on.

An illegal move (an occupied cell, a full column) is defined behaviour, as in pgx: the board
is left as it was, the mover loses (reward -1, the opponent +1) and the game terminates. A
policy that masks its logits with `legal_action_mask` never makes one.

Games end by termination (a win, a full board or an illegal move); the time limit is never
reached. `info["episode_return"]` sums the movers' rewards: +1 for a game won, 0 for a draw, -1
for a game lost by an illegal move.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.envs import core, rendering, spaces

EMPTY = 0
#: Board codes of the players' pieces: player p's pieces are `p + 1`.
FIRST, SECOND = 1, 2

#: Piece colours of player 0 and player 1 in rendered frames, and the board's.
PIECE_COLORS = ((215, 50, 40), (240, 200, 40))
BOARD_COLOR = (40, 80, 180)
CELL_COLOR = (245, 245, 245)


@struct.dataclass
class GameState(core.EnvState):
    """A board game's state.

    Attributes:
        board: int8 `[rows, cols]`: EMPTY, or `player + 1` for a player's piece.
        current_player: int32 scalar, 0 or 1, who moves next.
        legal_action_mask: bool `[num_actions]`, the current player's legal moves.
        winner: int32 scalar, the player who won the game that just ended, -1 otherwise.
    """

    board: jax.Array
    current_player: jax.Array
    legal_action_mask: jax.Array
    winner: jax.Array


class TwoPlayerGame(core.Environment[GameState, core.EnvParams]):
    """The base of the board games: moves, illegal moves, rewards per player, observation.

    A game sets `board_shape`, `num_moves` and `max_moves`, and implements `place` (a legal
    move's board, and whether it won) and `legal_moves` (the mask of a board).
    """

    board_shape: ClassVar[tuple[int, int]]
    #: The actions: cells or columns.
    num_moves: ClassVar[int]
    #: Moves a game lasts at most (a full board).
    max_moves: ClassVar[int]
    #: Side of a cell in rendered frames, pixels.
    cell_pixels: ClassVar[int] = 32

    @property
    def default_params(self) -> core.EnvParams:
        # A game always ends by termination first.
        return core.EnvParams(max_steps=self.max_moves + 1)

    @property
    def mirrored_moves(self) -> tuple[int, ...]:
        """Move `i` of a board is move `mirrored_moves[i]` of its left-right mirror image (the
        rules of both games are symmetric under that reflection)."""
        rows, cols = self.board_shape
        if self.num_moves == cols:
            return tuple(range(cols - 1, -1, -1))
        return tuple(r * cols + cols - 1 - c for r in range(rows) for c in range(cols))

    def place(
        self, board: jax.Array, player: jax.Array, action: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """A legal move: the board after `player` plays `action`, and whether it wins."""
        raise NotImplementedError(f"{self.name} must define place.")

    def legal_moves(self, board: jax.Array) -> jax.Array:
        """bool `[num_actions]`: the moves legal on `board` (the mover does not matter)."""
        raise NotImplementedError(f"{self.name} must define legal_moves.")

    def reset_env(self, key: jax.Array, params: core.EnvParams) -> tuple[jax.Array, GameState]:
        board = jnp.zeros(self.board_shape, jnp.int8)
        state = GameState(
            board=board,
            current_player=jnp.zeros((), jnp.int32),
            legal_action_mask=self.legal_moves(board),
            winner=jnp.full((), -1, jnp.int32),
        )
        return self.observation(state), state

    def step_env(self, key: jax.Array, state: GameState, action: jax.Array, params):
        mover = state.current_player
        legal = state.legal_action_mask[action]
        placed, won = self.place(state.board, mover, action)
        board = jnp.where(legal, placed, state.board)
        mask = self.legal_moves(board)
        won = legal & won
        terminated = won | ~legal | ~jnp.any(mask)
        reward = jnp.where(won, 1.0, jnp.where(legal, 0.0, -1.0)).astype(jnp.float32)
        winner = jnp.where(won, mover, jnp.where(legal, -1, 1 - mover)).astype(jnp.int32)
        next_state = state.replace(
            board=board, current_player=1 - mover, legal_action_mask=mask, winner=winner
        )
        info = {"rewards": rewards_by_player(mover, reward)}
        return self.observation(next_state), next_state, reward, terminated, info

    def observation(self, state: GameState) -> jax.Array:
        """float32 `[rows, cols, 2]`: the current player's pieces, then the opponent's."""
        own = state.board == (state.current_player + 1).astype(jnp.int8)
        theirs = state.board == (2 - state.current_player).astype(jnp.int8)
        return jnp.stack([own, theirs], axis=-1).astype(jnp.float32)

    def action_space(self, params: core.EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_moves)

    def observation_space(self, params: core.EnvParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (*self.board_shape, 2), jnp.float32)

    def render(self, state: GameState, params: core.EnvParams | None = None) -> jax.Array:
        """The board: player 0's pieces red, player 1's yellow, as discs in light cells on a
        blue board.

        Returns:
            uint8 `[rows * cell_pixels, cols * cell_pixels, 3]`, row 0 on top.
        """
        rows, cols = self.board_shape
        cell = self.cell_pixels
        colors = jnp.asarray(np.array([CELL_COLOR, *PIECE_COLORS], np.float32))
        frame = rendering.canvas(rows * cell, cols * cell, BOARD_COLOR)
        x, y = rendering.pixel_centres(rows * cell, cols * cell)
        # Each pixel's cell, and its distance to that cell's centre.
        col_of = jnp.clip((x // cell).astype(jnp.int32), 0, cols - 1)
        row_of = jnp.clip(((rows * cell - y) // cell).astype(jnp.int32), 0, rows - 1)
        centre_x = (col_of + 0.5) * cell
        centre_y = (rows - row_of - 0.5) * cell
        distance = jnp.sqrt((x - centre_x) ** 2 + (y - centre_y) ** 2) - 0.4 * cell
        piece = colors[state.board[row_of, col_of].astype(jnp.int32)]
        alpha = rendering.coverage(distance)[..., None]
        return rendering.to_uint8(frame * (1.0 - alpha) + piece * alpha)


def rewards_by_player(mover: jax.Array, reward: jax.Array) -> jax.Array:
    """float32 `[2]`: `reward` for `mover`, `-reward` for the other player."""
    # + 0.0 turns the -0.0 of a zero reward negated into 0.0.
    return jnp.where(jnp.arange(2) == mover, reward, -reward).astype(jnp.float32) + 0.0


def lines_through_cells(board_shape: tuple[int, int], length: int) -> np.ndarray:
    """Every straight line of `length` cells on the board (rows, columns, both diagonals), as
    int32 `[num_lines, length]` flat cell indices (row-major)."""
    rows, cols = board_shape
    lines = []
    for d_row, d_col in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for row in range(rows):
            for col in range(cols):
                end_row, end_col = row + d_row * (length - 1), col + d_col * (length - 1)
                if 0 <= end_row < rows and 0 <= end_col < cols:
                    lines.append(
                        [(row + d_row * i) * cols + col + d_col * i for i in range(length)]
                    )
    return np.array(lines, np.int32)
