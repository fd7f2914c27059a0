"""PPO's evaluation: deterministic and stochastic policies played over whole episodes, equal to
a step-by-step loop over `env.step`."""

import jax
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ppo
from jaxrl.agents.ppo.networks import make_agent
from tests.agents.ppo.conftest import TINY


def _bits(agent):
    return jax.random.bits(jax.random.key(3), (agent.flat.size,))


def test_evaluate_is_deterministic_and_bounded_by_the_time_limit(cartpole, tiny_train):
    env, params = cartpole
    result = tiny_train(jax.random.key(0))
    evaluate = jax.jit(ppo.make_evaluate(TINY, env, params, num_episodes=32))
    returns = evaluate(result.params, jax.random.key(1))
    assert returns.shape == (32,)
    assert np.all((np.asarray(returns) >= 1) & (np.asarray(returns) <= 500))
    np.testing.assert_array_equal(returns, evaluate(result.params, jax.random.key(1)))


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_evaluate_returns_the_first_episode_of_each_env(env_id):
    """Each evaluation return is the reward summed over one episode played with `env.step` by the
    deterministic policy from the same initial state, up to its first end."""
    env, params = envs.make(env_id)
    config = TINY.replace(hidden_sizes=(8,))
    agent = make_agent(config, env, params)
    policy_params = agent.unravel(agent.flat.init_from_bits(_bits(agent)))
    num_episodes, key = 6, jax.random.key(4)
    returns = jax.jit(ppo.make_evaluate(config, env, params, num_episodes=num_episodes))(
        policy_params, key
    )

    obs, state = env.reset_batch(jax.random.split(key, 3)[0], num_episodes, params)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    mode = jax.jit(lambda o: agent.network.apply(policy_params, o, method="policy").mode())
    expected, running = np.zeros(num_episodes), np.ones(num_episodes, bool)
    keys = jax.random.split(jax.random.key(5), (params.max_steps, num_episodes))
    for t in range(params.max_steps):
        obs, state, reward, terminated, truncated, _ = step(keys[t], state, mode(obs), params)
        expected += np.where(running, np.asarray(reward), 0.0)
        running &= ~np.asarray(terminated | truncated)
    assert not running.any()
    np.testing.assert_allclose(returns, expected, rtol=1e-5)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_stochastic_evaluate_samples_with_noise_drawn_from_the_key(env_id):
    """`deterministic=False`: each step's action is the policy's sample under the noise drawn
    from the key's second part, one row per step; a loop over `env.step` with that noise gives
    the same returns, and another key gives other returns."""
    env, params = envs.make(env_id)
    config = TINY.replace(hidden_sizes=(8,))
    agent = make_agent(config, env, params)
    policy_params = agent.unravel(agent.flat.init_from_bits(_bits(agent)))
    num_episodes, key = 6, jax.random.key(4)
    evaluate = jax.jit(
        ppo.make_evaluate(config, env, params, num_episodes=num_episodes, deterministic=False)
    )
    returns = evaluate(policy_params, key)

    key_reset, key_actions, _ = jax.random.split(key, 3)
    noise = jax.vmap(lambda k: agent.network.action_noise(k, (num_episodes,)))(
        jax.random.split(key_actions, params.max_steps)
    )
    obs, state = env.reset_batch(key_reset, num_episodes, params)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    sample = jax.jit(
        lambda o, n: agent.network.apply(policy_params, o, method="policy").sample_with_noise(n)
    )
    expected, running = np.zeros(num_episodes), np.ones(num_episodes, bool)
    keys = jax.random.split(jax.random.key(5), (params.max_steps, num_episodes))
    for t in range(params.max_steps):
        obs, state, reward, terminated, truncated, _ = step(
            keys[t], state, sample(obs, noise[t]), params
        )
        expected += np.where(running, np.asarray(reward), 0.0)
        running &= ~np.asarray(terminated | truncated)
    # Float rounding differs between the fused loop and these per-step calls, and Pendulum's
    # dynamics can grow it over 200 steps, so one episode may end slightly apart; noise that
    # is out of line (another row, another key) moves every episode by far more than 1e-5.
    relative = np.abs(np.asarray(returns) - expected) / np.abs(expected)
    assert np.sum(relative > 1e-5) <= 1 and np.all(relative < 1e-2), relative
    assert not np.array_equal(returns, evaluate(policy_params, jax.random.key(6)))


def test_evaluate_requires_the_normaliser_when_normalising(cartpole):
    env, params = cartpole
    config = TINY.replace(normalize_observations=True)
    evaluate = ppo.make_evaluate(config, env, params, num_episodes=4)
    with pytest.raises(ValueError, match="obs_stats=result.obs_stats"):
        evaluate({}, jax.random.key(0))
