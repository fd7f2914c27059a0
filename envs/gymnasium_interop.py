"""Gymnasium adapters: every jaxrl env as a `gymnasium.Env` and a `gymnasium.vector.VectorEnv`.

    import gymnasium as gym
    import jaxrl.envs.gymnasium_interop  # registers "jaxrl/<id>" for every registered env

    env = gym.make("jaxrl/CartPole-v1")
    vec = gym.make_vec("jaxrl/CartPole-v1", num_envs=4096, vectorization_mode="vector_entry_point")

Gymnasium's "module:id" form works without the import: `gym.make("jaxrl.envs.gymnasium_interop:
jaxrl/CartPole-v1")`. Gymnasium is optional: this module is the only one that imports it.

Single env: each `step` is one jitted call of one packed uint32 array (observation, reward,
flags, key and state) and the action, returning the next such array, fetched once: dispatch is
the fixed cost, so the call has as few arguments and results as it can.
The time limit is Gymnasium's: `gym.make` adds its TimeLimit wrapper from the spec's
`max_episode_steps` (the jaxrl env's own limit is lifted so only that wrapper truncates).

Vector env: all envs step in one jitted call of the env's batched path (`step_batch`), with
Gymnasium's SAME_STEP autoreset: an env whose episode ended returns the next episode's first
observation, and `infos["final_obs"]` (masked by `infos["_final_obs"]`) holds the observation
the step produced, as Gymnasium documents for that mode.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from jaxrl.envs import numerics, registry, spaces

_NO_TIME_LIMIT = 2**31 - 1
NAMESPACE = "jaxrl"


def to_gymnasium_space(space: spaces.Space) -> gymnasium.Space:
    """A jaxrl space as the Gymnasium space of the same set."""
    if isinstance(space, spaces.Discrete):
        return gymnasium.spaces.Discrete(space.n)
    dtype = np.dtype(space.dtype)
    low = np.broadcast_to(np.asarray(space.low, dtype), space.shape)
    high = np.broadcast_to(np.asarray(space.high, dtype), space.shape)
    return gymnasium.spaces.Box(low=low, high=high, shape=space.shape, dtype=dtype)


class GymnasiumEnv(gymnasium.Env):
    """One jaxrl env behind Gymnasium's `Env` API (reset/step return NumPy values)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, env_id: str, render_mode: str | None = None, **overrides: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: jaxrl envs render 'rgb_array' only.")
        self._env, params = registry.make(env_id, **overrides)
        self._params = params.replace(max_steps=_NO_TIME_LIMIT)
        self.render_mode = render_mode
        action_space = self._env.action_space(params)
        self.observation_space = to_gymnasium_space(self._env.observation_space(params))
        self.action_space = to_gymnasium_space(action_space)
        self._obs_shape = self.observation_space.shape
        self._obs_size = int(np.prod(self._obs_shape))
        # The dtype jit would convert to anyway (int32/float32 without x64), here in NumPy.
        self._action_dtype = np.dtype(action_space.dtype)
        # Discrete actions as device arrays made once: a NumPy argument costs a host-to-device
        # transfer on every call, several times a device array's cost.
        self._device_actions: dict[int, jax.Array] = {}
        self._num_discrete_actions = (
            action_space.n if isinstance(action_space, spaces.Discrete) else 0
        )
        self._packed = None
        env, env_params = self._env, self._params

        # Everything a step reads and returns travels as one uint32 array, on the device between
        # calls and fetched once: [observation | reward | terminated | truncated | key | state]
        # (bit-exact). Each argument and result of a jitted call costs microseconds of dispatch,
        # which dominates a single env's step.
        carry_shape = jax.eval_shape(
            lambda key: (key, env.reset(key, env_params)[1]), jax.random.key(0)
        )
        pack_carry, unpack_carry = _uint32_packer(carry_shape)
        obs_dtype = self.observation_space.dtype
        header = self._obs_size + 3

        def pack(obs, reward, terminated, truncated, key, state):
            obs = jnp.ravel(obs)
            if obs_dtype.itemsize == 4:
                obs_bits = _bits(obs.astype(obs_dtype))
            else:
                obs_bits = obs.astype(jnp.uint32)
            return jnp.concatenate(
                [
                    obs_bits,
                    _bits(jnp.asarray(reward, jnp.float32))[None],
                    jnp.stack([terminated, truncated]).astype(jnp.uint32),
                    pack_carry((key, state)),
                ]
            )

        def reset(key):
            # JAX's own (rolled) hashes: a single env's reset is then cheap enough by XLA's cost
            # model (< 1000 flops) to run inline in the calling thread, not handed to a worker.
            with numerics.fused_hashes(False):
                key, key_reset = numerics.split(key, 2)
                obs, state = env.reset(key_reset, env_params)
            return pack(obs, 0.0, False, False, key, state)

        def step(packed, action):
            # No auto-reset (Gymnasium's caller resets), and the episode's key folded with the
            # step count rather than split: a deterministic env's step then computes no hash.
            key, state = unpack_carry(packed[header:])
            key_step = jax.random.fold_in(key, state.time)
            obs, state, reward, terminated, truncated, _ = env.step_without_reset(
                key_step, state, action, env_params
            )
            return pack(obs, reward, terminated, truncated, key, state)

        self._reset = jax.jit(reset)
        self._reset_from_packed = jax.jit(lambda packed: reset(unpack_carry(packed[header:])[0]))
        self._step = jax.jit(step)
        self._render = jax.jit(
            lambda packed: env.render(unpack_carry(packed[header:])[1], env_params)
        )

    def _observation(self, fetched: np.ndarray) -> np.ndarray:
        """The observation at the front of a fetched (writable) packed array, as a view of it."""
        bits = fetched[: self._obs_size]
        dtype = self.observation_space.dtype
        obs = bits.view(dtype) if dtype.itemsize == 4 else bits.astype(dtype)
        return obs if obs.shape == self._obs_shape else obs.reshape(self._obs_shape)

    def _device_action(self, action: Any) -> Any:
        """`action` as the jitted step's argument: a cached device array for discrete actions."""
        try:
            return self._device_actions[action]
        except (KeyError, TypeError):  # not seen yet, or unhashable (an array)
            pass
        host = np.asarray(action, self._action_dtype)
        if host.ndim == 0 and 0 <= host < self._num_discrete_actions:
            device = jax.device_put(host)
            self._device_actions[int(host)] = device
            return device
        return host

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or self._packed is None:
            key = jax.random.key(int(self.np_random.integers(2**31 - 1)))
            self._packed = self._reset(key)
        else:  # continue the key stream the steps carried
            self._packed = self._reset_from_packed(self._packed)
        return self._observation(np.array(self._packed)), {}

    def step(self, action):
        if self._packed is None:
            raise RuntimeError("Call reset() before step().")
        self._packed = self._step(self._packed, self._device_action(action))
        # One copy into a new writable array; the observation is a view of it.
        fetched = np.array(self._packed)
        size = self._obs_size
        return (
            self._observation(fetched),
            float(fetched.view(np.float32)[size]),
            bool(fetched[size + 1]),
            bool(fetched[size + 2]),
            {},
        )

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if self._packed is None:
            raise RuntimeError("Call reset() before render().")
        return np.asarray(self._render(self._packed))


