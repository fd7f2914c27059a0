"""SAC: the entropy temperature's step, the tanh-Gaussian's log-density and the soft Bellman
target worked by hand (terminations against truncations), config validation, the policy the
`jaxrl` command reads, the invariants (jit == no-jit, vmap == loop, same key => same result, a
sweep equals separate runs, chunks equal one call), the correlated exploration noise (i.i.d.
SAC bit for bit at 0) and learning Pendulum and MountainCarContinuous (slow)."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrl import envs
from jaxrl.agents import sac
from jaxrl.agents.common.policy import play_policy
from jaxrl.agents.common.replay import n_step_transitions, replay_add, replay_init
from jaxrl.agents.common.rollout import collect_rollout
from jaxrl.agents.sac import train as sac_train
from jaxrl.agents.sac.losses import alpha_loss, critic_target
from jaxrl.agents.sac.networks import TanhGaussian, make_agent
from jaxrl.agents.sac.train import Learner, adam_step, gradient_step

TINY = sac.SACConfig(
    total_timesteps=4 * 8 * 6,
    num_envs=4,
    num_steps=8,
    buffer_size=4 * 32,
    batch_size=16,
    hidden_sizes=(16,),
    learning_starts=64,
    replay_ratio=0.25,
)


@pytest.fixture(scope="module")
def pendulum():
    return envs.make("Pendulum-v1")


@pytest.fixture(scope="module")
def tiny_train(pendulum):
    env, params = pendulum
    return jax.jit(sac.make_train(TINY, env, params))


def _at(tree, i):
    return jax.tree.map(lambda leaf: leaf[i], tree)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(num_envs=0), "num_envs"),
        (dict(total_timesteps=8), "less than one rollout"),
        (dict(buffer_size=30), "multiple of num_envs"),
        (dict(hidden_sizes=()), "hidden_sizes"),
        (dict(activation="gelu"), "choose one of"),
        (dict(learning_starts=1000), "lower it or raise total_timesteps"),
        (dict(replay_ratio=0.001), "raise replay_ratio"),
        (dict(gamma=1.5), "gamma"),
        (dict(tau=0.0), "tau"),
        (dict(initial_alpha=0.0), "initial_alpha"),
        (dict(noise_correlation=1.5), "noise_correlation"),
        (dict(noise_correlation=-0.1), "noise_correlation"),
        (dict(lr=1e-3), "valid fields"),
    ],
)
def test_invalid_configs_fail_with_a_one_line_error(changes, message):
    with pytest.raises(ValueError, match=message) as error:
        TINY.replace(**changes)
    assert "\n" not in str(error.value)


def test_discrete_actions_are_refused_before_compiling():
    env, params = envs.make("CartPole-v1")
    with pytest.raises(ValueError, match="SAC acts in a 1-D Box action space"):
        sac.make_train(TINY, env, params)


@pytest.mark.parametrize("log_prob, direction", [(-1.5, -1.0), (2.0, 1.0)])
def test_one_temperature_step_moves_log_alpha_by_the_learning_rate_toward_the_target(
    log_prob, direction
):
    """The loss's gradient in log-alpha is the entropy less the target; Adam's first step is
    the learning rate against the gradient's sign. Entropy 1.5 nats above a target of -1: alpha
    falls; entropy -2 below it: alpha rises."""
    log_alpha, target_entropy, learning_rate = jnp.float32(math.log(0.5)), -1.0, 0.1
    log_probs = jnp.array([log_prob - 0.5, log_prob + 0.5])
    gradient = jax.grad(alpha_loss)(log_alpha, log_probs, target_entropy)
    np.testing.assert_allclose(gradient, -log_prob - target_entropy, rtol=1e-6)
    new, _ = adam_step(log_alpha, gradient, optax.adam(1.0).init(log_alpha), learning_rate)
    np.testing.assert_allclose(np.exp(new), 0.5 * math.exp(direction * learning_rate), rtol=1e-5)


def _reference_log_density(y, mean, std):
    """log p(y) of y = tanh(u), u ~ Normal(mean, std) per dimension, in float64: the Gaussian's
    density at atanh(y) times |d atanh(y) / dy| = 1 / (1 - y^2), summed over dimensions."""
    u = np.arctanh(y)
    gaussian = -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    return np.sum(gaussian - np.log1p(-(y**2)), axis=-1)


def test_the_tanh_gaussian_log_density_is_the_change_of_variables_density():
    mean = np.array([0.3, -1.2], np.float32)
    log_std = np.array([-0.5, 0.4], np.float32)
    noise = jax.random.normal(jax.random.key(0), (1000, 2))
    dist = TanhGaussian(
        mean=jnp.broadcast_to(mean, noise.shape), log_std=jnp.broadcast_to(log_std, noise.shape)
    )
    action, log_prob = dist.sample_and_log_prob(noise)
    # Away from the saturated ends, where float32's tanh loses atanh's precision.
    inner = np.all(np.abs(np.asarray(action)) < 0.99, axis=-1)
    reference = _reference_log_density(
        np.asarray(action, np.float64)[inner], mean.astype(np.float64), np.exp(log_std)
    )
    np.testing.assert_allclose(np.asarray(log_prob)[inner], reference, rtol=1e-4, atol=1e-3)
    # Saturated actions keep a finite density (the Jacobian in softplus form).
    _, extreme = TanhGaussian(mean=jnp.array([12.0]), log_std=jnp.array([0.0])).sample_and_log_prob(
        jnp.array([0.0])
    )
    np.testing.assert_allclose(extreme, -0.5 * np.log(2 * np.pi) + 2 * (12 - np.log(2)), rtol=1e-4)


def test_the_tanh_gaussian_density_integrates_to_the_monte_carlo_frequencies():
    """The density exp(log_prob) on a grid of (-1, 1), integrated over bins, matches the
    frequencies of 200k samples in those bins."""
    dist = TanhGaussian(mean=jnp.array([[0.4]]), log_std=jnp.array([[0.2]]))
    samples, _ = dist.sample_and_log_prob(jax.random.normal(jax.random.key(1), (200_000, 1)))
    edges = np.linspace(-1.0, 1.0, 11)
    frequencies = np.histogram(np.asarray(samples[:, 0]), edges)[0] / 200_000
    # The density at y, through the noise that maps onto y: u = atanh(y) = mean + std * noise.
    y = np.linspace(-1.0, 1.0, 20001)[1:-1]
    noise = (np.arctanh(y) - 0.4) / math.exp(0.2)
    _, log_prob = dist.sample_and_log_prob(jnp.asarray(noise[:, None], jnp.float32))
    density = np.exp(np.asarray(log_prob, np.float64))
    masses = [
        np.trapezoid(density[(y >= a) & (y <= b)], y[(y >= a) & (y <= b)])
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    np.testing.assert_allclose(masses, frequencies, atol=4e-3)


def test_the_soft_target_stops_at_a_termination_and_bootstraps_a_truncation_from_its_final_obs():
    """Three steps of one env: an ordinary one, a truncation (its final observation differs from
    the reset observation the env shows next), a termination."""
    obs = np.array([[[0.0]], [[1.0]], [[2.0]], [[3.0]]], np.float32)  # [T, N=1, 1]
    final_obs = np.array([[[1.0]], [[9.0]], [[3.0]], [[4.0]]], np.float32)
    steps = {
        "obs": jnp.asarray(obs),
        "action": jnp.zeros((4, 1, 1), jnp.float32),
        "reward": jnp.array([[1.0], [2.0], [3.0], [0.0]]),
        "terminated": jnp.array([[False], [False], [True], [False]]),
        "truncated": jnp.array([[False], [True], [False], [False]]),
        "final_obs": jnp.asarray(final_obs),
    }
    replay = replay_add(replay_init(_at(steps, 0), capacity=4), steps)
    gamma = 0.9
    batch = n_step_transitions(
        replay, jnp.arange(3, dtype=jnp.int32), jnp.zeros(3, jnp.int32), n=1, gamma=gamma
    )
    np.testing.assert_array_equal(batch.next_obs[:, 0], [1.0, 9.0, 3.0])
    np.testing.assert_allclose(batch.discount, [gamma, gamma, 0.0])
    next_q = jnp.array([[5.0, 7.0, 100.0], [6.0, 4.0, 100.0]])  # the min: 5, 4, 100
    next_log_prob = jnp.array([-1.0, 2.0, 3.0])
    alpha = 0.5
    target = critic_target(batch.returns, batch.discount, next_q, next_log_prob, alpha)
    expected = [1.0 + gamma * (5.0 + 0.5), 2.0 + gamma * (4.0 - 1.0), 3.0]
    np.testing.assert_allclose(target, expected, rtol=1e-6)


def test_a_gradient_step_fits_the_clipped_double_q_target_of_the_target_critics(pendulum):
    """With tiny learning rates the step's critic loss is that of the min of the *target*
    critics, the temperature enters the target, and a terminated step bootstraps nothing."""
    env, env_params = pendulum
    agent = make_agent(TINY, env, env_params)
    bits = jax.random.bits(jax.random.key(0), (agent.actor_flat.size + agent.critic_flat.size,))
    actor = agent.actor_flat.init_from_bits(bits[: agent.actor_flat.size])
    critic = agent.critic_flat.init_from_bits(bits[agent.actor_flat.size :])
    target_critic = 0.5 * critic
    adam = optax.adam(1.0)
    learner = Learner(
        actor_params=actor,
        critic_params=critic,
        target_critic_params=target_critic,
        log_alpha=jnp.float32(math.log(0.3)),
        actor_opt_state=adam.init(actor),
        critic_opt_state=adam.init(critic),
        alpha_opt_state=adam.init(jnp.float32(0.0)),
        update_index=jnp.int32(0),
    )
    keys = jax.random.split(jax.random.key(1), 6)
    batch_size = 8
    minibatch = {
        "obs": jax.random.normal(keys[0], (batch_size, 3)),
        "action": jax.random.uniform(keys[1], (batch_size, 1), minval=-1.0, maxval=1.0),
        "reward": jax.random.normal(keys[2], (batch_size,)),
        "next_obs": jax.random.normal(keys[3], (batch_size, 3)),
        "discount": jnp.where(jnp.arange(batch_size) % 2 == 0, 0.99, 0.0),
        "next_noise": jax.random.normal(keys[4], (batch_size, 1)),
        "noise": jax.random.normal(keys[5], (batch_size, 1)),
    }
    hyperparams = TINY.replace(
        actor_learning_rate=1e-12, critic_learning_rate=1e-12, tau=0.005
    ).hyperparams
    _, info = jax.jit(lambda *args: gradient_step(*args, agent, hyperparams, -1.0))(
        learner, minibatch
    )
    next_action, next_log_prob = agent.policy(actor, minibatch["next_obs"]).sample_and_log_prob(
        minibatch["next_noise"]
    )
    next_q = np.asarray(agent.q_values(target_critic, minibatch["next_obs"], next_action))
    soft = next_q.min(axis=0) - 0.3 * np.asarray(next_log_prob)
    target = np.asarray(minibatch["reward"]) + np.asarray(minibatch["discount"]) * soft
    q = np.asarray(agent.q_values(critic, minibatch["obs"], minibatch["action"]))
    expected = 0.5 * np.sum(np.mean((q - target[None]) ** 2, axis=-1))
    np.testing.assert_allclose(info.q_loss, expected, rtol=1e-5)
    np.testing.assert_allclose(info.alpha, 0.3, rtol=1e-6)


def test_metrics_have_one_entry_per_update_and_learning_waits(tiny_train):
    result = tiny_train(jax.random.key(0))
    names = ("episode_return", "episode_length", "episodes", "env_steps", "q_loss")
    names += ("actor_loss", "alpha", "entropy", "q_mean")
    assert set(result.metrics) == set(names)
    for name in names:
        assert result.metrics[name].shape == (TINY.num_updates,), name
    np.testing.assert_array_equal(result.metrics["env_steps"], 32 * np.arange(1, 7))
    # The rollout that reaches learning_starts=64 env steps (the second) learns.
    assert np.isnan(result.metrics["q_loss"][0])
    assert np.all(np.isfinite(result.metrics["q_loss"][1:]))
    assert result.metrics["alpha"][0] == 1.0 and result.metrics["alpha"][-1] < 1.0


def test_the_same_key_gives_the_same_run_and_another_key_another(tiny_train):
    key = jax.random.key(3)
    jitted = tiny_train(key)
    chex.assert_trees_all_equal(jitted.metrics, tiny_train(key).metrics)
    assert not np.array_equal(
        tiny_train(jax.random.key(4)).metrics["q_loss"][1:], jitted.metrics["q_loss"][1:]
    )


@pytest.mark.slow  # eager execution dispatches op by op: seconds for one update
def test_jit_equals_no_jit(pendulum):
    env, params = pendulum
    key = jax.random.key(3)
    # One update that explores and learns.
    short_config = TINY.replace(
        total_timesteps=8, num_envs=2, num_steps=4, learning_starts=0, buffer_size=16
    )
    with jax.disable_jit():
        eager = sac.make_train(short_config, env, params)(key)
    short = jax.jit(sac.make_train(short_config, env, params))(key)
    chex.assert_trees_all_close(eager.params, short.params, rtol=1e-4, atol=1e-5)
    chex.assert_trees_all_close(eager.metrics, short.metrics, rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # a sweep or chunked runs, compiled: the whole suite's
def test_vmap_over_seeds_and_a_sweep_equal_separate_runs(pendulum, tiny_train):
    env, params = pendulum
    train = sac.make_train(TINY, env, params)
    keys = jax.random.split(jax.random.key(0), 2)
    batched = jax.jit(jax.vmap(train))(keys)
    for i in range(2):
        chex.assert_trees_all_close(
            _at(batched.params, i), tiny_train(keys[i]).params, rtol=1e-4, atol=1e-5
        )
    grid, points = sac.hyperparams_grid(TINY, critic_learning_rate=[1e-3, 3e-3], tau=[0.01])
    swept = jax.jit(jax.vmap(train, in_axes=(None, 0)))(keys[0], grid)
    single = jax.jit(sac.make_train(TINY.replace(**points[1]), env, params))(keys[0])
    chex.assert_trees_all_close(_at(swept.params, 1), single.params, rtol=1e-4, atol=1e-5)


def test_noise_correlation_zero_is_sac_with_iid_noise_bit_for_bit(
    pendulum, tiny_train, monkeypatch
):
    """The default (rho = 0) run equals one whose rollouts take the plain i.i.d. path."""
    env, params = pendulum

    def iid_rollout(act, env, env_params, envs, noise, correlated, correlation):
        envs, transition = collect_rollout(act, env, env_params, envs, noise)
        return envs, correlated, transition

    monkeypatch.setattr(sac_train, "collect_correlated_rollout", iid_rollout)
    iid = jax.jit(sac.make_train(TINY, env, params))(jax.random.key(0))
    default = tiny_train(jax.random.key(0))
    chex.assert_trees_all_equal(default.metrics, iid.metrics)
    chex.assert_trees_all_equal(default.runner_state.learner, iid.runner_state.learner)
    chex.assert_trees_all_equal(default.runner_state.replay, iid.runner_state.replay)


def test_correlated_noise_changes_the_actions_after_each_episode_start(pendulum):
    env, params = pendulum
    config = TINY.replace(buffer_size=4 * 48)  # every step stays in the buffer, in order
    train = sac.make_train(config, env, params)
    correlation = config.hyperparams.replace(noise_correlation=jnp.float32(0.9))
    runs = jax.jit(jax.vmap(train, in_axes=(None, 0)))(
        jax.random.key(0), jax.tree.map(lambda *v: jnp.stack(v), config.hyperparams, correlation)
    )
    iid_actions, actions = np.asarray(runs.runner_state.replay.data["action"])
    correlated = _at(runs, 1)
    # The first step draws afresh, as i.i.d. noise does; later steps carry the last draw.
    np.testing.assert_array_equal(actions[0], iid_actions[0])
    assert not np.allclose(actions[1:], iid_actions[1:])
    exploration = correlated.runner_state.exploration
    assert exploration.noise.shape == (TINY.num_envs, 1)
    assert not np.any(exploration.restart)  # Pendulum's 200-step episodes have not ended


def test_chunks_compute_what_one_call_computes(pendulum, tiny_train):
    env, params = pendulum
    init = jax.jit(sac.make_init(TINY, env, params))
    run = jax.jit(sac.make_run_updates(TINY, env, params, num_updates=2))
    runner = init(jax.random.key(5))
    for _ in range(3):
        runner, _ = run(runner)
    chex.assert_trees_all_equal(runner.learner, tiny_train(jax.random.key(5)).runner_state.learner)


def test_the_policy_acts_within_the_action_box_as_make_evaluate_does(pendulum, tiny_train):
    env, params = pendulum
    runner = tiny_train(jax.random.key(0)).runner_state
    obs = 3.0 * jax.random.normal(jax.random.key(2), (512, 3))
    for deterministic in (True, False):
        policy = sac.make_policy(TINY, env, params, deterministic=deterministic)
        act = jax.jit(lambda key, p=policy: p.act(p.params(runner.learner), obs, key))
        actions = np.asarray(act(jax.random.key(3)))
        assert actions.shape == (512, 1)
        assert np.all(np.abs(actions) <= 2.0), actions.min()
        np.testing.assert_array_equal(actions, act(jax.random.key(3)))
        assert np.array_equal(actions, act(jax.random.key(4))) == deterministic
    policy = sac.make_policy(TINY, env, params)
    policy_params = policy.params(runner.learner)
    got = jax.jit(lambda: play_policy(policy, policy_params, env, params, 8, jax.random.key(1)))()
    evaluate = sac.make_evaluate(TINY, env, params, num_episodes=8)
    key_play = jax.random.split(jax.random.key(1))[0]
    np.testing.assert_array_equal(got, jax.jit(evaluate)(policy_params["params"], key_play))


@pytest.mark.slow
def test_the_default_config_solves_pendulum(pendulum):
    env, params = pendulum
    config = sac.default_config("Pendulum-v1")
    keys = jax.random.split(jax.random.key(0), 4)
    train = sac.make_train(config, env, params)
    result = jax.jit(jax.vmap(train))(keys)
    evaluate = jax.jit(jax.vmap(sac.make_evaluate(config, env, params, num_episodes=100)))
    scores = np.asarray(evaluate(result.params, jax.random.split(jax.random.key(1), 4))).mean(1)
    assert np.sum(scores >= -200) >= 3, scores


@pytest.mark.slow
def test_the_default_config_solves_mountain_car_continuous():
    env, params = envs.make("MountainCarContinuous-v0")
    config = sac.default_config("MountainCarContinuous-v0")
    keys = jax.random.split(jax.random.key(0), 4)
    result = jax.jit(jax.vmap(sac.make_train(config, env, params)))(keys)
    evaluate = jax.jit(jax.vmap(sac.make_evaluate(config, env, params, num_episodes=100)))
    scores = np.asarray(evaluate(result.params, jax.random.split(jax.random.key(1), 4))).mean(1)
    assert np.sum(scores >= 90) >= 3, scores
