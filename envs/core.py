"""The environment base: pure `reset`/`step` with auto-reset, Gymnasium's terminated/truncated
split, the final observation, episode statistics, and a batched stepping path for rollouts.

An environment subclasses `Environment` and implements the per-episode dynamics only:
`default_params`, `reset_env`, `step_env`, `action_space` and `observation_space`. Everything
that is the same for every environment (the time limit, auto-reset, action clipping, the final
observation, episode return and length) lives here, once.

Out-of-range actions: continuous actions are clipped to the action box, as Gymnasium's
continuous-control envs clip them; a discrete action outside `{0, ..., n-1}` is clipped to the
nearest valid action (Gymnasium would raise an AssertionError, which a compiled program cannot).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Generic, TypeVar

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.envs import numerics, spaces


@struct.dataclass
class EnvState:
    """Fields every environment state carries; an env's own state subclasses this.

    Attributes:
        time: int32 scalar, steps taken in the current episode.
        episode_return: float32 scalar, sum of rewards in the current episode.
    """

    _: dataclasses.KW_ONLY
    time: jax.Array = 0
    episode_return: jax.Array = 0.0


@struct.dataclass
class EnvParams:
    """Parameters every environment has; an env's own params subclass this.

    Attributes:
        max_steps: Gymnasium's `max_episode_steps`: the step at which `truncated` is set.
    """

    _: dataclasses.KW_ONLY
    max_steps: int = 500


StateT = TypeVar("StateT", bound=EnvState)
ParamsT = TypeVar("ParamsT", bound=EnvParams)
Info = dict[str, jax.Array]


class Environment(Generic[StateT, ParamsT]):
    """A pure, jittable environment with Gymnasium's semantics.

    `reset(key, params) -> (obs, state)`;
    `step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)`.

    `step` auto-resets: after a terminated or truncated step, `obs` and `state` are the first of
    the next episode, while `info["final_observation"]` holds the observation the step itself
    produced (equal to `obs` when the episode goes on). `info["episode_return"]` and
    `info["episode_length"]` hold the finished episode's return and length; they are meaningful
    where `terminated | truncated`.

    `truncated` follows Gymnasium's TimeLimit: it is True when the step count reaches
    `params.max_steps`, also when the same step terminates (`terminated` then takes precedence
    for bootstrapping).
    """

    #: Whether `step_env` consumes its key. Deterministic dynamics let `step` spend its one key on
    #: reset noise alone, without a split.
    stochastic_step: ClassVar[bool] = False
    #: The mean episode return at which the task counts as solved (Gymnasium's
    #: `reward_threshold`), None when it has none; see `reward_threshold`.
    solved_return: ClassVar[float | None] = None

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def default_params(self) -> ParamsT:
        raise NotImplementedError(f"{self.name} must define default_params.")

    def reset_env(self, key: jax.Array, params: ParamsT) -> tuple[jax.Array, StateT]:
        """Samples the first observation and state of an episode (time and return left at 0)."""
        raise NotImplementedError(f"{self.name} must define reset_env.")

    def step_env(
        self, key: jax.Array, state: StateT, action: jax.Array, params: ParamsT
    ) -> tuple[jax.Array, StateT, jax.Array, jax.Array, Info]:
        """One step of the dynamics, no time limit, no reset.

        Returns:
            obs, next state (time untouched), reward (float32 scalar), terminated (bool scalar)
            and an info dict of scalars (may be empty).
        """
        raise NotImplementedError(f"{self.name} must define step_env.")

    def action_space(self, params: ParamsT | None = None) -> spaces.Space:
        raise NotImplementedError(f"{self.name} must define action_space.")

    def observation_space(self, params: ParamsT | None = None) -> spaces.Space:
        raise NotImplementedError(f"{self.name} must define observation_space.")

    def render(self, state: StateT, params: ParamsT | None = None) -> jax.Array:
        """Draws one state as an RGB frame, in pure JAX: it jits and vmaps like `step`.

        Args:
            state: one env's state (vmap over a batch of states for a batch of frames).
            params: the env's params; `default_params` when None.

        Returns:
            uint8 `[H, W, 3]`; the frame size is fixed by the env and its static settings (a
            grid's shape), never by traced values.
        """
        raise NotImplementedError(
            f"{self.name} has no renderer: define render(state, params) returning a uint8 "
            "[H, W, 3] frame (drawing primitives are in jaxrl.envs.rendering)."
        )

    def reward_threshold(self, params: ParamsT | None = None) -> float | None:
        """The mean episode return at which the task counts as solved under `params`, None
        when it has none (a learner's evaluation reaching it solves the env)."""
        return self.solved_return

    @property
    def num_actions(self) -> int:
        """Number of discrete actions, or the action vector's length for a Box."""
        space = self.action_space(self.default_params)
        return space.n if isinstance(space, spaces.Discrete) else math.prod(space.shape)

    def reset(self, key: jax.Array, params: ParamsT | None = None) -> tuple[jax.Array, StateT]:
        """Starts an episode.

        Args:
            key: a PRNG key.
            params: the env's params; `default_params` when None.

        Returns:
            obs: the first observation, `observation_space(params).shape`.
            state: the env state, with `time == 0` and `episode_return == 0`.
        """
        params = self.default_params if params is None else params
        obs, state = self.reset_env(key, params)
        return obs, _zero_episode_counters(state)

    def step(
        self,
        key: jax.Array,
        state: StateT,
        action: jax.typing.ArrayLike,
        params: ParamsT | None = None,
    ) -> tuple[jax.Array, StateT, jax.Array, jax.Array, jax.Array, Info]:
        """Takes one step and auto-resets at the end of an episode.

        Args:
            key: a PRNG key, consumed by the step's randomness and the reset noise.
            state: the current state (one env; vmap for a batch).
            action: an int scalar (Discrete) or a float vector (Box).
            params: the env's params; `default_params` when None.

        Returns:
            obs, state, reward (float32), terminated (bool), truncated (bool), info with
            `final_observation`, `episode_return` and `episode_length`.
        """
        params = self.default_params if params is None else params
        if self.stochastic_step:
            key_step, key_reset = numerics.split(key, 2)
        else:
            # step_env ignores its key: the one key goes to the reset noise, unsplit.
            key_step = key_reset = key
        obs_step, state_step, reward, terminated, truncated, info = self.step_without_reset(
            key_step, state, action, params
        )
        obs_reset, state_reset = self.reset(key_reset, params)
        # Each state leaf and observation entry selects its own value: without this, XLA
        # recomputes the step's dynamics (and the termination test) inside every select.
        done = jnp.logical_or(terminated, truncated).astype(jnp.float32)
        obs_step, state_step, done = numerics.computed_once(
            (obs_step, state_step, done), state.time
        )
        obs, state = _select(done > 0.5, (obs_reset, state_reset), (obs_step, state_step))
        return obs, state, reward, terminated, truncated, info

    def reset_batch(
        self, key: jax.Array, num_envs: int, params: ParamsT | None = None
    ) -> tuple[jax.Array, StateT]:
        """Resets `num_envs` envs with independent keys: obs `[num_envs, ...]`, batched state."""
        params = self.default_params if params is None else params
        keys = jax.random.split(key, num_envs)
        return jax.vmap(self.reset, in_axes=(0, None))(keys, params)

    def step_batch(
        self,
        key: jax.Array,
        state: StateT,
        action: jax.Array,
        params: ParamsT | None = None,
        reset_pool_size: int | None = None,
        reset_pool: tuple[jax.Array, StateT] | None = None,
    ) -> tuple[jax.Array, StateT, jax.Array, jax.Array, jax.Array, Info]:
        """Steps a batch of envs with one key, drawing reset noise only for the envs that reset.

        Equivalent in distribution to `jax.vmap(step)` with independent keys: each step draws
        `reset_pool_size` fresh initial states and hands them, in order, to the envs whose
        episode ended; on the rare step where more envs end at once, further pools are drawn
        (a `lax.while_loop`) until every one has its own. No key is used twice.

        Args:
            key: one PRNG key for the whole batch step.
            state: batched env state, leading axis `num_envs`.
            action: `[num_envs]` ints or `[num_envs, action_dim]` floats.
            params: shared params (not batched); `default_params` when None.
            reset_pool_size: initial states drawn per step (static). Default:
                `num_envs` up to 64 envs, else `max(64, num_envs // 16)`.
            reset_pool: `reset_pool(key, num_envs, params, reset_pool_size)` computed ahead,
                e.g. for every step of a rollout at once (`jax.vmap` over the steps' keys):
                the same result, bit for bit, with no random-number code in a scan's body.

        Returns:
            The same values as `jax.vmap(step)`, each with a leading `num_envs` axis.
        """
        params = self.default_params if params is None else params
        num_envs = action.shape[0]
        pool_size = _pool_size(num_envs, reset_pool_size)
        if reset_pool is not None:
            _check_pool(reset_pool, pool_size)
        key_step, key_reset = self._step_and_reset_keys(key)
        if self.stochastic_step:
            step_keys, key_axis = numerics.split(key_step, num_envs), 0
        else:
            step_keys, key_axis = key, None
        obs_step, state_step, reward, terminated, truncated, info = jax.vmap(
            self.step_without_reset, in_axes=(key_axis, 0, 0, None)
        )(step_keys, state, action, params)
        done = jnp.logical_or(terminated, truncated)
        # Envs that reset are ranked 0, 1, ...; rank r takes pool entry r % pool_size of pool
        # number r // pool_size.
        reset_rank = numerics.running_count(done) - 1
        if reset_pool is not None and pool_size == num_envs:
            # A pool drawn ahead that covers every env: each env that resets reads its entry (a
            # gather fused with the select: no hash to recompute, no scatter kernel per field).
            taken = jax.tree.map(
                lambda leaf: jnp.take(leaf, jnp.maximum(reset_rank, 0), axis=0), reset_pool
            )
            obs, state = _select(done, taken, (obs_step, state_step))
            return obs, state, reward, terminated, truncated, info
        # Else the pool is scattered into the envs that take it: each drawn state is read once
        # (a gather would fuse the pool's hash into every env's read).
        env_index = jnp.arange(num_envs, dtype=jnp.int32)
        num_resets = reset_rank[-1] + 1

        def fill_from_pool(pool_index, obs_and_state, pool=None):
            if pool is None:
                pool = self._draw_pool(key_reset, pool_index, pool_size, params)
            # The env index of ranks pool_index * pool_size, ...; num_envs (dropped) past the
            # last env that resets.
            slot = jnp.where(done, reset_rank - pool_index * pool_size, pool_size)
            taker = jnp.full(pool_size, num_envs, jnp.int32).at[slot].set(env_index, mode="drop")
            return jax.tree.map(
                lambda leaf, drawn: leaf.at[taker].set(
                    drawn, mode="drop", indices_are_sorted=True, unique_indices=True
                ),
                obs_and_state,
                pool,
            )

        obs_and_state = fill_from_pool(0, (obs_step, state_step), reset_pool)
        if pool_size < num_envs:
            _, obs_and_state = jax.lax.while_loop(
                lambda carry: carry[0] * pool_size < num_resets,
                lambda carry: (carry[0] + 1, fill_from_pool(carry[0], carry[1])),
                (jnp.asarray(1, jnp.int32), obs_and_state),
            )
        obs, state = obs_and_state
        return obs, state, reward, terminated, truncated, info

    def reset_pool(
        self,
        key: jax.Array,
        num_envs: int,
        params: ParamsT | None = None,
        reset_pool_size: int | None = None,
    ) -> tuple[jax.Array, StateT]:
        """The first initial states `step_batch(key, ...)` over `num_envs` envs hands out.

        Pass the result as `step_batch`'s `reset_pool` to draw it ahead: a rollout draws all
        its steps' pools in one batched call (`jax.vmap` over the steps' keys) instead of one
        random-number loop per step, which is faster to compile and, for a few envs, to run.

        Returns:
            obs `[pool_size, ...]` and state with a leading `pool_size` axis, `pool_size` being
            `step_batch`'s (`reset_pool_size`, or its default for `num_envs`).
        """
        params = self.default_params if params is None else params
        _, key_reset = self._step_and_reset_keys(key)
        return self._draw_pool(key_reset, 0, _pool_size(num_envs, reset_pool_size), params)

    def _step_and_reset_keys(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """`step_batch`'s key for the dynamics and its key for the reset pools."""
        if self.stochastic_step:
            key_step, key_reset = numerics.split(key, 2)
            return key_step, key_reset
        # step_env ignores its key: the one key goes to the reset noise, unsplit.
        return key, key

    def _draw_pool(
        self, key_reset: jax.Array, pool_index: jax.typing.ArrayLike, pool_size: int, params
    ) -> tuple[jax.Array, StateT]:
        """Reset pool number `pool_index`: `pool_size` fresh initial states."""
        # Small pools (a few envs, as in PPO's rollouts) hash JAX's way: the fused hash's
        # speed is worth its compile time only across many envs.
        fused = pool_size >= FUSED_POOL_SIZE
        with numerics.fused_hashes(fused):
            # The barriers store the key and the pool's keys once: without them XLA fuses
            # their hashes into each drawn value, several hashes per value.
            pool_keys = numerics.split(
                jax.lax.optimization_barrier(key_reset) if fused else key_reset,
                pool_size,
                stream=pool_index,
            )
            if fused:
                pool_keys = jax.lax.optimization_barrier(pool_keys)
            return jax.vmap(self.reset, in_axes=(0, None))(pool_keys, params)

    def step_without_reset(
        self, key: jax.Array, state: StateT, action: jax.typing.ArrayLike, params: ParamsT
    ) -> tuple[jax.Array, StateT, jax.Array, jax.Array, jax.Array, Info]:
        """`step` without the auto-reset: the state an episode ends in stays visible.

        `step_env` plus what every env shares (action clipping, time limit, episode stats); what
        renderers and episode recorders use to show an episode's last state. Same returns as
        `step`, but `obs` and `state` are the step's own even when the episode ended.
        """
        action = self.action_space(params).clip(jnp.asarray(action))
        obs, next_state, reward, terminated, info = self.step_env(key, state, action, params)
        reward = jnp.asarray(reward, jnp.float32)
        terminated = jnp.asarray(terminated, jnp.bool_)
        next_state = next_state.replace(
            time=state.time + 1, episode_return=state.episode_return + reward
        )
        truncated = next_state.time >= params.max_steps
        info = {
            **info,
            "final_observation": obs,
            "episode_return": next_state.episode_return,
            "episode_length": next_state.time,
        }
        return obs, next_state, reward, terminated, truncated, info


#: Reset pools at least this large draw their noise with `numerics`' fused hash.
FUSED_POOL_SIZE = 64


def default_reset_pool_size(num_envs: int) -> int:
    """Initial states `step_batch` draws per step: all of them for batches up to
    `FUSED_POOL_SIZE` envs (drawn JAX's way), 1/16 of them, at least `FUSED_POOL_SIZE`, else."""
    if num_envs <= FUSED_POOL_SIZE:
        return num_envs
    return max(FUSED_POOL_SIZE, num_envs // 16)


def _pool_size(num_envs: int, reset_pool_size: int | None) -> int:
    pool_size = (
        default_reset_pool_size(num_envs) if reset_pool_size is None else int(reset_pool_size)
    )
    return max(1, min(pool_size, num_envs))


def _check_pool(reset_pool: tuple[jax.Array, Any], pool_size: int) -> None:
    obs = reset_pool[0]
    if obs.ndim == 0 or obs.shape[0] != pool_size:
        raise ValueError(
            f"reset_pool holds {obs.shape[:1]} initial states where step_batch draws "
            f"{pool_size}: make it with env.reset_pool(key, num_envs, params, reset_pool_size) "
            "for the same num_envs and reset_pool_size."
        )


def _zero_episode_counters(state: StateT) -> StateT:
    return state.replace(time=jnp.zeros((), jnp.int32), episode_return=jnp.zeros((), jnp.float32))


def _select(condition: jax.Array, on_true: Any, on_false: Any) -> Any:
    """`jnp.where` over matching pytrees; `condition` broadcasts along leading axes."""

    def where(a, b):
        cond = jnp.reshape(condition, condition.shape + (1,) * (a.ndim - condition.ndim))
        return jnp.where(cond, a, b)

    return jax.tree.map(where, on_true, on_false)
