"""Gymnasium adapters: every jaxrl env as a `gymnasium.Env` and a `gymnasium.vector.VectorEnv`.

    import gymnasium as gym
    import jaxrl.envs.gymnasium_interop  # registers "jaxrl/<id>" for every single-agent env

    env = gym.make("jaxrl/CartPole-v1")
    vec = gym.make_vec("jaxrl/CartPole-v1", num_envs=4096, vectorization_mode="vector_entry_point")

Gymnasium's "module:id" form works without the import: `gym.make("jaxrl.envs.gymnasium_interop:
jaxrl/CartPole-v1")`. Gymnasium is optional: this module is the only one that imports it. The
two-player games have no place in Gymnasium's single-agent API: `jaxrl.envs.pettingzoo_interop`
wraps them.

Single env: each `step` is one jitted call of one packed uint32 array (observation, reward,
flags, key and state) and the action, returning the next such array, fetched once: dispatch is
the fixed cost, so the call has as few arguments and results as it can.
The time limit is Gymnasium's: `gym.make` adds its TimeLimit wrapper from the spec's
`max_episode_steps` (the jaxrl env's own limit is lifted so only that wrapper truncates).

Vector env: all envs step in one jitted call of the env's batched path (`step_batch`), with the
autoreset mode Gymnasium's vector envs take (`autoreset_mode=`, an `AutoresetMode` or its string
value, also through `gym.make_vec`), stated in `metadata["autoreset_mode"]` for Gymnasium's
wrappers to read:

- NEXT_STEP, the default (as in Gymnasium's own vector envs): the step an episode ends returns
  its last observation with its flags; the env's next step ignores its action and returns the
  next episode's first observation, with reward 0 and both flags False.
- SAME_STEP: the step an episode ends returns the next episode's first observation, and
  `infos["final_obs"]` (masked by `infos["_final_obs"]`) holds the observation the step produced.
- DISABLED: no autoreset. An env whose episode ended waits for
  `reset(options={"reset_mask": mask})` (which every mode takes): stepping it before is an error.

Every mode is that one call: `step_batch` draws an ended env's next episode on the step it
ends, NEXT_STEP holds it back a step by a per-env mask carried on the device, and DISABLED's
reset of ended envs shows it without a call.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from jaxrl.envs import core, numerics, registry, spaces
from jaxrl.envs.games.core import TwoPlayerGame

_NO_TIME_LIMIT = 2**31 - 1
NAMESPACE = "jaxrl"
#: XLA's CPU compiler splits large element-wise kernels across the cores of its thread pool.
#: For one batch step per call that does not pay: handing half of each kernel to another core
#: and waiting for it cost more than the work (XLA's per-kernel profile of a CartPole step at
#: 4096 envs on a 2-core VM; `jaxrl bench envs` gives the adapter's speed).
PER_CALL_CPU_OPTIONS = {"xla_disable_hlo_passes": "cpu-parallel-task-assigner"}
#: Up to this many envs the vector adapter's key and state travel inside its one packed result
#: (dispatch dominates); past it they stay separate device arrays (copying them dominates:
#: docs/performance.md).
PACKED_CARRY_MAX_ENVS = 16384


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
        _check_single_agent(self._env)
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
        pack_carry, unpack_carry = _packer(carry_shape, jnp.uint32)
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


def _segments(**sizes: int) -> dict[str, slice]:
    """Consecutive slices of a flat array, one per named part, in the order given."""
    segments, start = {}, 0
    for name, size in sizes.items():
        segments[name] = slice(start, start + size)
        start += size
    return segments


def _bits(x: jax.Array) -> jax.Array:
    """A 32-bit array's bits as uint32 (exact)."""
    return jax.lax.bitcast_convert_type(x, jnp.uint32)


