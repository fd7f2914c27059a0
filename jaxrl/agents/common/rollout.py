"""The rollout skeleton every learner shares: `num_envs` envs stepped `num_steps` times by a
policy, all random numbers drawn before the loop.

    shapes = {"next_key": key_shape(key), **rollout_noise_shapes(...), "my_bits": (...)}
    words = draw_words(key, shapes)                  # one random call for the whole update
    noise = rollout_noise(words, key, env, env_params, policy_noise_from_bits)
    envs, transitions = collect_rollout(act, env, env_params, envs, noise)

`act(obs, action_noise) -> (action, extras)` is the learner's policy: `extras` (a dict of `[N]`
arrays, e.g. PPO's log-probabilities and values) is stored with each step. Terminated and
truncated stay apart and `final_obs` is the observation a step produced before any auto-reset,
so a learner can bootstrap a truncated step from it.

`collect_correlated_rollout` is the same loop with the policy's noise made temporally
correlated per env (`CorrelatedNoise`, an AR(1) process restarted at each episode's start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl._xla_cpu import (
    FLOAT32_EXACT_INT_MAX,
    key_words,
    keys_from_words,
    resets_hashed_by_jax,
    scan_packed,
)
from jaxrl.envs import spaces
from jaxrl.envs.core import Environment, EnvParams, default_reset_pool_size


@struct.dataclass
class Envs:
    """`N` envs between rollouts: their batched state and current raw observations `[N, ...]`."""

    state: Any
    obs: jax.Array


@struct.dataclass
class Transition:
    """One step of `N` envs; in a rollout every leaf gains a leading `[T]` axis.

    Attributes:
        obs: `[N, *obs_shape]`, the raw observation the policy saw.
        action: `[N]` ints or `[N, action_dim]` floats, as the policy chose it (before the
            env's clipping).
        extras: what the policy stored with the step (name -> `[N, ...]`).
        reward: `[N]` float32.
        terminated, truncated: `[N]` bool.
        final_obs: `[N, *obs_shape]`, the observation the step produced before any auto-reset.
        episode_return, episode_length: `[N]`, of the episode that ended at this step.
    """

    obs: jax.Array
    action: jax.Array
    extras: dict[str, jax.Array]
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array
    episode_return: jax.Array
    episode_length: jax.Array


@struct.dataclass
class RolloutNoise:
    """Every random number a rollout uses, drawn before its loop.

    Attributes:
        env_keys: `[T]` keys, step t's key for `env.step_batch` (stochastic dynamics, and the
            rare extra reset pool when more envs end than the pool holds).
        action_noise: `[T, N, ...]`, step t's noise for the policy.
        reset_pools: step t's fresh initial states for `env.step_batch`: obs and state, each
            leaf with leading `[T, pool_size]` axes.
    """

    env_keys: jax.Array
    action_noise: jax.Array
    reset_pools: Any


@struct.dataclass
class CorrelatedNoise:
    """Each env's state of an AR(1) process over the policy's standard normal noise.

    Step t's noise is `eps_t = rho * eps_{t-1} + sqrt(1 - rho^2) * z_t` for the rollout's i.i.d.
    standard normal draw `z_t` and a correlation `rho` in [0, 1]: still standard normal at
    every step, so a policy's log-density of its action is unchanged, but a draw persists for
    about `1 / (1 - rho)` steps. An episode starts from a fresh draw (`eps_t = z_t`).

    Attributes:
        noise: `[N, ...]` float32, the noise each env's last step used.
        restart: `[N]` bool, true where that step ended the env's episode (or no step has been
            taken): its next noise is a fresh draw.
    """

    noise: jax.Array
    restart: jax.Array


def correlated_noise_init(num_envs: int, noise_shape: tuple[int, ...]) -> CorrelatedNoise:
    """`CorrelatedNoise` before any step: every env starts from a fresh draw."""
    return CorrelatedNoise(
        noise=jnp.zeros((num_envs, *noise_shape), jnp.float32),
        restart=jnp.ones((num_envs,), jnp.bool_),
    )


def correlate_noise(
    state: CorrelatedNoise, draw: jax.Array, correlation: jax.typing.ArrayLike
) -> jax.Array:
    """The next step's noise `[N, ...]` of the AR(1) process in `state` for the i.i.d. standard
    normal `draw` `[N, ...]` and `correlation` (rho, a float32 scalar in [0, 1]). Exact at
    rho = 0: `0 * eps + 1 * z` is `z` bit for bit."""
    correlation = jnp.asarray(correlation, jnp.float32)
    continued = correlation * state.noise + jnp.sqrt(1.0 - jnp.square(correlation)) * draw
    restart = state.restart.reshape(state.restart.shape + (1,) * (draw.ndim - 1))
    return jnp.where(restart, draw, continued)


def exact_int_fields(action_space: spaces.Space) -> frozenset[str]:
    """`{"action"}` when the actions are indices that float32 holds exactly (a Discrete space
    under 2**24 actions): loops that pack their arrays into one float32 matrix may pack them."""
    indices = isinstance(action_space, spaces.Discrete) and action_space.n < FLOAT32_EXACT_INT_MAX
    return frozenset({"action"} if indices else ())


def key_shape(key: jax.Array) -> tuple[int]:
    """The shape of the random words one key of `key`'s kind is made from."""
    return (key_words(key),)


