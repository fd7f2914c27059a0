"""SAC fused into one program: `train = make_train(config, env, env_params)`, then
`jax.jit(train)(key)`, or `jax.jit(jax.vmap(train))(keys)` for many seeds at once.

Each update (`update_step`): `collect_correlated_rollout` steps `num_envs` envs for `num_steps`
(uniformly random actions for the first `learning_starts` env steps, then the policy's samples;
their noise i.i.d., or temporally correlated per `noise_correlation`),
`replay_add` writes the steps to the on-device replay buffer, and once `learning_starts` env
steps are in it, `learn` makes `config.gradient_steps` gradient steps (`gradient_step`) on
minibatches drawn uniformly from the buffer: the twin critics toward the soft Bellman target of
the Polyak-averaged target critics, then the actor and the entropy temperature. `train` scans
`num_updates` updates.

An update draws every random number it uses (the next key, the rollout's noise, the
minibatches' positions, the policy's noise in the gradient steps) at its start, in one call.
The buffer does not change during an update's gradient steps, so their minibatches are read
from it at once. Each network's parameters are one flat vector: CPU workarounds behind the
named helpers of `jaxrl._xla_cpu` (docs/performance.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrl import _xla_cpu as xla_cpu
from jaxrl.agents.common import driver
from jaxrl.agents.common.evaluation import episode_metrics
from jaxrl.agents.common.replay import (
    STEP_FIELDS,
    Replay,
    n_step_transitions,
    replay_add,
    replay_init,
    sample_positions,
)
from jaxrl.agents.common.rollout import (
    CorrelatedNoise,
    Envs,
    collect_correlated_rollout,
    correlated_noise_init,
    key_shape,
    reset_envs,
    rollout_noise,
    rollout_noise_shapes,
)
from jaxrl.agents.sac.config import SACConfig, SACHyperparams
from jaxrl.agents.sac.losses import actor_loss, alpha_loss, critic_loss, critic_target
from jaxrl.agents.sac.networks import Agent, make_agent
from jaxrl.envs import numerics
from jaxrl.envs.core import Environment, EnvParams

Metrics = dict[str, jax.Array]


@struct.dataclass
class Learner:
    """What the gradient steps learn.

    Attributes:
        actor_params: `[Pa]` float32, the actor's parameters as one vector.
        critic_params: `[Pc]` float32, both critics' parameters as one vector.
        target_critic_params: `[Pc]` float32, their Polyak average.
        log_alpha: float32 scalar, the log of the entropy temperature.
        actor_opt_state, critic_opt_state, alpha_opt_state: Adam's states.
        update_index: int32 scalar, updates done.
    """

    actor_params: jax.Array
    critic_params: jax.Array
    target_critic_params: jax.Array
    log_alpha: jax.Array
    actor_opt_state: optax.OptState
    critic_opt_state: optax.OptState
    alpha_opt_state: optax.OptState
    update_index: jax.Array


@struct.dataclass
class RunnerState:
    """What one update hands to the next.

    Attributes:
        learner: parameters and optimizers.
        envs: the envs' states and observations, `[N]` leading axis.
        replay: the replay buffer (`[buffer_rows, N]` leading axes).
        exploration: each env's state of the rollout's noise process (`[N]` leading axis).
        key: the key the next update draws from.
    """

    learner: Learner
    envs: Envs
    replay: Replay
    exploration: CorrelatedNoise
    key: jax.Array


@struct.dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        params: the final actor's parameters (a Flax params pytree for `Actor`): what
            `evaluate` takes.
        critic_params: the final twin critics' parameters (a Flax params pytree for `TwinQ`).
        metrics: per-update arrays, each `[num_updates]` (see `update_step`).
        runner_state: the final training state, to continue training.
    """

    params: Any
    critic_params: Any
    metrics: Metrics
    runner_state: RunnerState


@struct.dataclass
class LossInfo:
    """One gradient step's statistics (float32 scalars).

    Attributes:
        q_loss: the critics' loss (`critic_loss`).
        actor_loss: the actor's loss (`actor_loss`).
        alpha: the entropy temperature the step used.
        entropy: the policy's entropy estimate, `-mean log pi(a|s)` over the minibatch.
        q_mean: the critics' mean value of the minibatch's transitions.
    """

    q_loss: jax.Array
    actor_loss: jax.Array
    alpha: jax.Array
    entropy: jax.Array
    q_mean: jax.Array


