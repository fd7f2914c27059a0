"""Acrobot-v1 against Gymnasium's acrobot.py: one-step parity, whole x64 episodes, reset law."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl import envs
from jaxrl.envs.classic_control import acrobot
from jaxrl.envs.classic_control.acrobot import EnvState
from tests.envs.gym_reference import gym_env, gym_max_episode_steps, near_boundary

ENV_ID = "Acrobot-v1"
STATE_BOUNDS = np.array([np.pi, np.pi, 4 * np.pi, 9 * np.pi])


def _state(row, time=0):
    theta1, theta2, dtheta1, dtheta2 = (jnp.asarray(v) for v in row)
    return EnvState(theta1=theta1, theta2=theta2, dtheta1=dtheta1, dtheta2=dtheta2).replace(
        time=jnp.int32(time), episode_return=jnp.float32(0.0)
    )


def _as_tuple(state):
    return state.theta1, state.theta2, state.dtheta1, state.dtheta2


def _as_row(state):
    return np.array(_as_tuple(state), np.float64)


def _angle_gap(a, b):
    """|a - b| for the two angle columns modulo 2 pi: a state within rounding of +-pi may wrap
    to either end."""
    gap = np.abs(a - b)
    gap[..., :2] = np.minimum(gap[..., :2], np.abs(gap[..., :2] - 2 * np.pi))
    return gap


def _random_states_and_actions(num, seed):
    rng = np.random.default_rng(seed)
    rows = rng.uniform(-STATE_BOUNDS, STATE_BOUNDS, size=(num, 4)).astype(np.float32)
    return rows, rng.integers(0, 3, size=num)


def _gym_steps(reference, rows, actions):
    next_states, obs, rewards, terminated = [], [], [], []
    for row, action in zip(rows, actions, strict=True):
        reference.state = np.asarray(row, np.float64)
        o, r, term, trunc, _ = reference.step(int(action))
        assert not trunc
        next_states.append(reference.state)
        obs.append(o)
        rewards.append(r)
        terminated.append(term)
    return np.array(next_states), np.array(obs), np.array(rewards), np.array(terminated)


def _height(rows):
    """The free end's height above the pivot, in link lengths; termination is height > 1."""
    return -np.cos(rows[:, 0]) - np.cos(rows[:, 1] + rows[:, 0])


def test_one_step_parity_over_random_states_and_actions():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    rows, actions = _random_states_and_actions(3000, seed=0)
    states = jax.vmap(_state)(rows)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))
    _, _, reward, terminated, truncated, info = step(jax.random.key(0), states, actions, params)
    next_states, obs, rewards, expected_terminated = _gym_steps(reference, rows, actions)

    # Gymnasium integrates in float64; one float32 RK4 step over 0.2 s, whose stage
    # accelerations reach |dtheta|^2 ~ 800 rad/s^2, is off by up to ~8e-3 rad/s in the
    # velocities at the edge of the state space (gymnax's float32 step is off by the same) and
    # ~2e-5 in cos/sin. The float64 test below checks the same steps to 1e-12.
    final_obs = np.asarray(info["final_observation"])
    np.testing.assert_allclose(final_obs[:, :4], obs[:, :4], atol=1e-4)
    np.testing.assert_allclose(final_obs[:, 4:], obs[:, 4:], atol=2e-2)
    ambiguous = near_boundary(_height(next_states)[:, None], np.array([1.0]), 1e-4)
    assert ambiguous.sum() < 5
    np.testing.assert_array_equal(
        np.asarray(terminated)[~ambiguous], expected_terminated[~ambiguous]
    )
    np.testing.assert_array_equal(
        np.asarray(reward)[~ambiguous], rewards[~ambiguous].astype(np.float32)
    )
    assert set(np.unique(rewards)) == {-1.0, 0.0}
    assert 0.1 < np.mean(expected_terminated) < 0.5, "the states should straddle the target"
    assert np.mean(np.abs(next_states[:, 3]) == 9 * np.pi) > 0.05, "some velocities clip"
    assert not np.any(truncated)


def test_one_step_parity_in_float64_is_tight():
    reference = gym_env(ENV_ID)
    rows, actions = _random_states_and_actions(3000, seed=1)
    next_states, obs, rewards, expected_terminated = _gym_steps(reference, rows, actions)
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID)
        step = jax.jit(jax.vmap(env.step_env, in_axes=(None, 0, 0, None)))
        states = jax.vmap(_state)(rows.astype(np.float64))
        _, next_state, reward, terminated, _ = step(jax.random.key(0), states, actions, params)
    # XLA contracts multiply-adds into FMAs and divides by constants as multiplications, so the
    # rounding differs from NumPy's by a few ulps; at the edge of the state space a step
    # amplifies rounding by ~1e5 (the factor that puts float32 8e-3 off), hence 1e-10 there.
    gap = _angle_gap(_as_row(next_state).T, next_states)
    assert gap.max() < 1e-10
    assert np.quantile(gap, 0.99) < 1e-13
    np.testing.assert_array_equal(terminated, expected_terminated)
    np.testing.assert_array_equal(reward, rewards)


