"""Gymnax interop: `make("gymnax:<id>")` wraps any gymnax environment as a jaxrl `Environment`.

>>> env, params = envs.make("gymnax:CartPole-v1", max_steps=200)
>>> params = params.replace(gymnax_params=params.gymnax_params.replace(gravity=9.0))

`GymnaxEnv` composes a gymnax env: its `reset_env`/`step_env` call gymnax's `reset_env`/`step_env`
(never gymnax's `step`, which auto-resets itself), and the jaxrl base adds what every env shares:
the time limit, auto-reset, action clipping, final observation and episode statistics. For the
same key, `step` reproduces gymnax's own `step` (both split the key into step and reset halves, in
that order), auto-reset included.

Semantics, and where they differ from gymnax:
- Termination. Since gymnax 1.0, `step_env`'s flag is the natural termination alone and the time
  limit is a separate `truncated`; it becomes `terminated` unchanged. Before 1.0 (`gymnax<1`),
  `step_env` returned `done = terminated | time limit`; the wrapper then reports
  `terminated = done & (time < max_steps_in_episode)`, so a step that both terminates and hits the
  limit is reported as truncated only. That is the less harmful error: it bootstraps one value on
  one step at most per episode, where the opposite choice would cut bootstrapping on every episode
  that merely runs out of time.
- The time limit. `GymnaxParams.max_steps` starts at gymnax's `max_steps_in_episode` (at
  `NO_TIME_LIMIT` for params without one: gymnax has no limit then either) and is written back into
  gymnax's params on every call, so `make("gymnax:...", max_steps=100)` also moves gymnax's own
  view of the limit (GaussianBandit-misc's observation space is built from it).
- Observations keep gymnax's shape (Catch-bsuite a 10x5 image, MinAtar `[10, 10, C]`) and are cast
  to float32; a Discrete observation (FrozenLake-misc) stays an int32 index.
- Actions are clipped into the action space before gymnax sees them: continuous actions into the
  box (several gymnax envs do not clip themselves), discrete ones to the nearest valid action.
- gymnax's own numeric params (gravity, ...) are not `make` overrides; replace them inside
  `params.gymnax_params` as in the example above. gymnax stores derived constants as fields
  (CartPole's `total_mass`), so replace those too.
- DeepSea-bsuite's own `step` carries `total_bad_episodes` and `denoised_return` across resets;
  the jaxrl base resets the whole gymnax state, so here they count within one episode.
- gymnax's `info` (e.g. `discount`) is passed through beside the base's entries.
- gymnax's code runs with implicit rank promotion allowed, as gymnax is written for it, even where
  the caller sets `jax_numpy_rank_promotion="raise"`.
- MNISTBandit-bsuite downloads MNIST when gymnax constructs it, so it needs the network.

Rendering: gymnax has no pure-JAX renderer (its visualizers are host-side matplotlib), so
`render` draws the observation itself when it is an image, each cell a square
`render_cell_pixels` wide: an `[H, W]` observation (Catch-bsuite, DeepSea-bsuite) in greys, white
at the space's low bound and black at its high one (matplotlib's "Greys", as gymnax's Catch
visualizer); an `[H, W, C]` one (MinAtar, Pong-misc) as gymnax's MinAtar visualizer colours it: a
cell takes the colour of its highest-numbered channel above the low bound (seaborn's cubehelix
palette), black when none. Envs with vector or index observations raise NotImplementedError.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.envs import core, rendering, spaces

#: `max_steps` for gymnax params without `max_steps_in_episode`: int32's largest value, a limit
#: no episode reaches.
NO_TIME_LIMIT = 2**31 - 1

#: The longest side of a rendered image observation is at most this many pixels (and each
#: observation cell at least one pixel).
RENDER_MAX_PIXELS = 256

_INSTALL_HINT = "pip install gymnax (or, from a jaxrl checkout, pip install -e '.[gymnax]')"


@struct.dataclass
class GymnaxState(core.EnvState):
    """A wrapped gymnax env's state.

    Attributes:
        gymnax_state: the gymnax env's own state; its `time` counts the same steps as `time`.
    """

    gymnax_state: Any


@struct.dataclass
class GymnaxParams(core.EnvParams):
    """A wrapped gymnax env's params.

    Attributes:
        gymnax_params: the gymnax env's own params (traced leaves, so they can be vmapped).
        max_steps: the time limit; overrides gymnax's `max_steps_in_episode` where it has one.
    """

    gymnax_params: Any


#: Mean returns at which gymnax envs count as solved, where jaxrl knows one: bsuite's Catch
#: pays +1 for a catch, so a policy that always catches averages 1.
SOLVED_RETURNS = {"Catch-bsuite": 1.0}


class GymnaxEnv(core.Environment[GymnaxState, GymnaxParams]):
    """A gymnax environment behind jaxrl's `Environment` interface (see the module docstring)."""

    # gymnax's stochastic envs (MinAtar spawns, DeepSea, bandits) draw from step_env's key.
    stochastic_step = True

    def __init__(self, gymnax_env: Any, name: str, *, done_includes_time_limit: bool = False):
        """Wraps `gymnax_env`.

        Args:
            gymnax_env: a gymnax `Environment` instance.
            name: the id it was made from, e.g. "CartPole-v1".
            done_includes_time_limit: whether `step_env`'s flag also fires at the time limit
                (gymnax before 1.0).

        Raises:
            ValueError: when the env's action or observation space is not a Discrete or a Box.
        """
        self.gymnax_env = gymnax_env
        self._name = name
        gymnax_default = gymnax_env.default_params
        self._has_time_limit = _has_field(gymnax_default, "max_steps_in_episode")
        self._done_includes_time_limit = done_includes_time_limit and self._has_time_limit
        self._default_max_steps = (
            int(gymnax_default.max_steps_in_episode) if self._has_time_limit else NO_TIME_LIMIT
        )
        # Converting the default spaces now turns an unsupported space into an error at make time.
        self.action_space()
        observation_space = self.observation_space()
        self._index_observation = isinstance(observation_space, spaces.Discrete)
        self._image = _ImageStyle.of(observation_space)

    @property
    def render_cell_pixels(self) -> int | None:
        """Side in pixels of one observation cell in rendered frames; None when the observation
        is not an image, so `render` raises."""
        return None if self._image is None else self._image.cell_pixels

    @property
    def name(self) -> str:
        return f"gymnax:{self._name}"

    def reward_threshold(self, params: GymnaxParams | None = None) -> float | None:
        """Where a threshold is known for the wrapped env (`SOLVED_RETURNS`), else None."""
        return SOLVED_RETURNS.get(self._name)

    @property
    def default_params(self) -> GymnaxParams:
        return GymnaxParams(
            gymnax_params=self.gymnax_env.default_params, max_steps=self._default_max_steps
        )

    def reset_env(self, key: jax.Array, params: GymnaxParams) -> tuple[jax.Array, GymnaxState]:
        with _gymnax_numerics():
            obs, gymnax_state = self.gymnax_env.reset_env(key, self._gymnax_params(params))
        return self._observation(obs), GymnaxState(gymnax_state=_strong_arrays(gymnax_state))

    def step_env(self, key, state: GymnaxState, action, params: GymnaxParams):
        gymnax_params = self._gymnax_params(params)
        with _gymnax_numerics():
            obs, gymnax_state, reward, done, info = self.gymnax_env.step_env(
                key, state.gymnax_state, action, gymnax_params
            )
        terminated = jnp.asarray(done, jnp.bool_)
        if self._done_includes_time_limit:
            terminated = terminated & (gymnax_state.time < gymnax_params.max_steps_in_episode)
        next_state = state.replace(gymnax_state=_strong_arrays(gymnax_state))
        return self._observation(obs), next_state, reward, terminated, dict(info)

    def render(self, state: GymnaxState, params: GymnaxParams | None = None) -> jax.Array:
        """The observation of `state` drawn as an image (see the module docstring).

        Returns:
            uint8 `[H * c, W * c, 3]` for an `[H, W]` or `[H, W, C]` observation, with
            `c = render_cell_pixels`.

        Raises:
            NotImplementedError: the observation is not an image.
        """
        if self._image is None:
            shape = self.observation_space().shape
            raise NotImplementedError(
                f"{self.name} cannot be rendered: gymnax envs have no pure-JAX renderer, and jaxrl "
                f"draws only image observations ([H, W] or [H, W, C]); this one has shape {shape}."
            )
        params = self.default_params if params is None else params
        with _gymnax_numerics():
            obs = self.gymnax_env.get_obs(state.gymnax_state, params=self._gymnax_params(params))
        return self._image.draw(jnp.asarray(obs, jnp.float32))

    def action_space(self, params: GymnaxParams | None = None) -> spaces.Space:
        params = self.default_params if params is None else params
        with _gymnax_numerics():
            space = self.gymnax_env.action_space(self._gymnax_params(params))
        return _convert_space(space, self.name, "action", observation=False)

    def observation_space(self, params: GymnaxParams | None = None) -> spaces.Space:
        params = self.default_params if params is None else params
        with _gymnax_numerics():
            space = self.gymnax_env.observation_space(self._gymnax_params(params))
        return _convert_space(space, self.name, "observation", observation=True)

    def _gymnax_params(self, params: GymnaxParams) -> Any:
        """gymnax's params with `max_steps` as their time limit, the one limit both sides see."""
        if not self._has_time_limit:
            return params.gymnax_params
        # Keep the field's dtype: BernoulliBandit's is a float that meets floats in `lax.select`.
        dtype = jnp.result_type(params.gymnax_params.max_steps_in_episode)
        return params.gymnax_params.replace(
            max_steps_in_episode=jnp.asarray(params.max_steps, dtype)
        )

    def _observation(self, obs: jax.Array) -> jax.Array:
        return jnp.asarray(obs, jnp.int32 if self._index_observation else jnp.float32)


