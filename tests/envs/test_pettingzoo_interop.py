"""The PettingZoo adapter: PettingZoo's API and seed tests on every registered game, games played
move for move against jaxrl's own `step` and against PettingZoo's own classic games, golden
tic-tac-toe games worked by hand, and that `import jaxrl` never imports PettingZoo."""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import chex
import jax
import numpy as np
import pytest

pettingzoo = pytest.importorskip("pettingzoo")

with warnings.catch_warnings():
    # pettingzoo.test imports connect_four_v3 by the path that PettingZoo itself deprecates.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pettingzoo.test import api_test, seed_test

from jaxrl import envs  # noqa: E402
from jaxrl.envs.games.core import PIECE_COLORS, TwoPlayerGame  # noqa: E402
from jaxrl.envs.games.tic_tac_toe import TicTacToe  # noqa: E402
from jaxrl.envs.pettingzoo_interop import AGENTS, GameAECEnv, make_aec  # noqa: E402

GAME_IDS = [
    env_id for env_id in envs.registered() if isinstance(envs.make(env_id)[0], TwoPlayerGame)
]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "games.md"
#: PettingZoo's own version of a jaxrl game (tictactoe_v3, connect_four_v3), by module in
#: `pettingzoo.classic` (the `*_v3` modules warn that their import path is deprecated).
PETTINGZOO_CLASSIC = {
    "TicTacToe-v0": "tictactoe.tictactoe",
    "ConnectFour-v0": "connect_four.connect_four",
}

# PettingZoo's API test warns of what a game is: dict observations (it exempts its own games by
# name), an empty board at the start, no legal move once a game has ended.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Observation is not a NumPy array"),
    pytest.mark.filterwarnings("ignore:Observation space for each agent probably should be"),
    pytest.mark.filterwarnings("ignore:Observation numpy array is all zeros"),
    pytest.mark.filterwarnings("ignore:Action mask numpy array is all zeros"),
]


