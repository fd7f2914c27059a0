"""An evaluation ladder for the two-player games: fixed players of rising strength, and a
jitted, vmapped match between any two players.

A player is `act(key, state) -> action`: an int32 scalar move for one unbatched `GameState`
(callers vmap). The rungs, weakest first (`ladder(game)`):

- `random_player`: uniform over the legal moves.
- `one_ply_player`: wins in one if it can, else blocks the opponent's win in one, else random.
- `negamax_player(game, depth)`: exhaustive depth-limited negamax, no heuristic.
- `solver_player` (Tic-tac-toe only): perfect play from a table of every reachable position.

`play_games(game, player_a, player_b, key, num_games)` plays complete games in one program, each
player in each seat half the time, and returns player_a's wins, draws and losses (`MatchResult`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.envs import core
from jaxrl.envs.games import tic_tac_toe
from jaxrl.envs.games.core import EMPTY, GameState, TwoPlayerGame

#: `act(key, state) -> action`: an int32 scalar move for one unbatched `GameState`.
Player = Callable[[jax.Array, GameState], jax.Array]


def uniform_choice(key: jax.Array, allowed: jax.Array) -> jax.Array:
    """A uniformly random index among the True entries of `allowed` (bool `[A]`): int32 scalar.

    Index 0 when none is allowed (a finished game's turn, whose move is never played).
    """
    logits = jnp.where(allowed, 0.0, -jnp.inf)
    return jax.random.categorical(key, logits).astype(jnp.int32)


def random_player(game: TwoPlayerGame) -> Player:
    """A player that picks uniformly among the legal moves."""
    del game

    def act(key: jax.Array, state: GameState) -> jax.Array:
        return uniform_choice(key, state.legal_action_mask)

    return act


def wins_and_blocks(game: TwoPlayerGame, state: GameState) -> tuple[jax.Array, jax.Array]:
    """The mover's legal moves that win at once, and those that block: bool `[num_moves]` each.

    A block is a move where the opponent would win at once: the cell (or column) the mover must
    take itself.
    """
    moves = jnp.arange(game.num_moves)
    legal = state.legal_action_mask
    mover = state.current_player

    def wins_for(player):
        return legal & jax.vmap(lambda action: game.place(state.board, player, action)[1])(moves)

    return wins_for(mover), wins_for(1 - mover)


def one_ply_player(game: TwoPlayerGame) -> Player:
    """A player that wins in one if it can, else blocks the opponent's win in one, else picks
    uniformly among the legal moves; ties are broken at random."""

    def act(key: jax.Array, state: GameState) -> jax.Array:
        wins, blocks = wins_and_blocks(game, state)
        legal = state.legal_action_mask
        allowed = jnp.where(jnp.any(wins), wins, jnp.where(jnp.any(blocks), blocks, legal))
        return uniform_choice(key, allowed)

    return act


def negamax_values(
    game: TwoPlayerGame, board: jax.Array, player: jax.Array, depth: int
) -> jax.Array:
    """Each move's negamax value for `player` on `board`, searched `depth` plies deep.

    A move that wins scores its remaining depth (`depth` for a win now, less for a win found
    deeper), so quicker wins score higher and, negated, slower losses lose less; a draw (a full
    board) and a position still open after `depth` plies score 0 (no heuristic).

    Args:
        game: the game.
        board: int8 `[rows, cols]`, the position.
        player: int32 scalar, the player to move.
        depth: plies to search, a static int >= 1 (the Python recursion unrolls it).

    Returns:
        float32 `[num_moves]`, -inf at the illegal moves.
    """

    def move_value(action: jax.Array) -> jax.Array:
        child, won = game.place(board, player, action)
        if depth == 1:
            return jnp.where(won, 1.0, 0.0)
        full = ~jnp.any(game.legal_moves(child))
        reply = jnp.max(negamax_values(game, child, 1 - player, depth - 1))
        # A full board's reply is max over no moves, -inf: the where discards it.
        return jnp.where(won, float(depth), jnp.where(full, 0.0, -reply))

    values = jax.vmap(move_value)(jnp.arange(game.num_moves))
    return jnp.where(game.legal_moves(board), values, -jnp.inf).astype(jnp.float32)


def negamax_player(game: TwoPlayerGame, depth: int) -> Player:
    """A player that searches every line `depth` plies deep and plays a best move.

    The search is exhaustive and vectorised: every ply vmaps over all moves (illegal ones
    valued -inf), `num_moves ** depth` leaves (Connect Four at depth 4: 2,401). Alpha-beta
    pruning finds the same root value, hence a move as good, but it prunes sequentially and
    does not vectorise. Values are `negamax_values`' (quicker wins first, no heuristic:
    positions still open at the horizon are even). Among the best moves, blocks of an immediate
    threat come first, so it wins or blocks wherever `one_ply_player` would; the rest of the
    ties are broken uniformly at random with `key`, so games differ.

    Args:
        game: the game.
        depth: plies searched, >= 1 (1: wins in one; 2: also avoids losses in one).
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"negamax depth must be an int >= 1, got {depth!r}.")

    def act(key: jax.Array, state: GameState) -> jax.Array:
        values = negamax_values(game, state.board, state.current_player, depth)
        values = jnp.where(state.legal_action_mask, values, -jnp.inf)
        best = values == jnp.max(values)
        # When every move loses against perfect play, a block still beats a fallible opponent
        # that misses the other threat; so among equal values, blocks come first.
        _, blocks = wins_and_blocks(game, state)
        best_blocks = best & blocks
        return uniform_choice(key, jnp.where(jnp.any(best_blocks), best_blocks, best))

    return act


