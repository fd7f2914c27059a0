"""PPO fused into one program: `train = make_train(config, env, env_params)`, then
`jax.jit(train)(key)`, or `jax.jit(jax.vmap(train))(keys)` for many seeds at once.

Each update (`update_step`, PureJaxRL's loop in brax's named functions): `collect_rollout`
steps `num_envs` envs for `num_steps` with the current policy, `compute_gae` turns the rollout
into advantages and value targets (terminated and truncated apart: a truncated step bootstraps
from its final observation's value), and `update_epoch` makes `update_epochs` passes of shuffled
minibatch Adam steps on PPO's clipped loss. `train` scans `num_updates` updates.

An update draws every random number it uses (the next key, the rollout's noise, the shuffles)
at its start, in one call. The parameters are one flat vector and loops store packed arrays:
CPU workarounds behind the named helpers of `jaxrl._xla_cpu` (docs/performance.md).

Data parallelism (`axis_name`, under `jax.shard_map` from `jaxrl.distributed`): each shard
steps `num_envs / shards` envs with its own random stream; every minibatch takes an equal share
from each shard, and gradients, advantage normalisation, normaliser statistics and metrics are
taken over all shards, so an update equals the single-device update on the same global batch.
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
from jaxrl.agents.ppo.config import PPOConfig, PPOHyperparams
from jaxrl.agents.ppo.evaluate import observation_normalizer
from jaxrl.agents.ppo.losses import (
    LossInfo,
    explained_variance,
    normalize_minibatch_advantages,
    ppo_loss,
)
from jaxrl.agents.ppo.networks import ActorCritic, Agent, make_agent
from jaxrl.envs.core import Environment, EnvParams
from jaxrl.gae import compute_gae
from jaxrl.normalization import RunningStats, scale_rewards

Metrics = dict[str, jax.Array]


@struct.dataclass
class Learner:
    """What the updates learn; the same on every data-parallel shard.

    Attributes:
        params: `[P]` float32, the network's parameters as one vector.
        opt_state: Adam's state over `params`.
        obs_stats: running observation statistics (unused unless normalising).
        return_stats: running statistics of the discounted return (reward scaling).
        update_index: int32 scalar, updates done.
    """

    params: jax.Array
    opt_state: optax.OptState
    obs_stats: RunningStats
    return_stats: RunningStats
    update_index: jax.Array


@struct.dataclass
class RunnerState:
    """What one update hands to the next.

    Attributes:
        learner: parameters, optimizer and normalisers.
        envs: the envs' states and raw observations, `[N]` leading axis.
        discounted_return: `[N]`, each env's running discounted return (reward scaling).
        key: the key the next update draws from.
    """

    learner: Learner
    envs: Envs
    discounted_return: jax.Array
    key: jax.Array


@struct.dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        params: the final network parameters (a Flax params pytree for `ActorCritic`).
        obs_stats: the observation normaliser's statistics, which `evaluate` needs when
            `config.normalize_observations`.
        metrics: per-update arrays, each `[num_updates]` (see `update_step`).
        runner_state: the final training state, to continue training.
    """

    params: Any
    obs_stats: RunningStats
    metrics: Metrics
    runner_state: RunnerState


def data_parallel_specs(replicated: Any, split: Any) -> TrainResult:
    """Which parts of a `TrainResult` each data-parallel shard owns, as `shard_map` out_specs:
    its envs, their running returns and its key are its own (`split`); the rest is the same on
    every shard (`replicated`)."""
    runner = RunnerState(learner=replicated, envs=split, discounted_return=split, key=split)
    return TrainResult(
        params=replicated, obs_stats=replicated, metrics=replicated, runner_state=runner
    )


