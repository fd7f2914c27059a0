"""Self-play PPO: the versus env (seats, the opponent's replies and their rewards), the masked
policy, the league's ring, config validation, the invariants (jit == no-jit, vmap == loop, same
key => same result, chunks == one call) and learning Tic-tac-toe (slow)."""

import chex
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import selfplay
from jaxrl.agents.selfplay import ladder
from jaxrl.agents.selfplay.networks import (
    ILLEGAL_LOGIT,
    learner_observation,
    make_agent,
    mirror_augment,
    window_indices,
)
from jaxrl.agents.selfplay.train import League
from jaxrl.agents.selfplay.versus import Versus
from jaxrl.envs.games.core import TwoPlayerGame

#: Four updates of 8 games x 4 learner moves, a 16-unit network, a snapshot every update.
TINY = selfplay.SelfPlayConfig(
    total_timesteps=8 * 4 * 4,
    num_envs=8,
    num_steps=4,
    update_epochs=2,
    num_minibatches=2,
    hidden_sizes=(16,),
    activation="relu",
    gamma=1.0,
    league_size=3,
    snapshot_interval=1,
)


@pytest.fixture(scope="module")
def game():
    return envs.make("TicTacToe-v0")[0]


@pytest.fixture(scope="module")
def versus(game):
    return Versus(game, make_agent(TINY, game))


@pytest.fixture(scope="module")
def tiny_train(game):
    return jax.jit(selfplay.make_train(TINY, game))


def _at(tree, i):
    return jax.tree.map(lambda leaf: leaf[i], tree)


def test_the_opponent_opens_when_the_learner_takes_the_second_seat(versus):
    params = versus.params_for(jnp.zeros((3, versus.agent.flat.size)), jnp.int32(2))
    obs, states = jax.jit(jax.vmap(versus.reset, in_axes=(0, None)))(
        jax.random.split(jax.random.key(0), 200), params
    )
    seats = np.asarray(states.seat)
    pieces = np.asarray(states.game.board != 0).reshape(200, -1).sum(axis=1)
    assert 60 < seats.sum() < 140  # both seats, about half each
    np.testing.assert_array_equal(pieces, seats)  # one opponent piece when it opened
    np.testing.assert_array_equal(np.asarray(states.game.current_player), seats)
    # The learner sees its legal moves at the end of its observation.
    empty = np.asarray(states.game.board).reshape(200, -1) == 0
    np.testing.assert_array_equal(np.asarray(obs[:, -9:]), empty)
    # Opponents come from the filled slots only (2 of them here).
    assert set(np.asarray(states.opponent).tolist()) == {0, 1}


def test_a_step_is_the_learners_move_then_the_opponents_reply(game, versus):
    params = versus.default_params
    _, state = versus.reset(jax.random.key(3), params)
    state = state.replace(seat=jnp.int32(0), game=game.reset(jax.random.key(0))[1])
    _, after, reward, terminated, truncated, _ = jax.jit(versus.step_without_reset)(
        jax.random.key(1), state, 4, params
    )
    board = np.asarray(after.game.board).reshape(-1)
    assert board[4] == 1 and (board == 2).sum() == 1  # our piece, and one reply
    assert float(reward) == 0.0 and not bool(terminated) and not bool(truncated)
    assert int(after.game.current_player) == 0


def test_rewards_are_the_learners_for_its_win_and_for_the_opponents(game, versus):
    params = versus.default_params
    # X (the learner, seat 0) to play cell 2 and win: [X X .] / [O O .] / [. . .].
    board = jnp.asarray([[1, 1, 0], [2, 2, 0], [0, 0, 0]], jnp.int8)
    game_state = game.reset(jax.random.key(0))[1].replace(
        board=board, legal_action_mask=game.legal_moves(board)
    )
    state = versus.reset(jax.random.key(0), params)[1].replace(game=game_state, seat=jnp.int32(0))
    step = jax.jit(jax.vmap(versus.step_without_reset, in_axes=(0, None, None, None)))
    _, _, reward, terminated, _, _ = step(jax.random.split(jax.random.key(0), 1), state, 2, params)
    assert float(reward[0]) == 1.0 and bool(terminated[0])
    # The learner plays elsewhere; a random opponent completes its row in some replies: every
    # game that ends then is the learner's loss, -1.
    keys = jax.random.split(jax.random.key(1), 400)
    _, after, rewards, ended, _, _ = step(keys, state, 8, params)
    lost = np.asarray(after.game.winner) == 1
    assert 0 < lost.sum() < 400
    np.testing.assert_array_equal(np.asarray(rewards), np.where(lost, -1.0, 0.0))
    np.testing.assert_array_equal(np.asarray(ended), lost)


