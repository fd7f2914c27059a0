"""Tic-tac-toe and Connect Four: the rules on positions set by hand (every win direction, full
boards, illegal moves), rewards per player, whose turn, the egocentric observation, auto-reset,
jit == eager, vmap == loop, and parity with plain-Python references over thousands of random
games, move for move."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs

GAME_IDS = ("TicTacToe-v0", "ConnectFour-v0")


class TicTacToeReference:
    """Tic-tac-toe in plain Python: a list of 9 cells, 0 empty, player p's mark p + 1."""

    lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]

    def __init__(self):
        self.cells = [0] * 9
        self.player = 0

    def legal(self):
        return [cell == 0 for cell in self.cells]

    def play(self, action):
        """Plays a legal move; returns (winner or -1, terminated)."""
        mark = self.player + 1
        self.cells[action] = mark
        self.player = 1 - self.player
        won = any(all(self.cells[i] == mark for i in line) for line in self.lines)
        return (mark - 1 if won else -1), won or 0 not in self.cells

    def board(self):
        return [self.cells[row * 3 : row * 3 + 3] for row in range(3)]


class ConnectFourReference:
    """Connect Four in plain Python: 6 rows of 7 cells, row 0 on top, pieces stack from row 5."""

    def __init__(self):
        self.rows = [[0] * 7 for _ in range(6)]
        self.player = 0

    def legal(self):
        return [self.rows[0][col] == 0 for col in range(7)]

    def play(self, action):
        """Plays a legal move; returns (winner or -1, terminated)."""
        mark = self.player + 1
        row = max(r for r in range(6) if self.rows[r][action] == 0)
        self.rows[row][action] = mark
        self.player = 1 - self.player
        won = any(
            self._run(row, action, d_row, d_col) + self._run(row, action, -d_row, -d_col) >= 3
            for d_row, d_col in ((0, 1), (1, 0), (1, 1), (1, -1))
        )
        return (mark - 1 if won else -1), won or not any(self.legal())

    def _run(self, row, col, d_row, d_col):
        """Pieces like (row, col)'s next to it in direction (d_row, d_col)."""
        count = 0
        r, c = row + d_row, col + d_col
        while 0 <= r < 6 and 0 <= c < 7 and self.rows[r][c] == self.rows[row][col]:
            count += 1
            r, c = r + d_row, c + d_col
        return count

    def board(self):
        return [list(row) for row in self.rows]


REFERENCES = {"TicTacToe-v0": TicTacToeReference, "ConnectFour-v0": ConnectFourReference}


def parse(text):
    """A board from rows of `.`, `X` (player 0) and `O` (player 1), row 0 first."""
    codes = {".": 0, "X": 1, "O": 2}
    return np.array([[codes[c] for c in line.split()] for line in text.strip().splitlines()])


def position(env, board, player):
    """A state of `env` holding `board` with `player` to move."""
    board = jnp.asarray(board, jnp.int8)
    _, state = env.reset(jax.random.key(0))
    return state.replace(
        board=board,
        current_player=jnp.asarray(player, jnp.int32),
        legal_action_mask=env.legal_moves(board),
    )


def move(env, state, action):
    """`step_without_reset`: the state the move leaves, ended or not."""
    return env.step_without_reset(jax.random.key(0), state, action, env.default_params)


TIC_TAC_TOE_WINS = [
    ("X X .\nO O .\n. . .", 2),  # a row
    ("X O .\nX O .\n. . .", 6),  # a column
    ("X O .\nO X .\n. . .", 8),  # the diagonal
    ("O . X\nO X .\n. . .", 6),  # the anti-diagonal
]
CONNECT_FOUR_WINS = [
    # A row.
    ". . . . . . .\n. . . . . . .\n. . . . . . .\n. . . . . . .\n. . . . . . .\nO X X X . O .",
    # A column.
    ". . . . . . .\n. . . . . . .\n. . . . . . .\n. X . . . . .\n. X O . . . .\n. X O O . . .",
    # Down to the right.
    ". . . . . . .\n. . . . . . .\n. . . . . . .\n. . O X . . .\n. . O O X . .\nX . X O O X .",
    # Down to the left.
    ". . . . . . .\n. . . . . . .\n. . . . . . .\n. . . X O . .\n. . X O O . .\n. X O O X . X",
]
CONNECT_FOUR_WIN_MOVES = [4, 1, 2, 4]


