"""Invariants every registered environment keeps: spaces, jit == eager, vmap == loop, same key
=> same result, auto-reset, vmap over params, and the batched path against vmap(step)."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from tests.params import registry_params


def _at(tree, i):
    """Element i of every leaf's leading axis."""
    return jax.tree.map(lambda leaf: leaf[i], tree)


def _random_actions(env, params, key, num):
    return jax.vmap(env.action_space(params).sample)(jax.random.split(key, num))


def _warm_batch(env, params, num_envs, num_steps=7, seed=0):
    """A batch of envs a few random steps into their episodes (so their states differ), in one
    compiled program (op by op, each primitive would compile on its own)."""

    @jax.jit
    def warm(key):
        step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

        def one_step(t, state):
            key_step, key_action = jax.random.split(jax.random.fold_in(key, t))
            actions = _random_actions(env, params, key_action, num_envs)
            return step(jax.random.split(key_step, num_envs), state, actions, params)[1]

        return jax.lax.fori_loop(0, num_steps, one_step, env.reset_batch(key, num_envs, params)[1])

    return warm(jax.random.key(seed))


@pytest.mark.parametrize("env_id", registry_params())
def test_reset_and_spaces_agree(env_id):
    env, params = envs.make(env_id)
    obs, state = env.reset(jax.random.key(0), params)
    obs_space, action_space = env.observation_space(params), env.action_space(params)
    assert obs.shape == obs_space.shape and obs.dtype == jnp.float32
    assert bool(obs_space.contains(obs))
    assert int(state.time) == 0 and float(state.episode_return) == 0.0
    for key in jax.random.split(jax.random.key(1), 20):
        assert bool(action_space.contains(action_space.sample(key)))


@pytest.mark.parametrize("env_id", registry_params())
def test_jit_equals_eager_and_same_key_same_result(env_id):
    env, params = envs.make(env_id)
    key_reset, key_step, key_action = jax.random.split(jax.random.key(2), 3)
    _, state = env.reset(key_reset, params)
    action = env.action_space(params).sample(key_action)
    eager = env.step(key_step, state, action, params)
    jitted = jax.jit(env.step)(key_step, state, action, params)
    chex.assert_trees_all_close(eager, jitted, rtol=1e-6, atol=1e-6)
    chex.assert_trees_all_equal(jitted, jax.jit(env.step)(key_step, state, action, params))


@pytest.mark.parametrize("env_id", registry_params())
def test_vmap_equals_loop(env_id):
    env, params = envs.make(env_id)
    num = 5
    state = _warm_batch(env, params, num)
    keys = jax.random.split(jax.random.key(3), num)
    actions = _random_actions(env, params, jax.random.key(4), num)
    batched = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))(keys, state, actions, params)
    step = jax.jit(env.step)
    for i in range(num):
        single = step(keys[i], _at(state, i), actions[i], params)
        chex.assert_trees_all_close(_at(batched, i), single, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("env_id", registry_params())
def test_auto_reset_keeps_the_final_observation(env_id):
    env, params = envs.make(env_id)
    _, state = env.reset(jax.random.key(0), params)
    last_step = state.replace(time=jnp.int32(params.max_steps - 1))
    action = env.action_space(params).sample(jax.random.key(1))
    obs, next_state, reward, terminated, truncated, info = jax.jit(env.step)(
        jax.random.key(2), last_step, action, params
    )
    assert bool(truncated)
    assert int(info["episode_length"]) == params.max_steps
    assert int(next_state.time) == 0 and float(next_state.episode_return) == 0.0
    np.testing.assert_allclose(info["episode_return"], reward, rtol=1e-6)
    # The same step without the time limit produces the final observation and goes on.
    going_on = state.replace(time=jnp.int32(0))
    obs2, _, _, _, truncated2, info2 = jax.jit(env.step)(
        jax.random.key(2), going_on, action, params
    )
    np.testing.assert_allclose(info["final_observation"], info2["final_observation"], atol=1e-6)
    if not bool(truncated2) and not bool(
        jax.jit(env.step)(jax.random.key(2), going_on, action, params)[3]
    ):
        np.testing.assert_array_equal(obs2, info2["final_observation"])


@pytest.mark.parametrize("env_id", registry_params())
def test_vmap_over_params(env_id):
    env, params = envs.make(env_id)
    floats = [
        f.name
        for f in dataclasses.fields(params)
        if isinstance(getattr(params, f.name), float) and getattr(params, f.name) != 0.0
    ]
    if floats:
        name = floats[0]
        values = getattr(params, name) * jnp.array([0.9, 1.0, 1.1])
    else:
        name, values = "max_steps", jnp.array([10, 20, 30])
    batched_params = params.replace(**{name: values})
    in_axes = jax.tree.map(lambda _: None, params).replace(**{name: 0})
    keys = jax.random.split(jax.random.key(0), 3)
    obs, state = jax.vmap(env.reset, in_axes=(0, in_axes))(keys, batched_params)
    actions = _random_actions(env, params, jax.random.key(1), 3)
    out = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, in_axes)))(
        keys, state, actions, batched_params
    )
    step = jax.jit(env.step)
    for i in range(3):
        single_params = params.replace(**{name: values[i]})
        single = step(keys[i], _at(state, i), actions[i], single_params)
        chex.assert_trees_all_close(_at(out, i), single, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("env_id", registry_params())
def test_step_batch_transitions_equal_vmapped_step(env_id):
    """Envs that do not reset get exactly vmap(step)'s transition; every env gets the same
    reward and flags; final observations agree for all."""
    env, params = envs.make(env_id, **({"slip": 0.0} if env_id.startswith("GridWorld") else {}))
    num = 64
    state = _warm_batch(env, params, num)
    actions = _random_actions(env, params, jax.random.key(5), num)
    keys = jax.random.split(jax.random.key(6), num)
    ref = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))(keys, state, actions, params)
    out = jax.jit(env.step_batch)(jax.random.key(6), state, actions, params)
    obs_ref, _, reward_ref, term_ref, trunc_ref, info_ref = ref
    obs, _, reward, term, trunc, info = out
    np.testing.assert_array_equal(term, term_ref)
    np.testing.assert_array_equal(trunc, trunc_ref)
    np.testing.assert_allclose(reward, reward_ref, rtol=1e-6)
    np.testing.assert_allclose(info["final_observation"], info_ref["final_observation"], atol=1e-6)
    going_on = ~np.asarray(term | trunc)
    np.testing.assert_allclose(np.asarray(obs)[going_on], np.asarray(obs_ref)[going_on], atol=1e-6)


