"""PQN's training: config validation, invariants (jit == no jit, determinism, vmap == loop,
sweeps, chunks, no retracing), metrics and schedules, and learning (every tuned env solved)."""

import chex
import jax
import numpy as np
import pytest

import jaxrl
from jaxrl import envs
from jaxrl.agents import pqn
from jaxrl.compilation import CompileOptions
from tests.agents.pqn.conftest import TINY


def _at(tree, i):
    """Element i of every leaf's leading axis."""
    return jax.tree.map(lambda leaf: leaf[i], tree)


def _assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


def _leaves(tree):
    return [
        np.asarray(jax.random.key_data(leaf))
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)
        else np.asarray(leaf)
        for leaf in jax.tree.leaves(tree)
    ]


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(num_envs=3, num_steps=10, num_minibatches=4), "does not split into num_minibatches"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(gamma=1.5), "gamma"),
        (dict(q_lambda=-0.1), "q_lambda"),
        (dict(epsilon_start=1.2), "epsilon_start"),
        (dict(epsilon_finish=float("nan")), "epsilon_finish"),
        (dict(epsilon_anneal_fraction=0.0), "epsilon_anneal_fraction"),
        (dict(reward_scale=-1.0), "reward_scale"),
        (dict(max_grad_norm=0.0), "max_grad_norm"),
        (dict(total_timesteps=10), "less than one rollout"),
        (dict(num_envs=0), "num_envs"),
        (dict(num_epochs=1.5), "num_epochs"),
        (dict(hidden_sizes=()), "hidden_sizes"),
        (dict(anneal_lr=1), "anneal_lr"),
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
    # What the `jaxrl` command reads from every learner's config.
    assert TINY.rollout_size == TINY.num_envs * TINY.num_steps == 64
    assert TINY.hyperparams_type is pqn.PQNHyperparams


def test_metrics_have_one_entry_per_update_and_follow_the_schedules(tiny_train):
    result = tiny_train(jax.random.key(0))
    for name in (
        "episode_return",
        "episode_length",
        "episodes",
        "env_steps",
        "q_loss",
        "q_mean",
        "epsilon",
        "learning_rate",
    ):
        assert result.metrics[name].shape == (TINY.num_updates,), name
    for name in ("q_loss", "q_mean"):
        assert np.all(np.isfinite(result.metrics[name])), name
    np.testing.assert_array_equal(result.metrics["env_steps"], [64, 128, 192])
    # Epsilon from 1 to 0.05 over the first two of three updates, then flat.
    np.testing.assert_allclose(result.metrics["epsilon"], [1.0, 0.525, 0.05], rtol=1e-6)
    np.testing.assert_allclose(
        result.metrics["learning_rate"], 1e-3 * np.array([1, 2 / 3, 1 / 3]), rtol=1e-6
    )


def test_unannealed_learning_rate_stays_put(cartpole):
    env, params = cartpole
    result = jax.jit(pqn.make_train(TINY.replace(anneal_lr=False), env, params))(jax.random.key(0))
    np.testing.assert_allclose(result.metrics["learning_rate"], [1e-3] * 3, rtol=1e-6)


def test_jit_equals_no_jit(cartpole, tiny_train):
    env, params = cartpole
    eager = pqn.make_train(TINY, env, params)(jax.random.key(2))
    jitted = tiny_train(jax.random.key(2))
    _assert_trees_close(eager.metrics, jitted.metrics, 1e-4, 1e-5)
    _assert_trees_close(eager.params, jitted.params, 1e-4, 1e-5)


def test_same_key_gives_identical_results(tiny_train):
    first = tiny_train(jax.random.key(3))
    second = tiny_train(jax.random.key(3))
    chex.assert_trees_all_equal(first.metrics, second.metrics)
    chex.assert_trees_all_equal(first.params, second.params)
    different = tiny_train(jax.random.key(4))
    assert not np.allclose(first.metrics["q_loss"], different.metrics["q_loss"])


def test_vmap_over_seeds_equals_separate_runs(cartpole, tiny_train):
    env, params = cartpole
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.jit(jax.vmap(pqn.make_train(TINY, env, params)))(keys)
    for i, key in enumerate(keys):
        single = tiny_train(key)
        _assert_trees_close(_at(batched.metrics, i), single.metrics, 1e-4, 1e-5)
        _assert_trees_close(_at(batched.params, i), single.params, 1e-4, 1e-5)


@pytest.mark.slow  # a sweep or chunked runs, compiled: the whole suite's
def test_hyperparameter_sweep_is_one_program_equal_to_separate_runs(cartpole):
    env, params = cartpole
    grid, points = pqn.hyperparams_grid(
        TINY, q_lambda=[0.0, 1.0], learning_rate=[3e-3], epsilon_finish=[0.2], reward_scale=[0.5]
    )
    assert len(points) == 2 and grid.learning_rate.shape == (2,)
    key = jax.random.key(7)
    train = pqn.make_train(TINY, env, params)
    swept = jax.jit(jax.vmap(train, in_axes=(None, 0)))(key, grid)
    separate = jax.jit(train)
    for i, point in enumerate(points):
        single = separate(key, TINY.replace(**point).hyperparams)
        _assert_trees_close(_at(swept.params, i), single.params, 1e-4, 1e-5)
        _assert_trees_close(_at(swept.metrics, i), single.metrics, 1e-4, 1e-5)