def test_the_masked_policy_puts_no_mass_on_illegal_moves(game, versus):
    agent = versus.agent
    params = agent.unravel(jax.random.normal(jax.random.key(0), (agent.flat.size,)))
    board = jnp.asarray([[1, 2, 1], [0, 2, 0], [0, 0, 1]], jnp.int8)
    state = game.reset(jax.random.key(0))[1].replace(
        board=board, legal_action_mask=game.legal_moves(board)
    )
    obs = learner_observation(game, state)
    policy, _ = agent.network.apply(params, obs)
    legal = np.asarray(state.legal_action_mask)
    np.testing.assert_array_equal(np.asarray(policy.logits)[~legal], ILLEGAL_LOGIT)
    probs = np.asarray(jax.nn.softmax(policy.logits))
    assert probs[~legal].sum() == 0.0 and np.isfinite(float(policy.entropy()))
    samples = jax.vmap(policy.sample)(jax.random.split(jax.random.key(1), 500))
    assert legal[np.asarray(samples)].all()


def test_the_league_is_a_ring_of_snapshots():
    league = League.create(3, 2)
    for value in (1.0, 2.0, 3.0):
        league = league.add_if(jnp.bool_(True), jnp.full(2, value))
        league = league.add_if(jnp.bool_(False), jnp.full(2, -value))
    # The random player (zeros) stays in slot 0; snapshots cycle through the others.
    np.testing.assert_array_equal(np.asarray(league.params[:, 0]), [0.0, 3.0, 2.0])
    assert int(league.count) == 3 and int(league.snapshots) == 3


def test_every_game_has_a_tuned_config():
    games = [i for i in envs.registered() if isinstance(envs.make(i)[0], TwoPlayerGame)]
    assert sorted(selfplay.tuned_env_ids()) == sorted(games) == ["ConnectFour-v0", "TicTacToe-v0"]
    for game_id in games:
        config = selfplay.default_config(game_id)
        assert config.replace() == config and config.num_updates >= 1


def test_bad_settings_fail_before_compiling(game):
    with pytest.raises(ValueError, match="league_size=0: must be a positive integer"):
        TINY.replace(league_size=0)
    with pytest.raises(ValueError, match="league_size=1: keep at least 2"):
        TINY.replace(league_size=1)
    with pytest.raises(ValueError, match="normalize_rewards=False"):
        TINY.replace(normalize_rewards=True)
    with pytest.raises(ValueError, match="needs a two-player game"):
        selfplay.make_train(TINY, envs.make("CartPole-v1")[0])
    with pytest.raises(ValueError, match="no tuned config"):
        selfplay.default_config("CartPole-v1")


def test_metrics_and_the_league_fill_up(tiny_train):
    result = tiny_train(jax.random.key(0))
    assert result.metrics["episode_return"].shape == (TINY.num_updates,)
    np.testing.assert_array_equal(np.asarray(result.metrics["league_count"]), [2, 3, 3, 3])
    assert int(result.league.snapshots) == TINY.num_updates


def test_same_key_same_result(tiny_train):
    chex.assert_trees_all_equal(tiny_train(jax.random.key(2)), tiny_train(jax.random.key(2)))


@pytest.mark.slow
def test_jit_equals_no_jit(game, tiny_train):
    eager = selfplay.make_train(TINY, game)(jax.random.key(2))
    jitted = tiny_train(jax.random.key(2))
    chex.assert_trees_all_close(jitted.params, eager.params, rtol=1e-4, atol=1e-5)