def make_train(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    log_callback: Callable[[Metrics], None] | None = None,
    axis_name: str | None = None,
) -> Callable[..., TrainResult]:
    """Builds PPO's whole training run as a pure function of a key.

    Args:
        config: a validated PPOConfig.
        env: a jaxrl environment.
        env_params: its params; the env's defaults when None.
        log_callback: called on the host with each update's metrics (a dict of scalars, with
            the update index under "update"); it only observes, so results are unchanged.
            Under `axis_name` every shard calls it, with the same metrics.
        axis_name: data parallelism: `train` is one shard of a `jax.shard_map` (or a
            `jax.vmap`) over this axis and runs `config.per_shard(shards)`; gradients,
            advantage normalisation, normaliser statistics and metrics are taken over all
            shards. `jaxrl.distributed.data_parallel_train` sets it.

    Returns:
        `train(key, hyperparams=None) -> TrainResult`: pure and unjitted (jit and vmap it).
        `hyperparams` (a `PPOHyperparams`, the config's when None) may be batched under vmap
        to sweep learning rate, clip, entropy coefficient, gamma and lambda in one program.
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    return driver.chain(
        make_init(config, env, env_params, axis_name=axis_name),
        make_run_updates(config, env, env_params, log_callback=log_callback, axis_name=axis_name),
        functools.partial(result_from_runner, agent),
    )


def make_init(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    axis_name: str | None = None,
) -> Callable[..., RunnerState]:
    """Builds `init(key, hyperparams=None) -> RunnerState`, a run's state before any update:
    with `make_run_updates`, `train` in two, to run the updates in chunks (progress,
    checkpoints, resuming)."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)

    def init(key: jax.Array, hyperparams: PPOHyperparams | None = None) -> RunnerState:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        local = _local_config(config, axis_name)
        return init_runner_state(key, local, env, env_params, agent, hyperparams, axis_name)

    return init