def rollout_noise_shapes(
    key: jax.Array, *, num_steps: int, num_envs: int, action_noise_shape: tuple[int, ...]
) -> dict[str, tuple[int, ...]]:
    """The random words `rollout_noise` cuts into a rollout's noise, by name, in the order
    `draw_words` should draw them."""
    words = key_words(key)
    return {
        "env_keys": (num_steps, words),
        "pool_keys": (num_steps, default_reset_pool_size(num_envs), words),
        "action_noise": (num_steps, num_envs, *action_noise_shape),
    }


def rollout_noise(
    words: dict[str, jax.Array],
    key: jax.Array,
    env: Environment,
    env_params: EnvParams,
    action_noise_from_bits: Callable[[jax.Array], jax.Array],
) -> RolloutNoise:
    """A rollout's `RolloutNoise` from the words `rollout_noise_shapes` named; `key` gives the
    keys' kind, `action_noise_from_bits` maps the words to the policy's noise."""
    as_keys = lambda data: keys_from_words(data, key)
    reset_pool = jax.vmap(jax.vmap(env.reset, in_axes=(0, None)), in_axes=(0, None))
    return RolloutNoise(
        env_keys=as_keys(words["env_keys"]),
        action_noise=action_noise_from_bits(words["action_noise"]),
        reset_pools=resets_hashed_by_jax(reset_pool, as_keys(words["pool_keys"]), env_params),
    )


def reset_envs(keys: jax.Array, env: Environment, env_params: EnvParams) -> Envs:
    """`Envs` freshly reset, one per key in `keys` `[N]`."""
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, env_params)
    return Envs(state=state, obs=obs)


def collect_rollout(
    act: Callable[[jax.Array, jax.Array], tuple[jax.Array, dict[str, jax.Array]]],
    env: Environment,
    env_params: EnvParams,
    envs: Envs,
    noise: RolloutNoise,
) -> tuple[Envs, Transition]:
    """Steps every env `T` times (`T` = the noise's steps) with `act`: a `[T, N]` Transition.

    Args:
        act: `(obs [N, ...], action_noise [N, ...]) -> (action, extras)`, the policy.
        env, env_params: the env; stepped through its batched path (`step_batch`).
        envs: the envs' state and observations before the rollout.
        noise: every step's random numbers (`rollout_noise`).

    Returns:
        The envs after the rollout, and every step's transition.
    """
    envs, _, transition = _collect(act, env, env_params, envs, noise, None, 0.0)
    return envs, transition


def collect_correlated_rollout(
    act: Callable[[jax.Array, jax.Array], tuple[jax.Array, dict[str, jax.Array]]],
    env: Environment,
    env_params: EnvParams,
    envs: Envs,
    noise: RolloutNoise,
    correlated: CorrelatedNoise,
    correlation: jax.typing.ArrayLike,
) -> tuple[Envs, CorrelatedNoise, Transition]:
    """`collect_rollout` with `act` given each step's noise through the AR(1) process of
    `correlated` (`correlate_noise`, correlation rho = `correlation`) rather than as drawn:
    the envs, the process's state and the `[T, N]` Transition after the rollout. At rho = 0
    the actions and transitions are `collect_rollout`'s bit for bit."""
    return _collect(act, env, env_params, envs, noise, correlated, correlation)


def _collect(
    act: Callable[[jax.Array, jax.Array], tuple[jax.Array, dict[str, jax.Array]]],
    env: Environment,
    env_params: EnvParams,
    envs: Envs,
    noise: RolloutNoise,
    correlated: CorrelatedNoise | None,
    correlation: jax.typing.ArrayLike,
) -> tuple[Envs, CorrelatedNoise | None, Transition]:
    """The rollout loop of `collect_rollout`; the noise goes through `correlated` unless None."""

    def env_step(carry, step_noise) -> tuple[tuple[Envs, Any], dict[str, jax.Array]]:
        envs, correlated = carry
        key_env, action_noise, reset_pool = step_noise
        if correlated is not None:
            action_noise = correlate_noise(correlated, action_noise, correlation)
        action, extras = act(envs.obs, action_noise)
        obs, state, reward, terminated, truncated, info = env.step_batch(
            key_env, envs.state, action, env_params, reset_pool=reset_pool
        )
        if correlated is not None:
            correlated = CorrelatedNoise(noise=action_noise, restart=terminated | truncated)
        step = {
            "obs": envs.obs,
            "action": action,
            **extras,
            "reward": reward,
            "terminated": terminated,
            "truncated": truncated,
            "final_obs": info["final_observation"],
            "episode_return": info["episode_return"],
            "episode_length": info["episode_length"],
        }
        return (Envs(state=state, obs=obs), correlated), step

    (envs, correlated), steps = scan_packed(
        env_step,
        (envs, correlated),
        (noise.env_keys, noise.action_noise, noise.reset_pools),
        small_ints=exact_int_fields(env.action_space(env_params)),
    )
    fields = ("obs", "action", "reward", "terminated", "truncated", "final_obs")
    fields += ("episode_return", "episode_length")
    transition = Transition(
        **{name: steps.pop(name) for name in fields},
        extras=steps,
    )
    return envs, correlated, transition
