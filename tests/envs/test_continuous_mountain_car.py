"""MountainCarContinuous-v0 against Gymnasium's continuous_mountain_car.py: one-step parity,
x64 episodes, reset law, action clipping, and where gymnax departs from Gymnasium."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.envs.classic_control.mountain_car import EnvState
from tests.envs.gym_reference import gym_env, gym_max_episode_steps

ENV_ID = "MountainCarContinuous-v0"


def _state(row, time=0):
    position, velocity = (jnp.asarray(v) for v in row)
    return EnvState(position=position, velocity=velocity).replace(
        time=jnp.int32(time), episode_return=jnp.float32(0.0)
    )


def _random_states(rng, num):
    """[num, 2] float32 states: a third anywhere, a third at the left wall, a third at the goal."""
    third = num // 3
    low = np.array([[-1.2, -0.07], [-1.2, -0.07], [0.35, -0.07]])
    high = np.array([[0.6, 0.07], [-1.1, 0.0], [0.6, 0.07]])
    block = np.repeat(np.arange(3), [num - 2 * third, third, third])
    return rng.uniform(low[block], high[block]).astype(np.float32)


def _pump(velocity):
    """Energy pumping: full throttle in the direction of motion (the flag in ~110 steps)."""
    return np.array([1.0 if velocity >= 0 else -1.0], np.float32)


def test_one_step_parity_over_random_states_and_actions():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    rng = np.random.default_rng(0)
    num = 3000
    rows = _random_states(rng, num)
    actions = rng.uniform(-1.0, 1.0, size=(num, 1)).astype(np.float32)

    states = jax.vmap(_state)(rows)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
    _, _, reward, terminated, truncated, info = step(jax.random.key(0), states, actions, params)

    expected_obs, expected_reward, expected_terminated = [], [], []
    for row, action in zip(rows, actions, strict=True):
        # Gymnasium keeps this env's state in float32 between steps.
        reference.state = row
        obs, r, term, trunc, _ = reference.step(action)
        expected_obs.append(obs)
        expected_reward.append(r)
        expected_terminated.append(term)
        assert not trunc
    expected_obs = np.array(expected_obs)
    np.testing.assert_allclose(info["final_observation"], expected_obs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(reward, np.array(expected_reward), rtol=1e-6, atol=1e-7)
    # float32 may flip the flag for a state within rounding of the goal; none is here by much.
    position, velocity = expected_obs.T
    ambiguous = (np.abs(position - params.goal_position) < 1e-6) | (
        (position >= params.goal_position) & (np.abs(velocity - params.goal_velocity) < 1e-6)
    )
    assert ambiguous.sum() < 5
    np.testing.assert_array_equal(
        np.asarray(terminated)[~ambiguous], np.array(expected_terminated)[~ambiguous]
    )
    assert not np.any(truncated)
    # The sample exercises every branch: the goal, the inelastic left wall, the speed limit.
    assert 0.05 < np.mean(expected_terminated) < 0.5
    assert np.sum((position == np.float32(params.min_position)) & (velocity == 0.0)) > 100
    assert np.sum(np.abs(velocity) == np.float32(params.max_speed)) > 20


def test_goal_reward_is_100_minus_the_action_cost():
    env, params = envs.make(ENV_ID)
    near_goal = _state(np.array([0.44, 0.02], np.float32))
    _, _, reward, terminated, *_ = jax.jit(env.step)(
        jax.random.key(0), near_goal, jnp.array([0.5]), params
    )
    assert bool(terminated)
    assert float(reward) == pytest.approx(100.0 - 0.1 * 0.25, abs=1e-5)


def test_time_limit_matches_gymnasium_spec():
    env, params = envs.make(ENV_ID)
    assert params.max_steps == gym_max_episode_steps(ENV_ID) == 999
    valley = np.array([-0.5, 0.0], np.float32)
    step = jax.jit(env.step)
    for time, expect_truncated in [(997, False), (998, True)]:
        *_, terminated, truncated, info = step(
            jax.random.key(0), _state(valley, time), jnp.zeros(1), params
        )
        assert bool(truncated) == expect_truncated
        assert not bool(terminated)
        assert int(info["episode_length"]) == time + 1


def test_whole_episodes_match_gymnasium_in_float64():
    reference = gym_env(ENV_ID)
    reached_goal = 0
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID)
        step = jax.jit(env.step)
        for seed in range(3):
            reference.reset(seed=seed)
            state = _state(np.asarray(reference.state, np.float64))
            rng = np.random.default_rng(seed)
            pumping = seed < 2
            rewards = []
            for t in range(params.max_steps):
                if pumping:
                    action = _pump(reference.state[1])
                else:
                    action = rng.uniform(-1.0, 1.0, size=1).astype(np.float32)
                obs_ref, reward_ref, term_ref, _, _ = reference.step(action)
                _, state, reward, terminated, truncated, info = step(
                    jax.random.key(t), state, action, params
                )
                rewards.append(reward_ref)
                np.testing.assert_allclose(reward, reward_ref, rtol=1e-6, atol=1e-8)
                assert bool(terminated) == term_ref
                assert bool(truncated) == (t + 1 == params.max_steps)
                # Gymnasium rounds its state to float32 every step (and computes in float32), so
                # a float64 trajectory drifts from it by float32 rounding only: ~2e-6 in 999 steps.
                ours = (
                    info["final_observation"]
                    if term_ref or truncated
                    else jnp.stack([state.position, state.velocity])
                )
                np.testing.assert_allclose(ours, reference.state, rtol=0, atol=1e-5)
                if term_ref or truncated:
                    np.testing.assert_allclose(
                        info["episode_return"], sum(rewards), rtol=1e-5, atol=1e-4
                    )
                    break
            assert term_ref == pumping, "pumping reaches the flag; random actions do not"
            reached_goal += term_ref
    assert reached_goal == 2


def test_initial_state_distribution_is_uniform_on_the_valley_floor():
    env, params = envs.make(ENV_ID)
    keys = jax.random.split(jax.random.key(1), 20000)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    position, velocity = np.asarray(obs).T
    assert np.all((position >= -0.6) & (position <= -0.4))
    np.testing.assert_allclose(position.mean(), -0.5, atol=0.0015)
    np.testing.assert_allclose(position.var(), 0.2**2 / 12, rtol=0.05)
    assert np.all(velocity == 0.0)
    assert np.all(np.asarray(state.time) == 0)


def test_spaces_match_gymnasium():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    for ours, theirs in [
        (env.observation_space(params), reference.observation_space),
        (env.action_space(params), reference.action_space),
    ]:
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(
            np.broadcast_to(ours.low, ours.shape), theirs.low.astype(np.float32)
        )
        np.testing.assert_array_equal(
            np.broadcast_to(ours.high, ours.shape), theirs.high.astype(np.float32)
        )


def test_out_of_range_actions_are_clipped_into_the_box():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    row = np.array([-0.3, 0.01], np.float32)
    step = jax.jit(lambda a: env.step(jax.random.key(0), _state(row), a, params))
    for wild, edge in [(3.0, 1.0), (-5.0, -1.0)]:
        obs_wild, _, reward_wild, *_ = step(jnp.array([wild]))
        obs_edge, _, reward_edge, *_ = step(jnp.array([edge]))
        np.testing.assert_array_equal(obs_wild, obs_edge)
        assert float(reward_wild) == float(reward_edge) == pytest.approx(-0.1)
        # Gymnasium moves the car the same but charges the raw action: the documented difference.
        reference.state = row
        obs_ref, reward_ref, *_ = reference.step(np.array([wild], np.float32))
        np.testing.assert_allclose(obs_wild, obs_ref, atol=1e-6)
        assert reward_ref == pytest.approx(-0.1 * wild**2)


def test_gymnax_departs_from_gymnasium_at_the_walls():
    """gymnax zeroes a leftward velocity past the goal, not at the left wall: Gymnasium is kept."""
    from gymnax.environments.classic_control import continuous_mountain_car as gymnax_mc

    env, params = envs.make(ENV_ID)
    gymnax_env = gymnax_mc.ContinuousMountainCar()
    reference = gym_env(ENV_ID)
    step = jax.jit(lambda s: env.step(jax.random.key(0), s, jnp.zeros(1), params))
    step_gymnax = jax.jit(
        lambda s: gymnax_env.step_env(jax.random.key(0), s, jnp.zeros(1), gymnax_env.default_params)
    )
    at_left_wall, past_goal = (
        np.array([-1.19, -0.05], np.float32),
        np.array([0.55, -0.02], np.float32),
    )
    gymnax_results = []
    for row in [at_left_wall, past_goal]:
        obs, _, reward, terminated, *_ = step(_state(row))
        reference.state = row
        obs_ref, reward_ref, term_ref, *_ = reference.step(np.zeros(1, np.float32))
        np.testing.assert_allclose(obs, obs_ref, atol=1e-6)
        assert (float(reward), bool(terminated)) == (reward_ref, term_ref) == (0.0, False)
        obs_gymnax, _, reward_gymnax, done_gymnax, _ = step_gymnax(
            gymnax_mc.EnvState(position=jnp.float32(row[0]), velocity=jnp.float32(row[1]), time=0)
        )
        assert not np.allclose(obs_gymnax, obs_ref, atol=1e-6)
        gymnax_results.append((float(reward_gymnax), bool(done_gymnax)))
    # At the wall gymnax keeps the car moving left; past the goal it stops the car, which then
    # counts as reaching the goal: +100 and the end of the episode.
    assert gymnax_results == [(0.0, False), (100.0, True)]
