"""The shared rollout skeleton: its noise drawn ahead, a rollout equal to a step-by-step loop
over the env's batched path with the same noise, and the AR(1)-correlated noise (standard
normal, lag-1 correlation rho, restarted at episode ends, i.i.d. bit for bit at rho = 0)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl._xla_cpu import draw_words
from jaxrl.agents.common.rollout import (
    CorrelatedNoise,
    collect_correlated_rollout,
    collect_rollout,
    correlate_noise,
    correlated_noise_init,
    key_shape,
    reset_envs,
    rollout_noise,
    rollout_noise_shapes,
)
from jaxrl.envs import numerics

NUM_STEPS, NUM_ENVS = 16, 4


@pytest.fixture(scope="module")
def cartpole():
    return envs.make("CartPole-v1")


def _noise(env, params, key):
    shapes = {
        "next_key": key_shape(key),
        **rollout_noise_shapes(
            key, num_steps=NUM_STEPS, num_envs=NUM_ENVS, action_noise_shape=(2,)
        ),
    }
    words = draw_words(key, shapes)
    return words, rollout_noise(words, key, env, params, numerics.gumbel_from_bits)


def test_noise_keys_are_distinct_and_pools_are_initial_states(cartpole):
    env, params = cartpole
    draw = jax.jit(lambda key: _noise(env, params, key))
    key = jax.random.key(5)
    words, noise = draw(key)
    chex.assert_trees_all_equal(noise, draw(key)[1])
    assert noise.action_noise.shape == (NUM_STEPS, NUM_ENVS, 2)
    pool_obs, pool_state = noise.reset_pools
    assert pool_obs.shape == (NUM_STEPS, NUM_ENVS, 4)
    np.testing.assert_array_equal(pool_obs, jax.vmap(jax.vmap(env.observation))(pool_state))
    assert float(np.max(np.abs(pool_obs))) <= 0.05  # CartPole's initial states
    next_key = jax.random.wrap_key_data(words["next_key"])
    keys = np.concatenate(
        [
            jax.random.key_data(next_key)[None],
            jax.random.key_data(noise.env_keys),
            jax.random.key_data(key)[None],
        ]
    )
    assert len({tuple(k) for k in keys}) == len(keys)
    _, later = draw(next_key)
    assert not np.array_equal(later.action_noise, noise.action_noise)
    assert not np.array_equal(later.reset_pools[0], pool_obs)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "GridWorld-FourRooms-v0"])
def test_a_rollout_is_a_loop_of_batched_steps_with_the_same_noise(env_id):
    """Each step's transition is what `step_batch` gives from the previous state with that
    step's key, pool and action; the extras the policy returns are stored with the step."""
    env, params = envs.make(env_id)
    num_actions = env.action_space(params).n
    key = jax.random.key(1)
    _, noise = _noise(env, params, key) if num_actions == 2 else _grid_noise(env, params, key)
    start = reset_envs(jax.random.split(jax.random.key(2), NUM_ENVS), env, params)

    def act(obs, action_noise):
        total = jnp.sum(obs.reshape(obs.shape[0], -1), axis=-1, keepdims=True)
        logits = total * jnp.arange(num_actions)[None, :]
        action = jnp.argmax(logits + action_noise, axis=-1).astype(jnp.int32)
        return action, {"logit": jnp.max(logits, axis=-1)}

    final, rollout = jax.jit(lambda e: collect_rollout(act, env, params, e, noise))(start)
    assert rollout.obs.shape == (NUM_STEPS, NUM_ENVS) + start.obs.shape[1:]
    assert rollout.action.dtype == jnp.int32 and set(rollout.extras) == {"logit"}
    step = jax.jit(lambda k, s, a, pool: env.step_batch(k, s, a, params, reset_pool=pool))
    envs_, act_jit = start, jax.jit(act)
    for t in range(NUM_STEPS):
        action, extras = act_jit(envs_.obs, noise.action_noise[t])
        pool = jax.tree.map(lambda leaf, t=t: leaf[t], noise.reset_pools)
        obs, state, reward, terminated, truncated, info = step(
            noise.env_keys[t], envs_.state, action, pool
        )
        np.testing.assert_array_equal(rollout.obs[t], envs_.obs)
        np.testing.assert_array_equal(rollout.action[t], action)
        np.testing.assert_array_equal(rollout.extras["logit"][t], extras["logit"])
        np.testing.assert_array_equal(rollout.reward[t], reward)
        np.testing.assert_array_equal(rollout.terminated[t], terminated)
        np.testing.assert_array_equal(rollout.truncated[t], truncated)
        np.testing.assert_array_equal(rollout.final_obs[t], info["final_observation"])
        np.testing.assert_array_equal(rollout.episode_length[t], info["episode_length"])
        envs_ = envs_.replace(state=state, obs=obs)
    chex.assert_trees_all_equal(final, envs_)


