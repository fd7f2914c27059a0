"""The evaluation ladder: the Tic-tac-toe solver on known positions and against negamax (two
independent searches), one-ply and negamax on hand-made boards of both games, the rungs' order
in matches, the match's bookkeeping (rates, seats) and the invariants (jit == eager, same key
=> same result)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.agents.selfplay import ladder
from jaxrl.envs.games.connect_four import ConnectFour
from jaxrl.envs.games.core import GameState
from jaxrl.envs.games.tic_tac_toe import LINES, TicTacToe

TTT = TicTacToe()
C4 = ConnectFour()
#: One set of players per game, so matches that reuse a pairing reuse its compiled program.
RUNGS = {TTT.name: ladder.ladder(TTT), C4.name: ladder.ladder(C4)}


def position(game, rows: str) -> GameState:
    """A state from a picture: one string per board row, top first; '.' empty, 'X' player 0's
    piece, 'O' player 1's. The mover is X when both have as many pieces, else O."""
    codes = {".": 0, "X": 1, "O": 2}
    board = np.array([[codes[c] for c in row] for row in rows.split()], np.int8)
    assert board.shape == game.board_shape
    mover = int(np.sum(board == 1) > np.sum(board == 2))
    board = jnp.asarray(board)
    return GameState(
        board=board,
        current_player=jnp.asarray(mover, jnp.int32),
        legal_action_mask=game.legal_moves(board),
        winner=jnp.asarray(-1, jnp.int32),
    )


def moves_chosen(game, player, state, num_keys=64) -> set[int]:
    """The moves `player` makes on `state` over `num_keys` keys (its random tie-breaks)."""
    keys = jax.random.split(jax.random.key(7), num_keys)
    return set(np.asarray(batched(player)(keys, state)).tolist())


@functools.cache
def batched(player):
    """`player` jitted over a batch of keys, compiled once per player and board shape."""
    return jax.jit(jax.vmap(player, in_axes=(0, None)))


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 4), static_argnames=("opening_moves",))
def match(game_name, name_a, name_b, key, num_games, *, opening_moves=0):
    game = {TTT.name: TTT, C4.name: C4}[game_name]
    rungs = RUNGS[game_name]
    return ladder.play_games(
        game, rungs[name_a], rungs[name_b], key, num_games, opening_moves=opening_moves
    )


def test_solver_values_of_known_positions():
    # Every first move draws with perfect play.
    np.testing.assert_array_equal(ladder.solved_values(np.zeros((3, 3), np.int8)), np.zeros(9))
    # X completes the top row.
    values = ladder.solved_values(position(TTT, "XX. OO. ...").board)
    assert values[2] == 1 and values.max() == 1
    # O must block at 2 (and then holds the draw); anything else loses.
    values = ladder.solved_values(position(TTT, "XX. .O. ...").board)
    np.testing.assert_array_equal(values, [-np.inf, -np.inf, 0, -1, -np.inf, -1, -1, -1, -1])
    # Against X in opposite corners O must take an edge: a corner lets X fork.
    values = ladder.solved_values(position(TTT, "X.. .O. ..X").board)
    np.testing.assert_array_equal(values[[1, 3, 5, 7]], 0)
    np.testing.assert_array_equal(values[[2, 6]], -1)
    # So after O's corner, X's forced block at 6 is also a fork that wins.
    values = ladder.solved_values(position(TTT, "X.O .O. ..X").board)
    np.testing.assert_array_equal(values[[1, 3, 5, 7]], -1)
    assert values[6] == 1


def test_solver_plays_the_quickest_win_and_the_only_block():
    solver = RUNGS[TTT.name]["solver"]
    # Every empty cell wins for X, 6 at once.
    np.testing.assert_array_equal(ladder.solved_values(position(TTT, "XOO X.. ...").board)[4:], 1)
    assert moves_chosen(TTT, solver, position(TTT, "XOO X.. ...")) == {6}
    assert moves_chosen(TTT, solver, position(TTT, "XX. .O. ...")) == {2}
    assert moves_chosen(TTT, solver, position(TTT, "X.. .O. ..X")) == {1, 3, 5, 7}


def tic_tac_toe_positions(max_empty: int) -> np.ndarray:
    """Every reachable, unfinished Tic-tac-toe board with 1 to `max_empty` empty cells: int8
    `[N, 3, 3]`."""
    cells = np.stack(np.meshgrid(*[np.arange(3)] * 9, indexing="ij"), axis=-1).reshape(-1, 9)
    x, o = np.sum(cells == 1, axis=1), np.sum(cells == 2, axis=1)
    lines = cells[:, LINES]
    done = np.any(np.all(lines == 1, axis=2) | np.all(lines == 2, axis=2), axis=1)
    empty = 9 - x - o
    keep = (x - o >= 0) & (x - o <= 1) & (empty >= 1) & (empty <= max_empty) & ~done
    return cells[keep].reshape(-1, 3, 3).astype(np.int8)


def test_negamax_agrees_with_the_solver_where_it_sees_to_the_end():
    boards = tic_tac_toe_positions(max_empty=4)
    movers = (np.sum(boards == 1, axis=(1, 2)) > np.sum(boards == 2, axis=(1, 2))).astype(np.int32)
    values = jax.jit(jax.vmap(lambda b, p: ladder.negamax_values(TTT, b, p, 4)))(boards, movers)
    solved = np.stack([ladder.solved_values(board) for board in boards])
    assert len(boards) > 500
    np.testing.assert_array_equal(np.sign(np.asarray(values)), np.sign(solved))


