"""GridWorld: hand-worked moves, CliffWalking-v1 parity with Gymnasium, optimal returns, slip
frequency, layouts vmapped as data, jit == eager and the batched path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.envs import gridworld
from jaxrl.envs.gridworld import DOWN, LEFT, RIGHT, UP, EnvParams, EnvState, GridWorld
from tests.envs.gym_reference import gym_env, gym_max_episode_steps

NAMED_IDS = ["GridWorld-OpenRoom-v0", "GridWorld-FourRooms-v0", "GridWorld-CliffWalking-v0"]

# A 3x3 room with a wall in the middle:
#   S . .
#   . # .
#   . . G
WALLED_3X3 = ("S..", ".#.", "..G")


def _walled_env():
    params = EnvParams(
        layout=jnp.asarray(gridworld.parse_layout(WALLED_3X3)),
        step_reward=-1.0,
        goal_reward=5.0,
        max_steps=50,
    )
    return GridWorld(params), params


def _state(row, col, time=0):
    return EnvState(row=jnp.int32(row), col=jnp.int32(col)).replace(
        time=jnp.int32(time), episode_return=jnp.float32(0.0)
    )


@jax.jit
def _step(key, state, action, params):
    """One jitted `step` for any layout: a GridWorld's dynamics are all in its params, so the
    tests share this compiled program per grid shape."""
    return GridWorld(params).step(key, state, jnp.int32(action), params)


def _cell(obs, width):
    index = int(np.argmax(np.asarray(obs)))
    return divmod(index, width)


# (start, action, expected next cell, reward) on WALLED_3X3 with step -1 and goal +5.
WALLED_3X3_MOVES = [
    ((0, 0), UP, (0, 0), -1.0),  # top boundary
    ((0, 0), LEFT, (0, 0), -1.0),  # left boundary
    ((0, 0), RIGHT, (0, 1), -1.0),
    ((0, 0), DOWN, (1, 0), -1.0),
    ((0, 1), DOWN, (0, 1), -1.0),  # wall below
    ((1, 0), RIGHT, (1, 0), -1.0),  # wall to the right
    ((2, 1), UP, (2, 1), -1.0),  # wall above
    ((1, 2), LEFT, (1, 2), -1.0),  # wall to the left
    ((0, 2), RIGHT, (0, 2), -1.0),  # right boundary
    ((2, 0), DOWN, (2, 0), -1.0),  # bottom boundary
    ((1, 2), UP, (0, 2), -1.0),
    ((2, 1), LEFT, (2, 0), -1.0),
    ((1, 2), DOWN, (2, 2), 5.0),  # into the goal
    ((2, 1), RIGHT, (2, 2), 5.0),  # into the goal
]


def test_hand_worked_moves_on_a_walled_3x3():
    env, params = _walled_env()
    starts = np.array([start for start, *_ in WALLED_3X3_MOVES])
    actions = np.array([action for _, action, *_ in WALLED_3X3_MOVES])
    states = jax.vmap(_state)(starts[:, 0], starts[:, 1])
    step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
    obs, state, reward, terminated, truncated, info = step(
        jax.random.key(0), states, actions, params
    )
    position = np.asarray(env.position(state))
    for i, (start, action, expected, expected_reward) in enumerate(WALLED_3X3_MOVES):
        case = f"from {start} action {action}"
        into_goal = expected == (2, 2)
        assert _cell(info["final_observation"][i], 3) == expected, case
        assert float(reward[i]) == expected_reward, case
        assert bool(terminated[i]) == into_goal, case
        assert not bool(truncated[i]), case
        if into_goal:
            # Auto-reset: the returned state is the start of the next episode.
            assert tuple(position[i]) == (0, 0), case
            assert _cell(obs[i], 3) == (0, 0), case
            assert float(info["episode_return"][i]) == 5.0, case
        else:
            assert tuple(position[i]) == expected, case
            np.testing.assert_array_equal(obs[i], info["final_observation"][i], err_msg=case)


def test_reset_observation_is_a_one_hot_of_the_start():
    env, params = _walled_env()
    obs, state = env.reset(jax.random.key(3), params)
    np.testing.assert_array_equal(obs, np.eye(9, dtype=np.float32)[0])
    assert obs.dtype == jnp.float32
    assert bool(env.observation_space(params).contains(obs))
    assert tuple(np.asarray(env.position(state))) == (0, 0)
    assert int(state.time) == 0


def test_cliff_layout_matches_gymnasium():
    reference = gym_env("CliffWalking-v1")
    _, params = envs.make("GridWorld-CliffWalking-v0")
    layout = np.asarray(params.layout)
    assert layout.shape == reference.shape
    np.testing.assert_array_equal(layout == gridworld.CLIFF, reference._cliff)
    assert np.flatnonzero(layout.reshape(-1) == gridworld.START).tolist() == [
        reference.start_state_index
    ]
    assert np.flatnonzero(layout.reshape(-1) == gridworld.GOAL).tolist() == [reference.nS - 1]
    assert not np.any(layout == gridworld.WALL)


def test_cliff_one_step_parity_with_gymnasium_for_every_cell_and_action():
    reference = gym_env("CliffWalking-v1")
    env, params = envs.make("GridWorld-CliffWalking-v0")
    height, width = reference.shape
    cells = np.repeat(np.arange(height * width), 4)
    rows, cols, actions = cells // width, cells % width, np.tile(np.arange(4), height * width)
    states = jax.vmap(_state)(rows, cols)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
    _, _, reward, terminated, truncated, info = step(jax.random.key(0), states, actions, params)

    next_index = np.argmax(np.asarray(info["final_observation"]), axis=1)
    for i, (row, col, action) in enumerate(zip(rows, cols, actions, strict=True)):
        reference.s = row * width + col
        s, r, term, _, _ = reference.step(int(action))
        case = f"from ({row}, {col}) action {action}"
        assert (next_index[i], float(reward[i]), bool(terminated[i])) == (s, r, term), case
    assert not np.any(truncated)
    # From cells the walker can stand on, 10 step down into the cliff and 2 step sideways.
    standable = (rows < 3) | (cols == 0) | (cols == 11)
    assert np.sum(np.asarray(reward)[standable] == -100.0) == 10 + 2


def test_cliff_fall_costs_100_and_returns_to_start_without_ending():
    env, params = envs.make("GridWorld-CliffWalking-v0")
    _, state, reward, terminated, truncated, _ = _step(
        jax.random.key(0), _state(2, 5, time=7), DOWN, params
    )
    assert float(reward) == -100.0
    assert not bool(terminated) and not bool(truncated)
    assert tuple(np.asarray(env.position(state))) == (3, 0)
    assert int(state.time) == 8, "the fall does not start a new episode"
    assert float(state.episode_return) == -100.0


def test_cliff_random_episodes_match_gymnasium():
    reference = gym_env("CliffWalking-v1")
    env, params = envs.make("GridWorld-CliffWalking-v0", max_steps=10_000)
    step = jax.jit(env.step)
    _, state = env.reset(jax.random.key(0), params)
    reference.reset(seed=0)
    rng = np.random.default_rng(0)
    # Biased to the right so that some episodes reach the goal.
    actions = rng.choice(4, size=600, p=[0.2, 0.4, 0.2, 0.2])
    num_goals = 0
    for t, action in enumerate(actions):
        s, r, term, _, _ = reference.step(int(action))
        obs, state, reward, terminated, _, info = step(jax.random.key(t), state, action, params)
        assert int(np.argmax(info["final_observation"])) == s
        assert (float(reward), bool(terminated)) == (r, term)
        if term:
            num_goals += 1
            reference.reset()
            assert int(np.argmax(obs)) == reference.s
    assert num_goals >= 1


def test_time_limits():
    # Gymnasium registers CliffWalking-v1 without a time limit; GridWorld chooses 200.
    assert gym_max_episode_steps("CliffWalking-v1") is None
    limits = {env_id: envs.make(env_id)[1].max_steps for env_id in NAMED_IDS}
    assert limits == {
        "GridWorld-OpenRoom-v0": 100,
        "GridWorld-FourRooms-v0": 200,
        "GridWorld-CliffWalking-v0": 200,
    }
    env, params = envs.make("GridWorld-OpenRoom-v0")
    for time, expect_truncated in [(98, False), (99, True)]:
        *_, truncated, info = _step(jax.random.key(0), _state(2, 2, time), UP, params)
        assert bool(truncated) == expect_truncated
        assert int(info["episode_length"]) == time + 1


@pytest.mark.parametrize(
    "env_id, expected",
    [
        # 5x5 corner to corner: 4 downs and 4 rights, -1 each (the goal step too).
        ("GridWorld-OpenRoom-v0", -8.0),
        # (1, 1) to (11, 11): Manhattan distance 20, met via hallways (3, 6) then (7, 9).
        ("GridWorld-FourRooms-v0", -20.0),
        # Sutton & Barto Example 6.6: up, 11 rights, down.
        ("GridWorld-CliffWalking-v0", -13.0),
    ],
)
def test_optimal_return_of_named_layouts(env_id, expected):
    _, params = envs.make(env_id)
    assert gridworld.optimal_return(params) == expected


def test_optimal_return_follows_rewards_walls_and_time_limit():
    _, params = envs.make("GridWorld-OpenRoom-v0", goal_reward=10.0)
    # 7 steps at -1, then +10 into the goal.
    assert gridworld.optimal_return(params) == 3.0
    _, params = envs.make("GridWorld-CliffWalking-v0", max_steps=12)
    # The safe path needs 13 steps; within 12 the best is to wander without falling.
    assert gridworld.optimal_return(params) == -12.0
    # Walls force a detour:
    #   S # G
    #   . # .
    #   . . .
    # down 2, right 2, up 2 = 6 moves.
    params = EnvParams(layout=jnp.asarray(gridworld.parse_layout(("S#G", ".#.", "..."))))
    assert gridworld.optimal_return(params) == -6.0


def test_the_optimal_cliff_path_earns_the_optimal_return():
    env, params = envs.make("GridWorld-CliffWalking-v0")
    _, state = env.reset(jax.random.key(0), params)
    total = 0.0
    for action in [UP] + [RIGHT] * 11 + [DOWN]:
        _, state, reward, terminated, _, _ = _step(jax.random.key(0), state, action, params)
        total += float(reward)
    assert bool(terminated)
    assert total == gridworld.optimal_return(params) == -13.0


def test_slip_replaces_the_action_with_a_uniform_one():
    env, params = envs.make("GridWorld-OpenRoom-v0", slip=0.4)
    num = 10_000
    keys = jax.random.split(jax.random.key(1), num)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, None, None, None)))
    _, state, *_ = step(keys, _state(2, 2), RIGHT, params)
    moves = np.asarray(env.position(state)) - np.array([2, 2])
    deltas = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}
    frequency = {d: np.mean(np.all(moves == delta, axis=1)) for d, delta in deltas.items()}
    # Right: kept with 0.6, drawn with 0.4 / 4; others 0.1 each. Four standard errors.
    assert frequency["right"] == pytest.approx(0.7, abs=4 * np.sqrt(0.7 * 0.3 / num))
    for direction in ("up", "down", "left"):
        assert frequency[direction] == pytest.approx(0.1, abs=4 * np.sqrt(0.1 * 0.9 / num))
    _, state, *_ = step(keys, _state(2, 2), RIGHT, params.replace(slip=0.0))
    assert np.all(np.asarray(env.position(state)) == np.array([2, 3]))


def test_layouts_vmap_as_data_in_one_compiled_call():
    env, _ = _walled_env()
    # Same shape, different walls: moving right from the start is blocked only in `blocked`.
    open_ = EnvParams(layout=jnp.asarray(gridworld.parse_layout(("S..", "...", "..G"))))
    blocked = EnvParams(layout=jnp.asarray(gridworld.parse_layout(("S#.", "...", "..G"))))
    moved = EnvParams(layout=jnp.asarray(gridworld.parse_layout(("...", "S..", ".G."))))
    batch = jax.tree.map(lambda *leaves: jnp.stack(leaves), open_, blocked, moved)
    traces = []

    def reset_and_step(key, params):
        traces.append(1)
        _, state = env.reset(key, params)
        return env.step(key, state, RIGHT, params)

    run = jax.jit(jax.vmap(reset_and_step, in_axes=(None, 0)))
    obs, state, reward, terminated, *_ = run(jax.random.key(0), batch)
    np.testing.assert_array_equal(env.position(state), [[0, 1], [0, 0], [1, 1]])
    np.testing.assert_array_equal(reward, [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(terminated, [False, False, False])
    np.testing.assert_array_equal(np.argmax(obs, axis=1), [1, 0, 4])
    # Another set of layouts of the same shape reuses the compiled program.
    other = jax.tree.map(lambda *leaves: jnp.stack(leaves), blocked, moved, open_)
    run(jax.random.key(0), other)
    assert len(traces) == 1


def test_jit_matches_eager():
    env, params = envs.make("GridWorld-FourRooms-v0", slip=0.3)
    actions = np.random.default_rng(2).integers(0, 4, size=12)

    def rollout(step):
        _, state = env.reset(jax.random.key(0), params)
        outputs = []
        for t, action in enumerate(actions):
            obs, state, reward, terminated, truncated, _ = step(
                jax.random.key(t), state, action, params
            )
            outputs.append((obs, env.position(state), reward, terminated, truncated))
        return outputs

    for eager, jitted in zip(rollout(env.step), rollout(jax.jit(env.step)), strict=True):
        for a, b in zip(eager, jitted, strict=True):
            np.testing.assert_array_equal(a, b)


def test_step_batch_runs_slippery_episodes():
    env, params = envs.make("GridWorld-OpenRoom-v0", slip=0.2, max_steps=30)
    num_envs = 32
    _, state = env.reset_batch(jax.random.key(0), num_envs, params)
    step_batch = jax.jit(env.step_batch)
    # Mostly down and right, so that episodes reach the goal.
    actions = np.random.default_rng(0).choice(4, size=(60, num_envs), p=[0.1, 0.4, 0.4, 0.1])
    outputs = []
    for t, action in enumerate(actions.astype(np.int32)):
        obs, state, reward, terminated, truncated, info = step_batch(
            jax.random.key(t), state, action, params
        )
        outputs.append((obs, env.position(state), reward, terminated, truncated, info))
    obs, position, reward, terminated, truncated, info = jax.tree.map(
        lambda *leaves: np.stack(leaves), *outputs
    )
    done = terminated | truncated
    assert np.all((position >= 0) & (position < 5))
    np.testing.assert_array_equal(np.argmax(obs, axis=-1), position[..., 0] * 5 + position[..., 1])
    assert np.all(position[done] == 0), "every finished episode restarts at (0, 0)"
    assert terminated.sum() > num_envs
    # Every step pays -1, the goal step too: an episode's return is minus its length.
    np.testing.assert_array_equal(info["episode_return"][done], -info["episode_length"][done])
    assert np.all(info["episode_length"][terminated] >= 8)
    assert np.all(reward == -1.0)
    # Each env gets its own step key: identical states and actions diverge under slip.
    same = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (num_envs, *leaf.shape)), _state(2, 2))
    _, stepped, *_ = step_batch(
        jax.random.key(2), same, np.full(num_envs, RIGHT, np.int32), params.replace(slip=1.0)
    )
    assert len({tuple(p) for p in np.asarray(env.position(stepped))}) > 1


def test_make_overrides_replace_params_fields():
    env, params = envs.make("GridWorld-OpenRoom-v0", slip=0.1, goal_reward=2.0)
    assert params.slip == 0.1 and params.goal_reward == 2.0
    np.testing.assert_array_equal(params.layout, env.default_params.layout)
    assert env.name == "GridWorld-OpenRoom-v0"
    with pytest.raises(ValueError, match="no parameter 'slipp'"):
        envs.make("GridWorld-OpenRoom-v0", slipp=0.1)
    corridor = gridworld.parse_layout(("S...G", ".....", ".....", ".....", "....."))
    _, params = envs.make("GridWorld-OpenRoom-v0", layout=corridor)
    assert gridworld.optimal_return(params) == -4.0


def test_parse_layout_rejects_malformed_layouts():
    with pytest.raises(ValueError, match="equal lengths"):
        gridworld.parse_layout(("S..", "..G."))
    with pytest.raises(ValueError, match="Unknown layout characters"):
        gridworld.parse_layout(("S.x", "..G"))
    with pytest.raises(ValueError, match="exactly one start"):
        gridworld.parse_layout(("S.S", "..G"))


def test_out_of_range_actions_are_clipped_to_the_nearest_action():
    env, params = envs.make("GridWorld-OpenRoom-v0")
    step = lambda a: env.position(_step(jax.random.key(0), _state(2, 2), a, params)[1])
    np.testing.assert_array_equal(step(-3), step(UP))
    np.testing.assert_array_equal(step(9), step(LEFT))


def test_runs_under_x64():
    with jax.enable_x64(True):
        env, params = envs.make("GridWorld-CliffWalking-v0", slip=0.5)
        obs, state = env.reset(jax.random.key(0), params)
        obs, state, reward, *_ = jax.jit(env.step)(jax.random.key(1), state, UP, params)
        assert obs.dtype == jnp.float32 and obs.shape == (48,)
        assert env.position(state).dtype == jnp.int32
        assert reward.dtype == jnp.float32