def _packer(example: Any, container: Any):
    """`pack(tree) -> container[K]` and its inverse for trees shaped like `example` (bit-exact).

    `container` is a 32-bit dtype (uint32 or float32). Leaves of that dtype are stored as they
    are, other 32-bit leaves bitcast, booleans as 0 or 1, PRNG keys as their key data (bitcast).
    Storing leaves of the container's own dtype unconverted lets XLA write them straight into
    the packed array: a bitcast between dtypes is a kernel of its own on the CPU.
    """
    container = jnp.dtype(container)
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

    def to_container(leaf):
        if leaf.dtype == jnp.bool_:
            return jnp.ravel(leaf).astype(container)
        if leaf.dtype == container:
            return jnp.ravel(leaf)
        return jnp.ravel(jax.lax.bitcast_convert_type(leaf, container))

    def pack(tree):
        flat = [
            jax.random.key_data(leaf) if layout[0] == "key" else leaf
            for leaf, layout in zip(jax.tree.leaves(tree), layouts, strict=True)
        ]
        return jnp.concatenate([to_container(leaf) for leaf in flat])

    def unpack(array):
        out, start = [], 0
        for kind, _, stored_shape, size in layouts:
            part = array[start : start + size].reshape(stored_shape)
            start += size
            if kind == "key":
                if container != jnp.uint32:
                    part = jax.lax.bitcast_convert_type(part, jnp.uint32)
                out.append(jax.random.wrap_key_data(part))
            elif kind == jnp.bool_:
                out.append(part != 0)
            elif kind == container:
                out.append(part)
            else:
                out.append(jax.lax.bitcast_convert_type(part, kind))
        return jax.tree.unflatten(treedef, out)

    return pack, unpack


def _check_single_agent(env: core.Environment) -> None:
    """Refuses the two-player games: Gymnasium's `Env` has one agent, a game two seats."""
    if isinstance(env, TwoPlayerGame):
        raise ValueError(
            f"{env.name} is a two-player game, which Gymnasium's single-agent Env cannot "
            "express: wrap it with jaxrl.envs.pettingzoo_interop instead."
        )


def _autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    """`mode` as an `AutoresetMode`: a member or its value ("NextStep"), as Gymnasium takes it."""
    if isinstance(mode, AutoresetMode):
        return mode
    try:
        return AutoresetMode(mode)
    except (ValueError, TypeError):
        valid = ", ".join(
            f"AutoresetMode.{member.name} ({member.value!r})" for member in AutoresetMode
        )
        raise ValueError(f"autoreset_mode={mode!r}: use one of {valid}.") from None


