"""DQN fused into one program: `train = make_train(config, env, env_params)`, then
`jax.jit(train)(key)`, or `jax.jit(jax.vmap(train))(keys)` for many seeds at once.

Each update (`update_step`): `collect_rollout` steps `num_envs` envs for `num_steps` with an
epsilon-greedy policy, the steps go into the replay buffer on the device (`replay_add`), and,
once `learning_starts` env steps have been taken, `gradient_steps` Adam steps follow on
minibatches drawn uniformly from the buffer. Each target is an n-step return that stops at the
episode's end: a terminated step bootstraps nothing, a truncated one (the time limit) bootstraps
from the observation it produced, as any other n-th step does; with `double`, the online network
picks the bootstrap action and the target network values it (van Hasselt et al. 2016). The
target network follows the online one every `target_update_interval` gradient steps (a copy, or
Polyak averaging with `tau < 1`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrl import _xla_cpu as xla_cpu
from jaxrl.agents.common import driver
from jaxrl.agents.common.evaluation import check_num_episodes, episode_metrics, play_episodes
from jaxrl.agents.common.policy import Policy
from jaxrl.agents.common.replay import (
    STEP_FIELDS,
    Replay,
    n_step_transitions,
    replay_add,
    replay_init,
    sample_positions,
)
from jaxrl.agents.common.rollout import (
    Envs,
    collect_rollout,
    key_shape,
    reset_envs,
    rollout_noise,
    rollout_noise_shapes,
)
from jaxrl.agents.dqn.config import DQNConfig, DQNHyperparams
from jaxrl.agents.dqn.networks import QNetwork, flat_params_of
from jaxrl.envs import numerics, spaces
from jaxrl.envs.core import Environment, EnvParams

Metrics = dict[str, jax.Array]


@struct.dataclass
class Learner:
    """What the gradient steps learn.

    Attributes:
        params: `[P]` float32, the online Q-network's parameters as one vector.
        target_params: `[P]` float32, the target network's.
        opt_state: Adam's state over `params`.
        update_index: int32 scalar, updates done.
        gradient_step: int32 scalar, gradient steps done.
    """

    params: jax.Array
    target_params: jax.Array
    opt_state: optax.OptState
    update_index: jax.Array
    gradient_step: jax.Array


@struct.dataclass
class RunnerState:
    """What one update hands to the next: the learner, the envs, the buffer and the key."""

    learner: Learner
    envs: Envs
    replay: Replay
    key: jax.Array


@struct.dataclass
class TrainResult:
    """What `train` returns: the final Q-network's params (a Flax pytree), per-update metrics
    (each `[num_updates]`) and the final training state."""

    params: Any
    metrics: Metrics
    runner_state: RunnerState


@dataclasses.dataclass(frozen=True)
class Agent:
    """The static pieces `make_train` derives from the config and the env: the Q-network and its
    parameters as one vector."""

    network: QNetwork
    flat: xla_cpu.FlatParams

    @property
    def unravel(self) -> Callable[[jax.Array], Any]:
        return self.flat.unravel


def make_agent(config: DQNConfig, env: Environment, env_params: EnvParams) -> Agent:
    """The Q-network for the env's Discrete actions; a one-line ValueError for other spaces."""
    action_space = env.action_space(env_params)
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(
            f"DQN needs Discrete actions; {env.name} has {action_space}. Use SAC or PPO for "
            "continuous actions."
        )
    obs_shape = env.observation_space(env_params).shape
    network = QNetwork(
        num_actions=action_space.n,
        hidden_sizes=config.hidden_sizes,
        layer_norm=config.layer_norm,
        dueling=config.dueling,
        obs_ndim=len(obs_shape),
    )
    return Agent(network=network, flat=flat_params_of(network, obs_shape))


