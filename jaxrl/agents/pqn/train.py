"""PQN fused into one program: `train = make_train(config, env, env_params)`, then
`jax.jit(train)(key)`, or `jax.jit(jax.vmap(train))(keys)` for many seeds at once.

PQN (Gallici et al. 2024, "Simplifying Deep Temporal Difference Learning"; purejaxql's
`pqn_gymnax.py`) is Q-learning the way PPO is run: vectorised envs, no replay buffer, no target
network. Each update (`update_step`): `collect_rollout` steps `num_envs` envs for `num_steps`
with epsilon-greedy actions of the current Q-network, `q_lambda_returns` turns the rollout into
Q(lambda) targets (terminated and truncated apart: a truncated step bootstraps from its final
observation), and `update_epoch` makes `num_epochs` passes of shuffled minibatch Adam steps on
the squared TD error. LayerNorm in the Q-network keeps this stable without a target network.
Epsilon decays linearly over the first `epsilon_anneal_fraction` of the updates; the learning
rate, when annealed, over all of them. `train` scans `num_updates` updates.

An update draws every random number it uses (the next key, the rollout's noise, the shuffles)
at its start, in one call. The parameters are one flat vector and loops store packed arrays:
CPU workarounds behind the named helpers of `jaxrl._xla_cpu` (docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrl import _xla_cpu as xla_cpu
from jaxrl.agents.common import driver
from jaxrl.agents.common.evaluation import episode_metrics
from jaxrl.agents.common.rollout import (
    Envs,
    collect_rollout,
    key_shape,
    reset_envs,
    rollout_noise,
    rollout_noise_shapes,
)
from jaxrl.agents.ppo.evaluate import observation_normalizer
from jaxrl.agents.pqn.config import PQNConfig, PQNHyperparams
from jaxrl.agents.pqn.losses import LossInfo, q_lambda_returns, q_loss
from jaxrl.agents.pqn.networks import ACTION_NOISE_SHAPE, Agent, epsilon_greedy, make_agent
from jaxrl.envs import numerics
from jaxrl.envs.core import Environment, EnvParams
from jaxrl.normalization import RunningStats

Metrics = dict[str, jax.Array]


@struct.dataclass
class Learner:
    """What the updates learn.

    Attributes:
        params: `[P]` float32, the Q-network's parameters as one vector.
        opt_state: Adam's state over `params`.
        obs_stats: running observation statistics (unused unless normalising).
        update_index: int32 scalar, updates done.
    """

    params: jax.Array
    opt_state: optax.OptState
    obs_stats: RunningStats
    update_index: jax.Array


@struct.dataclass
class RunnerState:
    """What one update hands to the next.

    Attributes:
        learner: parameters, optimizer and normaliser.
        envs: the envs' states and raw observations, `[N]` leading axis.
        key: the key the next update draws from.
    """

    learner: Learner
    envs: Envs
    key: jax.Array


@struct.dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        params: the final Q-network parameters (a Flax params pytree for `QNetwork`).
        obs_stats: the observation normaliser's statistics, which `evaluate` needs when
            `config.normalize_observations`.
        metrics: per-update arrays, each `[num_updates]` (see `update_step`).
        runner_state: the final training state, to continue training.
    """

    params: Any
    obs_stats: RunningStats
    metrics: Metrics
    runner_state: RunnerState


def make_train(
    config: PQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., TrainResult]:
    """Builds PQN's whole training run as a pure function of a key.

    Args:
        config: a validated PQNConfig.
        env: a jaxrl environment with a Discrete action space.
        env_params: its params; the env's defaults when None.
        log_callback: called on the host with each update's metrics (a dict of scalars, with
            the update index under "update"); it only observes, so results are unchanged.

    Returns:
        `train(key, hyperparams=None) -> TrainResult`: pure and unjitted (jit and vmap it).
        `hyperparams` (a `PQNHyperparams`, the config's when None) may be batched under vmap
        to sweep learning rate, gamma, lambda, the epsilon schedule and the reward scale in one
        program.
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    return driver.chain(
        make_init(config, env, env_params),
        make_run_updates(config, env, env_params, log_callback=log_callback),
        functools.partial(result_from_runner, agent),
    )


def make_init(
    config: PQNConfig, env: Environment, env_params: EnvParams | None = None
) -> Callable[..., RunnerState]:
    """Builds `init(key, hyperparams=None) -> RunnerState`, a run's state before any update:
    with `make_run_updates`, `train` in two, to run the updates in chunks (progress,
    checkpoints, resuming)."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)

    def init(key: jax.Array, hyperparams: PQNHyperparams | None = None) -> RunnerState:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        return init_runner_state(key, config, env, env_params, agent, hyperparams)

    return init


