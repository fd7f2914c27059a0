"""PQN's evaluation: the greedy policy played over whole episodes, equal to a step-by-step loop
over `env.step`; the policy of a training state (`make_policy`) playing as `make_evaluate` does."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import pqn
from jaxrl.agents.common.policy import play_policy
from jaxrl.agents.pqn.networks import make_agent
from tests.agents.pqn.conftest import TINY


def test_evaluate_is_deterministic_and_bounded_by_the_time_limit(cartpole, tiny_train):
    env, params = cartpole
    result = tiny_train(jax.random.key(0))
    evaluate = jax.jit(pqn.make_evaluate(TINY, env, params, num_episodes=32))
    returns = evaluate(result.params, jax.random.key(1))
    assert returns.shape == (32,)
    assert np.all((np.asarray(returns) >= 1) & (np.asarray(returns) <= 500))
    np.testing.assert_array_equal(returns, evaluate(result.params, jax.random.key(1)))


@pytest.mark.parametrize("env_id", ["CartPole-v1", "GridWorld-OpenRoom-v0"])
def test_evaluate_returns_the_greedy_policys_first_episode_of_each_env(env_id):
    """Each evaluation return is the reward summed over one episode played with `env.step` by
    the argmax of the Q-values from the same initial state, up to its first end."""
    env, params = envs.make(env_id)
    config = TINY.replace(hidden_sizes=(8,))
    agent = make_agent(config, env, params)
    bits = jax.random.bits(jax.random.key(3), (agent.flat.size,))
    q_params = agent.unravel(agent.flat.init_from_bits(bits))
    num_episodes, key = 6, jax.random.key(4)
    returns = jax.jit(pqn.make_evaluate(config, env, params, num_episodes=num_episodes))(
        q_params, key
    )

    obs, state = env.reset_batch(jax.random.split(key, 3)[0], num_episodes, params)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    greedy = jax.jit(lambda o: jnp.argmax(agent.network.apply(q_params, o), axis=-1))
    expected, running = np.zeros(num_episodes), np.ones(num_episodes, bool)
    keys = jax.random.split(jax.random.key(5), (params.max_steps, num_episodes))
    for t in range(params.max_steps):
        obs, state, reward, terminated, truncated, _ = step(keys[t], state, greedy(obs), params)
        expected += np.where(running, np.asarray(reward), 0.0)
        running &= ~np.asarray(terminated | truncated)
    assert not running.any()
    np.testing.assert_allclose(returns, expected, rtol=1e-5)


def test_normalised_configs_need_the_observation_statistics(cartpole):
    env, params = cartpole
    config = TINY.replace(normalize_observations=True)
    agent = make_agent(config, env, params)
    q_params = agent.unravel(jnp.zeros(agent.flat.size))
    evaluate = pqn.make_evaluate(config, env, params, num_episodes=2)
    with pytest.raises(ValueError, match="pass obs_stats=result.obs_stats"):
        evaluate(q_params, jax.random.key(0))


def test_num_episodes_must_be_positive(cartpole):
    env, params = cartpole
    with pytest.raises(ValueError, match="at least one episode"):
        pqn.make_evaluate(TINY, env, params, num_episodes=0)


@pytest.mark.parametrize("normalize_observations", [False, True])
def test_the_policy_of_a_training_state_plays_as_make_evaluate_does(
    cartpole, normalize_observations
):
    env, params = cartpole
    config = TINY.replace(normalize_observations=normalize_observations)
    result = jax.jit(pqn.make_train(config, env, params))(jax.random.key(0))
    policy = pqn.make_policy(config, env, params)
    learner = result.runner_state.learner
    got = jax.jit(
        lambda lrn: play_policy(policy, policy.params(lrn), env, params, 8, jax.random.key(1))
    )(learner)
    key_play = jax.random.split(jax.random.key(1))[0]
    evaluate = jax.jit(pqn.make_evaluate(config, env, params, num_episodes=8))
    np.testing.assert_array_equal(got, evaluate(result.params, key_play, result.obs_stats))


def test_the_stochastic_policy_is_epsilon_greedy_at_epsilon_finish(cartpole, tiny_train):
    env, params = cartpole
    config = TINY.replace(epsilon_finish=0.5)
    learner = tiny_train(jax.random.key(0)).runner_state.learner
    obs = jax.random.normal(jax.random.key(2), (4096, 4))
    greedy_policy = pqn.make_policy(config, env, params)
    greedy = np.asarray(greedy_policy.act(greedy_policy.params(learner), obs, jax.random.key(0)))
    policy = pqn.make_policy(config, env, params, deterministic=False)
    act = jax.jit(lambda key: policy.act(policy.params(learner), obs, key))
    actions = np.asarray(act(jax.random.key(3)))
    assert actions.shape == (4096,) and actions.dtype == np.int32
    np.testing.assert_array_equal(actions, act(jax.random.key(3)))
    assert not np.array_equal(actions, act(jax.random.key(4)))
    # Epsilon 0.5 over two actions: a random action differs from the greedy one half the time.
    np.testing.assert_allclose(np.mean(actions != greedy), 0.25, atol=0.03)
