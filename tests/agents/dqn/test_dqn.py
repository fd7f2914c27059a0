"""DQN: its targets against a NumPy reference (Double DQN and n-step returns, terminations
against truncations), epsilon-greedy's law, config validation, the invariants (jit == no-jit,
vmap == loop, same key => same result, a sweep equals separate runs, chunks equal one call) and
learning the open room's shortest path (slow; CartPole's 16 seeds are the learning table's)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import dqn
from jaxrl.agents.common.replay import replay_add, replay_init
from jaxrl.agents.dqn.train import (
    bootstrap_values,
    epsilon_at,
    epsilon_greedy,
    learn_from_replay,
    make_agent,
)
from jaxrl.envs import gridworld

TINY = dqn.DQNConfig(
    total_timesteps=4 * 8 * 6,
    num_envs=4,
    num_steps=8,
    replay_ratio=0.25,
    batch_size=16,
    buffer_size=4 * 32,
    learning_starts=64,
    n_step=3,
    target_update_interval=4,
    hidden_sizes=(16,),
)


@pytest.fixture(scope="module")
def cartpole():
    return envs.make("CartPole-v1")


@pytest.fixture(scope="module")
def tiny_train(cartpole):
    env, params = cartpole
    return jax.jit(dqn.make_train(TINY, env, params))


def _at(tree, i):
    return jax.tree.map(lambda leaf: leaf[i], tree)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(num_envs=0), "num_envs"),
        (dict(replay_ratio=0.0), "replay_ratio"),
        (dict(gamma=1.5), "gamma"),
        (dict(tau=0.0), "tau"),
        (dict(epsilon_end=-0.1), "epsilon_end"),
        (dict(total_timesteps=8), "less than one rollout"),
        (dict(buffer_size=8), "raise buffer_size"),
        (dict(hidden_sizes=()), "hidden_sizes"),
        (dict(layer_norm=1), "layer_norm=1: use True or False"),
    ],
)
def test_invalid_configs_fail_with_a_one_line_error(changes, message):
    with pytest.raises(ValueError, match=message) as error:
        TINY.replace(**changes)
    assert "\n" not in str(error.value)


def test_layer_norm_makes_q_values_blind_to_the_scale_of_a_hidden_layer(cartpole):
    """LayerNorm after a Dense layer: scaling its kernel and bias by c > 0 leaves the Q-values
    as they were (the norm divides it out), which a plain network does not; scales start at 1."""
    env, params = cartpole
    obs = jax.random.normal(jax.random.key(1), (5, 4))
    bits = jax.random.bits(jax.random.key(0), (4000,))
    for layer_norm in (True, False):
        agent = make_agent(TINY.replace(layer_norm=layer_norm, hidden_sizes=(16, 16)), env, params)
        network_params = agent.unravel(agent.flat.init_from_bits(bits[: agent.flat.size]))
        scaled = jax.tree.map(lambda leaf: leaf, network_params)
        scaled["params"]["Dense_0"] = jax.tree.map(
            lambda leaf: 3.0 * leaf, network_params["params"]["Dense_0"]
        )
        q_values = agent.network.apply(network_params, obs)
        q_scaled = agent.network.apply(scaled, obs)
        if layer_norm:
            np.testing.assert_array_equal(network_params["params"]["LayerNorm_0"]["scale"], 1.0)
            np.testing.assert_allclose(q_scaled, q_values, rtol=1e-4, atol=1e-5)
        else:
            assert not np.allclose(q_scaled, q_values, rtol=1e-3)


def test_continuous_actions_are_refused_before_compiling():
    env, params = envs.make("Pendulum-v1")
    with pytest.raises(ValueError, match="DQN needs Discrete actions"):
        dqn.make_train(TINY, env, params)


def test_double_dqn_values_the_online_networks_choice_with_the_target_network():
    target_q = jnp.array([[1.0, 5.0, 2.0], [0.0, -1.0, 3.0]])
    online_q = jnp.array([[9.0, 0.0, 1.0], [0.0, 0.0, 7.0]])
    np.testing.assert_array_equal(bootstrap_values(target_q, online_q), [1.0, 3.0])
    np.testing.assert_array_equal(bootstrap_values(target_q), [5.0, 3.0])


def _reference_target(rewards, terminated, truncated, next_values, start, n, gamma):
    """The n-step target by its definition: rewards until the episode ends or n steps pass; a
    termination bootstraps nothing, a truncation or the n-th step bootstraps its successor."""
    total = 0.0
    for k in range(n):
        total += gamma**k * rewards[start + k]
        if terminated[start + k]:
            return total
        if truncated[start + k] or k == n - 1:
            return total + gamma ** (k + 1) * next_values[start + k]
    raise AssertionError


def test_one_gradient_step_fits_the_n_step_double_dqn_targets_of_a_numpy_reference():
    """With a learning rate of 0 the step changes nothing, and its loss is the Huber loss of
    Q(s, a) against the reference targets, for every sampled transition."""
    env, env_params = envs.make("CartPole-v1")
    config = TINY.replace(num_envs=1, buffer_size=12, n_step=3, batch_size=64, learning_rate=1e-9)
    agent = make_agent(config, env, env_params)
    params = agent.flat.init_from_bits(jax.random.bits(jax.random.key(0), (agent.flat.size,)))
    target_params = params * 0.5
    rng = np.random.default_rng(0)
    num_steps = 12
    obs = rng.normal(size=(num_steps, 1, 4)).astype(np.float32)
    final_obs = rng.normal(size=(num_steps, 1, 4)).astype(np.float32)
    terminated = np.zeros((num_steps, 1), bool)
    truncated = np.zeros((num_steps, 1), bool)
    terminated[3, 0], truncated[7, 0] = True, True
    steps = {
        "obs": jnp.asarray(obs),
        "action": jnp.asarray(rng.integers(0, 2, size=(num_steps, 1)), jnp.int32),
        "reward": jnp.asarray(rng.normal(size=(num_steps, 1)), jnp.float32),
        "terminated": jnp.asarray(terminated),
        "truncated": jnp.asarray(truncated),
        "final_obs": jnp.asarray(final_obs),
    }
    replay = replay_add(replay_init(_at(steps, 0), capacity=num_steps), steps)
    learner = dqn.train.Learner(
        params=params,
        target_params=target_params,
        opt_state=dqn.train.make_optimizer(config.hyperparams).init(params),
        update_index=jnp.int32(0),
        gradient_step=jnp.int32(0),
    )
    # One gradient step whose batch covers every valid start (rows 0..9), in order.
    rows = np.arange(config.batch_size) % (num_steps - config.n_step + 1)
    uniforms = np.stack([(rows + 0.5) / (num_steps - 2), np.full(rows.shape, 0.5)], axis=-1)
    _, losses = learn_from_replay(
        learner, replay, jnp.asarray(uniforms[None], jnp.float32), config, agent, config.hyperparams
    )
    network, unravel = agent.network, agent.unravel
    q = np.asarray(network.apply(unravel(params), jnp.asarray(obs[:, 0])))
    online_next = np.asarray(network.apply(unravel(params), jnp.asarray(final_obs[:, 0])))
    target_next = np.asarray(network.apply(unravel(target_params), jnp.asarray(final_obs[:, 0])))
    next_values = target_next[np.arange(num_steps), online_next.argmax(axis=1)]
    rewards, actions = np.asarray(steps["reward"])[:, 0], np.asarray(steps["action"])[:, 0]
    errors = []
    for row in rows:
        target = _reference_target(
            rewards, terminated[:, 0], truncated[:, 0], next_values, row, 3, config.gamma
        )
        errors.append(q[row, actions[row]] - target)
    errors = np.abs(np.asarray(errors))
    huber = np.where(errors <= 1.0, 0.5 * errors**2, errors - 0.5)
    np.testing.assert_allclose(losses[0, 0], huber.mean(), rtol=1e-4)


def test_epsilon_greedy_explores_uniformly_and_otherwise_is_greedy():
    q_values = jnp.tile(jnp.array([[0.0, 2.0, 1.0]]), (20000, 1))
    uniforms = jax.random.uniform(jax.random.key(0), (20000, 5))
    actions = np.asarray(epsilon_greedy(q_values, uniforms, jnp.float32(0.3)))
    # Greedy 1 with 0.7 + 0.3 / 3; each other action 0.1.
    frequencies = np.bincount(actions, minlength=3) / len(actions)
    np.testing.assert_allclose(frequencies, [0.1, 0.8, 0.1], atol=0.015)
    tied = jnp.zeros((20000, 3))
    ties = np.bincount(np.asarray(epsilon_greedy(tied, uniforms, jnp.float32(0.0))), minlength=3)
    np.testing.assert_allclose(ties / 20000, [1 / 3] * 3, atol=0.015)


def test_epsilon_decays_linearly_then_stays():
    config = TINY.replace(total_timesteps=1000, num_envs=1, num_steps=10, buffer_size=100)
    config = config.replace(epsilon_start=1.0, epsilon_end=0.1, exploration_fraction=0.5)
    values = [float(epsilon_at(config, config.hyperparams, s)) for s in (0, 250, 500, 900)]
    np.testing.assert_allclose(values, [1.0, 0.55, 0.1, 0.1], rtol=1e-6)


def test_metrics_have_one_entry_per_update_and_learning_waits(tiny_train):
    result = tiny_train(jax.random.key(0))
    for name in ("episode_return", "q_loss", "q_mean", "epsilon", "env_steps", "gradient_steps"):
        assert result.metrics[name].shape == (TINY.num_updates,), name
    np.testing.assert_array_equal(result.metrics["env_steps"], 32 * np.arange(1, 7))
    # Learning starts at 64 env steps: updates 2.. make 8 gradient steps each.
    assert np.isnan(result.metrics["q_loss"][0]) and np.all(
        np.isfinite(result.metrics["q_loss"][1:])
    )
    np.testing.assert_array_equal(result.metrics["gradient_steps"], [0, 8, 16, 24, 32, 40])


def test_the_same_key_gives_the_same_run_and_another_key_another(tiny_train):
    key = jax.random.key(3)
    jitted = tiny_train(key)
    chex.assert_trees_all_equal(jitted.metrics, tiny_train(key).metrics)
    assert not np.array_equal(
        tiny_train(jax.random.key(4)).metrics["q_loss"][1:], jitted.metrics["q_loss"][1:]
    )


@pytest.mark.slow  # eager execution dispatches op by op: several seconds for two updates
def test_jit_equals_no_jit(cartpole):
    env, params = cartpole
    key = jax.random.key(3)
    with jax.disable_jit():
        eager = dqn.make_train(TINY.replace(total_timesteps=64), env, params)(key)
    short = jax.jit(dqn.make_train(TINY.replace(total_timesteps=64), env, params))(key)
    chex.assert_trees_all_close(eager.params, short.params, rtol=1e-5, atol=1e-6)


def test_vmap_over_seeds_and_a_sweep_equal_separate_runs(cartpole, tiny_train):
    env, params = cartpole
    train = dqn.make_train(TINY, env, params)
    keys = jax.random.split(jax.random.key(0), 2)
    batched = jax.jit(jax.vmap(train))(keys)
    for i in range(2):
        chex.assert_trees_all_close(
            _at(batched.params, i), tiny_train(keys[i]).params, rtol=1e-4, atol=1e-5
        )
    grid, points = dqn.hyperparams_grid(TINY, learning_rate=[1e-3, 3e-3])
    swept = jax.jit(jax.vmap(train, in_axes=(None, 0)))(keys[0], grid)
    single = jax.jit(dqn.make_train(TINY.replace(**points[1]), env, params))(keys[0])
    chex.assert_trees_all_close(_at(swept.params, 1), single.params, rtol=1e-4, atol=1e-5)


def test_chunks_compute_what_one_call_computes(cartpole, tiny_train):
    env, params = cartpole
    init = jax.jit(dqn.make_init(TINY, env, params))
    run = jax.jit(dqn.make_run_updates(TINY, env, params, num_updates=2))
    runner = init(jax.random.key(5))
    for _ in range(3):
        runner, _ = run(runner)
    chex.assert_trees_all_equal(
        runner.learner.params, tiny_train(jax.random.key(5)).runner_state.learner.params
    )


@pytest.mark.slow
def test_the_default_config_takes_the_shortest_path_in_the_open_room():
    # The grid world's default (16 of 16 seeds in the learning table): 4 seeds vmapped, each
    # the mean of 100 greedy episodes.
    env, params = envs.make("GridWorld-OpenRoom-v0")
    config = dqn.default_config("GridWorld-OpenRoom-v0")
    keys = jax.random.split(jax.random.key(0), 4)
    result = jax.jit(jax.vmap(dqn.make_train(config, env, params)))(keys)
    evaluate = jax.jit(jax.vmap(dqn.make_evaluate(config, env, params, num_episodes=100)))
    scores = np.asarray(evaluate(result.params, jax.random.split(jax.random.key(1), 4))).mean(1)
    assert np.all(scores >= float(gridworld.optimal_return(params))), scores