def make_run_updates(
    config: PQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_updates: int | None = None,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., tuple[RunnerState, Metrics]]:
    """Builds `run(runner, hyperparams=None) -> (runner, metrics [num_updates])`: the next
    `num_updates` updates (static; the whole run's when None), other arguments as for
    `make_train`. Epsilon and the learning rate follow the runner's update count, so chunks
    that add up to the run compute what one call does."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    num_updates = driver.checked_num_updates(config, num_updates)

    def run(
        runner: RunnerState, hyperparams: PQNHyperparams | None = None
    ) -> tuple[RunnerState, Metrics]:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams

        def update(runner):
            return update_step(runner, config, env, env_params, agent, hyperparams)

        return driver.scan_updates(update, runner, num_updates, log_callback)

    return run


def result_from_runner(agent: Agent, runner: RunnerState, metrics: Metrics) -> TrainResult:
    """The `TrainResult` of a run that ended in `runner`, with its per-update `metrics`."""
    return TrainResult(
        params=agent.unravel(runner.learner.params),
        obs_stats=runner.learner.obs_stats,
        metrics=metrics,
        runner_state=runner,
    )


def init_runner_state(
    key: jax.Array,
    config: PQNConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: PQNHyperparams,
) -> RunnerState:
    """Initial parameters, optimizer state and `num_envs` freshly reset envs, from one random
    draw on `key`."""
    words = xla_cpu.draw_words(
        key,
        {"params": (agent.flat.size,), "streams": (config.num_envs + 1, *key_shape(key))},
    )
    params = agent.flat.init_from_bits(words["params"])
    keys = xla_cpu.keys_from_words(words["streams"], key)
    envs = reset_envs(keys[1:], env, env_params)
    optimizer = make_optimizer(hyperparams, learning_rate_at(config, hyperparams, 0))
    # Vmapped over seeds or a sweep, every changing carry is batched from the start, so each
    # loop body is batched once. The normaliser's statistics change only when used.
    params, opt_state, envs = xla_cpu.batched_from_start(
        (params, optimizer.init(params), envs), words, hyperparams
    )
    obs_stats = RunningStats.create(envs.obs.shape[1:])
    if config.normalize_observations:
        obs_stats = xla_cpu.batched_from_start(obs_stats, words, hyperparams)
    learner = Learner(
        params=params,
        opt_state=opt_state,
        obs_stats=obs_stats,
        update_index=jnp.zeros((), jnp.int32),
    )
    return RunnerState(learner=learner, envs=envs, key=keys[0])


def update_step(
    runner: RunnerState,
    config: PQNConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: PQNHyperparams,
) -> tuple[RunnerState, Metrics]:
    """One PQN update: an epsilon-greedy rollout, Q(lambda) targets, `num_epochs` epochs of
    minibatch steps.

    Returns:
        The next runner state and this update's metrics (float32 scalars): `episode_return`
        and `episode_length` (means over training episodes that ended in this rollout, NaN when
        none did), `episodes` (their count), `q_loss` and `q_mean` (means over the minibatch
        steps), `epsilon` and `learning_rate` (this update's) and `env_steps` (total so far).
    """
    learner, network = runner.learner, agent.network
    words = xla_cpu.draw_words(
        runner.key,
        {
            "next_key": key_shape(runner.key),
            **rollout_noise_shapes(
                runner.key,
                num_steps=config.num_steps,
                num_envs=config.num_envs,
                action_noise_shape=ACTION_NOISE_SHAPE,
            ),
            "shuffle_bits": (config.num_epochs, config.batch_size),
        },
    )
    noise = rollout_noise(words, runner.key, env, env_params, numerics.uniform_from_bits)
    params = agent.unravel(learner.params)
    normalize = observation_normalizer(config, learner.obs_stats)
    epsilon = epsilon_at(config, hyperparams, learner.update_index)

    def act(obs, action_noise):
        return epsilon_greedy(network.apply(params, normalize(obs)), epsilon, action_noise), {}

    envs, rollout = collect_rollout(act, env, env_params, runner.envs, noise)
    # The statistics the rollout's policy saw normalise the whole update's observations.
    next_q = jnp.max(network.apply(params, normalize(rollout.final_obs)), axis=-1)
    targets = q_lambda_returns(
        rollout.reward * hyperparams.reward_scale,
        next_q,
        rollout.terminated,
        rollout.truncated,
        hyperparams.gamma,
        hyperparams.q_lambda,
    )
    batch = {"obs": normalize(rollout.obs), "action": rollout.action, "target": targets}
    batch = jax.tree.map(lambda leaf: leaf.reshape((config.batch_size,) + leaf.shape[2:]), batch)
    learning_rate = learning_rate_at(config, hyperparams, learner.update_index)

    def epoch(carry, shuffle_bits):
        carry, info = update_epoch(
            carry, shuffle_bits, batch, config, agent, hyperparams, learning_rate
        )
        return carry, xla_cpu.pack_fields(info)

    (flat_params, opt_state), infos = jax.lax.scan(
        epoch, (learner.params, learner.opt_state), words["shuffle_bits"]
    )
    obs_stats = learner.obs_stats
    if config.normalize_observations:
        obs_stats = obs_stats.update(rollout.obs)
    learner = learner.replace(
        params=flat_params,
        opt_state=opt_state,
        obs_stats=obs_stats,
        update_index=learner.update_index + 1,
    )
    next_key = xla_cpu.keys_from_words(words["next_key"], runner.key)
    metrics = {
        **episode_metrics(rollout),
        **jax.tree.map(jnp.mean, vars(xla_cpu.unpack_fields(LossInfo, infos))),
        "epsilon": jnp.asarray(epsilon, jnp.float32),
        "learning_rate": jnp.asarray(learning_rate, jnp.float32),
        "env_steps": (learner.update_index * config.batch_size).astype(jnp.float32),
    }
    return RunnerState(learner=learner, envs=envs, key=next_key), metrics


def update_epoch(
    carry: tuple[jax.Array, optax.OptState],
    shuffle_bits: jax.Array,
    batch: dict[str, jax.Array],
    config: PQNConfig,
    agent: Agent,
    hyperparams: PQNHyperparams,
    learning_rate: jax.typing.ArrayLike,
) -> tuple[tuple[jax.Array, optax.OptState], LossInfo]:
    """One pass over the rollout in shuffled minibatches: `batch` leaves are `[B, ...]` (obs,
    action, target), `shuffle_bits` `[B]` uint32 random bits that pick the order."""
    optimizer = make_optimizer(hyperparams, learning_rate)
    network = agent.network
    minibatches = xla_cpu.shuffled_minibatches(
        batch, xla_cpu.permutation_from_bits(shuffle_bits), config.num_minibatches, agent.exact_ints
    )

    def loss_fn(flat_params, minibatch):
        q_values = network.apply(agent.unravel(flat_params), minibatch["obs"])
        return q_loss(q_values, minibatch["action"], minibatch["target"])

    def update_minibatch(carry, minibatch):
        flat_params, opt_state = carry
        grads, info = jax.grad(loss_fn, has_aux=True)(flat_params, minibatch)
        updates, opt_state = optimizer.update(grads, opt_state, flat_params)
        return (optax.apply_updates(flat_params, updates), opt_state), xla_cpu.pack_fields(info)

    carry, infos = xla_cpu.scan_packed(
        update_minibatch, carry, minibatches, small_ints=agent.exact_ints
    )
    return carry, xla_cpu.unpack_fields(LossInfo, jnp.mean(infos, axis=0))


def make_optimizer(
    hyperparams: PQNHyperparams, learning_rate: jax.typing.ArrayLike
) -> optax.GradientTransformation:
    """Global-norm clipping, then Adam at this update's `learning_rate` (fixed within an update,
    so a minibatch step keeps one counter, Adam's). Its state is the same for every rate."""
    return optax.chain(
        optax.clip_by_global_norm(hyperparams.max_grad_norm),
        optax.adam(learning_rate=learning_rate),
    )


def learning_rate_at(config: PQNConfig, hyperparams: PQNHyperparams, update_index) -> jax.Array:
    """The learning rate during update `update_index` (0-based): linear decay to 0 when annealed."""
    if not config.anneal_lr:
        return hyperparams.learning_rate
    return hyperparams.learning_rate * (1.0 - update_index / config.num_updates)


def epsilon_at(config: PQNConfig, hyperparams: PQNHyperparams, update_index) -> jax.Array:
    """Epsilon during update `update_index` (0-based): `epsilon_start` at the first update,
    linear to `epsilon_finish` at update `epsilon_anneal_fraction * num_updates`, then flat."""
    progress = update_index / (hyperparams.epsilon_anneal_fraction * config.num_updates)
    start, finish = hyperparams.epsilon_start, hyperparams.epsilon_finish
    return start + (finish - start) * jnp.minimum(progress, 1.0)