def test_hyperparams_grid_rejects_bad_values():
    with pytest.raises(ValueError, match="q_lambda"):
        pqn.hyperparams_grid(TINY, q_lambda=[0.9, 2.0])
    with pytest.raises(ValueError, match="cannot be swept in one program"):
        pqn.hyperparams_grid(TINY, num_envs=[1, 2])


def test_no_retracing_across_keys(cartpole):
    env, params = cartpole
    train = pqn.make_train(TINY, env, params)
    chex.clear_trace_counter()  # every learner's `train` is the same driver function
    counted = jax.jit(chex.assert_max_traces(train, n=1))
    for seed in range(3):
        counted(jax.random.key(seed))


def test_log_callback_sees_every_update_and_changes_nothing(cartpole, tiny_train):
    env, params = cartpole
    seen = []
    train = pqn.make_train(TINY, env, params, log_callback=lambda m: seen.append(int(m["update"])))
    result = jax.jit(train)(jax.random.key(0))
    jax.effects_barrier()
    assert sorted(seen) == [1, 2, 3]
    chex.assert_trees_all_equal(result.metrics, tiny_train(jax.random.key(0)).metrics)


@pytest.mark.slow  # a sweep or chunked runs, compiled: the whole suite's
def test_uneven_chunks_give_exactly_the_uninterrupted_run(cartpole):
    env, env_params = cartpole
    config = TINY.replace(total_timesteps=5 * TINY.batch_size)
    keys = jax.random.split(jax.random.key(3), 2)
    whole = jax.jit(jax.vmap(pqn.make_train(config, env, env_params)))(keys)
    runner = jax.jit(jax.vmap(pqn.make_init(config, env, env_params)))(keys)
    chunk_metrics = []
    for size in (3, 2):  # uneven chunks that add up to the run's 5 updates
        run = jax.jit(jax.vmap(pqn.make_run_updates(config, env, env_params, num_updates=size)))
        runner, metrics = run(runner)
        chunk_metrics.append(metrics)
    for name, values in whole.metrics.items():
        chunked = np.concatenate([np.asarray(m[name]) for m in chunk_metrics], axis=1)
        np.testing.assert_array_equal(chunked, np.asarray(values), err_msg=name)
    for got, want in zip(_leaves(runner), _leaves(whole.runner_state), strict=True):
        np.testing.assert_array_equal(got, want)


def test_run_updates_rejects_a_non_positive_chunk(cartpole):
    env, env_params = cartpole
    with pytest.raises(ValueError, match="at least one update"):
        pqn.make_run_updates(TINY, env, env_params, num_updates=0)


def test_episode_metrics_are_nan_when_no_episode_ended():
    env, params = envs.make("MountainCar-v0")  # 200-step episodes, 48 steps per env in all
    result = jax.jit(pqn.make_train(TINY, env, params))(jax.random.key(0))
    assert np.all(np.asarray(result.metrics["episodes"]) == 0)
    assert np.all(np.isnan(result.metrics["episode_return"]))


def test_observation_normalisation_tracks_running_statistics(cartpole):
    env, params = cartpole
    config = TINY.replace(normalize_observations=True)
    result = jax.jit(pqn.make_train(config, env, params))(jax.random.key(0))
    # Three rollouts of 64 observations each folded in, on top of the epsilon prior count.
    np.testing.assert_allclose(result.obs_stats.count, 192 + 1e-4, rtol=1e-6)
    assert np.all(np.asarray(result.obs_stats.var) > 0)


def test_compile_options_follow_the_samples_and_the_envs_per_device():
    assert pqn.compile_options(TINY) == CompileOptions("fastest", parallel_tasks=False)
    big = TINY.replace(total_timesteps=3_000_000, num_envs=64)  # 6M samples: 3M x 2 epochs
    assert pqn.compile_options(big) == CompileOptions("fast", parallel_tasks=True)
    assert pqn.compile_options(TINY, runs_per_device=16).parallel_tasks  # 64 envs
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="pass a positive int"):
            pqn.compile_options(TINY, runs_per_device=bad)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ["CartPole-v1", "GridWorld-OpenRoom-v0"])
def test_default_config_solves_its_env_on_at_least_3_of_4_seeds(env_id):
    """A tuned default (one classic-control env, one grid world; every tuned env's 16 seeds are
    the learning table's), 4 seeds vmapped, each scored by the mean of 100 greedy episodes
    against the env's reward threshold. Tuning asked 14 of 16 (the learning table has 16 of 16
    for each); 3 of 4 leaves room for a seed that falls just short."""
    env, params = envs.make(env_id)
    config = pqn.default_config(env_id)
    train = jax.vmap(pqn.make_train(config, env, params))
    options = pqn.compile_options(config, runs_per_device=4)
    result = jaxrl.jit(train, options)(jax.random.split(jax.random.key(42), 4))
    evaluate = jax.vmap(pqn.make_evaluate(config, env, params, num_episodes=100))
    keys = jax.random.split(jax.random.key(1), 4)
    mean_returns = np.asarray(jax.jit(evaluate)(result.params, keys, result.obs_stats)).mean(1)
    assert np.sum(mean_returns >= env.reward_threshold(params)) >= 3, mean_returns