def _bits(x: jax.Array) -> jax.Array:
    """A 32-bit array's bits as uint32 (exact)."""
    return jax.lax.bitcast_convert_type(x, jnp.uint32)


def _uint32_packer(example: Any):
    """`pack(tree) -> uint32[K]` and its inverse for trees shaped like `example` (bit-exact).

    Leaves of 32-bit dtypes are bitcast, booleans widened, PRNG keys stored as their key data.
    """
    leaves, treedef = jax.tree.flatten(example)
    layouts = []
    for leaf in leaves:
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = jax.eval_shape(jax.random.key_data, leaf)
            layouts.append(("key", leaf.shape, data.shape, data.size))
        elif leaf.dtype == jnp.bool_ or jnp.dtype(leaf.dtype).itemsize == 4:
            layouts.append((jnp.dtype(leaf.dtype), leaf.shape, leaf.shape, math.prod(leaf.shape)))
        else:
            raise ValueError(f"cannot pack a {leaf.dtype} state leaf; use 32-bit or bool leaves.")

    def to_uint32(leaf, layout):
        kind = layout[0]
        if kind == "key":
            return jnp.ravel(jax.random.key_data(leaf)).astype(jnp.uint32)
        if kind == jnp.bool_:
            return jnp.ravel(leaf).astype(jnp.uint32)
        return jnp.ravel(jax.lax.bitcast_convert_type(leaf, jnp.uint32))

    def pack(tree):
        flat = jax.tree.leaves(tree)
        return jnp.concatenate([to_uint32(x, lay) for x, lay in zip(flat, layouts, strict=True)])

    def unpack(array):
        out, start = [], 0
        for kind, _, stored_shape, size in layouts:
            part = array[start : start + size].reshape(stored_shape)
            start += size
            if kind == "key":
                out.append(jax.random.wrap_key_data(part))
            elif kind == jnp.bool_:
                out.append(part.astype(jnp.bool_))
            else:
                out.append(jax.lax.bitcast_convert_type(part, kind))
        return jax.tree.unflatten(treedef, out)

    return pack, unpack


