"""PPO's training: config validation, invariants (determinism, vmap == loop, sweeps, no
retracing), metrics, and learning (CartPole solved by the default config)."""

import chex
import jax
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ppo
from tests.agents.ppo.conftest import TINY


def _at(tree, i):
    """Element i of every leaf's leading axis."""
    return jax.tree.map(lambda leaf: leaf[i], tree)


def _assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(num_envs=3, num_steps=10, num_minibatches=4), "does not split into num_minibatches"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(gamma=1.5), "gamma"),
        (dict(activation="gelu"), "activation"),
        (dict(total_timesteps=10), "less than one rollout"),
        (dict(num_envs=0), "num_envs"),
        (dict(hidden_sizes=()), "hidden_sizes"),
    ],
)
def test_invalid_configs_fail_with_a_one_line_error(changes, message):
    with pytest.raises(ValueError, match=message) as error:
        TINY.replace(**changes)
    assert "\n" not in str(error.value)


def test_replace_rejects_unknown_fields():
    with pytest.raises(ValueError, match="no field 'learnin_rate'"):
        TINY.replace(learnin_rate=1e-3)


def test_derived_sizes():
    assert (TINY.batch_size, TINY.minibatch_size, TINY.num_updates) == (64, 32, 3)


def test_metrics_have_one_entry_per_update(tiny_train):
    result = tiny_train(jax.random.key(0))
    for name in (
        "episode_return",
        "episode_length",
        "episodes",
        "total_loss",
        "policy_loss",
        "value_loss",
        "entropy",
        "approx_kl",
        "clip_fraction",
        "explained_variance",
        "learning_rate",
        "env_steps",
    ):
        assert result.metrics[name].shape == (TINY.num_updates,), name
    np.testing.assert_array_equal(result.metrics["env_steps"], [64, 128, 192])
    np.testing.assert_allclose(
        result.metrics["learning_rate"], 2.5e-4 * np.array([1, 2 / 3, 1 / 3]), rtol=1e-6
    )


def test_same_key_gives_identical_results(tiny_train):
    first = tiny_train(jax.random.key(3))
    second = tiny_train(jax.random.key(3))
    chex.assert_trees_all_equal(first.metrics, second.metrics)
    chex.assert_trees_all_equal(first.params, second.params)
    different = tiny_train(jax.random.key(4))
    assert not np.allclose(first.metrics["total_loss"], different.metrics["total_loss"])


def test_vmap_over_seeds_equals_separate_runs(cartpole, tiny_train):
    env, params = cartpole
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.jit(jax.vmap(ppo.make_train(TINY, env, params)))(keys)
    for i, key in enumerate(keys):
        single = tiny_train(key)
        _assert_trees_close(_at(batched.metrics, i), single.metrics, 1e-4, 1e-5)
        _assert_trees_close(_at(batched.params, i), single.params, 1e-4, 1e-5)


def test_hyperparameter_sweep_is_one_program_equal_to_separate_runs(cartpole):
    env, params = cartpole
    grid, points = ppo.hyperparams_grid(TINY, learning_rate=[1e-4, 1e-3], clip_eps=[0.3])
    assert len(points) == 2 and grid.learning_rate.shape == (2,)
    np.testing.assert_allclose(grid.clip_eps, [0.3, 0.3])
    key = jax.random.key(7)
    swept = jax.jit(jax.vmap(ppo.make_train(TINY, env, params), in_axes=(None, 0)))(key, grid)
    for i, point in enumerate(points):
        single = jax.jit(ppo.make_train(TINY.replace(**point), env, params))(key)
        _assert_trees_close(_at(swept.params, i), single.params, 1e-4, 1e-5)


def test_hyperparams_grid_rejects_bad_values():
    with pytest.raises(ValueError, match="gamma"):
        ppo.hyperparams_grid(TINY, gamma=[0.9, 2.0])
    with pytest.raises(ValueError, match="cannot be swept in one program"):
        ppo.hyperparams_grid(TINY, num_envs=[1, 2])


def test_no_retracing_across_keys(cartpole):
    env, params = cartpole
    train = ppo.make_train(TINY, env, params)
    chex.clear_trace_counter()  # every learner's `train` is the same driver function
    counted = jax.jit(chex.assert_max_traces(train, n=1))
    for seed in range(3):
        counted(jax.random.key(seed))


def test_log_callback_sees_every_update_and_changes_nothing(cartpole, tiny_train):
    env, params = cartpole
    seen = []
    train = ppo.make_train(TINY, env, params, log_callback=lambda m: seen.append(int(m["update"])))
    result = jax.jit(train)(jax.random.key(0))
    jax.effects_barrier()
    assert sorted(seen) == [1, 2, 3]
    chex.assert_trees_all_equal(result.metrics, tiny_train(jax.random.key(0)).metrics)


def test_episode_metrics_are_nan_when_no_episode_ended():
    env, params = envs.make("MountainCar-v0")  # 200-step episodes, 16-step rollouts
    result = jax.jit(ppo.make_train(TINY, env, params))(jax.random.key(0))
    assert np.all(np.asarray(result.metrics["episodes"]) == 0)
    assert np.all(np.isnan(result.metrics["episode_return"]))


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "MountainCarContinuous-v0"])
def test_continuous_control_trains_with_a_gaussian_head(env_id):
    env, params = envs.make(env_id)
    config = TINY.replace(normalize_observations=True, normalize_rewards=True)
    result = jax.jit(ppo.make_train(config, env, params))(jax.random.key(0))
    assert "log_std" in result.params["params"]
    for name in ("total_loss", "entropy", "approx_kl"):
        assert np.all(np.isfinite(result.metrics[name])), name
    assert float(result.obs_stats.count) > 3 * TINY.batch_size - 1


def test_observation_normalisation_tracks_running_statistics(cartpole):
    env, params = cartpole
    config = TINY.replace(normalize_observations=True)
    result = jax.jit(ppo.make_train(config, env, params))(jax.random.key(0))
    # Three rollouts of 64 observations each folded in, on top of the epsilon prior count.
    np.testing.assert_allclose(result.obs_stats.count, 192 + 1e-4, rtol=1e-6)
    assert np.all(np.asarray(result.obs_stats.var) > 0)


@pytest.mark.timeout(600)
def test_vmap_over_eight_seeds_does_not_hang(cartpole):
    env, params = cartpole
    train = jax.jit(jax.vmap(ppo.make_train(TINY, env, params)))
    result = train(jax.random.split(jax.random.key(0), 8))
    assert result.metrics["total_loss"].shape == (8, TINY.num_updates)


@pytest.mark.slow
def test_default_config_solves_cartpole_on_at_least_14_of_16_seeds(cartpole):
    env, params = cartpole
    config = ppo.default_config("CartPole-v1")
    result = jax.jit(jax.vmap(ppo.make_train(config, env, params)))(
        jax.random.split(jax.random.key(42), 16)
    )
    evaluate = jax.vmap(ppo.make_evaluate(config, env, params, num_episodes=100))
    returns = jax.jit(evaluate)(result.params, jax.random.split(jax.random.key(1), 16))
    mean_returns = np.asarray(returns).mean(axis=1)
    assert np.sum(mean_returns >= 475) >= 14, mean_returns