def test_time_limit_matches_gymnasium_spec():
    env, params = envs.make(ENV_ID)
    assert params.max_steps == gym_max_episode_steps(ENV_ID) == 500
    hanging = np.zeros(4, np.float32)
    step = jax.jit(env.step)
    for time, expect_truncated in [(498, False), (499, True)]:
        *_, truncated, info = step(jax.random.key(0), _state(hanging, time), 1, params)
        assert bool(truncated) == expect_truncated
        assert int(info["episode_length"]) == time + 1


def _swing_up_action(state, rng):
    """Torque along the second joint's velocity, with 20% random actions: reaches the target in
    about 60-300 steps, so the episode ends by termination (random actions run to 500)."""
    if rng.random() < 0.2:
        return int(rng.integers(0, 3))
    return 2 if state[3] > 0 else 0


def _gym_episode(reference, seed, policy, max_steps):
    """Plays one Gymnasium episode; returns per step the state before it, the action, the
    state after it, the observation, the reward and terminated."""
    rng = np.random.default_rng(seed)
    reference.reset(seed=seed)
    record = {k: [] for k in ("before", "action", "after", "obs", "reward", "terminated")}
    for _ in range(max_steps):
        before = reference.state.astype(np.float64)
        if policy == "random":
            action = int(rng.integers(0, 3))
        else:
            action = _swing_up_action(before, rng)
        obs, reward, terminated, _, _ = reference.step(action)
        for name, value in zip(
            record, (before, action, reference.state, obs, reward, terminated), strict=True
        ):
            record[name].append(value)
        if terminated:
            break
    return {name: np.array(values) for name, values in record.items()}


# Whole episodes are compared in float64. The acrobot is chaotic and XLA's rounding differs from
# NumPy's by a few ulps per step (FMA contraction), so two free-running trajectories drift apart:
# measured over 16 episodes, the gap stays below 1e-13 for 200 steps but reaches 4e-7 by step
# 500. The free-running states are therefore held to 1e-10 for the first FREE_RUN_STEPS steps
# only. Over the whole episode, every step is also taken from Gymnasium's own state before it
# and held to 1e-12, so every state Gymnasium visits, the flags, the rewards and the truncation
# at step 500 are checked.
FREE_RUN_STEPS = 200


def _first(length, tree):
    return jax.tree.map(lambda x: np.asarray(x)[:length], tree)


def test_whole_episodes_match_gymnasium_in_float64():
    reference = gym_env(ENV_ID)
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID)

        @jax.jit
        def free_run(state, actions):
            def one_step(state, inputs):
                key, action = inputs
                obs, state, reward, terminated, truncated, info = env.step(
                    key, state, action, params
                )
                return state, (_as_tuple(state), obs, reward, terminated, truncated, info)

            keys = jax.random.split(jax.random.key(0), actions.shape[0])
            return jax.lax.scan(one_step, state, (keys, actions))[1]

        synced_step = jax.jit(jax.vmap(env.step, in_axes=(None, 0, 0, None)))

        for seed, policy in [(s, p) for s in range(3) for p in ("random", "swing_up")]:
            ep = _gym_episode(reference, seed, policy, params.max_steps)
            length = len(ep["action"])
            # Padded to max_steps (the padding is cut off below) so that all episodes share one
            # compilation.
            pad = params.max_steps - length
            actions = jnp.asarray(np.pad(ep["action"], (0, pad), mode="edge"))
            outputs = free_run(_state(ep["before"][0]), actions)
            times = np.arange(params.max_steps)
            synced = jax.vmap(_state)(np.pad(ep["before"], ((0, pad), (0, 0)), mode="edge"), times)
            s_outputs = synced_step(jax.random.key(1), synced, actions, params)
            free_states, obs, reward, terminated, truncated, info = _first(length, outputs)
            s_obs, s_state, s_reward, s_terminated, s_truncated, s_info = _first(length, s_outputs)
            times = times[:length]

            # The last step auto-resets, so its state is a fresh one: compare the steps before.
            synced_gap = _angle_gap(_as_row(s_state).T[:-1], ep["after"][:-1])
            assert synced_gap.max() < 1e-12
            free_gap = _angle_gap(np.stack(free_states, -1)[:-1], ep["after"][:-1])
            assert free_gap[:FREE_RUN_STEPS].max() < 1e-10
            free = slice(0, FREE_RUN_STEPS)
            for step_info, step_reward, step_terminated, step_truncated, steps in [
                (s_info, s_reward, s_terminated, s_truncated, slice(None)),
                (info, reward, terminated, truncated, free),
            ]:
                np.testing.assert_allclose(
                    step_info["final_observation"][steps], ep["obs"][steps], atol=1e-6
                )
                np.testing.assert_array_equal(step_reward[steps], ep["reward"][steps])
                np.testing.assert_array_equal(step_terminated[steps], ep["terminated"][steps])
                np.testing.assert_array_equal(
                    step_truncated[steps], (times + 1 == params.max_steps)[steps]
                )
            if policy == "random":
                assert length == params.max_steps and not ep["terminated"][-1]
            else:
                assert length < params.max_steps and ep["terminated"][-1]
                assert ep["reward"][-1] == 0.0 and np.all(ep["reward"][:-1] == -1.0)
            # The last step auto-reset: a fresh state, the finished episode's obs in info.
            assert int(s_state.time[-1]) == 0
            assert np.all(np.abs(_as_row(s_state)[:, -1]) <= 0.1)
            assert not np.allclose(s_obs[-1], s_info["final_observation"][-1])
            if length <= FREE_RUN_STEPS:
                assert float(info["episode_return"][-1]) == np.sum(ep["reward"])