def make_train(
    config: SACConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., TrainResult]:
    """Builds SAC's whole training run as a pure function of a key.

    Args:
        config: a validated SACConfig.
        env: a jaxrl environment with a Box action space.
        env_params: its params; the env's defaults when None.
        log_callback: called on the host with each update's metrics (a dict of scalars, with
            the update index under "update"); it only observes, so results are unchanged.

    Returns:
        `train(key, hyperparams=None) -> TrainResult`: pure and unjitted (jit and vmap it).
        `hyperparams` (a `SACHyperparams`, the config's when None) may be batched under vmap
        to sweep learning rates, gamma, tau, the initial temperature and the target entropy in
        one program.
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    return driver.chain(
        make_init(config, env, env_params),
        make_run_updates(config, env, env_params, log_callback=log_callback),
        functools.partial(result_from_runner, agent),
    )


def make_init(
    config: SACConfig, env: Environment, env_params: EnvParams | None = None
) -> Callable[..., RunnerState]:
    """Builds `init(key, hyperparams=None) -> RunnerState`, a run's state before any update:
    with `make_run_updates`, `train` in two, to run the updates in chunks (progress,
    checkpoints, resuming)."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)

    def init(key: jax.Array, hyperparams: SACHyperparams | None = None) -> RunnerState:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        return init_runner_state(key, config, env, env_params, agent, hyperparams)

    return init