@pytest.mark.parametrize("player", [0, 1])
@pytest.mark.parametrize(
    "env_id, text, action",
    [("TicTacToe-v0", text, action) for text, action in TIC_TAC_TOE_WINS]
    + [
        ("ConnectFour-v0", t, a)
        for t, a in zip(CONNECT_FOUR_WINS, CONNECT_FOUR_WIN_MOVES, strict=True)
    ],
)
def test_a_line_wins_for_either_player(env_id, text, action, player):
    env, _ = envs.make(env_id)
    board = parse(text)
    if player == 1:  # the same position with the colours swapped
        board = np.where(board == 0, 0, 3 - board)
    state = position(env, board, player)
    obs, after, reward, terminated, truncated, info = move(env, state, action)
    assert bool(terminated) and not bool(truncated)
    assert float(reward) == 1.0 and int(after.winner) == player
    expected = [1.0, -1.0] if player == 0 else [-1.0, 1.0]
    np.testing.assert_array_equal(info["rewards"], expected)
    assert int((np.asarray(after.board) != board).sum()) == 1


def test_connect_four_pieces_drop_to_the_lowest_empty_row():
    env, _ = envs.make("ConnectFour-v0")
    state = env.reset(jax.random.key(0))[1]
    for action, (row, col) in zip([3, 3, 0, 3], [(5, 3), (4, 3), (5, 0), (3, 3)], strict=True):
        mover = int(state.current_player)
        state = move(env, state, action)[1]
        assert int(state.board[row, col]) == mover + 1
    assert int((np.asarray(state.board) != 0).sum()) == 4