def board_code(board: jax.Array) -> jax.Array:
    """The base-3 code of a Tic-tac-toe board (int8 `[3, 3]`, row-major cells as digits, the
    first cell least significant): int32 scalar in `[0, 3**9)`."""
    powers = jnp.asarray(3 ** np.arange(9), jnp.int32)
    return jnp.sum(board.reshape(-1).astype(jnp.int32) * powers)


@functools.cache
def tic_tac_toe_table() -> np.ndarray:
    """Every reachable Tic-tac-toe position's move scores for the player to move, solved
    exactly on the host: int8 `[3**9, 9]`, indexed by `board_code` and the cell.

    With perfect play after the move, a win scores 1 + the empty cells left when it happens, a
    loss minus what the opponent's win scores, a draw 0: the sign is the game-theoretic value,
    the size prefers quicker wins and slower losses. The mover is X when both have as many
    pieces, else O. Occupied cells and unreachable positions hold 0 (`solver_player` masks
    illegal moves). Solving takes about 0.2 s.
    """
    lines = [tuple(line) for line in tic_tac_toe.LINES.tolist()]
    table = np.zeros((3**9, 9), np.int8)

    @functools.cache
    def value(cells: tuple[int, ...]) -> int:
        piece = 1 if cells.count(1) == cells.count(2) else 2
        empties = cells.count(EMPTY) - 1
        scores = []
        for cell in range(9):
            if cells[cell] != EMPTY:
                continue
            child = cells[:cell] + (piece,) + cells[cell + 1 :]
            if any(all(child[i] == piece for i in line) for line in lines):
                score = empties + 1
            elif empties == 0:
                score = 0
            else:
                score = -value(child)
            table[_host_code(cells), cell] = score
            scores.append(score)
        return max(scores)

    value((EMPTY,) * 9)
    table.setflags(write=False)
    return table


def _host_code(cells: tuple[int, ...] | np.ndarray) -> int:
    return int(sum(int(c) * 3**i for i, c in enumerate(cells)))


def solved_values(board: np.ndarray) -> np.ndarray:
    """The exact value of each move on a reachable Tic-tac-toe board for the player to move.

    Args:
        board: int `[3, 3]`, EMPTY or `player + 1`.

    Returns:
        float32 `[9]`: +1 a win, 0 a draw, -1 a loss with perfect play after the move; -inf at
        the occupied cells. The board's own value is the max.
    """
    cells = np.asarray(board).reshape(-1)
    scores = np.sign(tic_tac_toe_table()[_host_code(cells)]).astype(np.float32)
    return np.where(cells == EMPTY, scores, -np.inf).astype(np.float32)


