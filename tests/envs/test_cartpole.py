"""CartPole-v1 against Gymnasium's cartpole.py: one-step parity, whole x64 episodes, reset law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.envs.classic_control.cartpole import EnvState
from tests.envs.gym_reference import gym_env, gym_max_episode_steps, near_boundary

ENV_ID = "CartPole-v1"


def _state(row, time=0):
    x, x_dot, theta, theta_dot = (jnp.asarray(v) for v in row)
    return EnvState(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot).replace(
        time=jnp.int32(time), episode_return=jnp.float32(0.0)
    )


def test_one_step_parity_over_random_states_and_actions():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    rng = np.random.default_rng(0)
    num = 3000
    bounds = np.array([2.6, 3.0, 0.25, 3.5])
    rows = rng.uniform(-bounds, bounds, size=(num, 4)).astype(np.float32)
    actions = rng.integers(0, 2, size=num)

    states = jax.vmap(_state)(rows)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
    _, _, reward, terminated, truncated, info = step(jax.random.key(0), states, actions, params)

    expected_obs, expected_reward, expected_terminated = [], [], []
    for row, action in zip(rows, actions, strict=True):
        reference.state = row.astype(np.float64)
        obs, r, term, trunc, _ = reference.step(int(action))
        reference.steps_beyond_terminated = None
        expected_obs.append(obs)
        expected_reward.append(r)
        expected_terminated.append(term)
        assert not trunc
    np.testing.assert_allclose(
        info["final_observation"], np.array(expected_obs), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(reward, np.array(expected_reward, np.float32))
    # float32 may flip the flag for a state within rounding of a threshold; none is here by much.
    thresholds = np.array([params.x_threshold, np.inf, params.theta_threshold_radians, np.inf])
    ambiguous = near_boundary(np.array(expected_obs), thresholds, 1e-5)
    assert ambiguous.sum() < 5
    np.testing.assert_array_equal(
        np.asarray(terminated)[~ambiguous], np.array(expected_terminated)[~ambiguous]
    )
    assert 0.2 < np.mean(expected_terminated) < 0.8, "the states should straddle the thresholds"
    assert not np.any(truncated)


def test_time_limit_matches_gymnasium_spec():
    env, params = envs.make(ENV_ID)
    assert params.max_steps == gym_max_episode_steps(ENV_ID) == 500
    upright = np.zeros(4, np.float32)
    for time, expect_truncated in [(498, False), (499, True)]:
        *_, truncated, info = env.step(jax.random.key(0), _state(upright, time), 1, params)
        assert bool(truncated) == expect_truncated
        assert int(info["episode_length"]) == time + 1


def test_whole_episodes_match_gymnasium_in_float64():
    reference = gym_env(ENV_ID)
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID)
        step = jax.jit(env.step)
        for seed in range(5):
            obs_ref, _ = reference.reset(seed=seed)
            state = _state(reference.state.astype(np.float64))
            actions = np.random.default_rng(seed).integers(0, 2, size=500)
            for t, action in enumerate(actions):
                obs_ref, reward_ref, term_ref, _, _ = reference.step(int(action))
                _, state, reward, terminated, truncated, info = step(
                    jax.random.key(t), state, action, params
                )
                # Gymnasium returns float32 observations of a float64 state: compare the state.
                np.testing.assert_allclose(info["final_observation"], reference.state, atol=1e-12)
                assert float(reward) == reward_ref
                assert bool(terminated) == term_ref
                if term_ref:
                    break
            assert term_ref, "random actions end a CartPole episode well before 500 steps"


def test_initial_state_distribution_is_uniform_005():
    env, params = envs.make(ENV_ID)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(jax.random.key(1), 20000), params
    )
    obs = np.asarray(obs)
    assert np.all(np.abs(obs) <= 0.05)
    np.testing.assert_allclose(obs.mean(0), 0.0, atol=0.0015)
    np.testing.assert_allclose(obs.var(0), 0.1**2 / 12, rtol=0.05)
    assert np.all(np.asarray(state.time) == 0)


def test_derived_constants_follow_overrides():
    _, params = envs.make(ENV_ID, masspole=0.2, length=1.0)
    assert params.total_mass == pytest.approx(1.2)
    assert params.polemass_length == pytest.approx(0.2)


def test_out_of_range_actions_are_clipped_to_the_nearest_action():
    env, params = envs.make(ENV_ID)
    state = _state(np.zeros(4, np.float32))
    step = lambda a: env.step(jax.random.key(0), state, a, params)[5]["final_observation"]
    np.testing.assert_array_equal(step(-3), step(0))
    np.testing.assert_array_equal(step(7), step(1))