def test_vmap_over_seeds_equals_separate_runs(game, tiny_train):
    keys = jax.random.split(jax.random.key(0), 2)
    batched = jax.jit(jax.vmap(selfplay.make_train(TINY, game)))(keys)
    for i in range(2):
        single = tiny_train(keys[i])
        chex.assert_trees_all_close(_at(batched.params, i), single.params, rtol=1e-4, atol=1e-5)
        chex.assert_trees_all_close(_at(batched.league, i), single.league, rtol=1e-4, atol=1e-5)


def test_chunks_compute_what_one_call_computes(game, tiny_train):
    init = jax.jit(selfplay.make_init(TINY, game))
    run = jax.jit(selfplay.make_run_updates(TINY, game, num_updates=2))
    runner = init(jax.random.key(5))
    runner, _ = run(runner)
    runner, _ = run(runner)
    whole = tiny_train(jax.random.key(5))
    chex.assert_trees_all_close(
        runner.learner.params, whole.runner_state.learner.params, rtol=1e-5, atol=1e-6
    )


def test_a_trained_player_plays_only_legal_moves(game, tiny_train):
    result = tiny_train(jax.random.key(0))
    board = jnp.asarray([[1, 2, 1], [0, 2, 0], [0, 0, 1]], jnp.int8)
    state = game.reset(jax.random.key(0))[1].replace(
        board=board, current_player=jnp.int32(1), legal_action_mask=game.legal_moves(board)
    )
    keys = jax.random.split(jax.random.key(1), 200)
    for temperature in (0.0, 1.0):
        player = selfplay.make_player(TINY, game, result.params, temperature=temperature)
        actions = jax.jit(jax.vmap(player, in_axes=(0, None)))(keys, state)
        assert np.asarray(state.legal_action_mask)[np.asarray(actions)].all()
    with pytest.raises(ValueError, match="temperature"):
        selfplay.make_player(TINY, game, result.params, temperature=-1.0)


@pytest.mark.slow
def test_self_play_learns_tic_tac_toe_against_the_solver(game):
    """Half the default's budget already all but stops losing to the exact solver (the full
    default never lost a game to it on 16 seeds: `experiments/selfplay.py`, docs/games.md)."""
    config = selfplay.default_config("TicTacToe-v0").replace(total_timesteps=750_000)
    result = jax.jit(selfplay.make_train(config, game))(jax.random.key(0))
    player = selfplay.make_player(config, game, result.params)

    def match(rung, key):
        return ladder.play_games(game, player, rung, key, 1000)

    against_solver = jax.jit(match, static_argnums=0)(ladder.solver_player(game), jax.random.key(1))
    against_random = jax.jit(match, static_argnums=0)(ladder.random_player(game), jax.random.key(2))
    assert float(against_solver.loss_rate) <= 0.02, against_solver
    assert float(against_random.loss_rate) <= 0.01 and float(against_random.win_rate) >= 0.8


def test_the_convolution_sees_the_board_and_keeps_the_mask():
    game = envs.make("ConnectFour-v0")[0]
    config = TINY.replace(conv_features=4)
    agent = make_agent(config, game)
    params = agent.unravel(
        agent.flat.init_from_bits(jax.random.bits(jax.random.key(0), (agent.flat.size,)))
    )
    kernel = params["params"]["conv"]["kernel"]
    assert kernel.shape == (4 * 4 * 2, 4)
    # He's scale over the window and both planes, like every hidden layer.
    assert float(jnp.std(kernel)) == pytest.approx(np.sqrt(2.0 / 32), rel=0.3)
    # Window 0 is the top-left 4x4 block, window 11 the bottom-right one.
    windows = window_indices((6, 7), (4, 4))
    assert windows.shape == (12, 32) and windows[0, :2].tolist() == [0, 1]
    assert windows[11, -1] == (5 * 7 + 6) * 2 + 1
    board = jnp.zeros((6, 7), jnp.int8).at[:, 3].set(jnp.asarray([1, 2, 1, 2, 1, 2], jnp.int8))
    state = game.reset(jax.random.key(0))[1].replace(
        board=board, legal_action_mask=game.legal_moves(board)
    )
    obs = learner_observation(game, state)
    policy, value = agent.network.apply(params, obs)
    assert np.asarray(policy.logits)[3] == ILLEGAL_LOGIT and np.isfinite(float(value))
    other = learner_observation(game, state.replace(board=board.at[5, 0].set(1)))
    assert float(agent.network.apply(params, other)[1]) != float(value)  # the board matters