def test_full_boards_without_a_line_are_draws():
    env, _ = envs.make("TicTacToe-v0")
    board = parse("X O X\nX O O\nO X .")
    state = position(env, board, 0)
    _, after, reward, terminated, _, info = move(env, state, 8)
    assert bool(terminated) and float(reward) == 0.0 and int(after.winner) == -1
    np.testing.assert_array_equal(info["rewards"], [0.0, 0.0])
    assert not np.asarray(after.legal_action_mask).any()

    env, _ = envs.make("ConnectFour-v0")
    # Colours alternate along rows and in pairs of rows down a column: no four anywhere.
    full = np.array([[1 + (r // 2 + c) % 2 for c in range(7)] for r in range(6)])
    board = full.copy()
    board[0, 6] = 0
    player = int(full[0, 6]) - 1
    state = position(env, board, player)
    _, after, reward, terminated, _, info = move(env, state, 6)
    np.testing.assert_array_equal(after.board, full)
    assert bool(terminated) and float(reward) == 0.0 and int(after.winner) == -1
    np.testing.assert_array_equal(info["rewards"], [0.0, 0.0])


@pytest.mark.parametrize("player", [0, 1])
@pytest.mark.parametrize(
    "env_id, text, action",
    [
        ("TicTacToe-v0", "X . .\n. O .\n. . .", 4),  # an occupied cell
        ("ConnectFour-v0", "\n".join(["X . . . . . ."] * 3 + ["O . . . . . ."] * 3), 0),
    ],
)
def test_an_illegal_move_loses_at_once_and_leaves_the_board(env_id, text, action, player):
    env, _ = envs.make(env_id)
    board = parse(text)
    state = position(env, board, player)
    assert not bool(state.legal_action_mask[action])
    _, after, reward, terminated, _, info = move(env, state, action)
    assert bool(terminated) and float(reward) == -1.0
    assert int(after.winner) == 1 - player
    expected = [-1.0, 1.0] if player == 0 else [1.0, -1.0]
    np.testing.assert_array_equal(info["rewards"], expected)
    np.testing.assert_array_equal(after.board, board)
    assert float(info["episode_return"]) == -1.0


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_turns_alternate_and_the_observation_is_the_movers(env_id):
    env, _ = envs.make(env_id)
    obs, state = env.reset(jax.random.key(0))
    assert int(state.current_player) == 0 and not np.asarray(obs).any()
    actions = [4, 0, 8] if env_id == "TicTacToe-v0" else [3, 0, 3]
    for t, action in enumerate(actions):
        mover = int(state.current_player)
        obs, state, reward, terminated, *_, info = env.step(jax.random.key(t), state, action)
        assert int(state.current_player) == 1 - mover == (t + 1) % 2
        assert float(reward) == 0.0 and not bool(terminated)
        np.testing.assert_array_equal(info["rewards"], [0.0, 0.0])
        # Plane 0 holds the pieces of the player about to move, plane 1 the other's.
        board = np.asarray(state.board)
        to_move = int(state.current_player) + 1
        np.testing.assert_array_equal(obs[..., 0], board == to_move)
        np.testing.assert_array_equal(obs[..., 1], board == 3 - to_move)
    assert obs.dtype == jnp.float32 and obs.shape == (*env.board_shape, 2)
    assert int(np.asarray(obs[..., 1]).sum()) == 2 and int(np.asarray(obs[..., 0]).sum()) == 1


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_a_finished_game_resets_and_keeps_its_final_observation(env_id):
    env, _ = envs.make(env_id)
    text, action = (
        (TIC_TAC_TOE_WINS[0][0], 2)
        if env_id == "TicTacToe-v0"
        else (CONNECT_FOUR_WINS[0], CONNECT_FOUR_WIN_MOVES[0])
    )
    state = position(env, parse(text), 0)
    final_obs = move(env, state, action)[0]
    obs, state, reward, terminated, truncated, info = env.step(jax.random.key(0), state, action)
    assert bool(terminated) and not bool(truncated) and float(reward) == 1.0
    assert not np.asarray(state.board).any() and int(state.current_player) == 0
    assert int(state.time) == 0 and int(state.winner) == -1
    assert np.asarray(state.legal_action_mask).all() and not np.asarray(obs).any()
    np.testing.assert_array_equal(info["final_observation"], final_obs)
    # The final observation is the loser's view: the winner's pieces in plane 1.
    assert int(np.asarray(final_obs[..., 1]).sum()) == int((parse(text) == 1).sum()) + 1


def _rollout(env, num_envs, num_steps, seed):
    """Random legal games, `num_envs` side by side for `num_steps` moves (auto-reset by
    `step_batch`), in one compiled scan: per move, the mask it was drawn from, the action, and
    the board, winner, rewards and end flag it left (`step_without_reset`'s)."""
    params = env.default_params
    step_without_reset = jax.vmap(env.step_without_reset, in_axes=(None, 0, 0, None))

    def body(state, key):
        key_action, key_step = jax.random.split(key)
        logits = jnp.where(state.legal_action_mask, 0.0, -jnp.inf)
        action = jax.random.categorical(key_action, logits).astype(jnp.int32)
        _, after, reward, terminated, _, info = step_without_reset(key_step, state, action, params)
        next_state = env.step_batch(key_step, state, action, params)[1]
        record = {
            "mask": state.legal_action_mask,
            "player": state.current_player,
            "action": action,
            "board": after.board,
            "winner": after.winner,
            "reward": reward,
            "rewards": info["rewards"],
            "terminated": terminated,
        }
        return next_state, record

    @jax.jit
    def play(key):
        _, state = env.reset_batch(key, num_envs, params)
        return jax.lax.scan(body, state, jax.random.split(key, num_steps))[1]

    return jax.tree.map(np.asarray, play(jax.random.key(seed)))


@pytest.mark.parametrize(
    "env_id, num_envs, num_steps", [("TicTacToe-v0", 512, 48), ("ConnectFour-v0", 512, 112)]
)
def test_random_games_agree_with_a_plain_python_reference(env_id, num_envs, num_steps):
    env, _ = envs.make(env_id)
    record = _rollout(env, num_envs, num_steps, seed=0)
    # Zero-sum, the mover's reward first.
    rewards, player = record["rewards"], record["player"]
    np.testing.assert_array_equal(rewards.sum(-1), 0.0)
    np.testing.assert_array_equal(
        np.take_along_axis(rewards, player[..., None], -1)[..., 0], record["reward"]
    )
    games = 0
    for env_index in range(num_envs):
        game = REFERENCES[env_id]()
        for t in range(num_steps):
            assert list(record["mask"][t, env_index]) == game.legal(), (env_index, t)
            assert int(record["player"][t, env_index]) == game.player
            winner, terminated = game.play(int(record["action"][t, env_index]))
            assert record["board"][t, env_index].tolist() == game.board(), (env_index, t)
            assert int(record["winner"][t, env_index]) == winner, (env_index, t)
            assert bool(record["terminated"][t, env_index]) == terminated, (env_index, t)
            assert float(record["reward"][t, env_index]) == (winner >= 0)
            if terminated:
                games += 1
                game = REFERENCES[env_id]()
    assert games >= 2000


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_jit_equals_eager_and_vmap_equals_loop(env_id):
    env, params = envs.make(env_id)
    num_envs, num_steps = 3, 5
    keys = jax.random.split(jax.random.key(1), num_envs)
    states = env.reset_batch(jax.random.key(2), num_envs, params)[1]
    actions = jax.random.randint(jax.random.key(3), (num_steps, num_envs), 0, env.num_moves)
    batched = []
    step_batch = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    for t in range(num_steps):
        outputs = step_batch(keys, states, actions[t], params)
        batched.append(outputs)
        states = outputs[1]
    jitted_step = jax.jit(env.step)
    for i in range(num_envs):
        state = env.reset_batch(jax.random.key(2), num_envs, params)[1]
        state = _at(state, i)
        for t in range(num_steps):
            eager = env.step(keys[i], state, actions[t, i], params)
            jitted = jitted_step(keys[i], state, actions[t, i], params)
            chex_equal(eager, jitted)
            chex_equal(eager, _at(batched[t], i))
            state = eager[1]


def _at(tree, i):
    """Element i of every leaf's leading axis."""
    return jax.tree.map(lambda leaf: leaf[i], tree)


def chex_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