def make_train(
    config: DQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., TrainResult]:
    """Builds DQN's whole training run as a pure function of a key.

    Args:
        config: a validated DQNConfig.
        env: a jaxrl environment with Discrete actions.
        env_params: its params; the env's defaults when None.
        log_callback: called on the host with each update's metrics; it only observes.

    Returns:
        `train(key, hyperparams=None) -> TrainResult`: pure and unjitted (jit and vmap it);
        `hyperparams` (a `DQNHyperparams`, batched under vmap for a sweep) defaults to the
        config's.
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    return driver.chain(
        make_init(config, env, env_params),
        make_run_updates(config, env, env_params, log_callback=log_callback),
        functools.partial(result_from_runner, agent),
    )


def make_init(
    config: DQNConfig, env: Environment, env_params: EnvParams | None = None
) -> Callable[..., RunnerState]:
    """Builds `init(key, hyperparams=None) -> RunnerState`: a run's state before any update
    (with `make_run_updates`, `train` in two, to run the updates in chunks)."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)

    def init(key: jax.Array, hyperparams: DQNHyperparams | None = None) -> RunnerState:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        return init_runner_state(key, config, env, env_params, agent, hyperparams)

    return init


def make_run_updates(
    config: DQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_updates: int | None = None,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., tuple[RunnerState, Metrics]]:
    """Builds `run(runner, hyperparams=None) -> (runner, metrics [num_updates])`: the next
    `num_updates` updates (the whole run's when None); chunks that add up to the run compute
    what one call does."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    num_updates = driver.checked_num_updates(config, num_updates)

    def run(
        runner: RunnerState, hyperparams: DQNHyperparams | None = None
    ) -> tuple[RunnerState, Metrics]:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams

        def update(runner):
            return update_step(runner, config, env, env_params, agent, hyperparams)

        return driver.scan_updates(update, runner, num_updates, log_callback)

    return run


def result_from_runner(agent: Agent, runner: RunnerState, metrics: Metrics) -> TrainResult:
    """The `TrainResult` of a run that ended in `runner`, with its per-update `metrics`."""
    return TrainResult(
        params=agent.unravel(runner.learner.params), metrics=metrics, runner_state=runner
    )


def init_runner_state(
    key: jax.Array,
    config: DQNConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: DQNHyperparams,
) -> RunnerState:
    """Initial parameters (the target network a copy), an empty buffer and `num_envs` freshly
    reset envs, from one random draw on `key`."""
    words = xla_cpu.draw_words(
        key,
        {"params": (agent.flat.size,), "streams": (config.num_envs + 1, *key_shape(key))},
    )
    params = agent.flat.init_from_bits(words["params"])
    keys = xla_cpu.keys_from_words(words["streams"], key)
    envs = reset_envs(keys[1:], env, env_params)
    obs = envs.obs.astype(jnp.float32)
    example_step = {
        "obs": obs,
        "action": jnp.zeros((config.num_envs,), jnp.int32),
        "reward": jnp.zeros((config.num_envs,), jnp.float32),
        "terminated": jnp.zeros((config.num_envs,), jnp.bool_),
        "truncated": jnp.zeros((config.num_envs,), jnp.bool_),
        "final_obs": obs,
    }
    replay = replay_init(example_step, capacity=config.buffer_rows)
    optimizer = make_optimizer(hyperparams)
    # Vmapped over seeds or a sweep, every changing carry is batched from the start, so each
    # loop body is batched once.
    params, opt_state, envs, replay = xla_cpu.batched_from_start(
        (params, optimizer.init(params), envs, replay), words, hyperparams
    )
    learner = Learner(
        params=params,
        target_params=params,
        opt_state=opt_state,
        update_index=jnp.zeros((), jnp.int32),
        gradient_step=jnp.zeros((), jnp.int32),
    )
    return RunnerState(learner=learner, envs=envs, replay=replay, key=keys[0])


def update_step(
    runner: RunnerState,
    config: DQNConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: DQNHyperparams,
) -> tuple[RunnerState, Metrics]:
    """One DQN update: an epsilon-greedy rollout into the buffer, then `gradient_steps` steps.

    Returns:
        The next runner state and this update's metrics (float32 scalars): `episode_return`,
        `episode_length` (NaN when no episode ended), `episodes`, `q_loss` and `q_mean` (NaN
        before learning starts), `epsilon`, `env_steps` and `gradient_steps` (totals so far).
    """
    learner, network = runner.learner, agent.network
    num_actions = network.num_actions
    words = xla_cpu.draw_words(
        runner.key,
        {
            "next_key": key_shape(runner.key),
            **rollout_noise_shapes(
                runner.key,
                num_steps=config.num_steps,
                num_envs=config.num_envs,
                action_noise_shape=(2 + num_actions,),
            ),
            "batch_draws": (config.gradient_steps, config.batch_size, 2),
        },
    )
    noise = rollout_noise(words, runner.key, env, env_params, numerics.uniform_from_bits)
    env_steps = learner.update_index * config.rollout_size  # before this rollout
    epsilon = epsilon_at(config, hyperparams, env_steps)
    params = agent.unravel(learner.params)

    def act(obs, uniforms):
        q_values = network.apply(params, obs.astype(jnp.float32))
        return epsilon_greedy(q_values, uniforms, epsilon), {}

    envs, rollout = collect_rollout(act, env, env_params, runner.envs, noise)
    steps = {name: getattr(rollout, name) for name in STEP_FIELDS}
    steps = {**steps, "obs": steps["obs"].astype(jnp.float32)}
    steps["final_obs"] = steps["final_obs"].astype(jnp.float32)
    replay = replay_add(runner.replay, steps)
    env_steps = env_steps + config.rollout_size
    learning = env_steps >= max(config.learning_starts, config.n_step * config.num_envs)
    batch_uniforms = numerics.uniform_from_bits(words["batch_draws"])

    def learn(learner):
        return learn_from_replay(learner, replay, batch_uniforms, config, agent, hyperparams)

    def wait(learner):
        return learner, jnp.full((config.gradient_steps, 2), jnp.nan, jnp.float32)

    learner, losses = jax.lax.cond(learning, learn, wait, learner)
    learner = learner.replace(update_index=learner.update_index + 1)
    next_key = xla_cpu.keys_from_words(words["next_key"], runner.key)
    runner = RunnerState(learner=learner, envs=envs, replay=replay, key=next_key)
    metrics = {
        **episode_metrics(rollout),
        "q_loss": jnp.mean(losses[:, 0]),
        "q_mean": jnp.mean(losses[:, 1]),
        "epsilon": epsilon,
        "env_steps": env_steps.astype(jnp.float32),
        "gradient_steps": learner.gradient_step.astype(jnp.float32),
    }
    return runner, metrics


def learn_from_replay(
    learner: Learner,
    replay: Replay,
    batch_uniforms: jax.Array,
    config: DQNConfig,
    agent: Agent,
    hyperparams: DQNHyperparams,
) -> tuple[Learner, jax.Array]:
    """`gradient_steps` Adam steps on minibatches drawn from `replay` with `batch_uniforms`
    `[gradient_steps, batch_size, 2]`; each step's loss and mean Q, `[gradient_steps, 2]`."""
    network, unravel = agent.network, agent.unravel
    total_gradient_steps = config.num_updates * config.gradient_steps

    def loss_fn(flat_params, target_params, batch):
        q_values = network.apply(unravel(flat_params), batch.obs)
        chosen = jnp.take_along_axis(q_values, batch.action[:, None], axis=1)[:, 0]
        next_values = bootstrap_values(
            network.apply(unravel(target_params), batch.next_obs),
            network.apply(unravel(flat_params), batch.next_obs) if config.double else None,
        )
        targets = jax.lax.stop_gradient(batch.returns + batch.discount * next_values)
        return jnp.mean(optax.huber_loss(chosen, targets)), jnp.mean(chosen)

    def gradient_step(learner, uniforms):
        rows, envs = sample_positions(replay, uniforms, horizon=config.n_step)
        batch = n_step_transitions(replay, rows, envs, n=config.n_step, gamma=hyperparams.gamma)
        (loss, q_mean), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            learner.params, learner.target_params, batch
        )
        learning_rate = hyperparams.learning_rate
        if config.anneal_lr:
            learning_rate = learning_rate * (1.0 - learner.gradient_step / total_gradient_steps)
        optimizer = make_optimizer(hyperparams, learning_rate)
        updates, opt_state = optimizer.update(grads, learner.opt_state, learner.params)
        params = optax.apply_updates(learner.params, updates)
        step = learner.gradient_step + 1
        follow = step % config.target_update_interval == 0
        moved = hyperparams.tau * params + (1.0 - hyperparams.tau) * learner.target_params
        learner = learner.replace(
            params=params,
            target_params=jnp.where(follow, moved, learner.target_params),
            opt_state=opt_state,
            gradient_step=step,
        )
        return learner, jnp.stack([loss, q_mean])

    return jax.lax.scan(gradient_step, learner, batch_uniforms)


