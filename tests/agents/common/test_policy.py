"""`make_policy` of every learner acts as its `make_evaluate` does: the same returns from the
same key, read off the training state the `jaxrl` command checkpoints."""

import jax
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ALGORITHMS, learner
from jaxrl.agents.common.policy import play_policy

ENV_ID = {"ppo": "CartPole-v1", "dqn": "CartPole-v1", "pqn": "CartPole-v1", "sac": "Pendulum-v1"}


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_the_policy_of_a_training_state_plays_as_make_evaluate_does(algo):
    module = learner(algo)
    env, params = envs.make(ENV_ID[algo])
    config = module.default_config(ENV_ID[algo])
    runner = jax.jit(module.make_init(config, env, params))(jax.random.key(0))
    policy = module.make_policy(config, env, params)
    key_play = jax.random.split(jax.random.key(1))[0]
    got = jax.jit(
        lambda r: play_policy(policy, policy.params(r.learner), env, params, 8, jax.random.key(1))
    )(runner)
    evaluate = module.make_evaluate(config, env, params, num_episodes=8)
    policy_params = policy.params(runner.learner)
    args = (policy_params["params"], key_play)
    if "obs_stats" in policy_params:
        args += (policy_params["obs_stats"],)
    np.testing.assert_array_equal(got, jax.jit(evaluate)(*args))


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_a_stochastic_policy_follows_its_key(algo):
    module = learner(algo)
    env, params = envs.make(ENV_ID[algo])
    config = module.default_config(ENV_ID[algo])
    runner = jax.jit(module.make_init(config, env, params))(jax.random.key(0))
    policy = module.make_policy(config, env, params, deterministic=False)
    obs = jax.random.normal(jax.random.key(2), (256, *env.observation_space(params).shape))
    act = jax.jit(lambda key: policy.act(policy.params(runner.learner), obs, key))
    np.testing.assert_array_equal(act(jax.random.key(3)), act(jax.random.key(3)))
    assert not np.array_equal(act(jax.random.key(3)), act(jax.random.key(4)))


def test_an_unknown_algorithm_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown algorithm 'a2c'; choose one of ppo"):
        learner("a2c")