def test_params_reach_the_dynamics():
    """Non-default links, dt and velocity limits, set on Gymnasium's class constants too."""
    overrides = dict(
        dt=0.1,
        link_length_1=1.3,
        link_mass_1=0.7,
        link_mass_2=1.4,
        link_com_pos_1=0.4,
        link_com_pos_2=0.6,
        link_moi=0.8,
        max_vel_1=3.0,
        max_vel_2=5.0,
    )
    reference = gym_env(ENV_ID)
    for name, attr in [
        ("dt", "dt"),
        ("link_length_1", "LINK_LENGTH_1"),
        ("link_mass_1", "LINK_MASS_1"),
        ("link_mass_2", "LINK_MASS_2"),
        ("link_com_pos_1", "LINK_COM_POS_1"),
        ("link_com_pos_2", "LINK_COM_POS_2"),
        ("link_moi", "LINK_MOI"),
        ("max_vel_1", "MAX_VEL_1"),
        ("max_vel_2", "MAX_VEL_2"),
    ]:
        setattr(reference, attr, overrides[name])
    rows, actions = _random_states_and_actions(500, seed=2)
    next_states, *_ = _gym_steps(reference, rows, actions)
    with jax.enable_x64(True):
        env, params = envs.make(ENV_ID, **overrides)
        step = jax.jit(jax.vmap(env.step_env, in_axes=(None, 0, 0, None)))
        states = jax.vmap(_state)(rows.astype(np.float64))
        _, next_state, *_ = step(jax.random.key(0), states, actions, params)
    assert _angle_gap(_as_row(next_state).T, next_states).max() < 1e-12
    assert np.max(np.abs(next_states[:, 3])) == 5.0


def test_wrap_matches_gymnasium_and_keeps_pi():
    from gymnasium.envs.classic_control.acrobot import wrap as gym_wrap

    with jax.enable_x64(True):
        xs = np.concatenate(
            [np.random.default_rng(3).uniform(-20.0, 20.0, 2000), [np.pi, -np.pi, 3 * np.pi]]
        )
        wrapped = np.asarray(acrobot.wrap(jnp.asarray(xs), -math.pi, math.pi))
    expected = np.array([gym_wrap(x, -np.pi, np.pi) for x in xs])
    np.testing.assert_allclose(wrapped, expected, atol=1e-14)
    # Gymnasium's wrap keeps an angle of exactly pi (and lands 3 pi on it); gymnax's `wrap`
    # sends pi to -pi.
    assert wrapped[-3] == np.pi and wrapped[-1] == np.pi and wrapped[-2] == -np.pi


def test_initial_state_distribution_is_uniform_01():
    env, params = envs.make(ENV_ID)
    keys = jax.random.split(jax.random.key(1), 20000)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    rows = np.stack([state.theta1, state.theta2, state.dtheta1, state.dtheta2], axis=-1).astype(
        np.float64
    )
    assert np.all(np.abs(rows) <= 0.1)
    np.testing.assert_allclose(rows.mean(0), 0.0, atol=0.003)
    np.testing.assert_allclose(rows.var(0), 0.2**2 / 12, rtol=0.05)
    np.testing.assert_allclose(obs[:, 0], np.cos(rows[:, 0]), atol=1e-6)
    np.testing.assert_allclose(obs[:, 5], rows[:, 3], atol=1e-7)
    assert np.all(np.asarray(state.time) == 0)


def test_observation_space_matches_gymnasium():
    env, params = envs.make(ENV_ID)
    reference = gym_env(ENV_ID)
    space = env.observation_space(params)
    assert space.shape == reference.observation_space.shape == (6,)
    np.testing.assert_array_equal(space.low, reference.observation_space.low)
    np.testing.assert_array_equal(space.high, reference.observation_space.high)
    assert env.action_space(params).n == reference.action_space.n == 3


def test_out_of_range_actions_are_clipped_to_the_nearest_action():
    env, params = envs.make(ENV_ID)
    state = _state(np.array([0.3, -0.2, 1.0, -2.0], np.float32))
    step = lambda a: env.step(jax.random.key(0), state, a, params)[5]["final_observation"]
    np.testing.assert_array_equal(step(-3), step(0))
    np.testing.assert_array_equal(step(7), step(2))
    assert not np.array_equal(step(0), step(2))