def solver_player(game: TwoPlayerGame) -> Player:
    """A perfect Tic-tac-toe player: a uniformly random move among those of the best exact
    score (`tic_tac_toe_table`: a win if there is one, the quickest; else a draw; else the
    slowest loss), looked up by board code. The table is solved on the host once per process.
    """
    if not isinstance(game, tic_tac_toe.TicTacToe):
        raise ValueError(f"solver_player solves TicTacToe-v0 only, not {game.name}: use negamax.")
    table = jnp.asarray(tic_tac_toe_table())

    def act(key: jax.Array, state: GameState) -> jax.Array:
        scores = table[board_code(state.board)].astype(jnp.float32)
        scores = jnp.where(state.legal_action_mask, scores, -jnp.inf)
        return uniform_choice(key, scores == jnp.max(scores))

    return act


def ladder(game: TwoPlayerGame) -> dict[str, Player]:
    """The rungs available for `game`, weakest first: random, one-ply, negamax-2, negamax-4,
    and for Tic-tac-toe the solver."""
    rungs = {
        "random": random_player(game),
        "one-ply": one_ply_player(game),
        "negamax-2": negamax_player(game, 2),
        "negamax-4": negamax_player(game, 4),
    }
    if isinstance(game, tic_tac_toe.TicTacToe):
        rungs["solver"] = solver_player(game)
    return rungs


@struct.dataclass
class MatchResult:
    """Player_a's results in a match, by player_a's seat (index 0: it opened).

    Attributes:
        wins: int32 `[2]`, games player_a won in each seat.
        draws: int32 `[2]`, games drawn.
        losses: int32 `[2]`, games player_a lost (an illegal move loses).
    """

    wins: jax.Array
    draws: jax.Array
    losses: jax.Array

    @property
    def seat_games(self) -> jax.Array:
        """int32 `[2]`: games played in each seat."""
        return self.wins + self.draws + self.losses

    @property
    def num_games(self) -> jax.Array:
        """int32 scalar: games played."""
        return jnp.sum(self.seat_games)

    @property
    def win_rate(self) -> jax.Array:
        """float32 scalar: the fraction of games player_a won."""
        return _rate(jnp.sum(self.wins), self.num_games)

    @property
    def draw_rate(self) -> jax.Array:
        """float32 scalar: the fraction of games drawn."""
        return _rate(jnp.sum(self.draws), self.num_games)

    @property
    def loss_rate(self) -> jax.Array:
        """float32 scalar: the fraction of games player_a lost."""
        return _rate(jnp.sum(self.losses), self.num_games)

    @property
    def score(self) -> jax.Array:
        """float32 scalar: player_a's points per game, a win 1, a draw 1/2."""
        return self.win_rate + 0.5 * self.draw_rate

    @property
    def seat_win_rate(self) -> jax.Array:
        """float32 `[2]`: the fraction of its games in each seat that player_a won."""
        return _rate(self.wins, self.seat_games)

    @property
    def seat_draw_rate(self) -> jax.Array:
        """float32 `[2]`: the fraction of the games in each seat drawn."""
        return _rate(self.draws, self.seat_games)

    @property
    def seat_loss_rate(self) -> jax.Array:
        """float32 `[2]`: the fraction of its games in each seat that player_a lost."""
        return _rate(self.losses, self.seat_games)


def _rate(count: jax.Array, total: jax.Array) -> jax.Array:
    return (count / jnp.maximum(total, 1)).astype(jnp.float32)