def _where_envs(mask: jax.Array, on_true: Any, on_false: Any) -> Any:
    """`jnp.where` over matching pytrees of batched arrays; `mask` is `[num_envs]` bool."""

    def where(a, b):
        return jnp.where(jnp.reshape(mask, mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(where, on_true, on_false)


class GymnasiumVectorEnv(gymnasium.vector.VectorEnv):
    """`num_envs` jaxrl envs stepped in one jitted call, with the Gymnasium autoreset mode asked
    for (`autoreset_mode`: NEXT_STEP by default, SAME_STEP or DISABLED)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        env_id: str,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **overrides: Any,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: jaxrl envs render 'rgb_array' only.")
        if int(num_envs) < 1:
            raise ValueError(f"num_envs={num_envs}: make at least one env.")
        self.autoreset_mode = mode = _autoreset_mode(autoreset_mode)
        # Per instance, as Gymnasium's wrappers read the mode from here.
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        if max_episode_steps is not None:
            overrides["max_steps"] = int(max_episode_steps)
        self._env, self._params = registry.make(env_id, **overrides)
        _check_single_agent(self._env)
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.single_observation_space = to_gymnasium_space(
            self._env.observation_space(self._params)
        )
        self.single_action_space = to_gymnasium_space(self._env.action_space(self._params))
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._action_dtype = np.dtype(self._env.action_space(self._params).dtype)
        env, env_params, num = self._env, self._params, self.num_envs
        obs_dtype = np.dtype(self.single_observation_space.dtype)
        if obs_dtype.itemsize != 4:
            raise ValueError(
                f"{env_id}: {obs_dtype} observations; the vector adapter packs 32-bit ones "
                "(give the env float32 or int32 observations)."
            )
        obs_shape = (num,) + self.single_observation_space.shape
        obs_size = math.prod(obs_shape)
        # What a step returns lies in one flat float32 array, each part contiguous (so each is a
        # NumPy view on the CPU, no strided copy): [obs | final obs | reward | flags], the flags
        # being terminated then truncated as bytes, four to a word. Each argument and result of
        # a jitted call costs microseconds of dispatch, so up to `PACKED_CARRY_MAX_ENVS` envs
        # the carry (key, state and, for NEXT_STEP, which envs reset on the next step) rides at
        # the end of the same array, which goes back in as the step's argument: two arguments
        # and one result where a pytree of state leaves had twenty. Past that, copying the state
        # into the array costs more than its dispatch saves, and the carry stays a pytree of
        # device arrays.
        flag_words = -(-2 * num // 4)
        self._segments = segments = _segments(
            obs=obs_size, final_obs=obs_size, reward=num, flags=flag_words
        )
        header = segments["flags"].stop
        # NEXT_STEP carries its needs-reset mask as a bool per env (stored 0 or 1): reading it
        # back from the flag bytes costs XLA's CPU backend a slow unpacking loop. None (no
        # leaf) in the other modes.
        no_resets = jnp.zeros(num, bool) if mode is AutoresetMode.NEXT_STEP else None
        carry_shape = jax.eval_shape(
            lambda key: (
                jax.random.key_data(key),
                env.reset_batch(key, num, env_params)[1],
                no_resets,
            ),
            jax.random.key(0),
        )
        # float32, the dtype of most observations and state leaves: those go in unconverted.
        pack_carry, unpack_carry = _packer(carry_shape, jnp.float32)
        self._carry_packed = carry_packed = num <= PACKED_CARRY_MAX_ENVS

        def as_float32(x):
            x = x.astype(obs_dtype).ravel()
            return x if x.dtype == jnp.float32 else jax.lax.bitcast_convert_type(x, jnp.float32)

        def pack(obs, final_obs, reward, terminated, truncated, carry):
            # Four flags a word, in memory order (a NumPy bool view reads them one by one),
            # by shifts: XLA turns a uint8 -> float32 bitcast into a slow reduction.
            flags = jnp.concatenate([terminated, truncated]).astype(jnp.uint32)
            flags = jnp.pad(flags, (0, 4 * flag_words - 2 * num)).reshape(flag_words, 4)
            shifts = (0, 8, 16, 24) if sys.byteorder == "little" else (24, 16, 8, 0)
            words = functools.reduce(
                jnp.bitwise_or, [flags[:, i] << shift for i, shift in enumerate(shifts)]
            )
            outputs = [as_float32(obs), as_float32(final_obs), reward.astype(jnp.float32)]
            outputs += [jax.lax.bitcast_convert_type(words, jnp.float32)]
            if carry_packed:
                return jnp.concatenate(outputs + [pack_carry(carry)])
            return jnp.concatenate(outputs), carry

        def carry_of(device):
            """(key data, state, needs-reset mask or None) from what `reset` and `step` return."""
            return unpack_carry(device[header:]) if carry_packed else device[1]

        def observations(device):
            """The (obs, final obs) parts of what `reset` and `step` return, batch first."""
            packed = device if carry_packed else device[0]
            return tuple(
                jax.lax.bitcast_convert_type(packed[segments[name]], obs_dtype).reshape(obs_shape)
                for name in ("obs", "final_obs")
            )

        def reset(key_data):
            # Raw key data, not a typed key: a typed key costs Python work on every call.
            key, key_reset = numerics.split(jax.random.wrap_key_data(key_data), 2)
            obs, state = env.reset_batch(key_reset, num, env_params)
            zeros, falses = jnp.zeros(num, jnp.float32), jnp.zeros(num, bool)
            carry = (jax.random.key_data(key), state, no_resets)
            return pack(obs, obs, zeros, falses, falses, carry)

        def reset_masked(device, mask, key_data):
            """Fresh episodes for the envs in `mask` (`[num_envs]` bool); the others keep theirs.

            `key_data` None continues the carried key stream. Reward and flags are left zero:
            the host reads them after a step only.
            """
            carried_key_data, state, needs_reset = carry_of(device)
            key_data = carried_key_data if key_data is None else key_data
            key, key_reset = numerics.split(jax.random.wrap_key_data(key_data), 2)
            fresh_obs, fresh_state = env.reset_batch(key_reset, num, env_params)
            obs, final_obs = observations(device)
            obs, final_obs, state = _where_envs(
                mask, (fresh_obs, fresh_obs, fresh_state), (obs, final_obs, state)
            )
            if needs_reset is not None:
                needs_reset = needs_reset & ~mask
            zeros, falses = jnp.zeros(num, jnp.float32), jnp.zeros(num, bool)
            carry = (jax.random.key_data(key), state, needs_reset)
            return pack(obs, final_obs, zeros, falses, falses, carry)

        def step(device, actions):
            key_data, state, needs_reset = carry_of(device)
            key, key_step = numerics.split(jax.random.wrap_key_data(key_data), 2)
            obs, next_state, reward, terminated, truncated, info = env.step_batch(
                key_step, state, actions, env_params
            )
            # `step_batch` autoresets on the step an episode ends: `obs` and the state are the
            # next episode's first, `final_observation` the step's own.
            final_obs = info["final_observation"]
            if needs_reset is not None:
                # An env whose episode ended on the previous step spends this one showing the
                # first observation of the episode `step_batch` drew then (in the obs part of
                # the array this step takes back): its action ignored, reward 0, flags False.
                first_obs, _ = observations(device)
                obs, final_obs, next_state = _where_envs(
                    needs_reset, (first_obs, first_obs, state), (obs, final_obs, next_state)
                )
                reward = jnp.where(needs_reset, 0.0, reward)
                terminated, truncated = terminated & ~needs_reset, truncated & ~needs_reset
                needs_reset = terminated | truncated
            carry = (jax.random.key_data(key), next_state, needs_reset)
            return pack(obs, final_obs, reward, terminated, truncated, carry)

        options = PER_CALL_CPU_OPTIONS if jax.default_backend() == "cpu" else None
        self._reset = jax.jit(reset, compiler_options=options)
        self._reset_from_carry = jax.jit(
            lambda device: reset(carry_of(device)[0]), compiler_options=options
        )
        self._reset_masked = jax.jit(reset_masked, compiler_options=options)
        self._step = jax.jit(step, compiler_options=options)
        self._carry_of = carry_of  # for tests
        self._render = jax.jit(
            lambda device: env.render(jax.tree.map(lambda x: x[0], carry_of(device)[1]), env_params)
        )
        # What the last reset or step returned: the packed array, or it and the carry.
        self._device = None
        # The envs whose episode ended on the last step and that no reset or autoreset has
        # started again: NEXT_STEP's next step autoresets them, DISABLED's refuses to step them
        # (none in SAME_STEP, which autoresets on the step itself).
        self._ended = np.zeros(self.num_envs, bool)

    def _part(self, fetched: np.ndarray, name: str, dtype: Any) -> np.ndarray:
        """A view of one part of the fetched packed array, in `dtype`, batch axis first."""
        part = fetched[self._segments[name]].view(dtype)
        return (
            part
            if name not in ("obs", "final_obs")
            else part.reshape((self.num_envs,) + self.single_observation_space.shape)
        )

    def _fetch(self) -> np.ndarray:
        """The packed outputs of the last call, as a read-only NumPy view (a CPU buffer's own)."""
        return np.asarray(self._device if self._carry_packed else self._device[0])

    def _reset_mask(self, options: dict | None) -> np.ndarray | None:
        """`options["reset_mask"]` checked as Gymnasium's vector envs check it, or None."""
        if options is None or options.get("reset_mask") is None:
            return None
        mask = np.asarray(options["reset_mask"])
        if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(
                f"options['reset_mask'] of dtype {mask.dtype} and shape {mask.shape}: "
                f"give a bool array of shape ({self.num_envs},)."
            )
        if not mask.any():
            raise ValueError("options['reset_mask'] selects no env: set True the envs to reset.")
        if self._device is None:
            raise RuntimeError("Call reset() without a reset_mask before a masked reset.")
        return mask

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        """Starts every env's episode again, or those `options["reset_mask"]` selects.

        Returns observations `[num_envs, *obs_shape]` and an empty info dict: with a mask, the
        envs it leaves show what they last showed.
        """
        if isinstance(seed, (list, tuple)):
            seed = seed[0] if seed else None
        mask = self._reset_mask(options)
        super().reset(seed=seed)
        key_data = None
        if seed is not None or self._device is None:
            key = jax.random.key(int(self.np_random.integers(2**31 - 1)))
            key_data = jax.random.key_data(key)
        # DISABLED's reset of ended envs (after every step) needs no call: `step_batch` drew
        # their next episodes on the step they ended (in the carried state, and their first
        # observations in the "obs" part).
        drawn = (
            self.autoreset_mode is AutoresetMode.DISABLED
            and key_data is None
            and mask is not None
            and not (mask & ~self._ended).any()
        )
        if mask is None:
            self._device = (
                self._reset(key_data)
                if key_data is not None
                else self._reset_from_carry(self._device)  # continue the carried key stream
            )
        elif not drawn:
            self._device = self._reset_masked(self._device, mask, key_data)
        self._ended = self._ended & ~mask if mask is not None else np.zeros(self.num_envs, bool)
        fetched = self._fetch()
        dtype = self.single_observation_space.dtype
        obs = np.array(self._part(fetched, "obs", dtype))
        if self._ended.any():
            # An ended env left out of the mask shows the observation its episode ended on.
            obs[self._ended] = self._part(fetched, "final_obs", dtype)[self._ended]
        return obs, {}

    def step(self, actions):
        if self._device is None:
            raise RuntimeError("Call reset() before step().")
        if self.autoreset_mode is AutoresetMode.DISABLED and self._ended.any():
            ended = np.flatnonzero(self._ended)
            raise RuntimeError(
                f"{ended.size} envs ended (env {ended[0]} first) and autoreset_mode is DISABLED: "
                "reset them first with reset(options={'reset_mask': terminations | truncations})."
            )
        actions = np.asarray(actions)
        expected = (self.num_envs,) + self.single_action_space.shape
        if actions.shape != expected:
            raise ValueError(f"actions of shape {actions.shape}; expected {expected}.")
        # The dtype jit would convert to anyway (int32/float32 without x64), here in NumPy.
        actions = actions.astype(self._action_dtype, copy=False)
        self._device = self._step(self._device, actions)
        # What is returned is copied out of the read-only view, as callers may write in place.
        fetched = self._fetch()
        dtype = self.single_observation_space.dtype
        flags = fetched[self._segments["flags"]].view(np.bool_)
        terminations = flags[: self.num_envs].copy()
        truncations = flags[self.num_envs : 2 * self.num_envs].copy()
        ended = terminations | truncations
        infos = {}
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            obs = np.array(self._part(fetched, "obs", dtype))
            if ended.any():
                final_obs = np.array(self._part(fetched, "final_obs", dtype))
                infos = {"final_obs": final_obs, "_final_obs": ended}
        else:  # the step's own observations; the next episode's show on a later step
            obs = np.array(self._part(fetched, "final_obs", dtype))
            self._ended = ended
        return (
            obs,
            np.array(self._part(fetched, "reward", np.float32)),
            terminations,
            truncations,
            infos,
        )

    def render(self):
        """The first env's frame (`rgb_array`)."""
        if self.render_mode != "rgb_array":
            return None
        if self._device is None:
            raise RuntimeError("Call reset() before render().")
        return np.asarray(self._render(self._device))


def register_gymnasium_envs() -> list[str]:
    """Registers `jaxrl/<id>` with Gymnasium for every registered single-agent jaxrl env (not
    the two-player games: `jaxrl.envs.pettingzoo_interop` wraps those); returns the ids."""
    registered = []
    for env_id in registry.registered():
        gym_id = f"{NAMESPACE}/{env_id}"
        env, params = registry.make(env_id)
        if isinstance(env, TwoPlayerGame):
            continue
        if gym_id not in gymnasium.registry:
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