def make_run_updates(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_updates: int | None = None,
    log_callback: Callable[[Metrics], None] | None = None,
    axis_name: str | None = None,
) -> Callable[..., tuple[RunnerState, Metrics]]:
    """Builds `run(runner, hyperparams=None) -> (runner, metrics [num_updates])`: the next
    `num_updates` updates (static; the whole run's when None), other arguments as for
    `make_train`. The learning rate follows the runner's update count, so chunks that add up to
    the run compute what one call does (to float rounding where XLA fuses the normaliser
    differently in programs of other shapes); one chunk program repeated is bit for bit."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    num_updates = driver.checked_num_updates(config, num_updates)

    def run(
        runner: RunnerState, hyperparams: PPOHyperparams | None = None
    ) -> tuple[RunnerState, Metrics]:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        local = _local_config(config, axis_name)

        def update(runner):
            return update_step(runner, local, env, env_params, agent, hyperparams, axis_name)

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
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: PPOHyperparams,
    axis_name: str | None = None,
) -> RunnerState:
    """Initial parameters, optimizer state and `num_envs` freshly reset envs, from one random
    draw on `key`. Under `axis_name` every shard starts from the same parameters; its envs and
    its random stream are its own."""
    words = xla_cpu.draw_words(
        key,
        {"params": (agent.flat.size,), "streams": (config.num_envs + 1, *key_shape(key))},
    )
    params = agent.flat.init_from_bits(words["params"])
    streams = words["streams"]
    if axis_name is not None:
        shard_key = jax.random.fold_in(key, jax.lax.axis_index(axis_name))
        streams = jax.random.bits(shard_key, streams.shape)
    keys = xla_cpu.keys_from_words(streams, key)
    envs = reset_envs(keys[1:], env, env_params)
    optimizer = make_optimizer(config, hyperparams, learning_rate_at(config, hyperparams, 0))
    # Vmapped over seeds or a sweep, every changing carry is batched from the start, so each
    # loop body is batched once. The normalisers' statistics change only when used.
    params, opt_state, envs, discounted_return = xla_cpu.batched_from_start(
        (params, optimizer.init(params), envs, jnp.zeros((config.num_envs,), jnp.float32)),
        words,
        hyperparams,
    )
    obs_stats, return_stats = RunningStats.create(envs.obs.shape[1:]), RunningStats.create(())
    if config.normalize_observations or config.normalize_rewards:
        obs_stats, return_stats = xla_cpu.batched_from_start(
            (obs_stats, return_stats), words, hyperparams
        )
    learner = Learner(
        params=params,
        opt_state=opt_state,
        obs_stats=obs_stats,
        return_stats=return_stats,
        update_index=jnp.zeros((), jnp.int32),
    )
    return RunnerState(learner=learner, envs=envs, discounted_return=discounted_return, key=keys[0])


#: `augment(batch, bits) -> batch`: the batch's leaves `[B, ...]` ("obs", "action", "log_prob",
#: "value", "advantage", "target") rewritten by a symmetry of the env, `bits` `[B]` uint32.
Augment = Callable[[dict[str, jax.Array], jax.Array], dict[str, jax.Array]]


def update_step(
    runner: RunnerState,
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: PPOHyperparams,
    axis_name: str | None = None,
    augment: Augment | None = None,
) -> tuple[RunnerState, Metrics]:
    """One PPO update: rollout, GAE, `update_epochs` epochs of minibatch steps.

    Under `axis_name`, `config` is the per-shard config (`PPOConfig.per_shard`) and `runner`
    this shard's state; the metrics are over all shards. `augment`, a symmetry of the env,
    rewrites each epoch's batch from fresh random bits before its minibatches.

    Returns:
        The next runner state and this update's metrics (float32 scalars): `episode_return`
        and `episode_length` (means over episodes that ended in this rollout, NaN when none
        did), `episodes` (their count), the loss terms, `approx_kl`, `clip_fraction`,
        `explained_variance`, `learning_rate` and `env_steps` (total so far).
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
                action_noise_shape=(network.action_dim,),
            ),
            "shuffle_bits": (config.update_epochs, config.batch_size),
            **(
                {}
                if augment is None
                else {"augment_bits": (config.update_epochs, config.batch_size)}
            ),
        },
    )
    noise = rollout_noise(words, runner.key, env, env_params, network.action_noise_from_bits)
    params = agent.unravel(learner.params)
    normalize = observation_normalizer(config, learner.obs_stats)

    def act(obs, action_noise):
        policy, value = network.apply(params, normalize(obs))
        action = policy.sample_with_noise(action_noise)
        return action, {"log_prob": policy.log_prob(action), "value": value}

    envs, rollout = collect_rollout(act, env, env_params, runner.envs, noise)
    # The statistics the rollout's policy saw normalise the whole update's observations.
    next_values = network.apply(params, normalize(rollout.final_obs), method=ActorCritic.value)
    rewards, discounted_return = rollout.reward, runner.discounted_return
    if config.normalize_rewards:
        ends = jnp.logical_or(rollout.terminated, rollout.truncated)
        rewards, discounted_return, return_stats = scale_rewards(
            rewards, ends, discounted_return, learner.return_stats, hyperparams.gamma, axis_name
        )
        learner = learner.replace(return_stats=return_stats)
    values, gamma, gae_lambda = rollout.extras["value"], hyperparams.gamma, hyperparams.gae_lambda
    ends = (rollout.terminated, rollout.truncated)
    advantages, targets = compute_gae(rewards, values, next_values, *ends, gamma, gae_lambda)
    batch = {
        "obs": normalize(rollout.obs),
        "action": rollout.action,
        "log_prob": rollout.extras["log_prob"],
        "value": values,
        "advantage": advantages,
        "target": targets,
    }
    batch = jax.tree.map(lambda leaf: leaf.reshape((config.batch_size,) + leaf.shape[2:]), batch)
    learning_rate = learning_rate_at(config, hyperparams, learner.update_index)

    def epoch(carry, bits):
        epoch_batch = batch if augment is None else augment(batch, bits["augment"])
        carry, info = update_epoch(
            carry,
            bits["shuffle"],
            epoch_batch,
            config,
            agent,
            hyperparams,
            learning_rate,
            axis_name,
        )
        return carry, xla_cpu.pack_fields(info)

    epoch_bits = {"shuffle": words["shuffle_bits"]}
    if augment is not None:
        epoch_bits["augment"] = words["augment_bits"]
    (flat_params, opt_state), infos = jax.lax.scan(
        epoch, (learner.params, learner.opt_state), epoch_bits
    )
    obs_stats = learner.obs_stats
    if config.normalize_observations:
        obs_stats = obs_stats.update(rollout.obs, axis_name)
    learner = learner.replace(
        params=flat_params,
        opt_state=opt_state,
        obs_stats=obs_stats,
        update_index=learner.update_index + 1,
    )
    next_key = xla_cpu.keys_from_words(words["next_key"], runner.key)
    runner = RunnerState(
        learner=learner, envs=envs, discounted_return=discounted_return, key=next_key
    )
    num_shards = 1 if axis_name is None else jax.lax.axis_size(axis_name)
    metrics = {
        **episode_metrics(rollout, axis_name),
        **jax.tree.map(jnp.mean, vars(xla_cpu.unpack_fields(LossInfo, infos))),
        "explained_variance": explained_variance(values, targets, axis_name),
        "learning_rate": learning_rate_at(config, hyperparams, learner.update_index - 1),
        "env_steps": (learner.update_index * config.batch_size * num_shards).astype(jnp.float32),
    }
    return runner, metrics