def play_games(
    game: TwoPlayerGame,
    player_a: Player,
    player_b: Player,
    key: jax.Array,
    num_games: int,
    *,
    params: core.EnvParams | None = None,
    opening_moves: int = 0,
) -> MatchResult:
    """Plays `num_games` complete games between two players, vmapped in one program.

    Player_a opens the first half of the games and moves second in the other half. Every live
    game has the same player to move at each ply (all open with player 0 and alternate), so
    each ply runs each player once on its half of the batch, not both players on every game.
    A `lax.scan` runs `game.max_moves` plies; a game that has ended stays as it ended.

    With `opening_moves > 0`, the first `opening_moves` plies are uniformly random legal moves,
    so deterministic players still meet varied positions; game `i` and game
    `i + num_games // 2` share their opening, with the seats swapped, so neither player draws
    the better openings. A game the opening ends counts like any other.

    Args:
        game: the game.
        player_a, player_b: the players.
        key: a PRNG key; the same key gives the same result.
        num_games: games, an even int (half in each seat).
        params: the game's params; `default_params` when None.
        opening_moves: random plies before the players take over, in `[0, max_moves)`.

    Returns:
        player_a's `MatchResult`.
    """
    if num_games < 2 or num_games % 2:
        raise ValueError(f"num_games must be even and >= 2 (half in each seat), got {num_games}.")
    if not 0 <= opening_moves < game.max_moves:
        raise ValueError(
            f"opening_moves must be in [0, {game.max_moves}) for {game.name}, got {opening_moves}."
        )
    params = game.default_params if params is None else params
    half = num_games // 2
    key_reset, key_opening, key_play = jax.random.split(key, 3)
    _, state = game.reset_batch(key_reset, num_games, params)
    ended = jnp.zeros((num_games,), jnp.bool_)
    step = jax.vmap(game.step_without_reset, in_axes=(None, 0, 0, None))

    def ply(carry, actions):
        state, ended = carry
        _, stepped, _, terminated, _, _ = step(key_reset, state, actions, params)
        state = jax.tree.map(
            lambda old, new: jnp.where(_rows(ended, old), old, new), state, stepped
        )
        return (state, ended | terminated), None

    def opening_ply(carry, key_ply):
        state, _ = carry
        keys = jax.random.split(key_ply, half)
        actions = jax.vmap(uniform_choice)(jnp.concatenate([keys, keys]), state.legal_action_mask)
        return ply(carry, actions)

    def players_ply(carry, key_ply, a_first: bool):
        state, _ = carry
        keys = jax.random.split(key_ply, num_games)
        first, second = _split_games(state, half)
        first_player, second_player = (player_a, player_b) if a_first else (player_b, player_a)
        actions = jnp.concatenate(
            [
                jax.vmap(first_player)(keys[:half], first),
                jax.vmap(second_player)(keys[half:], second),
            ]
        )
        return ply(carry, actions)

    def players_two_plies(carry, key_pair):
        key_even, key_odd = jax.random.split(key_pair)
        # Player 0 moves at even plies, and player_a is player 0 in the first half of the games.
        carry, _ = players_ply(carry, key_even, a_first=opening_moves % 2 == 0)
        return players_ply(carry, key_odd, a_first=opening_moves % 2 == 1)

    carry = (state, ended)
    if opening_moves:
        carry, _ = jax.lax.scan(opening_ply, carry, jax.random.split(key_opening, opening_moves))
    # An odd count of plies ends with one more than needed: every game has ended by then.
    pairs = -(-(game.max_moves - opening_moves) // 2)
    carry, _ = jax.lax.scan(players_two_plies, carry, jax.random.split(key_play, pairs))
    state, _ = carry
    seat_a = (jnp.arange(num_games) >= half).astype(jnp.int32)

    def count_by_seat(outcome: jax.Array) -> jax.Array:
        return jnp.sum(outcome.reshape(2, half), axis=1, dtype=jnp.int32)

    return MatchResult(
        wins=count_by_seat(state.winner == seat_a),
        draws=count_by_seat(state.winner == -1),
        losses=count_by_seat(state.winner == 1 - seat_a),
    )


def _rows(mask: jax.Array, leaf: jax.Array) -> jax.Array:
    """`mask` `[N]` shaped to broadcast against `leaf` `[N, ...]`."""
    return mask.reshape(mask.shape + (1,) * (leaf.ndim - 1))


def _split_games(state: GameState, half: int) -> tuple[GameState, GameState]:
    return (
        jax.tree.map(lambda leaf: leaf[:half], state),
        jax.tree.map(lambda leaf: leaf[half:], state),
    )