def test_the_registered_games_include_tic_tac_toe():
    assert "TicTacToe-v0" in GAME_IDS


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_passes_pettingzoos_api_test(env_id):
    api_test(make_aec(env_id), num_cycles=300)


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_passes_pettingzoos_seed_test(env_id):
    seed_test(lambda: make_aec(env_id), num_cycles=100)


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_games_agree_move_for_move_with_jaxrl_step(env_id):
    """Random games, some ended by an illegal move, through the adapter and jaxrl's own
    auto-resetting `step`: observations, masks, rewards and terminations match every move."""
    game, params = envs.make(env_id)
    step = jax.jit(game.step)
    obs, state = game.reset(jax.random.key(0), params)
    env = make_aec(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    endings = set()
    for _ in range(12):
        terminated = False
        while not terminated:
            player = int(state.current_player)
            agent, other = AGENTS[player], AGENTS[1 - player]
            assert env.agent_selection == agent
            seen, unseen = env.observe(agent), env.observe(other)
            np.testing.assert_array_equal(seen["observation"], obs)
            np.testing.assert_array_equal(unseen["observation"], np.asarray(obs)[..., ::-1])
            np.testing.assert_array_equal(seen["action_mask"], state.legal_action_mask)
            assert not unseen["action_mask"].any()
            mask = np.asarray(state.legal_action_mask)
            illegal = rng.random() < 0.05 and not mask.all()
            action = int(rng.choice(np.flatnonzero(~mask if illegal else mask)))
            obs, state, reward, terminated, _, info = step(jax.random.key(1), state, action, params)
            env.step(action)
            assert env.rewards == dict(zip(AGENTS, info["rewards"].tolist(), strict=True))
            assert env.rewards[agent] == float(reward)
            assert env.terminations == dict.fromkeys(AGENTS, bool(terminated))
            assert env.truncations == dict.fromkeys(AGENTS, False)
        endings.add("illegal" if illegal else ("win" if reward else "draw"))
        if illegal:
            assert env.rewards == {agent: -1.0, other: 1.0}
        final = dict(env.rewards)
        for _ in AGENTS:
            _, cumulative, done, _, _ = env.last()
            assert done and not env.observe(env.agent_selection)["action_mask"].any()
            assert cumulative == final[env.agent_selection]
            env.step(None)
        assert env.agents == []
        env.reset()
    assert {"illegal", "win"} <= endings


@pytest.mark.parametrize("env_id", sorted(set(GAME_IDS) & set(PETTINGZOO_CLASSIC)))
def test_legal_games_agree_move_for_move_with_pettingzoos_own(env_id):
    """PettingZoo's own game, its agents taken in order, sees the same boards, masks, rewards
    and terminations for the same moves (its illegal moves are an assertion, so legal ones)."""
    classic = pytest.importorskip(f"pettingzoo.classic.{PETTINGZOO_CLASSIC[env_id]}")
    reference = classic.raw_env()
    env = make_aec(env_id)
    rng = np.random.default_rng(1)
    for _ in range(6):
        env.reset(seed=0)
        reference.reset(seed=0)
        while True:
            player = reference.agents.index(reference.agent_selection)
            assert env.agent_selection == AGENTS[player]
            for theirs, ours in zip(reference.agents, AGENTS, strict=True):
                expected, seen = reference.observe(theirs), env.observe(ours)
                np.testing.assert_array_equal(seen["observation"], expected["observation"])
                assert seen["observation"].dtype == expected["observation"].dtype
                np.testing.assert_array_equal(seen["action_mask"], expected["action_mask"])
            action = int(rng.choice(np.flatnonzero(env.observe(AGENTS[player])["action_mask"])))
            env.step(action)
            reference.step(action)
            assert list(env.rewards.values()) == list(reference.rewards.values())
            assert list(env.terminations.values()) == list(reference.terminations.values())
            if any(env.terminations.values()):
                break


@pytest.mark.parametrize(
    "moves, rewards",
    [
        ([0, 3, 1, 4, 2], (1.0, -1.0)),  # player_0 takes the top row
        ([0, 3, 1, 4, 8, 5], (-1.0, 1.0)),  # player_1 takes the middle row
        ([0, 1, 2, 4, 3, 5, 7, 6, 8], (0.0, 0.0)),  # a full board: a draw
        ([4, 4], (1.0, -1.0)),  # player_1 plays an occupied cell and loses
    ],
)
def test_tic_tac_toe_games_worked_by_hand(moves, rewards):
    env = make_aec("TicTacToe-v0")
    env.reset(seed=0)
    for i, move in enumerate(moves):
        assert env.agent_selection == AGENTS[i % 2]
        assert env.last()[1:4] == (0.0, False, False)
        env.step(move)
    assert env.rewards == dict(zip(AGENTS, rewards, strict=True))
    # The player after the last mover is asked first, then the last mover; each leaves with None.
    loser_first = [AGENTS[len(moves) % 2], AGENTS[(len(moves) + 1) % 2]]
    for agent in loser_first:
        assert env.agent_selection == agent
        assert env.last()[1:3] == (rewards[AGENTS.index(agent)], True)
        with pytest.raises(ValueError, match="only valid action is None"):
            env.step(0)
        env.step(None)
    assert env.agents == []


def test_observations_are_egocentric_for_each_agent():
    env = make_aec("TicTacToe-v0")
    env.reset(seed=0)
    env.step(4)  # player_0 in the centre
    env.step(0)  # player_1 in the top-left corner
    for agent, own, theirs in (("player_0", 4, 0), ("player_1", 0, 4)):
        planes = env.observe(agent)["observation"].reshape(9, 2)
        assert planes[:, 0].tolist() == [int(cell == own) for cell in range(9)]
        assert planes[:, 1].tolist() == [int(cell == theirs) for cell in range(9)]
    assert env.observe("player_0")["action_mask"].tolist() == [0, 1, 1, 1, 0, 1, 1, 1, 1]
    assert not env.observe("player_1")["action_mask"].any()


def test_each_move_is_one_call_compiled_once():
    game = TicTacToe()
    game.step_without_reset = chex.assert_max_traces(game.step_without_reset, n=1)
    env = make_aec(game)
    for seed in range(2):
        env.reset(seed=seed)
        for move in (np.int64(0), 3, np.int32(1), 4, 2):
            env.step(move)
        assert all(env.terminations.values())


def test_render_is_the_games_frame():
    game, params = envs.make("TicTacToe-v0")
    env = make_aec(game, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(4)
    frame = env.render()
    _, state = game.reset(jax.random.key(0), params)
    expected = jax.jit(game.render)(state.replace(board=state.board.at[1, 1].set(1)), params)
    np.testing.assert_array_equal(frame, expected)
    assert frame.dtype == np.uint8 and frame.shape == (144, 144, 3)
    assert tuple(frame[72, 72]) == PIECE_COLORS[0]  # player_0's piece in the centre cell
    env.close()
    without = make_aec("TicTacToe-v0")
    without.reset()
    assert without.render() is None


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="not a two-player game: use one of .*TicTacToe-v0"):
        make_aec("CartPole-v1")
    with pytest.raises(ValueError, match="not a TwoPlayerGame"):
        GameAECEnv(envs.make("CartPole-v1")[0])
    with pytest.raises(ValueError, match="render 'rgb_array' only"):
        make_aec("TicTacToe-v0", render_mode="human")
    env = make_aec("TicTacToe-v0")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    for action in (9, -1, 1.5):
        with pytest.raises(ValueError, match=r"give an int in \[0, 9\)"):
            env.step(action)


def test_the_docs_example_runs_as_written():
    section = DOCS.read_text().split("## PettingZoo\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict = {}
    exec(compile(block, str(DOCS), "exec"), namespace)
    assert namespace["env"].agents == []
    assert namespace["frame"].shape == (192, 224, 3)


def test_import_jaxrl_and_its_envs_imports_no_pettingzoo():
    code = (
        "import sys, jaxrl, jaxrl.envs; jaxrl.envs.make('TicTacToe-v0'); "
        "print('pettingzoo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