def update_epoch(
    carry: tuple[jax.Array, optax.OptState],
    shuffle_bits: jax.Array,
    batch: dict[str, jax.Array],
    config: PPOConfig,
    agent: Agent,
    hyperparams: PPOHyperparams,
    learning_rate: jax.typing.ArrayLike,
    axis_name: str | None = None,
) -> tuple[tuple[jax.Array, optax.OptState], LossInfo]:
    """One pass over the rollout in shuffled minibatches: `batch` leaves are `[B, ...]`,
    `shuffle_bits` `[B]` uint32 random bits that pick the order.

    Under `axis_name`, `batch` is this shard's share: each minibatch is the union of every
    shard's local minibatch, its gradient their mean.
    """
    optimizer = make_optimizer(config, hyperparams, learning_rate)
    network = agent.network
    minibatches = xla_cpu.shuffled_minibatches(
        batch, xla_cpu.permutation_from_bits(shuffle_bits), config.num_minibatches, agent.exact_ints
    )
    # Normalised here, all minibatches at once, rather than in the minibatch step.
    minibatches["advantage"] = normalize_minibatch_advantages(minibatches["advantage"], axis_name)

    def loss_fn(flat_params, minibatch):
        policy, values = network.apply(agent.unravel(flat_params), minibatch["obs"])
        return ppo_loss(
            policy,
            values,
            minibatch["action"],
            minibatch["log_prob"],
            minibatch["value"],
            minibatch["advantage"],
            minibatch["target"],
            hyperparams.clip_eps,
            hyperparams.vf_coef,
            hyperparams.ent_coef,
            axis_name=axis_name,
            normalize_advantages=False,
        )

    def update_minibatch(carry, minibatch):
        flat_params, opt_state = carry
        grads, info = jax.grad(loss_fn, has_aux=True)(flat_params, minibatch)
        if axis_name is not None:
            # Equal shares per shard: the mean of the shards' gradients is the global one.
            grads, info = jax.lax.pmean((grads, info), axis_name)
        updates, opt_state = optimizer.update(grads, opt_state, flat_params)
        return (optax.apply_updates(flat_params, updates), opt_state), xla_cpu.pack_fields(info)

    carry, infos = xla_cpu.scan_packed(
        update_minibatch, carry, minibatches, small_ints=agent.exact_ints
    )
    return carry, xla_cpu.unpack_fields(LossInfo, jnp.mean(infos, axis=0))


def make_optimizer(
    config: PPOConfig, hyperparams: PPOHyperparams, learning_rate: jax.typing.ArrayLike
) -> optax.GradientTransformation:
    """Global-norm clipping, then Adam at this update's `learning_rate` (fixed within an update,
    so a minibatch step keeps one counter, Adam's). Its state is the same for every rate."""
    return optax.chain(
        optax.clip_by_global_norm(hyperparams.max_grad_norm),
        optax.adam(learning_rate=learning_rate, eps=1e-5),
    )


def learning_rate_at(config: PPOConfig, hyperparams: PPOHyperparams, update_index) -> jax.Array:
    """The learning rate during update `update_index` (0-based): linear decay to 0 when annealed."""
    if not config.anneal_lr:
        return hyperparams.learning_rate
    return hyperparams.learning_rate * (1.0 - update_index / config.num_updates)


def _local_config(config: PPOConfig, axis_name: str | None) -> PPOConfig:
    if axis_name is None:
        return config
    return config.per_shard(jax.lax.axis_size(axis_name))
