"""Connect Four (`ConnectFour-v0`): players 0 (red) and 1 (yellow) take turns dropping a piece
into one of 7 columns of a 6-row board; the piece falls to the lowest empty cell of its column.
Four in a row, horizontally, vertically or diagonally, wins; a full board without one is a draw.

Actions are columns, 0 to 6 from the left. Row 0 is the top row, in the board array as in
rendered frames, so pieces stack up from row 5. The rules follow PettingZoo's `connect_four_v3`
and pgx's `connect_four`; a full column is an illegal move. The rewards, observation and illegal
moves are the two-player base's (`jaxrl.envs.games.core`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.envs.games import core

ROWS, COLS = 6, 7
#: Pieces in a row that win.
CONNECT = 4


class ConnectFour(core.TwoPlayerGame):
    """Connect Four on a 6x7 board; 7 actions, one per column."""

    board_shape = (ROWS, COLS)
    num_moves = COLS
    max_moves = ROWS * COLS
    cell_pixels = 32

    @property
    def name(self) -> str:
        return "ConnectFour-v0"

    def place(
        self, board: jax.Array, player: jax.Array, action: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        piece = (player + 1).astype(jnp.int8)
        # One gather and one scatter: under vmap on the CPU, cheaper than a mask of the board.
        height = jnp.sum(board[:, action] != core.EMPTY, dtype=jnp.int32)
        board = board.at[ROWS - 1 - height, action].set(piece, mode="drop")
        return board, four_in_a_row(board == piece)

    def legal_moves(self, board: jax.Array) -> jax.Array:
        return board[0] == core.EMPTY


def four_in_a_row(own: jax.Array) -> jax.Array:
    """Whether `own` (bool `[6, 7]`, one player's pieces) holds `CONNECT` in a line.

    Each column as a 6-bit integer (bit r for row r), so a line is an AND of shifted columns:
    under vmap on the CPU this is several times faster than the same ANDs over the cells, or a
    gather of the lines through the placed piece.
    """
    bits = jnp.sum(own.astype(jnp.int32) << jnp.arange(ROWS, dtype=jnp.int32)[:, None], axis=0)

    def line(shift: int) -> jax.Array:
        """Bits where `CONNECT` columns in a row hold a piece, the rows moving by `shift`."""
        run = bits[: COLS - CONNECT + 1]
        for i in range(1, CONNECT):
            column = bits[i : i + COLS - CONNECT + 1]
            run = run & (column >> (i * shift) if shift >= 0 else column << (-i * shift))
        return run

    vertical = bits & (bits >> 1)
    vertical = vertical & (vertical >> 2)
    lines = vertical.max() | line(0).max() | line(1).max() | line(-1).max()
    return lines != 0