@dataclasses.dataclass(frozen=True)
class _ImageStyle:
    """How `GymnaxEnv.render` colours an image observation; static numpy constants.

    Attributes:
        low: float32 observation-shaped lower bounds.
        span: float32 observation-shaped `high - low` (1 where the bounds meet).
        palette: float32 `[C + 1, 3]` RGB, black then one colour per channel; None for `[H, W]`.
        cell_pixels: side of one observation cell in the frame.
    """

    low: np.ndarray
    span: np.ndarray
    palette: np.ndarray | None
    cell_pixels: int

    @classmethod
    def of(cls, space: spaces.Space) -> _ImageStyle | None:
        """The style for a Box of shape `[H, W]` or `[H, W, C]`; None for any other space."""
        if not isinstance(space, spaces.Box) or len(space.shape) not in (2, 3):
            return None
        low = np.broadcast_to(np.asarray(space.low, np.float32), space.shape)
        high = np.broadcast_to(np.asarray(space.high, np.float32), space.shape)
        span = high - low
        span = np.where(np.isfinite(span) & (span > 0), span, 1.0).astype(np.float32)
        low = np.where(np.isfinite(low), low, 0.0).astype(np.float32)
        palette = None
        if len(space.shape) == 3:
            palette = np.concatenate([np.zeros((1, 3)), _cubehelix(space.shape[2])])
            palette = palette.astype(np.float32)
        cell_pixels = max(1, RENDER_MAX_PIXELS // max(space.shape[:2]))
        return cls(low, span, palette, cell_pixels)

    def draw(self, obs: jax.Array) -> jax.Array:
        """uint8 `[H * c, W * c, 3]` frame of a float32 observation."""
        value = jnp.clip((obs - self.low) / self.span, 0.0, 1.0)
        if self.palette is None:
            image = jnp.repeat(255.0 * (1.0 - value)[..., None], 3, axis=-1)
        else:
            channel_ids = np.arange(1, value.shape[-1] + 1).reshape(1, 1, -1)
            last_active = jnp.max(jnp.where(value > 0, channel_ids, 0), axis=-1)
            image = jnp.asarray(self.palette)[last_active]
        frame = jnp.repeat(jnp.repeat(image, self.cell_pixels, axis=0), self.cell_pixels, axis=1)
        return rendering.to_uint8(frame)


def _cubehelix(num_colors: int) -> np.ndarray:
    """seaborn's `color_palette("cubehelix", n)` (matplotlib's default cubehelix map sampled at
    n interior points), which gymnax's MinAtar visualizer uses: RGB in [0, 255], `[n, 3]`."""
    x = np.linspace(0.0, 1.0, num_colors + 2)[1:-1]
    amplitude = x * (1 - x) / 2
    phi = 2 * np.pi * (0.5 / 3 - 1.5 * x)
    coefficients = [(-0.14861, 1.78277), (-0.29227, -0.90649), (1.97294, 0.0)]
    rgb = [x + amplitude * (p0 * np.cos(phi) + p1 * np.sin(phi)) for p0, p1 in coefficients]
    return 255.0 * np.clip(np.stack(rgb, axis=-1), 0.0, 1.0)


def make_gymnax(gymnax_id: str) -> GymnaxEnv:
    """Builds gymnax's `gymnax_id` (e.g. "CartPole-v1") wrapped as a jaxrl `Environment`.

    Raises:
        ImportError: gymnax is not installed (the message names the pip command).
        ValueError: `gymnax_id` is not a registered gymnax id (the message names close ones).
    """
    try:
        import gymnax
    except ImportError as error:
        raise ImportError(f"'gymnax:{gymnax_id}' needs gymnax: {_INSTALL_HINT}.") from error
    if gymnax_id not in gymnax.registered_envs:
        raise ValueError(_unknown_id_message(gymnax_id, list(gymnax.registered_envs)))
    gymnax_env, _ = gymnax.make(gymnax_id)
    return GymnaxEnv(gymnax_env, gymnax_id, done_includes_time_limit=_gymnax_major_version() < 1)


def _unknown_id_message(gymnax_id: str, ids: list[str]) -> str:
    close = difflib.get_close_matches(gymnax_id, ids, n=3, cutoff=0.5)
    if not close:
        lowered = {i.lower(): i for i in ids}
        close = [lowered[m] for m in difflib.get_close_matches(gymnax_id.lower(), lowered, n=3)]
    hint = f"did you mean {' or '.join(repr(f'gymnax:{c}') for c in close)}? " if close else ""
    return (
        f"Unknown gymnax id {gymnax_id!r}: {hint}"
        "List the ids with `import gymnax; print(gymnax.registered_envs)`."
    )


def _gymnax_major_version() -> int:
    try:
        version = importlib.metadata.version("gymnax")
    except importlib.metadata.PackageNotFoundError:
        # A source tree without package metadata: assume the current API.
        return 1
    return int(version.split(".")[0])


def _gymnax_numerics():
    """gymnax's own code relies on implicit rank promotion (Swimmer-misc subtracts `[2]` from
    `[5, 2]`), which a caller's `jax_numpy_rank_promotion="raise"` would reject."""
    return jax.numpy_rank_promotion("allow")


def _has_field(params: Any, name: str) -> bool:
    return dataclasses.is_dataclass(params) and name in {f.name for f in dataclasses.fields(params)}


def _strong_arrays(tree: Any) -> Any:
    """Leaves as arrays with a fixed dtype: gymnax's reset states hold Python ints (`time=0`),
    which would otherwise differ in type from the stepped state in `jnp.where` and scan carries."""
    return jax.tree.map(lambda leaf: jnp.asarray(leaf, jnp.asarray(leaf).dtype), tree)


def _convert_space(space: Any, env_name: str, role: str, *, observation: bool) -> spaces.Space:
    """gymnax's Discrete/Box as jaxrl's; observation Boxes become float32 like the observations."""
    from gymnax.environments import spaces as gymnax_spaces

    if isinstance(space, gymnax_spaces.Discrete):
        return spaces.Discrete(int(space.n))
    if isinstance(space, gymnax_spaces.Box):
        dtype = jnp.float32 if observation else space.dtype
        return spaces.Box(space.low, space.high, tuple(space.shape), dtype)
    raise ValueError(
        f"{env_name}: its {role} space is a gymnax {type(space).__name__}; jaxrl wraps envs "
        "whose spaces are Discrete or Box."
    )