class GymnasiumVectorEnv(gymnasium.vector.VectorEnv):
    """`num_envs` jaxrl envs stepped in one jitted call, with SAME_STEP autoreset."""

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        env_id: str,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: jaxrl envs render 'rgb_array' only.")
        if int(num_envs) < 1:
            raise ValueError(f"num_envs={num_envs}: make at least one env.")
        if max_episode_steps is not None:
            overrides["max_steps"] = int(max_episode_steps)
        self._env, self._params = registry.make(env_id, **overrides)
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.single_observation_space = to_gymnasium_space(
            self._env.observation_space(self._params)
        )
        self.single_action_space = to_gymnasium_space(self._env.action_space(self._params))
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._action_dtype = np.dtype(self._env.action_space(self._params).dtype)
        self._key = None
        self._state = None
        env, env_params, num = self._env, self._params, self.num_envs

        def reset(key):
            key, key_reset = numerics.split(key, 2)
            obs, state = env.reset_batch(key_reset, num, env_params)
            return obs, state, key

        def step(key, state, actions):
            key, key_step = numerics.split(key, 2)
            obs, state, reward, terminated, truncated, info = env.step_batch(
                key_step, state, actions, env_params
            )
            # Separate contiguous outputs: on the CPU each reaches NumPy without a copy, while
            # slicing one packed array costs strided copies (~100 us at 4096 envs).
            return (
                (obs, info["final_observation"], reward, terminated, truncated),
                state,
                key,
            )

        self._reset = jax.jit(reset)
        self._step = jax.jit(step)
        self._render = jax.jit(
            lambda state: env.render(jax.tree.map(lambda x: x[0], state), env_params)
        )

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        if isinstance(seed, (list, tuple)):
            seed = seed[0] if seed else None
        super().reset(seed=seed)
        if seed is not None or self._key is None:
            self._key = jax.random.key(int(self.np_random.integers(2**31 - 1)))
        obs, self._state, self._key = self._reset(self._key)
        return np.asarray(obs, self.single_observation_space.dtype), {}

    def step(self, actions):
        if self._state is None:
            raise RuntimeError("Call reset() before step().")
        actions = np.asarray(actions)
        expected = (self.num_envs,) + self.single_action_space.shape
        if actions.shape != expected:
            raise ValueError(f"actions of shape {actions.shape}; expected {expected}.")
        # The dtype jit would convert to anyway (int32/float32 without x64), here in NumPy.
        actions = actions.astype(self._action_dtype, copy=False)
        outputs, self._state, self._key = self._step(self._key, self._state, actions)
        obs, final_obs, rewards, terminations, truncations = (np.asarray(x) for x in outputs)
        dtype = self.single_observation_space.dtype
        ended = terminations | truncations
        infos = {}
        if ended.any():
            infos = {"final_obs": np.array(final_obs, dtype), "_final_obs": ended}
        # Copies: NumPy views of JAX buffers are read-only, and callers may write in place.
        return (
            np.array(obs, dtype),
            np.array(rewards),
            np.array(terminations),
            np.array(truncations),
            infos,
        )

    def render(self):
        """The first env's frame (`rgb_array`)."""
        if self.render_mode != "rgb_array":
            return None
        if self._state is None:
            raise RuntimeError("Call reset() before render().")
        return np.asarray(self._render(self._state))


def register_gymnasium_envs() -> list[str]:
    """Registers `jaxrl/<id>` with Gymnasium for every registered jaxrl env; returns the ids."""
    registered = []
    for env_id in registry.registered():
        gym_id = f"{NAMESPACE}/{env_id}"
        if gym_id not in gymnasium.registry:
            _, params = registry.make(env_id)
            gymnasium.register(
                id=gym_id,
                entry_point=f"{__name__}:GymnasiumEnv",
                vector_entry_point=f"{__name__}:GymnasiumVectorEnv",
                max_episode_steps=int(params.max_steps),
                kwargs={"env_id": env_id},
            )
        registered.append(gym_id)
    return registered


register_gymnasium_envs()
