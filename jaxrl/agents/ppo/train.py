"""PPO fused into one program: `train = make_train(config, env, env_params)`, then
`jax.jit(train)(key)`, or `jax.jit(jax.vmap(train))(keys)` for many seeds at once.

The loop (PureJaxRL's, split into named functions as brax does): `collect_rollout` steps
`num_envs` envs for `num_steps` through the env's batched path, `compute_gae` turns the rollout
into advantages, and `update_epoch` makes `update_epochs` passes of shuffled minibatch Adam
steps. `update_step` is one such round; `train` scans it `num_updates` times.

The optimizer sees all parameters as one flat vector (`ravel_pytree`): one Adam update of one
array instead of one per layer, which shortens compile time.

Loop bodies keep at most eight kernels ready at once, so that XLA's CPU runtime runs each on one
thread (README, "One thread per loop"): the rollout's transitions, the minibatches and the loss
terms each travel as one packed array (`jaxrl.columns`), and the learning rate is fixed per update.

Random numbers: on the CPU each `jax.random` call site compiles to a rolled Threefry loop of
about a dozen kernels. `init_runner_state` draws the initial parameters, the envs' reset keys
and the first update's key from one `jax.random.bits` call, and each update draws its next key,
its steps' env keys and reset pools, its action noise and its minibatch shuffles from another
(`draw_update_noise`), so an update compiles two random-number loops (that one and the reset
pools' noise) where separate draws took six.

Data parallelism (`make_train(..., axis_name=...)`, run under `jax.shard_map` by
`jaxrl.distributed`): each shard steps `num_envs / shards` envs with its own random stream and
shuffles its own share of the rollout; every minibatch takes an equal share from each shard.
Gradients, the advantage normalisation, the normalisers' statistics and the metrics are taken
over all shards together, so parameters stay identical everywhere and one update equals the
single-device update on the same global minibatches (up to float summation order).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrl.agents.ppo.config import PPOConfig, PPOHyperparams
from jaxrl.agents.ppo.losses import LossInfo, normalize_minibatch_advantages, ppo_loss
from jaxrl.agents.ppo.networks import ActorCritic, flat_init_distribution
from jaxrl.columns import FLOAT32_EXACT_INT_MAX, ColumnLayout, pack_columns, unpack_columns
from jaxrl.envs import numerics, spaces
from jaxrl.envs.core import Environment, EnvParams, default_reset_pool_size
from jaxrl.gae import compute_gae
from jaxrl.normalization import RunningStats
from jaxrl.tracing import depend_on

Metrics = dict[str, jax.Array]


@struct.dataclass
class Transition:
    """One step of `num_envs` envs; in a rollout every leaf gains a leading `[T]` axis.

    Attributes:
        obs: `[N, *obs_shape]`, the raw observation the policy saw (normalised on the way in).
        action: `[N]` ints or `[N, action_dim]` floats, as sampled (before the env's clipping).
        log_prob: `[N]`, log-probability of `action`.
        value: `[N]`, the critic's value of `obs`.
        reward: `[N]`, as the env returned it.
        terminated, truncated: `[N]` bool.
        final_obs: `[N, *obs_shape]`, the raw observation the step produced, before any
            auto-reset: what a truncated step bootstraps from.
        episode_return, episode_length: `[N]`, of the episode that ended at this step.
    """

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array
    episode_return: jax.Array
    episode_length: jax.Array


@struct.dataclass
class RunnerState:
    """What one update hands to the next.

    Attributes:
        flat_params: `[P]` float32, the network's parameters as one vector.
        opt_state: Adam's state over `flat_params`.
        env_state: batched env state, `[N]` leading axis.
        obs: `[N, *obs_shape]`, raw current observations.
        obs_stats: running observation statistics (unused unless normalising).
        return_stats: running statistics of the discounted return (reward scaling).
        discounted_return: `[N]`, each env's running discounted return.
        key: PRNG key.
        update_index: int32 scalar, updates done.
    """

    flat_params: jax.Array
    opt_state: optax.OptState
    env_state: Any
    obs: jax.Array
    obs_stats: RunningStats
    return_stats: RunningStats
    discounted_return: jax.Array
    key: jax.Array
    update_index: jax.Array


@struct.dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        params: the final network parameters (a Flax params pytree for `ActorCritic`).
        obs_stats: the observation normaliser's statistics, needed by `evaluate` when
            `config.normalize_observations`.
        metrics: per-update arrays, each `[num_updates]` (see `update_step`).
        runner_state: the final training state, to continue training.
    """

    params: Any
    obs_stats: RunningStats
    metrics: Metrics
    runner_state: RunnerState


@struct.dataclass
class Agent:
    """The static pieces `make_train` derives from the config and the env.

    Attributes:
        network: the actor-critic module.
        unravel: maps the flat `[P]` parameter vector to the network's params pytree.
        init_mean, init_scale: `[P]`, the initial parameters' law (see
            `networks.flat_init_distribution`).
    """

    network: ActorCritic = struct.field(pytree_node=False)
    unravel: Callable[[jax.Array], Any] = struct.field(pytree_node=False)
    init_mean: Any = struct.field(pytree_node=False)
    init_scale: Any = struct.field(pytree_node=False)

    def init_flat_params(self, key: jax.Array) -> jax.Array:
        """Initial parameters as one `[P]` float32 vector, from a single random draw."""
        return self.init_flat_params_from_bits(jax.random.bits(key, self.init_mean.shape))

    def init_flat_params_from_bits(self, bits: jax.Array) -> jax.Array:
        """`init_flat_params(key)` from `jax.random.bits(key, [P])`, bit for bit."""
        noise = numerics.normal_from_bits(bits)
        return jnp.asarray(self.init_mean) + jnp.asarray(self.init_scale) * noise


def make_network(config: PPOConfig, env: Environment, env_params: EnvParams) -> ActorCritic:
    """The actor-critic matching the env's action space."""
    action_space = env.action_space(env_params)
    discrete = isinstance(action_space, spaces.Discrete)
    return ActorCritic(
        action_dim=action_space.n if discrete else action_space.shape[0],
        discrete=discrete,
        hidden_sizes=config.hidden_sizes,
        activation=config.activation,
        initial_log_std=config.initial_log_std,
        obs_ndim=len(env.observation_space(env_params).shape),
    )


def make_agent(config: PPOConfig, env: Environment, env_params: EnvParams) -> Agent:
    network = make_network(config, env, env_params)
    obs_shape = env.observation_space(env_params).shape
    init_mean, init_scale, unravel = flat_init_distribution(network, obs_shape)
    return Agent(network=network, unravel=unravel, init_mean=init_mean, init_scale=init_scale)


def make_optimizer(
    config: PPOConfig,
    hyperparams: PPOHyperparams,
    learning_rate: jax.typing.ArrayLike | None = None,
) -> optax.GradientTransformation:
    """Global-norm clipping then Adam at `learning_rate`, a float32 scalar that may be traced:
    an update's rate (`learning_rate_at`, annealed linearly to 0 over the run), fixed within it.
    None gives the first update's. The optimizer state is the same for every rate.

    The rate is passed in, not scheduled on Adam's step count, so a minibatch step keeps one
    counter (Adam's) rather than two: one kernel fewer in the program's hottest loop.
    """
    if learning_rate is None:
        learning_rate = learning_rate_at(config, hyperparams, 0)
    return optax.chain(
        optax.clip_by_global_norm(hyperparams.max_grad_norm),
        optax.adam(learning_rate=learning_rate, eps=1e-5),
    )


def learning_rate_at(config: PPOConfig, hyperparams: PPOHyperparams, update_index) -> jax.Array:
    """The learning rate during update `update_index` (0-based): linear decay to 0 when annealed."""
    if not config.anneal_lr:
        return hyperparams.learning_rate
    return hyperparams.learning_rate * (1.0 - update_index / config.num_updates)


def init_runner_state(
    key: jax.Array,
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: PPOHyperparams,
    axis_name: str | None = None,
) -> RunnerState:
    """Initial parameters, optimizer state and `num_envs` freshly reset envs.

    All from one `jax.random.bits` call on `key` (each random call site is a loop to compile):
    the parameters' noise, the envs' reset keys and the key of the first update. Under
    `axis_name` every shard starts from the same parameters, while its envs and its random
    stream (actions, env noise, shuffling) are its own, from `fold_in(key, shard)`.
    """
    num_params = agent.init_mean.shape[0]
    key_words = jax.random.key_data(key).shape[-1]
    words = jax.random.bits(key, (num_params + (config.num_envs + 1) * key_words,))
    flat_params = agent.init_flat_params_from_bits(words[:num_params])
    stream_words = words[num_params:]
    if axis_name is not None:
        shard_key = jax.random.fold_in(key, jax.lax.axis_index(axis_name))
        stream_words = jax.random.bits(shard_key, stream_words.shape)
    keys = _keys_from_words(stream_words.reshape((config.num_envs + 1, key_words)), key)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(keys[1:], env_params)
    key_runner = keys[0]
    # Every carry that changes during the run depends on both the key and the hyperparameters
    # (the Adam moments and episode counters start as constants; under a sweep, params and
    # observations start the same for every point), so that `vmap(train)` over seeds or over a
    # sweep batches the update loop's body once, not twice (`jaxrl.tracing`). The normalisers'
    # statistics change only when they are used.
    flat_params, opt_state, env_state, obs, discounted_return = depend_on(
        (
            flat_params,
            make_optimizer(config, hyperparams).init(flat_params),
            env_state,
            obs,
            jnp.zeros((config.num_envs,), jnp.float32),
        ),
        words,
        hyperparams,
    )
    obs_stats, return_stats = RunningStats.create(obs.shape[1:]), RunningStats.create(())
    if config.normalize_observations or config.normalize_rewards:
        obs_stats, return_stats = depend_on((obs_stats, return_stats), words, hyperparams)
    return RunnerState(
        flat_params=flat_params,
        opt_state=opt_state,
        env_state=env_state,
        obs=obs,
        obs_stats=obs_stats,
        return_stats=return_stats,
        discounted_return=discounted_return,
        key=key_runner,
        update_index=jnp.zeros((), jnp.int32),
    )


@struct.dataclass
class UpdateNoise:
    """Every random number one PPO update uses, drawn at its start (`draw_update_noise`).

    Attributes:
        next_key: the key the next update draws from.
        env_keys: `[T]` keys, step t's key for `env.step_batch` (the dynamics of stochastic
            envs, and the rare extra reset pool when more envs end than the pool holds).
        action_noise: `[T, N, action_dim]`, step t's noise for `policy.sample_with_noise`.
        reset_pools: step t's reset pool for `env.step_batch`: obs and state, each leaf with
            leading `[T, pool_size]` axes.
        shuffle_bits: `[update_epochs, batch_size]` uint32, each epoch's minibatch shuffle
            (`permutation_from_bits`).
    """

    next_key: jax.Array
    env_keys: jax.Array
    action_noise: jax.Array
    reset_pools: Any
    shuffle_bits: jax.Array


def draw_update_noise(
    key: jax.Array,
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams,
    network: ActorCritic,
) -> UpdateNoise:
    """An update's random numbers from one `jax.random.bits` call on `key`.

    On the CPU every `jax.random` call site is a rolled Threefry loop of its own, a dozen
    kernels to compile; one call that hashes every word the update needs, cut into keys (the
    next update's, the steps', the reset pools'), action noise and shuffle bits, leaves two
    (this one, and the envs' reset noise under the pools' keys). The action noise and the
    shuffles are what `network.action_noise` and `shuffled_indices` draw from a key whose bits
    these are.
    """
    num_steps, num_envs = config.num_steps, config.num_envs
    pool_size = default_reset_pool_size(num_envs)
    key_words = jax.random.key_data(key).shape[-1]
    sizes = {
        "next_key": (key_words,),
        "env_keys": (num_steps, key_words),
        "pool_keys": (num_steps, pool_size, key_words),
        "action_noise": (num_steps, num_envs, network.action_dim),
        "shuffle_bits": (config.update_epochs, config.batch_size),
    }
    words = jax.random.bits(key, (sum(math.prod(shape) for shape in sizes.values()),))
    parts, offset = {}, 0
    for name, shape in sizes.items():
        parts[name] = words[offset : offset + math.prod(shape)].reshape(shape)
        offset += math.prod(shape)

    def as_keys(data):
        return _keys_from_words(data, key)

    # The pools' resets hash JAX's way: few envs per pool, where the written-out hash's compile
    # time does not pay (see `Environment._draw_pool`).
    with numerics.fused_hashes(False):
        reset_pools = jax.vmap(jax.vmap(env.reset, in_axes=(0, None)), in_axes=(0, None))(
            as_keys(parts["pool_keys"]), env_params
        )
    return UpdateNoise(
        next_key=as_keys(parts["next_key"]),
        env_keys=as_keys(parts["env_keys"]),
        action_noise=network.action_noise_from_bits(parts["action_noise"]),
        reset_pools=reset_pools,
        shuffle_bits=parts["shuffle_bits"],
    )


def _keys_from_words(words: jax.Array, like: jax.Array) -> jax.Array:
    """Keys of `like`'s implementation from uint32 random words `[..., key_words]`: typed keys
    for a typed `like`, the raw words for a raw one."""
    if jax.dtypes.issubdtype(like.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(words, impl=jax.random.key_impl(like))
    return words


def collect_rollout(
    runner: RunnerState,
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    noise: UpdateNoise,
) -> tuple[RunnerState, Transition]:
    """Steps all envs `num_steps` times with the current policy: a `[T, N]` Transition.

    Every step's random numbers (env key, action noise, reset pool) come from `noise`, drawn
    before the scan in one call: inside the scan's body each draw would run JAX's rolled
    Threefry loop on a few numbers every step, which costs more than the step itself for a
    handful of envs.
    """
    params = agent.unravel(runner.flat_params)
    normalize = _observation_normalizer(config, runner.obs_stats)

    def env_step(runner: RunnerState, step_inputs) -> tuple[RunnerState, Transition]:
        key_env, action_noise, reset_pool = step_inputs
        policy, value = agent.network.apply(params, normalize(runner.obs))
        action = policy.sample_with_noise(action_noise)
        next_obs, env_state, reward, terminated, truncated, info = env.step_batch(
            key_env, runner.env_state, action, env_params, reset_pool=reset_pool
        )
        transition = Transition(
            obs=runner.obs,
            action=action,
            log_prob=policy.log_prob(action),
            value=value,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=info["final_observation"],
            episode_return=info["episode_return"],
            episode_length=info["episode_length"],
        )
        packed, passed, layout = pack_columns(_fields(transition), 1, _small_ints(agent))
        layouts.append(layout)
        return runner.replace(env_state=env_state, obs=next_obs), (packed, passed)

    # One packed row per env and step (`jaxrl.columns`): a step stores one array, not ten.
    # The layout is static; tracing the step records it here.
    layouts: list[ColumnLayout] = []
    runner, (packed, passed) = jax.lax.scan(
        env_step, runner, (noise.env_keys, noise.action_noise, noise.reset_pools)
    )
    return runner, Transition(**unpack_columns(packed, passed, layouts[-1]))


def _fields(data: Any) -> dict[str, jax.Array]:
    """A dataclass's fields by name, in order."""
    return {field.name: getattr(data, field.name) for field in dataclasses.fields(data)}


def _small_ints(agent: Agent) -> frozenset[str]:
    """The integer fields `pack_columns` may pack: a categorical policy's sampled actions, which
    index its logits."""
    network = agent.network
    return frozenset(
        {"action"} if network.discrete and network.action_dim < FLOAT32_EXACT_INT_MAX else ()
    )


def draw_action_noise(keys: jax.Array, num_envs: int, network: ActorCritic) -> jax.Array:
    """`[T, N, action_dim]`: step t's noise for `sample_with_noise`, from `keys[t]`."""
    return jax.vmap(lambda key: network.action_noise(key, (num_envs,)))(keys)


def scale_rewards(
    runner: RunnerState,
    rollout: Transition,
    config: PPOConfig,
    gamma: jax.Array,
    axis_name: str | None = None,
) -> tuple[RunnerState, jax.Array]:
    """Rewards divided by the running std of the discounted return (SB3's VecNormalize)."""
    if not config.normalize_rewards:
        return runner, rollout.reward

    def accumulate(discounted, step):
        reward, done = step
        discounted = discounted * gamma + reward
        return discounted * (1.0 - done), discounted

    done = jnp.logical_or(rollout.terminated, rollout.truncated).astype(jnp.float32)
    discounted_return, returns = jax.lax.scan(
        accumulate, runner.discounted_return, (rollout.reward, done)
    )
    return_stats = update_stats(runner.return_stats, returns, axis_name)
    scaled = rollout.reward / jnp.sqrt(return_stats.var + 1e-8)
    return runner.replace(return_stats=return_stats, discounted_return=discounted_return), scaled


def update_epoch(
    carry: tuple[jax.Array, optax.OptState],
    shuffle_bits: jax.Array,
    batch: dict[str, jax.Array],
    config: PPOConfig,
    agent: Agent,
    hyperparams: PPOHyperparams,
    axis_name: str | None = None,
    learning_rate: jax.typing.ArrayLike | None = None,
) -> tuple[tuple[jax.Array, optax.OptState], LossInfo]:
    """One pass over the rollout in shuffled minibatches; `batch` leaves are `[B, ...]`,
    `shuffle_bits` `[B]` uint32 random bits that pick the order (`permutation_from_bits`).

    Under `axis_name`, `batch` is this shard's share and `config` the per-shard config: each
    minibatch is the union of every shard's local minibatch, its gradient their mean.
    `learning_rate` is this update's (`learning_rate_at`; the first update's when None).
    """
    optimizer = make_optimizer(config, hyperparams, learning_rate)
    permutation = permutation_from_bits(shuffle_bits)
    # One packed row per sample (`jaxrl.columns`): one gather per epoch and one slice per
    # minibatch step rather than one per field. Each minibatch's advantages are normalised
    # here, all minibatches at once, rather than in the minibatch step (the hottest loop).
    packed, passed, layout = pack_columns(batch, 1, _small_ints(agent))
    packed, passed = jax.tree.map(
        lambda leaf: leaf[permutation].reshape(
            (config.num_minibatches, config.minibatch_size) + leaf.shape[1:]
        ),
        (packed, passed),
    )
    minibatches = unpack_columns(packed, passed, layout)
    minibatches["advantage"] = normalize_minibatch_advantages(minibatches["advantage"], axis_name)
    packed, passed, layout = pack_columns(minibatches, 2, _small_ints(agent))

    def loss_fn(flat_params, minibatch):
        policy, values = agent.network.apply(agent.unravel(flat_params), minibatch["obs"])
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
        minibatch = unpack_columns(*minibatch, layout)
        grads, info = jax.grad(loss_fn, has_aux=True)(flat_params, minibatch)
        if axis_name is not None:
            # Equal shares per shard: the mean of the shards' gradients is the global one.
            grads, info = jax.lax.pmean((grads, info), axis_name)
        updates, opt_state = optimizer.update(grads, opt_state, flat_params)
        return (optax.apply_updates(flat_params, updates), opt_state), _pack_info(info)

    carry, infos = jax.lax.scan(update_minibatch, carry, (packed, passed))
    return carry, _unpack_info(jnp.mean(infos, axis=0))


def _pack_info(info: LossInfo) -> jax.Array:
    """`[6]`: the loss terms as one array, which a scan stacks with one store, not six."""
    return jnp.stack([getattr(info, field.name) for field in dataclasses.fields(info)])


def _unpack_info(packed: jax.Array) -> LossInfo:
    """`_pack_info`'s inverse; `packed` `[..., 6]` gives `[...]` leaves."""
    names = [field.name for field in dataclasses.fields(LossInfo)]
    return LossInfo(**{name: packed[..., index] for index, name in enumerate(names)})


#: `shuffled_indices` packs the index into a sort key's low bits up to this many elements.
PACKED_SORT_MAX_SIZE = 1 << 16


def shuffled_indices(key: jax.Array, size: int) -> jax.Array:
    """A uniformly random permutation of `0..size-1`: int32 `[size]`, one random call, one sort
    (`permutation_from_bits` of `jax.random.bits(key, (size,))`)."""
    return permutation_from_bits(jax.random.bits(key, (size,)))


def permutation_from_bits(bits: jax.Array) -> jax.Array:
    """A uniformly random permutation of `0..size-1` from `[size]` uint32 random bits: int32.

    Up to `PACKED_SORT_MAX_SIZE` elements each random word has its low bits replaced by its
    index, and a single-array sort orders them (faster on the CPU than sorting keys and indices
    as a pair, `jnp.argsort`); the index comes back from the low bits. Ties of the random high
    bits (at least 16 of them) leave those elements in index order, as a stable argsort of
    uniform floats would. Larger arrays argsort the uniforms the bits map to.
    """
    size = bits.shape[0]
    if size > PACKED_SORT_MAX_SIZE:
        return jnp.argsort(numerics.uniform_from_bits(bits)).astype(jnp.int32)
    index_bits = max(1, (size - 1).bit_length())
    low_mask = (1 << index_bits) - 1
    keys = (bits & jnp.uint32(0xFFFFFFFF ^ low_mask)) | jnp.arange(size, dtype=jnp.uint32)
    return (jax.lax.sort(keys) & jnp.uint32(low_mask)).astype(jnp.int32)


def update_step(
    runner: RunnerState,
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams,
    agent: Agent,
    hyperparams: PPOHyperparams,
    axis_name: str | None = None,
) -> tuple[RunnerState, Metrics]:
    """One PPO update: rollout, GAE, `update_epochs` epochs of minibatch steps.

    Under `axis_name`, `config` is the per-shard config (`shard_config`) and `runner` this
    shard's state; the metrics are over all shards.

    Returns:
        The next runner state and this update's metrics (float32 scalars): `episode_return`
        and `episode_length` (means over episodes that ended in this rollout, NaN when none
        did), `episodes` (their count), the loss terms, `approx_kl`, `clip_fraction`,
        `explained_variance`, `learning_rate` and `env_steps` (total so far).
    """
    noise = draw_update_noise(runner.key, config, env, env_params, agent.network)
    runner, rollout = collect_rollout(runner, config, env, env_params, agent, noise)
    # The statistics the rollout's policy saw normalise the whole update's observations.
    normalize = _observation_normalizer(config, runner.obs_stats)
    params = agent.unravel(runner.flat_params)
    next_values = agent.network.apply(
        params, normalize(rollout.final_obs), method=ActorCritic.value
    )
    runner, rewards = scale_rewards(runner, rollout, config, hyperparams.gamma, axis_name)
    advantages, targets = compute_gae(
        rewards,
        rollout.value,
        next_values,
        rollout.terminated,
        rollout.truncated,
        hyperparams.gamma,
        hyperparams.gae_lambda,
    )
    batch = {
        "obs": normalize(rollout.obs),
        "action": rollout.action,
        "log_prob": rollout.log_prob,
        "value": rollout.value,
        "advantage": advantages,
        "target": targets,
    }
    batch = jax.tree.map(lambda leaf: leaf.reshape((config.batch_size,) + leaf.shape[2:]), batch)

    learning_rate = learning_rate_at(config, hyperparams, runner.update_index)

    def epoch(carry, bits):
        carry, info = update_epoch(
            carry, bits, batch, config, agent, hyperparams, axis_name, learning_rate
        )
        return carry, _pack_info(info)

    (flat_params, opt_state), infos = jax.lax.scan(
        epoch, (runner.flat_params, runner.opt_state), noise.shuffle_bits
    )
    infos = _unpack_info(infos)
    obs_stats = runner.obs_stats
    if config.normalize_observations:
        obs_stats = update_stats(obs_stats, rollout.obs, axis_name)
    runner = runner.replace(
        flat_params=flat_params,
        opt_state=opt_state,
        obs_stats=obs_stats,
        key=noise.next_key,
        update_index=runner.update_index + 1,
    )
    num_shards = 1 if axis_name is None else jax.lax.axis_size(axis_name)
    metrics = {
        **episode_metrics(rollout, axis_name),
        **{name: jnp.mean(value) for name, value in vars(infos).items()},
        "explained_variance": explained_variance(rollout.value, targets, axis_name),
        "learning_rate": learning_rate_at(config, hyperparams, runner.update_index - 1),
        "env_steps": (runner.update_index * config.batch_size * num_shards).astype(jnp.float32),
    }
    return runner, metrics


def episode_metrics(rollout: Transition, axis_name: str | None = None) -> Metrics:
    """Mean return and length of the episodes that ended in `rollout` (NaN when none did)."""
    ended = jnp.logical_or(rollout.terminated, rollout.truncated)
    count = _sum_over_shards(jnp.sum(ended.astype(jnp.float32)), axis_name)

    def mean_over_ended(values):
        total = jnp.sum(jnp.where(ended, values.astype(jnp.float32), 0.0))
        total = _sum_over_shards(total, axis_name)
        return jnp.where(count > 0, total / jnp.maximum(count, 1.0), jnp.nan)

    return {
        "episode_return": mean_over_ended(rollout.episode_return),
        "episode_length": mean_over_ended(rollout.episode_length),
        "episodes": count,
    }


def explained_variance(
    values: jax.Array, targets: jax.Array, axis_name: str | None = None
) -> jax.Array:
    """1 - Var[targets - values] / Var[targets]; NaN when the targets are constant."""
    target_var = _variance(targets, axis_name)
    residual_var = _variance(targets - values, axis_name)
    return jnp.where(target_var > 0, 1.0 - residual_var / target_var, jnp.nan)


def update_stats(
    stats: RunningStats, batch: jax.Array, axis_name: str | None = None
) -> RunningStats:
    """`stats.update(batch)`, where under `axis_name` the batch is every shard's together.

    The shards' batches have equal sizes, so the global batch's mean and variance are means
    over shards; every shard folds in the same moments and keeps identical statistics.
    """
    if axis_name is None:
        return stats.update(batch)
    event_ndim = stats.mean.ndim
    samples = batch.reshape((-1,) + batch.shape[batch.ndim - event_ndim :])
    batch_mean = jax.lax.pmean(jnp.mean(samples, axis=0), axis_name)
    batch_var = jax.lax.pmean(jnp.mean(jnp.square(samples - batch_mean[None]), axis=0), axis_name)
    batch_count = jnp.asarray(samples.shape[0] * jax.lax.axis_size(axis_name), jnp.float32)
    return stats.merge(batch_mean, batch_var, batch_count)


def shard_config(config: PPOConfig, num_shards: int) -> PPOConfig:
    """The config one of `num_shards` data-parallel shards runs: `num_envs / num_shards` envs.

    `total_timesteps` is divided too, so the number of updates (and the learning-rate schedule)
    is the single-device run's. Raises a one-line ValueError naming the fix when the envs or a
    minibatch do not split evenly.
    """
    if config.num_envs % num_shards:
        raise ValueError(
            f"num_envs={config.num_envs} does not split over {num_shards} devices; use a "
            f"multiple of {num_shards} (e.g. {num_shards * -(-config.num_envs // num_shards)})."
        )
    num_envs = config.num_envs // num_shards
    if (num_envs * config.num_steps) % config.num_minibatches:
        raise ValueError(
            f"each of {num_shards} devices holds {num_envs} envs x {config.num_steps} steps = "
            f"{num_envs * config.num_steps} transitions, which do not split into "
            f"num_minibatches={config.num_minibatches}; change num_envs, num_steps or "
            "num_minibatches."
        )
    return config.replace(num_envs=num_envs, total_timesteps=config.total_timesteps // num_shards)


def _sum_over_shards(x: jax.Array, axis_name: str | None) -> jax.Array:
    return x if axis_name is None else jax.lax.psum(x, axis_name)


def _variance(x: jax.Array, axis_name: str | None) -> jax.Array:
    """Population variance of `x`'s entries, over all shards under `axis_name` (equal sizes)."""
    if axis_name is None:
        return jnp.var(x)
    mean = jax.lax.pmean(jnp.mean(x), axis_name)
    return jax.lax.pmean(jnp.mean(jnp.square(x - mean)), axis_name)


def make_init(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    axis_name: str | None = None,
) -> Callable[..., RunnerState]:
    """Builds `init(key, hyperparams=None) -> RunnerState`: a run's state before any update.

    With `make_run_updates` this splits `train` in two, so a caller can run the updates in
    chunks (progress, checkpoints, resuming) and get exactly `train`'s result.
    """
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
    num_updates: int | None = None,
    log_callback: Callable[[Metrics], None] | None = None,
    axis_name: str | None = None,
) -> Callable[..., tuple[RunnerState, Metrics]]:
    """Builds `run(runner, hyperparams=None) -> (runner, metrics)`: `num_updates` PPO updates.

    Args:
        config, env, env_params, log_callback, axis_name: as for `make_train`.
        num_updates: updates per call (static); the whole run's `config.num_updates` when None.
            The learning-rate schedule follows `runner.update_index`, so calls of any sizes that
            add up to `config.num_updates` compute what one call computes: bit for bit on the
            CPU without observation normalisation; with it, XLA fuses the normalisation
            differently in programs of different shapes, so results agree to float rounding
            (~1e-7 relative). Repeating one compiled chunk program is always bit for bit
            reproducible, which is what makes a resumed run equal an uninterrupted one.

    Returns:
        The next runner state and per-update metrics, each `[num_updates]`.
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    num_updates = config.num_updates if num_updates is None else num_updates
    if isinstance(num_updates, bool) or not isinstance(num_updates, int) or num_updates < 1:
        raise ValueError(f"num_updates={num_updates!r}: run at least one update per call.")

    def run(
        runner: RunnerState, hyperparams: PPOHyperparams | None = None
    ) -> tuple[RunnerState, Metrics]:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        local = _local_config(config, axis_name)

        def one_update(runner, _):
            runner, metrics = update_step(
                runner, local, env, env_params, agent, hyperparams, axis_name
            )
            if log_callback is not None:
                jax.debug.callback(
                    log_callback, {**metrics, "update": runner.update_index}, ordered=False
                )
            return runner, metrics

        return jax.lax.scan(one_update, runner, None, num_updates)

    return run


def make_train(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
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
            `jax.vmap`) over this axis and runs `shard_config(config, shards)`; gradients,
            advantage normalisation, normaliser statistics and metrics are taken over all
            shards (see the module docstring). `jaxrl.distributed.data_parallel_train` sets it.

    Returns:
        `train(key, hyperparams=None) -> TrainResult`: pure and unjitted (jit and vmap it).
        `hyperparams` (a `PPOHyperparams`, the config's when None) may be batched under vmap
        to sweep learning rate, clip, entropy coefficient, gamma and lambda in one program.
        It is `make_init` followed by `make_run_updates` over the whole run.
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    init = make_init(config, env, env_params, axis_name)
    run = make_run_updates(config, env, env_params, None, log_callback, axis_name)

    def train(key: jax.Array, hyperparams: PPOHyperparams | None = None) -> TrainResult:
        runner, metrics = run(init(key, hyperparams), hyperparams)
        return result_from_runner(agent, runner, metrics)

    return train


#: From this many envs on a device (runs vmapped on it included), XLA's parallel task
#: assignment (a kernel split across CPU threads) pays off in PPO's program; below it the
#: hand-offs cost more than the work they share.
PARALLEL_TASKS_MIN_ENVS = 64


def parallel_tasks_pay_off(config: PPOConfig, runs_per_device: int = 1) -> bool:
    """Whether `runs_per_device` vmapped runs of `config` should compile with XLA's parallel
    task assignment on the CPU (`compile_program(..., parallel_tasks=...)`): True from
    `PARALLEL_TASKS_MIN_ENVS` envs, counted over the runs.

    Measured on 2 cores (`python experiments/ppo_kernels.py --env ENV --levels fast --time`,
    README): at 5 envs (CartPole) each kernel on one thread trains faster on less CPU time;
    FourRooms (32 envs) and Pendulum (16) ran level; at 64 envs (MountainCar) the split is
    faster. 8 vmapped CartPole seeds (40 envs, 800 samples per minibatch step) ran faster with
    their kernels whole: `python experiments/ppo_kernels.py --seeds 8 --levels fast --time
    --runs 5` gave 2.07 s against 2.27 s, 1.98 s against 2.08 s and 2.04 s against 2.14 s in three
    runs (session 11; session 10 had also split from 512 samples per minibatch step).
    """
    _check_runs_per_device(runs_per_device)
    return config.num_envs * runs_per_device >= PARALLEL_TASKS_MIN_ENVS


def _check_runs_per_device(runs_per_device: Any) -> None:
    if (
        isinstance(runs_per_device, bool)
        or not isinstance(runs_per_device, int)
        or (runs_per_device < 1)
    ):
        raise ValueError(f"runs_per_device={runs_per_device!r}: pass a positive int.")


#: Up to this many gradient samples a device computes in a run (env steps x epochs x runs
#: vmapped on it), `compile_program(..., fast_compile="fastest")` reaches trained params sooner
#: on the CPU than "fast": XLA's older loop emitters save more compile time than they add run
#: time. See `fast_compile_level`.
FASTEST_COMPILE_MAX_SAMPLES = 4_000_000


def fast_compile_level(config: PPOConfig, runs_per_device: int = 1) -> str:
    """`compile_program`'s `fast_compile` level for `runs_per_device` vmapped runs of `config`:
    "fastest" for a short run (at most `FASTEST_COMPILE_MAX_SAMPLES` gradient samples per
    device, `total_timesteps x update_epochs x runs_per_device`), "fast" otherwise.

    Measured on 2 cores with `python experiments/ppo_kernels.py --env ENV --levels fastest fast
    --time` (compile + run, one seed, session 10, "fastest" handing element-wise work to
    YNNPACK): "fastest" saved 0.5-0.75 s of compile on every env and ran 1.04-1.41x as long,
    so it came out ahead for Acrobot (250k samples, by 0.7 s), FourRooms (640k, 0.45 s),
    MountainCarContinuous (800k, 0.5 s), Pendulum (1.2M, 0.3 s; its run is the one 1.41x as
    long, which puts its break-even near 2M) and even MountainCar (4M, 0.6 s), and behind for
    CliffWalking (10M, 0.7 s). Session 11 (each loop on one thread) measured vmapped seeds,
    `--seeds N`: "fastest" ahead for 8 CartPole seeds (2.4M, by ~0.75 s: it compiled in
    0.94-1.07 s against 1.74-1.97 s and ran as long, 1.94-2.00 s against 1.84-1.92 s, since its
    kernels still spread over both threads), 4 MountainCarContinuous seeds (3.2M, 0.6 s) and 16
    Acrobot seeds (4M, 0.67 s), level for 2 Pendulum seeds (2.4M, 0.1 s), so the threshold moved
    from Pendulum's single-run break-even (2M) to 4M.
    """
    _check_runs_per_device(runs_per_device)
    samples = config.total_timesteps * config.update_epochs * runs_per_device
    return "fastest" if samples <= FASTEST_COMPILE_MAX_SAMPLES else "fast"


def result_from_runner(agent: Agent, runner: RunnerState, metrics: Metrics) -> TrainResult:
    """The `TrainResult` of a run that ended in `runner`, with its per-update `metrics`."""
    return TrainResult(
        params=agent.unravel(runner.flat_params),
        obs_stats=runner.obs_stats,
        metrics=metrics,
        runner_state=runner,
    )


def _local_config(config: PPOConfig, axis_name: str | None) -> PPOConfig:
    if axis_name is None:
        return config
    return shard_config(config, jax.lax.axis_size(axis_name))


def make_evaluate(
    config: PPOConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    num_episodes: int = 100,
    deterministic: bool = True,
) -> Callable[..., jax.Array]:
    """Builds `evaluate(params, key, obs_stats=None) -> returns [num_episodes]`.

    `play_episodes` with this config's policy: `num_episodes` envs in parallel for exactly
    `max_steps` steps, each env's rewards summed up to its first episode end, so the cost is
    bounded by the time limit, with no data-dependent loop. Deterministic actions (argmax, or
    the Gaussian's mean) unless `deterministic=False`.
    """
    env_params = env.default_params if env_params is None else env_params
    network = make_network(config, env, env_params)
    horizon = int(env_params.max_steps)
    _check_num_episodes(num_episodes)

    def draw_noise(key: jax.Array) -> jax.Array:
        return draw_action_noise(jax.random.split(key, horizon), num_episodes, network)

    def evaluate(params: Any, key: jax.Array, obs_stats: RunningStats | None = None) -> jax.Array:
        if config.normalize_observations and obs_stats is None:
            raise ValueError(
                "This config normalises observations: pass obs_stats=result.obs_stats."
            )
        normalize = _observation_normalizer(config, obs_stats)

        def act(obs, action_noise):
            policy = network.apply(params, normalize(obs), method=ActorCritic.policy)
            return policy.mode() if deterministic else policy.sample_with_noise(action_noise)

        return play_episodes(
            act, env, env_params, num_episodes, key, None if deterministic else draw_noise
        )

    return evaluate


def play_episodes(
    act: Callable[[jax.Array, Any], jax.Array],
    env: Environment,
    env_params: EnvParams,
    num_episodes: int,
    key: jax.Array,
    action_noise_fn: Callable[[jax.Array], Any] | None = None,
) -> jax.Array:
    """Each of `num_episodes` envs plays one episode: float32 `[num_episodes]` returns.

    The envs run for exactly `env_params.max_steps` steps (every episode has ended by then)
    without auto-reset (`step_without_reset`), and each env's rewards are summed up to its
    first episode end, so the cost is bounded by the time limit, with no data-dependent loop.
    The random numbers (action noise, stochastic dynamics) are drawn before the loop.

    Args:
        act: `(obs [num_episodes, ...], action_noise_t) -> actions [num_episodes, ...]`, the
            policy; `action_noise_t` is step t's slice of what `action_noise_fn` returned
            (None without it).
        key: split into the reset key, the action-noise key and the dynamics key.
        action_noise_fn: `key -> noise [max_steps, ...]` for a stochastic policy.
    """
    _check_num_episodes(num_episodes)
    horizon = int(env_params.max_steps)
    step_envs = jax.vmap(
        env.step_without_reset, in_axes=(0 if env.stochastic_step else None, 0, 0, None)
    )
    key_reset, key_actions, key_dynamics = jax.random.split(key, 3)
    obs, env_state = env.reset_batch(key_reset, num_episodes, env_params)
    step_inputs = {}
    if action_noise_fn is not None:
        step_inputs["action_noise"] = action_noise_fn(key_actions)
    if env.stochastic_step:
        step_inputs["env_keys"] = jax.random.split(key_dynamics, horizon * num_episodes).reshape(
            (horizon, num_episodes)
        )

    def step(carry, inputs):
        obs, env_state, returns, running = carry
        action = act(obs, inputs.get("action_noise"))
        obs, env_state, reward, terminated, truncated, _ = step_envs(
            inputs.get("env_keys", key_dynamics), env_state, action, env_params
        )
        returns = returns + jnp.where(running, reward, 0.0)
        running = jnp.logical_and(running, ~jnp.logical_or(terminated, truncated))
        return (obs, env_state, returns, running), None

    init = (obs, env_state, jnp.zeros(num_episodes), jnp.ones(num_episodes, jnp.bool_))
    (_, _, returns, _), _ = jax.lax.scan(step, init, step_inputs, length=horizon)
    return returns


def _check_num_episodes(num_episodes: int) -> None:
    if num_episodes < 1:
        raise ValueError(f"num_episodes={num_episodes}: evaluate at least one episode.")


def _observation_normalizer(config: PPOConfig, obs_stats: RunningStats | None):
    if config.normalize_observations:
        return obs_stats.normalize
    return lambda obs: obs.astype(jnp.float32)
