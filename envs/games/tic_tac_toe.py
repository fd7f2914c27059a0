"""Tic-tac-toe (`TicTacToe-v0`): players 0 ("X") and 1 ("O") take turns marking one of the 9
cells; three in a row, column or diagonal wins, a full board without one is a draw.

Actions are cells, row-major: `row * 3 + col`. PettingZoo's `tictactoe_v3` numbers its cells
column-major but reshapes them row-major into its observation, so action `a` is observation
cell `(a // 3, a % 3)` in both and the two agree move for move. The rules, rewards,
observation and illegal moves are the two-player base's (`jaxrl.envs.games.core`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.envs.games import core

#: The 8 winning lines, flat cell indices `[8, 3]`.
LINES = core.lines_through_cells((3, 3), 3)
#: The same lines as 9-bit masks, bit i for cell i.
LINE_BITS = np.sum(1 << LINES, axis=1).astype(np.int32)


class TicTacToe(core.TwoPlayerGame):
    """Tic-tac-toe on a 3x3 board; 9 actions, one per cell."""

    board_shape = (3, 3)
    num_moves = 9
    max_moves = 9
    cell_pixels = 48

    @property
    def name(self) -> str:
        return "TicTacToe-v0"

    def place(
        self, board: jax.Array, player: jax.Array, action: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        piece = (player + 1).astype(jnp.int8)
        cells = board.reshape(-1).at[action].set(piece)
        # The board as a 9-bit integer: a line is a mask test, where gathering each line's
        # cells costs several times more under vmap on the CPU.
        bits = jnp.sum((cells == piece).astype(jnp.int32) << jnp.arange(9, dtype=jnp.int32))
        line_bits = jnp.asarray(LINE_BITS)
        won = jnp.any((bits & line_bits) == line_bits)
        return cells.reshape(self.board_shape), won

    def legal_moves(self, board: jax.Array) -> jax.Array:
        return board.reshape(-1) == core.EMPTY