@pytest.mark.parametrize("game_id", ["TicTacToe-v0", "ConnectFour-v0"])
def test_the_mirror_symmetric_network_plays_the_mirror_image_the_mirrored_way(game_id):
    game = envs.make(game_id)[0]
    agent = make_agent(TINY.replace(mirror_symmetric=True), game)
    params = agent.unravel(jax.random.normal(jax.random.key(0), (agent.flat.size,)))
    # A random legal position and its left-right mirror image, by playing mirrored moves.
    moves = np.asarray(game.mirrored_moves)
    state = mirror = game.reset(jax.random.key(0))[1]
    for key in jax.random.split(jax.random.key(1), 3):
        move = ladder.uniform_choice(key, state.legal_action_mask)
        state = game.step_without_reset(key, state, move, game.default_params)[1]
        mirror = game.step_without_reset(key, mirror, moves[int(move)], game.default_params)[1]
    np.testing.assert_array_equal(np.asarray(mirror.board), np.asarray(state.board)[:, ::-1])
    policy, value = agent.network.apply(params, learner_observation(game, state))
    mirrored_policy, mirrored_value = agent.network.apply(params, learner_observation(game, mirror))
    np.testing.assert_allclose(
        np.asarray(mirrored_policy.logits)[moves], np.asarray(policy.logits), rtol=1e-5
    )
    assert float(mirrored_value) == pytest.approx(float(value), rel=1e-5)
    # Without the option the same parameters tell the two apart.
    plain = make_agent(TINY, game).network.apply(params, learner_observation(game, state))[0]
    assert not np.allclose(np.asarray(plain.logits), np.asarray(policy.logits))
    with pytest.raises(ValueError, match="mirror_symmetric=1: use True or False"):
        TINY.replace(mirror_symmetric=1)


def test_mirror_augmentation_mirrors_the_flagged_transitions_only():
    game = envs.make("ConnectFour-v0")[0]
    augment = mirror_augment(game)
    state = game.reset(jax.random.key(0))[1]
    for move in (0, 0, 3):
        state = game.step_without_reset(jax.random.key(0), state, move, game.default_params)[1]
    obs = learner_observation(game, state)
    batch = {
        "obs": jnp.stack([obs, obs]),
        "action": jnp.asarray([1, 5], jnp.int32),
        "log_prob": jnp.asarray([-0.5, -1.5]),
        "advantage": jnp.asarray([1.0, -1.0]),
    }
    out = augment(batch, jnp.asarray([2, 7], jnp.uint32))  # low bits 0 and 1
    np.testing.assert_array_equal(np.asarray(out["obs"][0]), np.asarray(obs))
    mirrored_board = np.asarray(state.board)[:, ::-1]
    mirror_state = state.replace(
        board=jnp.asarray(mirrored_board), legal_action_mask=game.legal_moves(mirrored_board)
    )
    np.testing.assert_array_equal(
        np.asarray(out["obs"][1]), np.asarray(learner_observation(game, mirror_state))
    )
    assert out["action"].tolist() == [1, 6 - 5]
    for name in ("log_prob", "advantage"):
        np.testing.assert_array_equal(np.asarray(out[name]), np.asarray(batch[name]))


@pytest.mark.slow  # a sweep or chunked runs, compiled: the whole suite's
def test_a_run_with_mirror_augmentation_is_a_run_of_its_own(game, tiny_train):
    augmented = jax.jit(selfplay.make_train(TINY.replace(mirror_augment=True), game))(
        jax.random.key(0)
    )
    plain = tiny_train(jax.random.key(0))
    # The same rollouts until the first update differs: the first update's games are played
    # by the same initial network.
    np.testing.assert_array_equal(
        np.asarray(augmented.metrics["episode_return"][0]),
        np.asarray(plain.metrics["episode_return"][0]),
    )
    assert not np.allclose(
        np.asarray(jax.flatten_util.ravel_pytree(augmented.params)[0]),
        np.asarray(jax.flatten_util.ravel_pytree(plain.params)[0]),
    )