def _grid_noise(env, params, key):
    shapes = rollout_noise_shapes(
        key, num_steps=NUM_STEPS, num_envs=NUM_ENVS, action_noise_shape=(4,)
    )
    words = draw_words(key, shapes)
    return words, rollout_noise(words, key, env, params, numerics.gumbel_from_bits)


def test_correlated_noise_is_standard_normal_with_lag_one_correlation_rho():
    """A long run of one episode per env: unit variance at every lag, lag-1 correlation rho;
    at rho = 0 the draws pass through bit for bit."""
    rho, num_envs, num_steps = 0.9, 64, 4000
    draws = jax.random.normal(jax.random.key(0), (num_steps, num_envs, 1))

    def run(correlation):
        def step(state, draw):
            noise = correlate_noise(state, draw, correlation)
            return CorrelatedNoise(noise=noise, restart=jnp.zeros(num_envs, jnp.bool_)), noise

        return jax.lax.scan(step, correlated_noise_init(num_envs, (1,)), draws)[1]

    noise = np.asarray(jax.jit(run)(rho), np.float64)[..., 0]
    np.testing.assert_array_equal(noise[0], draws[0, :, 0])  # the first step is a fresh draw
    np.testing.assert_allclose(noise.mean(), 0.0, atol=0.03)
    np.testing.assert_allclose(noise.var(), 1.0, atol=0.05)
    lag_one = np.mean(noise[1:] * noise[:-1]) / np.sqrt(noise[1:].var() * noise[:-1].var())
    np.testing.assert_allclose(lag_one, rho, atol=0.01)
    np.testing.assert_array_equal(jax.jit(run)(0.0), draws)


def _pendulum_and_noise(num_steps):
    env, params = envs.make("Pendulum-v1", max_steps=20)
    key = jax.random.key(3)
    shapes = rollout_noise_shapes(
        key, num_steps=num_steps, num_envs=NUM_ENVS, action_noise_shape=(1,)
    )
    noise = rollout_noise(draw_words(key, shapes), key, env, params, numerics.normal_from_bits)
    start = reset_envs(jax.random.split(jax.random.key(4), NUM_ENVS), env, params)
    return env, params, noise, start


def _act(obs, action_noise):
    return jnp.tanh(obs[:, :1] + action_noise), {"noise": action_noise[:, 0]}


def test_correlated_noise_restarts_at_each_episode_start_and_carries_across_rollouts():
    """Each step's noise is the fresh draw after an episode end (here every 20 steps, and at the
    first step where the carried state says so), else rho times the last plus sqrt(1 - rho^2)
    times the draw."""
    rho, num_steps = 0.8, 48
    env, params, noise, start = _pendulum_and_noise(num_steps)
    carried = CorrelatedNoise(
        noise=jnp.full((NUM_ENVS, 1), 2.0), restart=jnp.array([True, False, False, True])
    )
    rollout = jax.jit(lambda e, c: collect_correlated_rollout(_act, env, params, e, noise, c, rho))
    _, state, transition = rollout(start, carried)
    used, draws = np.asarray(transition.extras["noise"]), np.asarray(noise.action_noise[..., 0])
    ended = np.asarray(transition.terminated | transition.truncated)
    restart = np.concatenate([np.asarray(carried.restart)[None], ended[:-1]])
    previous = np.concatenate([np.full((1, NUM_ENVS), 2.0), used[:-1]])
    assert 0 < restart.sum() < restart.size  # both cases are exercised
    continued = rho * previous + np.sqrt(1 - rho**2) * draws
    np.testing.assert_allclose(used, np.where(restart, draws, continued), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(used[restart], draws[restart])
    np.testing.assert_array_equal(state.noise[:, 0], used[-1])
    np.testing.assert_array_equal(state.restart, ended[-1])


def test_correlated_rollout_at_rho_zero_is_the_plain_rollout_bit_for_bit():
    env, params, noise, start = _pendulum_and_noise(32)
    plain = jax.jit(lambda e: collect_rollout(_act, env, params, e, noise))(start)
    state = correlated_noise_init(NUM_ENVS, (1,))
    envs_, _, transition = jax.jit(
        lambda e: collect_correlated_rollout(_act, env, params, e, noise, state, 0.0)
    )(start)
    chex.assert_trees_all_equal((envs_, transition), plain)