def bootstrap_values(target_q: jax.Array, online_q: jax.Array | None = None) -> jax.Array:
    """The value to bootstrap from, `[B]`: the target network's Q of the online network's
    greedy action (Double DQN) when `online_q` is given, else the target network's max."""
    if online_q is None:
        return jnp.max(target_q, axis=-1)
    action = jnp.argmax(online_q, axis=-1)
    return jnp.take_along_axis(target_q, action[:, None], axis=-1)[:, 0]


def epsilon_greedy(q_values: jax.Array, uniforms: jax.Array, epsilon: jax.Array) -> jax.Array:
    """Actions `[N]` int32: with probability `epsilon` uniform over the actions, else the
    greedy one, ties broken at random. `uniforms` `[N, 2 + num_actions]` in [0, 1): the coin,
    the random action, the tie-break scores."""
    num_actions = q_values.shape[-1]
    explore = uniforms[:, 0] < epsilon
    random_action = jnp.minimum((uniforms[:, 1] * num_actions).astype(jnp.int32), num_actions - 1)
    best = q_values == jnp.max(q_values, axis=-1, keepdims=True)
    greedy = jnp.argmax(jnp.where(best, uniforms[:, 2:], -1.0), axis=-1).astype(jnp.int32)
    return jnp.where(explore, random_action, greedy)