def make_run_updates(
    config: SACConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_updates: int | None = None,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., tuple[RunnerState, Metrics]]:
    """Builds `run(runner, hyperparams=None) -> (runner, metrics [num_updates])`: the next
    `num_updates` updates (static; the whole run's when None), other arguments as for
    `make_train`. Whether an update explores uniformly or learns follows the runner's update
    count, so chunks that add up to the run compute what one call does."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    num_updates = driver.checked_num_updates(config, num_updates)

    def run(
        runner: RunnerState, hyperparams: SACHyperparams | None = None
    ) -> tuple[RunnerState, Metrics]:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams

        def update(runner):
            return update_step(runner, config, env, env_params, agent, hyperparams)

        return driver.scan_updates(update, runner, num_updates, log_callback)

    return run


def result_from_runner(agent: Agent, runner: RunnerState, metrics: Metrics) -> TrainResult:
    """The `TrainResult` of a run that ended in `runner`, with its per-update `metrics`."""
    return TrainResult(
        params=agent.actor_flat.unravel(runner.learner.actor_params),
        critic_params=agent.critic_flat.unravel(runner.learner.critic_params),
        metrics=metrics,
        runner_state=runner,
    )


def init_runner_state(
    key: jax.Array,
    config: SACConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: SACHyperparams,
) -> RunnerState:
    """Initial parameters (the target critics a copy of the critics), optimizer states, an
    empty replay buffer and `num_envs` freshly reset envs, from one random draw on `key`."""
    words = xla_cpu.draw_words(
        key,
        {
            "actor": (agent.actor_flat.size,),
            "critic": (agent.critic_flat.size,),
            "streams": (config.num_envs + 1, *key_shape(key)),
        },
    )
    actor_params = agent.actor_flat.init_from_bits(words["actor"])
    critic_params = agent.critic_flat.init_from_bits(words["critic"])
    log_alpha = jnp.log(jnp.asarray(hyperparams.initial_alpha, jnp.float32))
    keys = xla_cpu.keys_from_words(words["streams"], key)
    envs = reset_envs(keys[1:], env, env_params)
    num_envs = config.num_envs
    example_step = {
        "obs": envs.obs,
        "action": jnp.zeros((num_envs, agent.action_dim), jnp.float32),
        "reward": jnp.zeros((num_envs,), jnp.float32),
        "terminated": jnp.zeros((num_envs,), jnp.bool_),
        "truncated": jnp.zeros((num_envs,), jnp.bool_),
        "final_obs": envs.obs,
    }
    replay = replay_init(example_step, capacity=config.buffer_rows)
    adam = optax.adam(1.0)
    # Vmapped over seeds or a sweep, every changing carry is batched from the start, so each
    # loop body is batched once. The update count stays unbatched, so whether an update learns
    # stays one branch (`lax.cond`) under vmap.
    (actor_params, critic_params, log_alpha, opt_states, envs, replay_data, exploration) = (
        xla_cpu.batched_from_start(
            (
                actor_params,
                critic_params,
                log_alpha,
                (adam.init(actor_params), adam.init(critic_params), adam.init(log_alpha)),
                envs,
                replay.data,
                correlated_noise_init(num_envs, (agent.action_dim,)),
            ),
            words,
            hyperparams,
        )
    )
    learner = Learner(
        actor_params=actor_params,
        critic_params=critic_params,
        target_critic_params=critic_params,
        log_alpha=log_alpha,
        actor_opt_state=opt_states[0],
        critic_opt_state=opt_states[1],
        alpha_opt_state=opt_states[2],
        update_index=jnp.zeros((), jnp.int32),
    )
    return RunnerState(
        learner=learner,
        envs=envs,
        replay=replay.replace(data=replay_data),
        exploration=exploration,
        key=keys[0],
    )


def update_step(
    runner: RunnerState,
    config: SACConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: SACHyperparams,
) -> tuple[RunnerState, Metrics]:
    """One SAC update: a rollout into the buffer, then `config.gradient_steps` gradient steps
    once `learning_starts` env steps are in it.

    Returns:
        The next runner state and this update's metrics (float32 scalars): `episode_return`
        and `episode_length` (means over episodes that ended in this rollout, NaN when none
        did), `episodes` (their count), the means over the update's gradient steps of
        `LossInfo`'s fields (NaN for an update that made none, except `alpha`, the current
        temperature), and `env_steps` (total so far).
    """
    learner, action_dim = runner.learner, agent.action_dim
    words = xla_cpu.draw_words(
        runner.key,
        {
            "next_key": key_shape(runner.key),
            **rollout_noise_shapes(
                runner.key,
                num_steps=config.num_steps,
                num_envs=config.num_envs,
                action_noise_shape=(action_dim,),
            ),
            "sample_bits": (config.gradient_steps * config.batch_size, 2),
            "policy_bits": (config.gradient_steps, config.batch_size, 2 * action_dim),
        },
    )
    noise = rollout_noise(words, runner.key, env, env_params, numerics.normal_from_bits)
    env_steps = learner.update_index * config.rollout_size
    explore = env_steps < config.learning_starts
    policy_params = learner.actor_params

    def act(obs, action_noise):
        squashed, _ = agent.policy(policy_params, obs).sample_and_log_prob(action_noise)
        # erf(z / sqrt 2) of a standard normal z is uniform on (-1, 1): the same noise gives
        # the exploration phase's uniformly random action.
        uniform = jax.lax.erf(action_noise * (1.0 / math.sqrt(2.0)))
        return agent.env_action(jnp.where(explore, uniform, squashed)), {}

    # A sparse reward behind a long manoeuvre (MountainCarContinuous) is out of reach of i.i.d.
    # noise; correlated noise keeps a push going for about 1 / (1 - rho) steps. At rho = 0 the
    # rollout is the i.i.d. one bit for bit.
    envs, exploration, rollout = collect_correlated_rollout(
        act, env, env_params, runner.envs, noise, runner.exploration, hyperparams.noise_correlation
    )
    replay = replay_add(runner.replay, {name: getattr(rollout, name) for name in STEP_FIELDS})

    def skip(learner):
        nan = jnp.full((), jnp.nan, jnp.float32)
        alpha = jnp.exp(learner.log_alpha)
        return learner, LossInfo(q_loss=nan, actor_loss=nan, alpha=alpha, entropy=nan, q_mean=nan)

    def learn_from_replay(learner):
        return learn(learner, replay, words, config, agent, hyperparams)

    learns = env_steps + config.rollout_size >= config.learning_starts
    learner, info = jax.lax.cond(learns, learn_from_replay, skip, learner)
    learner = learner.replace(update_index=learner.update_index + 1)
    next_key = xla_cpu.keys_from_words(words["next_key"], runner.key)
    runner = RunnerState(
        learner=learner, envs=envs, replay=replay, exploration=exploration, key=next_key
    )
    metrics = {
        **episode_metrics(rollout),
        **vars(info),
        "env_steps": (learner.update_index * config.rollout_size).astype(jnp.float32),
    }
    return runner, metrics


def learn(
    learner: Learner,
    replay: Replay,
    words: dict[str, jax.Array],
    config: SACConfig,
    agent: Agent,
    hyperparams: SACHyperparams,
) -> tuple[Learner, LossInfo]:
    """`config.gradient_steps` gradient steps on minibatches of `config.batch_size` drawn
    uniformly from `replay`, with the random words `update_step` drew (`sample_bits`,
    `policy_bits`). Returns the learner after them and the means of their `LossInfo`."""
    num_steps, batch_size, action_dim = config.gradient_steps, config.batch_size, agent.action_dim
    uniforms = numerics.uniform_from_bits(words["sample_bits"])
    rows, env_ids = sample_positions(replay, uniforms, horizon=1)
    sampled = n_step_transitions(replay, rows, env_ids, n=1, gamma=hyperparams.gamma)
    policy_noise = numerics.normal_from_bits(words["policy_bits"])
    minibatches = {
        "obs": sampled.obs,
        "action": agent.squashed_action(sampled.action),
        "reward": sampled.returns,
        "next_obs": sampled.next_obs,
        "discount": sampled.discount,
    }
    minibatches = jax.tree.map(
        lambda leaf: leaf.reshape((num_steps, batch_size) + leaf.shape[1:]), minibatches
    )
    minibatches["next_noise"] = policy_noise[..., :action_dim]
    minibatches["noise"] = policy_noise[..., action_dim:]
    target_entropy = hyperparams.target_entropy_scale * action_dim

    def step(learner, minibatch):
        learner, info = gradient_step(learner, minibatch, agent, hyperparams, target_entropy)
        return learner, xla_cpu.pack_fields(info)

    learner, infos = xla_cpu.scan_packed(step, learner, minibatches)
    return learner, xla_cpu.unpack_fields(LossInfo, jnp.mean(infos, axis=0))


def gradient_step(
    learner: Learner,
    minibatch: dict[str, jax.Array],
    agent: Agent,
    hyperparams: SACHyperparams,
    target_entropy: jax.typing.ArrayLike,
) -> tuple[Learner, LossInfo]:
    """One SAC gradient step: an Adam step of the critics toward the soft Bellman target, then
    one of the actor (against the updated critics) and one of log-alpha, then the target
    critics' Polyak step. Alpha is the step's initial temperature throughout.

    Args:
        learner: the parameters and optimizer states.
        minibatch: `[B, ...]` leaves: `obs`, `action` (squashed, in [-1, 1]), `reward`,
            `next_obs` (the observation to bootstrap from), `discount` (0 where the step
            terminated, else gamma), and standard normal `next_noise` and `noise`
            `[B, action_dim]` for the policy's samples at `next_obs` and `obs`.
        agent: the networks.
        hyperparams: learning rates and tau.
        target_entropy: the entropy alpha steers the policy toward, in nats.
    """
    alpha = jnp.exp(learner.log_alpha)
    next_policy = agent.policy(learner.actor_params, minibatch["next_obs"])
    next_action, next_log_prob = next_policy.sample_and_log_prob(minibatch["next_noise"])
    next_q = agent.q_values(learner.target_critic_params, minibatch["next_obs"], next_action)
    target = critic_target(minibatch["reward"], minibatch["discount"], next_q, next_log_prob, alpha)

    def critic_objective(critic_params):
        q = agent.q_values(critic_params, minibatch["obs"], minibatch["action"])
        return critic_loss(q, target), jnp.mean(q)

    (q_loss, q_mean), critic_grads = jax.value_and_grad(critic_objective, has_aux=True)(
        learner.critic_params
    )
    critic_params, critic_opt_state = adam_step(
        learner.critic_params,
        critic_grads,
        learner.critic_opt_state,
        hyperparams.critic_learning_rate,
    )

    def actor_objective(actor_params):
        policy = agent.policy(actor_params, minibatch["obs"])
        action, log_prob = policy.sample_and_log_prob(minibatch["noise"])
        q = agent.q_values(critic_params, minibatch["obs"], action)
        return actor_loss(q, log_prob, alpha), log_prob

    (policy_loss, log_prob), actor_grads = jax.value_and_grad(actor_objective, has_aux=True)(
        learner.actor_params
    )
    actor_params, actor_opt_state = adam_step(
        learner.actor_params,
        actor_grads,
        learner.actor_opt_state,
        hyperparams.actor_learning_rate,
    )
    alpha_grad = jax.grad(alpha_loss)(learner.log_alpha, log_prob, target_entropy)
    log_alpha, alpha_opt_state = adam_step(
        learner.log_alpha, alpha_grad, learner.alpha_opt_state, hyperparams.alpha_learning_rate
    )
    target_critic_params = optax.incremental_update(
        critic_params, learner.target_critic_params, hyperparams.tau
    )
    learner = learner.replace(
        actor_params=actor_params,
        critic_params=critic_params,
        target_critic_params=target_critic_params,
        log_alpha=log_alpha,
        actor_opt_state=actor_opt_state,
        critic_opt_state=critic_opt_state,
        alpha_opt_state=alpha_opt_state,
    )
    info = LossInfo(
        q_loss=q_loss,
        actor_loss=policy_loss,
        alpha=alpha,
        entropy=-jnp.mean(log_prob),
        q_mean=q_mean,
    )
    return learner, info


def adam_step(
    params: jax.Array,
    grads: jax.Array,
    opt_state: optax.OptState,
    learning_rate: jax.typing.ArrayLike,
) -> tuple[jax.Array, optax.OptState]:
    """One Adam step (optax's defaults, PyTorch's too) at `learning_rate`: the new parameters
    and optimizer state. The state does not depend on the rate, so one traced rate serves."""
    updates, opt_state = optax.adam(learning_rate).update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state