@pytest.mark.parametrize(
    "env_id, num_envs, reset_pool_size",
    [("CartPole-v1", 5, None), ("Pendulum-v1", 200, None), ("GridWorld-FourRooms-v0", 200, 8)],
)
def test_step_batch_with_a_reset_pool_drawn_ahead_is_bit_for_bit_the_same(
    env_id, num_envs, reset_pool_size
):
    """`reset_pool(key, ...)` drawn ahead (vmapped over several steps' keys, as a rollout does)
    and handed to `step_batch` gives exactly what `step_batch` draws itself: small pools, fused
    pools, and pools that overflow (every env truncating at once) alike."""
    env, params = envs.make(env_id)
    _, state = env.reset_batch(jax.random.key(4), num_envs, params)
    # Half the envs end now, so the pools are used (and the 8-state pool overflows).
    ending = np.arange(num_envs) % 2 == 0
    state = state.replace(time=jnp.where(ending, params.max_steps - 1, 3).astype(jnp.int32))
    actions = _random_actions(env, params, jax.random.key(5), num_envs)
    keys = jax.random.split(jax.random.key(6), 2)  # pools drawn ahead as a rollout does: vmapped

    @jax.jit
    def both(keys, state, actions):
        pools = jax.vmap(lambda key: env.reset_pool(key, num_envs, params, reset_pool_size))(keys)
        return [
            (
                env.step_batch(key, state, actions, params, reset_pool_size),
                env.step_batch(key, state, actions, params, reset_pool_size, reset_pool=pool),
            )
            for key, pool in [(keys[1], _at(pools, 1))]
        ]

    for drawn_inside, drawn_ahead in both(keys, state, actions):
        chex.assert_trees_all_equal(drawn_ahead, drawn_inside)


def test_step_batch_rejects_a_reset_pool_of_the_wrong_size():
    env, params = envs.make("CartPole-v1")
    obs, state = env.reset_batch(jax.random.key(0), 100, params)
    pool = jax.tree.map(lambda leaf: leaf[:8], (obs, state))  # step_batch's pool holds 64
    with pytest.raises(ValueError, match="reset_pool holds"):
        env.step_batch(jax.random.key(1), state, jnp.ones(100, jnp.int32), params, reset_pool=pool)


def _reset_moments(obs):
    obs = np.asarray(obs, np.float64).reshape(obs.shape[0], -1)
    return obs.mean(0), obs.std(0)


@pytest.mark.parametrize("env_id", registry_params())
@pytest.mark.parametrize(
    "num_envs, fraction", [(4096, 1.0), pytest.param(4096, 0.3, marks=pytest.mark.slow), (40, 0.5)]
)
def test_step_batch_resets_follow_the_initial_state_law(env_id, num_envs, fraction):
    """Envs forced to end (all at once, a third, half of a small batch) get initial states
    distributed as reset's, each drawn with its own randomness."""
    env, params = envs.make(env_id)
    ending = np.arange(num_envs) < int(fraction * num_envs)

    @jax.jit
    def step_some_to_their_end(ending):
        _, state = env.reset_batch(jax.random.key(0), num_envs, params)
        state = state.replace(time=jnp.where(ending, params.max_steps - 1, 0).astype(jnp.int32))
        actions = _random_actions(env, params, jax.random.key(1), num_envs)
        law_obs, _ = env.reset_batch(jax.random.key(3), 20000, params)
        return env.step_batch(jax.random.key(2), state, actions, params), law_obs

    (obs, new_state, _, _, truncated, _), law_obs = step_some_to_their_end(ending)
    np.testing.assert_array_equal(truncated, ending)
    assert np.all(np.asarray(new_state.time)[ending] == 0)
    reset_obs = np.asarray(obs)[ending]
    law_mean, law_std = _reset_moments(law_obs)
    mean, _ = _reset_moments(reset_obs)
    tolerance = 6 * law_std / np.sqrt(len(reset_obs)) + 1e-6
    assert np.all(np.abs(mean - law_mean) <= tolerance)
    if np.all(law_std > 0):  # a random initial state: no two envs may share one
        assert len(np.unique(reset_obs.round(7), axis=0)) == len(reset_obs)
    space = env.observation_space(params)
    assert all(bool(space.contains(o)) for o in reset_obs[:50])


def test_step_batch_is_jittable_without_retracing():
    env, params = envs.make("CartPole-v1")
    _, state = env.reset_batch(jax.random.key(0), 128, params)
    step_batch = jax.jit(chex.assert_max_traces(env.step_batch, n=1))
    for seed in range(3):
        _, state, *_ = step_batch(jax.random.key(seed), state, jnp.ones(128, jnp.int32), params)