def epsilon_at(
    config: DQNConfig, hyperparams: DQNHyperparams, env_steps: jax.typing.ArrayLike
) -> jax.Array:
    """Epsilon after `env_steps` env steps: linear from `epsilon_start` to `epsilon_end` over
    `exploration_fraction` of the run, then constant."""
    decay_steps = hyperparams.exploration_fraction * config.total_timesteps
    fraction = jnp.clip(jnp.asarray(env_steps, jnp.float32) / decay_steps, 0.0, 1.0)
    start, end = hyperparams.epsilon_start, hyperparams.epsilon_end
    return start + fraction * (end - start)


def make_optimizer(
    hyperparams: DQNHyperparams, learning_rate: jax.typing.ArrayLike | None = None
) -> optax.GradientTransformation:
    """Global-norm clipping, then Adam at `learning_rate` (the config's when None; its state is
    the same for every rate)."""
    learning_rate = hyperparams.learning_rate if learning_rate is None else learning_rate
    return optax.chain(
        optax.clip_by_global_norm(hyperparams.max_grad_norm),
        optax.adam(learning_rate=learning_rate),
    )


def make_evaluate(
    config: DQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_episodes: int = 100,
) -> Callable[..., jax.Array]:
    """Builds `evaluate(params, key) -> returns [num_episodes]`: the greedy policy (ties to the
    lowest action) played over whole episodes (`play_episodes`)."""
    env_params = env.default_params if env_params is None else env_params
    network = make_agent(config, env, env_params).network
    check_num_episodes(num_episodes)

    def evaluate(params: Any, key: jax.Array) -> jax.Array:
        def act(obs, _):
            q_values = network.apply(params, obs.astype(jnp.float32))
            return jnp.argmax(q_values, axis=-1).astype(jnp.int32)

        return play_episodes(act, env, env_params, num_episodes, key)

    return evaluate


def make_policy(
    config: DQNConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    deterministic: bool = True,
) -> Policy:
    """The policy of a run's training state (`RunnerState.learner`): greedy in its Q-values,
    or epsilon-greedy at the run's final epsilon (`epsilon_end`) when not deterministic."""
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    num_actions = agent.network.num_actions

    def params(learner) -> dict[str, Any]:
        return {"params": agent.unravel(learner.params)}

    def act(params: dict[str, Any], obs: jax.Array, key: jax.Array) -> jax.Array:
        q_values = agent.network.apply(params["params"], obs.astype(jnp.float32))
        if deterministic:
            return jnp.argmax(q_values, axis=-1).astype(jnp.int32)
        uniforms = jax.random.uniform(key, (q_values.shape[0], 2 + num_actions))
        return epsilon_greedy(q_values, uniforms, jnp.float32(config.epsilon_end))

    return Policy(params=params, act=act)
