"""The episode table: the cliff walk's optimal path row by row as a lecture prints it, falls and
truncation, a recorded CartPole episode replayed step by step, action names, and errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.envs import gridworld
from jaxrl.envs.classic_control import cartpole
from jaxrl.envs.episode_table import record_episode

# The optimal cliff path, by hand: up from the start (3, 0), right along row 2, down into the
# goal (3, 11).
_EDGE_POLICY = np.full((4, 12), gridworld.RIGHT, np.int32)
_EDGE_POLICY[3, 0] = gridworld.UP
_EDGE_POLICY[:, 11] = gridworld.DOWN
_EDGE_POLICY = jnp.asarray(_EDGE_POLICY.reshape(-1))


def edge_policy(key, obs):
    return _EDGE_POLICY[jnp.argmax(obs)]


def always_right(key, obs):
    return jnp.int32(gridworld.RIGHT)


@pytest.fixture(scope="module")
def cliff():
    return envs.make("GridWorld-CliffWalking-v0")


def test_the_optimal_cliff_path_as_the_talk_prints_it(cliff):
    env, params = cliff
    table = record_episode(env, params, edge_policy, jax.random.key(0))
    lines = table.format().splitlines()
    assert lines[0] == "Pos(3,0), up, -1"
    assert lines[1:12] == [f"Pos(2,{col}), right, -1" for col in range(11)]
    assert lines[12] == "Pos(2,11), down, -1"
    assert lines[13] == "Pos(3,11): terminated after 13 steps, return -13"
    assert len(lines) == 14
    assert table.terminated and not table.truncated
    assert table.total_return == gridworld.optimal_return(params) == -13.0
    assert [row.action for row in table.rows[:2]] == [gridworld.UP, gridworld.RIGHT]
    assert table.rows[-1].terminated and not any(row.terminated for row in table.rows[:-1])


def test_falls_stay_in_the_episode_and_the_time_limit_truncates(cliff):
    env, params = cliff
    table = record_episode(env, params.replace(max_steps=5), always_right, jax.random.key(0))
    assert [(row.state, row.action_name, row.reward) for row in table.rows] == [
        ((3, 0), "right", -100.0)
    ] * 5
    assert table.truncated and not table.terminated
    assert table.final_state == (3, 0)  # every fall returns to the start
    assert table.format().splitlines()[-1] == "Pos(3,0): truncated after 5 steps, return -500"


def test_max_steps_cuts_the_recording_short(cliff):
    env, params = cliff
    # The same policy and length as above: the compiled recorder is reused.
    table = record_episode(env, params, always_right, jax.random.key(0), max_steps=5)
    assert len(table.rows) == 5 and not table.terminated and not table.truncated
    assert table.format().splitlines()[-1] == "Pos(3,0): not finished after 5 steps, return -500"


def test_long_tables_show_their_head_and_tail(cliff):
    env, params = cliff
    lines = record_episode(env, params, edge_policy, jax.random.key(0)).format(max_rows=4)
    assert lines.splitlines() == [
        "Pos(3,0), up, -1",
        "Pos(2,0), right, -1",
        "... (9 more steps)",
        "Pos(2,10), right, -1",
        "Pos(2,11), down, -1",
        "Pos(3,11): terminated after 13 steps, return -13",
    ]


def test_a_recorded_cartpole_episode_replays_step_by_step():
    env, params = envs.make("CartPole-v1")

    def policy(key, obs):  # lean with the pole, or at random
        return jnp.where(jax.random.uniform(key) < 0.3, jax.random.bernoulli(key), obs[2] > 0)

    table = record_episode(env, params, policy, jax.random.key(7))
    assert table.terminated and 8 <= len(table.rows) < 500
    assert {row.action_name for row in table.rows} <= {"left", "right"}
    # CartPole's observation is its whole state: replaying the recorded actions from the
    # recorded first observation must reproduce every later row, reward and the ending.
    x, x_dot, theta, theta_dot = (jnp.float32(v) for v in table.rows[0].state)
    state = cartpole.EnvState(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot)
    step = jax.jit(env.step_env)
    for t, row in enumerate(table.rows):
        obs, state, reward, terminated, _ = step(jax.random.key(0), state, row.action, params)
        expected = table.rows[t + 1].state if t + 1 < len(table.rows) else table.final_state
        np.testing.assert_allclose(obs, expected, rtol=1e-6, atol=1e-7)
        assert float(reward) == row.reward
        assert bool(terminated) == row.terminated
    line = table.format().splitlines()[0]
    assert line.startswith("obs(") and line.endswith(", 1")


def test_same_key_same_table_other_key_other_table(cliff):
    env, params = cliff
    slippery = params.replace(slip=0.5)  # the key now decides where the agent goes
    first = record_episode(env, slippery, edge_policy, jax.random.key(1))
    assert record_episode(env, slippery, edge_policy, jax.random.key(1)) == first
    assert record_episode(env, slippery, edge_policy, jax.random.key(2)) != first


def test_continuous_actions_print_their_values():
    env, params = envs.make("Pendulum-v1")
    table = record_episode(env, params, lambda key, obs: jnp.array([0.5]), jax.random.key(0), 2)
    assert [row.action_name for row in table.rows] == ["(0.500)", "(0.500)"]
    assert table.rows[0].action == (0.5,)


@pytest.mark.parametrize("max_steps", [0, -3, 2.5, True])
def test_bad_max_steps_is_a_one_line_error(cliff, max_steps):
    env, params = cliff
    with pytest.raises(ValueError, match="max_steps"):
        record_episode(env, params, edge_policy, jax.random.key(0), max_steps=max_steps)
