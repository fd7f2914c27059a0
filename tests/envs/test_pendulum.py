"""Pendulum-v1 against Gymnasium's pendulum.py: one-step parity, whole x64 episodes, reset law."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl import envs
from jaxrl.envs.classic_control.pendulum import EnvState
from tests.envs.gym_reference import gym_env, gym_max_episode_steps

ENV_ID = "Pendulum-v1"


def _state(row, time=0):
    th, thdot = (jnp.asarray(v) for v in row)
    return EnvState(th=th, thdot=thdot).replace(
        time=jnp.int32(time), episode_return=jnp.float32(0.0)
    )


def _gym_steps(reference, rows, actions):
    next_states, obs, rewards = [], [], []
    for row, action in zip(rows, actions, strict=True):
        reference.state = np.asarray(row, np.float64)
        o, r, term, trunc, _ = reference.step(action)
        assert not term and not trunc
        next_states.append(reference.state)
        obs.append(o)
        rewards.append(r)
    return np.array(next_states), np.array(obs), np.array(rewards)


def _random_states_and_actions(num, seed):
    """Unwrapped angles over three turns, speeds up to the limit, torques up to twice it."""
    rng = np.random.default_rng(seed)
    rows = rng.uniform([-3 * np.pi, -8.0], [3 * np.pi, 8.0], size=(num, 2)).astype(np.float32)
    actions = rng.uniform(-4.0, 4.0, size=(num, 1)).astype(np.float32)
    return rows, actions


def test_one_step_parity_over_random_states_and_actions():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    rows, actions = _random_states_and_actions(3000, seed=0)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
    _, _, reward, terminated, truncated, info = step(
        jax.random.key(0), jax.vmap(_state)(rows), actions, params
    )
    next_states, obs, rewards = _gym_steps(reference, rows, actions)
    np.testing.assert_allclose(info["final_observation"], obs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reward, rewards, rtol=1e-5, atol=1e-5)
    assert not np.any(terminated) and not np.any(truncated)
    assert np.mean(np.abs(actions) > params.max_torque) > 0.4, "half the torques are clipped"
    assert np.mean(np.abs(next_states[:, 1]) == params.max_speed) > 0.01, "some speeds clip"


def test_out_of_box_torques_act_as_the_nearest_bound():
    env, params = envs.make(ENV_ID)
    state = _state(np.array([0.4, -1.5], np.float32))

    def step(u):
        _, _, reward, _, _, info = env.step(
            jax.random.key(0), state, jnp.array([u], jnp.float32), params
        )
        return np.append(info["final_observation"], reward)

    np.testing.assert_array_equal(step(5.0), step(2.0))
    np.testing.assert_array_equal(step(-30.0), step(-2.0))
    assert not np.array_equal(step(1.0), step(2.0))


def test_time_limit_matches_gymnasium_spec():
    env, params = envs.make(ENV_ID)
    assert params.max_steps == gym_max_episode_steps(ENV_ID) == 200
    step = jax.jit(env.step)
    for time, expect_truncated in [(198, False), (199, True)]:
        *_, terminated, truncated, info = step(
            jax.random.key(0), _state(np.zeros(2, np.float32), time), jnp.zeros(1), params
        )
        assert bool(truncated) == expect_truncated and not bool(terminated)
        assert int(info["episode_length"]) == time + 1


def test_whole_episodes_match_gymnasium_in_float64():
    reference = gym_env(ENV_ID)
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID)

        @jax.jit
        def run(state, actions):
            def one_step(state, inputs):
                key, action = inputs
                before = (state.th, state.thdot)
                obs, state, reward, terminated, truncated, info = env.step(
                    key, state, action, params
                )
                return state, (before, reward, terminated, truncated, info)

            keys = jax.random.split(jax.random.key(0), actions.shape[0])
            return jax.lax.scan(one_step, state, (keys, actions))[1]

        max_abs_speed = []
        for seed in range(4):
            reference.reset(seed=seed)
            start = reference.state.copy()
            # Float32 torques, as the action box holds; some outside it.
            actions = np.random.default_rng(seed).uniform(-3.0, 3.0, (params.max_steps, 1))
            actions = actions.astype(np.float32)
            expected_states, expected_obs, expected_rewards = [], [], []
            for action in actions:
                obs, reward, _, _, _ = reference.step(action)
                expected_states.append(reference.state)
                expected_obs.append(obs)
                expected_rewards.append(reward)
            befores, reward, terminated, truncated, info = run(_state(start), actions)
            # Each step's state is the next step's "before"; the last step auto-reset.
            states = np.stack(befores, -1)[1:]
            np.testing.assert_allclose(states, np.array(expected_states)[:-1], rtol=0, atol=1e-9)
            np.testing.assert_allclose(info["final_observation"], np.array(expected_obs), atol=1e-6)
            # Gymnasium's reward is a float64 of the float64 state; ours is cast to float32.
            np.testing.assert_allclose(reward, np.array(expected_rewards), rtol=1e-6, atol=1e-6)
            assert not np.any(terminated)
            last_step = np.arange(1, params.max_steps + 1) == params.max_steps
            np.testing.assert_array_equal(truncated, last_step)
            assert int(info["episode_length"][-1]) == params.max_steps
            max_abs_speed.append(np.abs(states[:, 1]).max())
        assert max(max_abs_speed) > 4.0, "some episode should swing hard"


def test_gravity_parameter_matches_gymnasiums_g():
    import gymnasium

    reference = gymnasium.make(ENV_ID, g=9.81).unwrapped
    rows, actions = _random_states_and_actions(500, seed=1)
    next_states, _, rewards = _gym_steps(reference, rows, actions)
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID, g=9.81)
        step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
        states = jax.vmap(_state)(rows.astype(np.float64))
        _, next_state, reward, *_ = step(jax.random.key(0), states, actions, params)
    got = np.stack([next_state.th, next_state.thdot], -1)
    np.testing.assert_allclose(got, next_states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(reward, rewards, rtol=1e-6)  # the base casts rewards to float32


def test_initial_state_distribution():
    env, params = envs.make(ENV_ID)
    keys = jax.random.split(jax.random.key(1), 20000)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    rows = np.stack([state.th, state.thdot], -1).astype(np.float64)
    assert np.all(np.abs(rows) <= [np.pi, 1.0])
    assert abs(rows[:, 0].mean()) < 0.05 and abs(rows[:, 1].mean()) < 0.015
    np.testing.assert_allclose(rows.var(0), [np.pi**2 / 3, 1 / 3], rtol=0.05)
    np.testing.assert_allclose(obs[:, 1], np.sin(rows[:, 0]), atol=1e-6)
    np.testing.assert_allclose(obs[:, 2], rows[:, 1], atol=1e-7)
    assert np.all(np.asarray(state.time) == 0)


def test_spaces_match_gymnasium():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    for space, gym_space in [
        (env.observation_space(params), reference.observation_space),
        (env.action_space(params), reference.action_space),
    ]:
        assert space.shape == gym_space.shape
        np.testing.assert_array_equal(np.broadcast_to(space.low, space.shape), gym_space.low)
        np.testing.assert_array_equal(np.broadcast_to(space.high, space.shape), gym_space.high)
