"""Training in chunks (`make_init` + `make_run_updates`) computes one `train` call."""

import jax
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ppo


def _tiny_config(normalize: bool) -> ppo.PPOConfig:
    return ppo.PPOConfig(
        total_timesteps=12 * 64,
        num_envs=4,
        num_steps=16,
        update_epochs=2,
        num_minibatches=2,
        hidden_sizes=(16,),
        normalize_observations=normalize,
        normalize_rewards=normalize,
    )


def _leaves(tree):
    return [
        np.asarray(jax.random.key_data(leaf))
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)
        else np.asarray(leaf)
        for leaf in jax.tree.leaves(tree)
    ]


def test_uneven_chunks_give_exactly_the_uninterrupted_run():
    env, env_params = envs.make("CartPole-v1")
    config = _tiny_config(normalize=False)
    keys = jax.random.split(jax.random.key(3), 2)
    whole = jax.jit(jax.vmap(ppo.make_train(config, env, env_params)))(keys)

    runner = jax.jit(jax.vmap(ppo.make_init(config, env, env_params)))(keys)
    chunk_metrics = []
    for size in (8, 4):  # uneven chunks that add up to the run's 12 updates
        run = jax.jit(jax.vmap(ppo.make_run_updates(config, env, env_params, num_updates=size)))
        runner, metrics = run(runner)
        chunk_metrics.append(metrics)

    for name, values in whole.metrics.items():
        chunked = np.concatenate([np.asarray(m[name]) for m in chunk_metrics], axis=1)
        np.testing.assert_array_equal(chunked, np.asarray(values), err_msg=name)
    for got, want in zip(_leaves(runner), _leaves(whole.runner_state), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow  # a sweep or chunked runs, compiled: the whole suite's
def test_chunks_with_normalisation_match_to_rounding_and_repeat_bit_for_bit():
    # XLA fuses the observation normalisation differently in programs of different shapes,
    # so chunks and the whole run may differ in float rounding only (see make_run_updates);
    # the same chunk program run twice is bit for bit equal, which is what resuming relies on.
    env, env_params = envs.make("Pendulum-v1")
    config = _tiny_config(normalize=True)
    keys = jax.random.split(jax.random.key(5), 2)
    whole = jax.jit(jax.vmap(ppo.make_train(config, env, env_params)))(keys)
    init = jax.jit(jax.vmap(ppo.make_init(config, env, env_params)))
    run = jax.jit(jax.vmap(ppo.make_run_updates(config, env, env_params, num_updates=6)))

    def chunked():
        runner = init(keys)
        runner, first = run(runner)
        runner, second = run(runner)
        return runner, {k: np.concatenate([first[k], second[k]], axis=1) for k in first}

    runner, metrics = chunked()
    for name, values in whole.metrics.items():
        np.testing.assert_allclose(metrics[name], values, rtol=1e-4, atol=1e-6, err_msg=name)
    for got, want in zip(_leaves(runner), _leaves(whole.runner_state), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    again, _ = chunked()
    for got, want in zip(_leaves(again), _leaves(runner), strict=True):
        np.testing.assert_array_equal(got, want)


def test_run_updates_rejects_a_non_positive_chunk():
    env, env_params = envs.make("CartPole-v1")
    with pytest.raises(ValueError, match="at least one update"):
        ppo.make_run_updates(ppo.PPOConfig(), env, env_params, num_updates=0)
