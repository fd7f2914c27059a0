"""The shared rollout skeleton: its noise drawn ahead, and a rollout equal to a step-by-step
loop over the env's batched path with the same noise."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl._xla_cpu import draw_words
from jaxrl.agents.common.rollout import (
    collect_rollout,
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
