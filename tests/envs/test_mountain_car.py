"""MountainCar-v0 against Gymnasium's mountain_car.py: one-step parity, x64 episodes, reset law."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl import envs
from jaxrl.envs.classic_control.mountain_car import EnvState
from tests.envs.gym_reference import gym_env, gym_max_episode_steps

ENV_ID = "MountainCar-v0"


def _state(row, time=0):
    position, velocity = (jnp.asarray(v) for v in row)
    return EnvState(position=position, velocity=velocity).replace(
        time=jnp.int32(time), episode_return=jnp.float32(0.0)
    )


def _random_states(rng, num):
    """[num, 2] float32 states: a third anywhere, a third at the left wall, a third at the goal."""
    third = num // 3
    low = np.array([[-1.2, -0.07], [-1.2, -0.07], [0.4, -0.07]])
    high = np.array([[0.6, 0.07], [-1.1, 0.0], [0.6, 0.07]])
    block = np.repeat(np.arange(3), [num - 2 * third, third, third])
    return rng.uniform(low[block], high[block]).astype(np.float32)


def _pump(velocity):
    """Energy pumping: accelerate in the direction of motion (reaches the flag in ~120 steps)."""
    return 2 if velocity >= 0 else 0


def test_one_step_parity_over_random_states_and_actions():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    rng = np.random.default_rng(0)
    num = 3000
    rows = _random_states(rng, num)
    actions = rng.integers(0, 3, size=num)

    states = jax.vmap(_state)(rows)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
    _, _, reward, terminated, truncated, info = step(jax.random.key(0), states, actions, params)

    expected_obs, expected_reward, expected_terminated = [], [], []
    for row, action in zip(rows, actions, strict=True):
        reference.state = row.astype(np.float64)
        obs, r, term, trunc, _ = reference.step(int(action))
        expected_obs.append(obs)
        expected_reward.append(r)
        expected_terminated.append(term)
        assert not trunc
    expected_obs = np.array(expected_obs)
    np.testing.assert_allclose(info["final_observation"], expected_obs, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(reward, np.array(expected_reward, np.float32))
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


def test_time_limit_matches_gymnasium_spec():
    env, params = envs.make(ENV_ID)
    assert params.max_steps == gym_max_episode_steps(ENV_ID) == 200
    valley = np.array([-0.5, 0.0], np.float32)
    step = jax.jit(env.step)
    for time, expect_truncated in [(198, False), (199, True)]:
        *_, terminated, truncated, info = step(jax.random.key(0), _state(valley, time), 1, params)
        assert bool(truncated) == expect_truncated
        assert not bool(terminated)
        assert int(info["episode_length"]) == time + 1


def test_whole_episodes_match_gymnasium_in_float64():
    reference = gym_env(ENV_ID)
    reached_goal = 0
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID)
        step = jax.jit(env.step)
        for seed in range(5):
            reference.reset(seed=seed)
            state = _state(np.asarray(reference.state, np.float64))
            rng = np.random.default_rng(seed)
            pumping = seed < 3
            rewards = []
            for t in range(params.max_steps):
                velocity = reference.state[1]
                action = _pump(velocity) if pumping else int(rng.integers(0, 3))
                obs_ref, reward_ref, term_ref, _, _ = reference.step(action)
                _, state, reward, terminated, truncated, info = step(
                    jax.random.key(t), state, action, params
                )
                rewards.append(reward_ref)
                assert float(reward) == reward_ref
                assert bool(terminated) == term_ref
                assert bool(truncated) == (t + 1 == params.max_steps)
                if term_ref or truncated:
                    # `state` already holds the next episode; the step's own end is in info.
                    np.testing.assert_array_equal(info["final_observation"], obs_ref)
                    assert float(info["episode_return"]) == sum(rewards)
                    break
                # Both sides integrate in float64: compare the states, not the float32 obs.
                np.testing.assert_allclose(
                    [state.position, state.velocity], reference.state, rtol=0, atol=1e-12
                )
            assert term_ref == pumping, "pumping reaches the flag; random actions do not"
            reached_goal += term_ref
    assert reached_goal == 3


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
    box = env.observation_space(params)
    np.testing.assert_array_equal(box.low, reference.observation_space.low)
    np.testing.assert_array_equal(box.high, reference.observation_space.high)
    assert box.shape == reference.observation_space.shape
    assert env.action_space(params).n == reference.action_space.n == 3


def test_out_of_range_actions_are_clipped_to_the_nearest_action():
    env, params = envs.make(ENV_ID)
    state = _state(np.array([-0.3, 0.01], np.float32))
    step = jax.jit(lambda a: env.step(jax.random.key(0), state, a, params)[5]["final_observation"])
    np.testing.assert_array_equal(step(-3), step(0))
    np.testing.assert_array_equal(step(7), step(2))
    assert not np.array_equal(step(0), step(2))


def test_params_vmap_like_a_loop():
    env, params = envs.make(ENV_ID)
    state = _state(np.array([0.495, 0.01], np.float32))
    batched = params.replace(
        force=jnp.array([0.0, 0.001, 0.01]), goal_velocity=jnp.array([0.0, 0.0, 0.02])
    )
    step = jax.jit(lambda p: env.step(jax.random.key(0), state, 2, p))
    axes = jax.tree.map(lambda _: None, params).replace(force=0, goal_velocity=0)
    *_, terminated, _, info = jax.vmap(step, in_axes=(axes,))(batched)
    for i in range(3):
        single = params.replace(
            force=float(batched.force[i]), goal_velocity=float(batched.goal_velocity[i])
        )
        *_, terminated_i, _, info_i = step(single)
        np.testing.assert_array_equal(info["final_observation"][i], info_i["final_observation"])
        assert bool(terminated[i]) == bool(terminated_i)
    np.testing.assert_array_equal(np.asarray(terminated), [True, True, False])
