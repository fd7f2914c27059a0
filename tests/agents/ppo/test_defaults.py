"""PPO's tuned defaults: every registered env has one that validates and builds, and the cheap
ones reach their env's threshold (slow)."""

import jax
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ppo
from jaxrl.agents.ppo import defaults
from jaxrl.agents.ppo.networks import make_agent
from jaxrl.compilation import CompileOptions
from jaxrl.envs import gridworld
from jaxrl.envs.games.core import TwoPlayerGame

SINGLE_AGENT_IDS = [
    env_id for env_id in envs.registered() if not isinstance(envs.make(env_id)[0], TwoPlayerGame)
]


@pytest.mark.parametrize("env_id", SINGLE_AGENT_IDS)
def test_every_single_agent_env_has_a_tuned_config_whose_batch_splits(env_id):
    assert env_id in defaults.tuned_env_ids()
    config = ppo.default_config(env_id)
    assert config != ppo.PPOConfig(), "falls back to the generic config"
    # replace() re-runs the validation in __post_init__.
    assert config.replace() == config
    assert config.batch_size % config.num_minibatches == 0
    assert config.minibatch_size * config.num_minibatches == config.batch_size
    assert config.num_updates >= 1


@pytest.mark.parametrize("env_id", envs.registered())
def test_default_network_fits_the_env(env_id):
    env, params = envs.make(env_id)
    config = ppo.default_config(env_id)
    agent = make_agent(config, env, params)
    obs, _ = env.reset(jax.random.key(0), params)
    network_params = agent.unravel(
        agent.flat.init_from_bits(jax.random.bits(jax.random.key(1), (agent.flat.size,)))
    )
    policy, value = agent.network.apply(network_params, obs)
    assert value.shape == ()
    action = policy.mode()
    assert env.action_space(params).contains(action)


def test_untuned_ids_get_the_generic_config():
    assert ppo.default_config("gymnax:SpaceInvaders-MinAtar") == ppo.PPOConfig()


def _final_scores(env_id, num_seeds, seed=0):
    """Trains `num_seeds` seeds in one program; each final policy's mean deterministic return."""
    env, params = envs.make(env_id)
    config = ppo.default_config(env_id)
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    result = jax.jit(jax.vmap(ppo.make_train(config, env, params)))(keys)
    evaluate = jax.vmap(ppo.make_evaluate(config, env, params, num_episodes=100))
    obs_stats = result.obs_stats if config.normalize_observations else None
    eval_keys = jax.random.split(jax.random.key(seed + 1), num_seeds)
    scores = np.asarray(jax.jit(evaluate)(result.params, eval_keys, obs_stats)).mean(axis=1)
    return scores


# MountainCar-v0 and GridWorld-CliffWalking-v0 (1M steps each) are left
# to experiments/learning_table.py --algo ppo: each takes minutes on a 2-core CPU.
@pytest.mark.slow
@pytest.mark.parametrize(
    "env_id, threshold, min_solved",
    [
        ("Acrobot-v1", -100.0, 4),
        ("Pendulum-v1", -200.0, 4),
        # One seed in 16 collapses to doing nothing before it finds the flag.
        ("MountainCarContinuous-v0", 90.0, 3),
        ("GridWorld-OpenRoom-v0", None, 4),
        ("gymnax:Catch-bsuite", 1.0, 4),
    ],
)
def test_default_config_learns_with_four_seeds(env_id, threshold, min_solved):
    if threshold is None:
        threshold = float(gridworld.optimal_return(envs.make(env_id)[1]))
    scores = _final_scores(env_id, num_seeds=4)
    assert np.sum(scores >= threshold) >= min_solved, scores


def test_compile_options_follow_the_samples_and_the_envs_per_device():
    cartpole = ppo.default_config("CartPole-v1")  # 5 envs, 60k steps x 5 epochs
    assert ppo.compile_options(cartpole) == CompileOptions("fastest", parallel_tasks=False)
    # 8 vmapped seeds: 2.4M samples and 40 envs.
    assert ppo.compile_options(cartpole, runs_per_device=8) == CompileOptions("fastest", False)
    assert ppo.compile_options(cartpole, runs_per_device=16) == CompileOptions("fast", True)
    cliff = ppo.default_config("GridWorld-CliffWalking-v0")  # 10M samples
    assert ppo.compile_options(cliff).fast_compile == "fast"
    assert ppo.compile_options(ppo.default_config("MountainCar-v0")).parallel_tasks  # 64 envs
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="pass a positive int"):
            ppo.compile_options(cartpole, runs_per_device=bad)
