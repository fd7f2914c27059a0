"""PPO: config validation, invariants (determinism, vmap == loop, sweeps, no retracing) and
learning (CartPole solved by the default config)."""

import chex
import jax
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ppo
from jaxrl.agents.ppo import train as ppo_train

TINY = ppo.PPOConfig(
    total_timesteps=4 * 16 * 3,
    num_envs=4,
    num_steps=16,
    update_epochs=2,
    num_minibatches=2,
    hidden_sizes=(16, 16),
)


@pytest.fixture(scope="module")
def cartpole():
    return envs.make("CartPole-v1")


@pytest.fixture(scope="module")
def tiny_train(cartpole):
    env, params = cartpole
    return jax.jit(ppo.make_train(TINY, env, params))


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
    with pytest.raises(ValueError, match="not a numeric PPO hyperparameter"):
        ppo.hyperparams_grid(TINY, num_envs=[1, 2])


def _count_primitives(jaxpr, names: frozenset[str] | set[str]) -> int:
    """Equations of the named primitives in a jaxpr, nested jaxprs included."""
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name in names
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    count += _count_primitives(inner, names)
    return count


@pytest.mark.parametrize(
    "normalize, sweep",
    [(False, False), (True, False), (False, True)],
    ids=["seeds", "normalized", "sweep"],
)
def test_vmap_batches_each_loop_once(cartpole, monkeypatch, normalize, sweep):
    """A scan whose carry starts unbatched and turns batched is batched twice by vmap (and the
    loops inside it with it); `train`'s constant carries depend on the key and hyperparameters
    (`jaxrl.tracing`), so vmapping over seeds or a sweep batches each loop once. Counts calls of
    JAX's scan batching rule (an internal hook: if a JAX upgrade moves it, move this with it)."""
    from jax._src.interpreters import batching
    from jax._src.lax.control_flow import loops

    env, params = cartpole
    config = TINY.replace(normalize_observations=normalize, normalize_rewards=normalize)
    train = ppo.make_train(config, env, params)
    key = jax.random.key(0)
    num_scans = _count_primitives(jax.make_jaxpr(train)(key).jaxpr, {"scan"})
    assert num_scans >= 5  # updates, rollout, GAE, epochs, minibatches

    rule = batching.fancy_primitive_batchers[loops.scan_p]
    calls = []
    monkeypatch.setitem(
        batching.fancy_primitive_batchers,
        loops.scan_p,
        lambda *args, **kwargs: calls.append(1) or rule(*args, **kwargs),
    )
    if sweep:
        grid, _ = ppo.hyperparams_grid(config, learning_rate=[1e-4, 1e-3])
        jax.make_jaxpr(jax.vmap(train, in_axes=(None, 0)))(key, grid)
    else:
        jax.make_jaxpr(jax.vmap(train))(jax.random.split(key, 3))
    assert len(calls) == num_scans


def test_no_retracing_across_keys(cartpole):
    env, params = cartpole
    train = ppo.make_train(TINY, env, params)
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


#: The primitives that each run a Threefry hash (a rolled loop on the CPU) per call site.
_RANDOM_DRAWS = {"random_bits", "random_split", "random_fold_in", "threefry2x32"}


def test_an_update_draws_its_random_numbers_in_two_calls(cartpole):
    """All of an update's noise comes from one bits call, plus the pools' reset noise: each
    Threefry call site is a loop of its own to compile (the update used to have six)."""
    env, params = cartpole
    agent = ppo_train.make_agent(TINY, env, params)
    runner = ppo.make_init(TINY, env, params)(jax.random.key(0))
    jaxpr = jax.make_jaxpr(
        lambda r: ppo_train.update_step(r, TINY, env, params, agent, TINY.hyperparams)
    )(runner)
    assert _count_primitives(jaxpr.jaxpr, _RANDOM_DRAWS) == 2
    init_jaxpr = jax.make_jaxpr(ppo.make_init(TINY, env, params))(jax.random.key(0))
    # The init's one bits call; CartPole's reset writes its hash out (`numerics.uniform`).
    assert _count_primitives(init_jaxpr.jaxpr, _RANDOM_DRAWS) == 1


def test_update_noise_keys_are_distinct_and_pools_are_initial_states(cartpole):
    env, params = cartpole
    agent = ppo_train.make_agent(TINY, env, params)
    draw = jax.jit(lambda key: ppo_train.draw_update_noise(key, TINY, env, params, agent.network))
    key = jax.random.key(5)
    noise = draw(key)
    chex.assert_trees_all_equal(noise, draw(key))
    steps, envs_ = TINY.num_steps, TINY.num_envs
    assert noise.action_noise.shape == (steps, envs_, 2)
    assert noise.shuffle_bits.shape == (TINY.update_epochs, TINY.batch_size)
    pool_obs, pool_state = noise.reset_pools
    assert pool_obs.shape == (steps, envs_, 4)
    np.testing.assert_array_equal(pool_obs, jax.vmap(jax.vmap(env.observation))(pool_state))
    assert float(np.max(np.abs(pool_obs))) <= 0.05  # CartPole's initial states
    words = np.concatenate(
        [
            jax.random.key_data(noise.next_key)[None],
            jax.random.key_data(noise.env_keys),
            jax.random.key_data(jax.random.key(5))[None],
        ]
    )
    assert len({tuple(w) for w in words}) == len(words)
    assert len({tuple(row) for row in np.asarray(noise.shuffle_bits)}) == TINY.update_epochs
    later = draw(noise.next_key)
    assert not np.array_equal(later.action_noise, noise.action_noise)
    assert not np.array_equal(later.reset_pools[0], pool_obs)


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
    agent = ppo.make_agent(config, env, params)
    policy_params = agent.unravel(agent.init_flat_params(jax.random.key(3)))
    num_episodes, key = 6, jax.random.key(4)
    returns = jax.jit(ppo.make_evaluate(config, env, params, num_episodes))(policy_params, key)

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
    agent = ppo.make_agent(config, env, params)
    policy_params = agent.unravel(agent.init_flat_params(jax.random.key(3)))
    num_episodes, key = 6, jax.random.key(4)
    evaluate = jax.jit(ppo.make_evaluate(config, env, params, num_episodes, deterministic=False))
    returns = evaluate(policy_params, key)

    key_reset, key_actions, _ = jax.random.split(key, 3)
    noise = ppo_train.draw_action_noise(
        jax.random.split(key_actions, params.max_steps), num_episodes, agent.network
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