@pytest.mark.parametrize(
    ("game", "rows", "wins", "blocks"),
    [
        (TTT, "XX. OO. ...", {2}, {5}),
        (TTT, "X.O XO. ...", {6}, {6}),
        (TTT, "XX. .O. ...", set(), {2}),
        (TTT, "XO. .X. ..O", set(), set()),
        (C4, "....... ....... ....... O...... O...... O..XXX.", {2, 6}, {0}),
        (C4, "....... ....... ....... X...... X.O.... X.O.O..", {0}, set()),
        (C4, "....... ....... ....... ..O.... X.O.... X.O.X..", set(), {2}),
    ],
)
def test_one_ply_takes_a_win_else_a_block(game, rows, wins, blocks):
    state = position(game, rows)
    legal = set(np.flatnonzero(np.asarray(state.legal_action_mask)).tolist())
    chosen = moves_chosen(game, RUNGS[game.name]["one-ply"], state)
    assert chosen == (wins or blocks or legal)


def test_negamax_on_connect_four():
    rungs = RUNGS[C4.name]
    # X wins at once in column 2 or 6, rather than block O's column 0 or look further.
    win = position(C4, "....... ....... ....... O...... O...... O..XXX.")
    for name in ("negamax-2", "negamax-4"):
        assert moves_chosen(C4, rungs[name], win) == {2, 6}
    # O's three on row 4 waits for (4, 3): X playing column 3 fills (5, 3) under it and lets O
    # win. One-ply sees no win or block and may play it; negamax does not.
    trap = position(C4, "....... ....... ....... ....... OOO.... XOX..XX")
    assert 3 in moves_chosen(C4, rungs["one-ply"], trap)
    for name in ("negamax-2", "negamax-4"):
        chosen = moves_chosen(C4, rungs[name], trap)
        assert chosen and 3 not in chosen
    # Columns 1 and 4 make an open three on the bottom row: a win in three plies only depth 4
    # sees.
    fork = position(C4, "....... ....... ....... ....... ......O ..XX..O")
    assert moves_chosen(C4, rungs["negamax-4"], fork) == {1, 4}
    assert moves_chosen(C4, rungs["negamax-2"], fork) == set(range(7))


def test_solver_draws_itself_and_never_loses_to_random():
    result = match(TTT.name, "solver", "solver", jax.random.key(0), 200)
    np.testing.assert_array_equal(result.draws, [100, 100])
    result = match(TTT.name, "solver", "random", jax.random.key(0), 1000)
    np.testing.assert_array_equal(result.losses, [0, 0])
    assert result.win_rate > 0.8


@pytest.mark.parametrize("game", [TTT, C4], ids=lambda game: game.name)
def test_the_rungs_rank_in_order(game):
    key = jax.random.key(0)
    result = match(game.name, "negamax-2", "random", key, 1000)
    if game is C4:
        assert float(result.win_rate) >= 0.95, result
    else:
        # Tic-tac-toe is too small to beat random every game (the solver wins 87%).
        assert float(result.win_rate) >= 0.75 and float(result.loss_rate) <= 0.06, result
    # In Tic-tac-toe negamax-2 plays as one-ply does; in Connect Four it also sees the cell
    # under the opponent's threat.
    result = match(game.name, "negamax-2", "one-ply", key, 1000)
    assert float(result.win_rate + result.draw_rate) >= 0.55, result
    if game is C4:
        assert result.win_rate > result.loss_rate + 0.1, result


def test_match_bookkeeping_and_determinism():
    result = match(TTT.name, "one-ply", "random", jax.random.key(3), 500, opening_moves=2)
    np.testing.assert_array_equal(result.seat_games, [250, 250])
    assert int(result.num_games) == 500
    total = result.win_rate + result.draw_rate + result.loss_rate
    np.testing.assert_allclose(float(total), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(result.seat_win_rate + result.seat_draw_rate + result.seat_loss_rate), 1.0
    )
    np.testing.assert_allclose(
        float(result.win_rate), float(jnp.mean(result.seat_win_rate)), rtol=1e-6
    )
    assert result.win_rate.dtype == jnp.float32
    # Opening is an edge: one-ply wins more from the first seat.
    assert result.seat_win_rate[0] > result.seat_win_rate[1]
    again = match(TTT.name, "one-ply", "random", jax.random.key(3), 500, opening_moves=2)
    other = match(TTT.name, "one-ply", "random", jax.random.key(4), 500, opening_moves=2)
    assert jax.tree.all(jax.tree.map(np.array_equal, result, again))
    assert not jax.tree.all(jax.tree.map(np.array_equal, result, other))


@pytest.mark.parametrize(
    ("game", "name", "rows"),
    [
        (TTT, "solver", "X.. .O. ..X"),
        (TTT, "negamax-2", "X.. ... ..."),
        (C4, "one-ply", "....... ....... ....... O...... O...... O..XXX."),
    ],
)
def test_jit_equals_eager(game, name, rows):
    player = RUNGS[game.name][name]
    state = position(game, rows)
    for key in jax.random.split(jax.random.key(2), 3):
        assert int(jax.jit(player)(key, state)) == int(player(key, state))


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="TicTacToe-v0 only"):
        ladder.solver_player(C4)
    with pytest.raises(ValueError, match="depth"):
        ladder.negamax_player(TTT, 0)
    with pytest.raises(ValueError, match="even"):
        ladder.play_games(TTT, RUNGS[TTT.name]["random"], RUNGS[TTT.name]["random"], None, 7)
    with pytest.raises(ValueError, match="opening_moves"):
        ladder.play_games(
            TTT, RUNGS[TTT.name]["random"], RUNGS[TTT.name]["random"], None, 8, opening_moves=9
        )
    assert list(RUNGS[C4.name]) == ["random", "one-ply", "negamax-2", "negamax-4"]
    assert list(RUNGS[TTT.name]) == ["random", "one-ply", "negamax-2", "negamax-4", "solver"]
