"""MountainCar-v0, ported from Gymnasium's `gymnasium/envs/classic_control/mountain_car.py` (1.x).

An under-powered car in a sinusoidal valley must rock back and forth to reach the flag on the
right hill. Actions: 0 accelerates left, 1 does nothing, 2 accelerates right. Reward -1 every
step. Terminates when position >= 0.5 and velocity >= `goal_velocity` (0); truncated at 200
steps. The initial position is uniform in [-0.6, -0.4], the initial velocity 0.

Each step, velocity += (action - 1) * force - gravity * cos(3 * position) and is clipped to
[-max_speed, max_speed]; then position += velocity, clipped to [min_position, max_position]. The
left wall is inelastic: a car clipped to `min_position` while moving left stops (velocity 0).
The right end only clips the position (the goal lies before it).

Out-of-range actions: Gymnasium raises an AssertionError; here actions are clipped into
{0, 1, 2}, so a negative action accelerates left and one above 2 accelerates right.

The state, dynamics and observation are shared with `continuous_mountain_car.py`; its params
carry the same field names for the fields used here.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.envs import core, numerics, rendering, spaces


@struct.dataclass
class EnvState(core.EnvState):
    position: jax.Array  # metres along the x-axis
    velocity: jax.Array  # metres per step


@struct.dataclass
class EnvParams(core.EnvParams):
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.5
    goal_velocity: float = 0.0
    force: float = 0.001  # velocity change per step from a push
    gravity: float = 0.0025
    max_steps: int = 200


class MountainCar(core.Environment[EnvState, EnvParams]):
    """MountainCar-v0: three discrete actions, reward -1 per step."""

    solved_return = -110.0

    #: Frame size in pixels, Gymnasium's `screen_width` and `screen_height`.
    screen_width: ClassVar[int] = 600
    screen_height: ClassVar[int] = 400

    @property
    def name(self) -> str:
        return "MountainCar-v0"

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        state = initial_state(key)
        return car_observation(state), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        next_state = move_car(state, (action - 1) * params.force, params)
        terminated = reached_goal(next_state, params)
        return car_observation(next_state), next_state, jnp.float32(-1.0), terminated, {}

    def observation(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        return car_observation(state)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return reached_goal(state, params)

    def render(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """Gymnasium's picture (see `render_car`): uint8 `[400, 600, 3]`."""
        params = self.default_params if params is None else params
        return render_car(state, params, self.screen_height, self.screen_width)

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        return car_observation_space(self.default_params if params is None else params)


def initial_state(key: jax.Array) -> EnvState:
    """Gymnasium's reset: position uniform in [-0.6, -0.4] metres, velocity 0."""
    position = numerics.uniform(key, (), -0.6, -0.4)
    return EnvState(position=position, velocity=jnp.zeros_like(position))


def move_car(state: EnvState, push: jax.Array, params) -> EnvState:
    """One step of both MountainCar envs' dynamics.

    Args:
        state: the current state.
        push: scalar velocity change from the engine this step (metres per step).
        params: either env's params; reads `gravity`, `max_speed`, `min_position` and
            `max_position`.

    Returns:
        The next state (time and return untouched).
    """
    # Gymnasium adds the push and gravity terms first, then the sum to the velocity; keeping
    # that order keeps float64 episodes bit-for-bit close to the reference.
    velocity = state.velocity + (push - params.gravity * numerics.cos(3 * state.position))
    velocity = jnp.clip(velocity, -params.max_speed, params.max_speed)
    position = jnp.clip(state.position + velocity, params.min_position, params.max_position)
    hit_left_wall = (position == params.min_position) & (velocity < 0)
    velocity = jnp.where(hit_left_wall, 0.0, velocity)
    return state.replace(position=position, velocity=velocity)


def car_observation(state: EnvState) -> jax.Array:
    """[position, velocity], float32 of shape (2,), metres and metres per step."""
    return jnp.stack([state.position, state.velocity]).astype(jnp.float32)


def reached_goal(state: EnvState, params) -> jax.Array:
    """Whether the car is at the flag (`goal_position`) moving right fast enough."""
    return (state.position >= params.goal_position) & (state.velocity >= params.goal_velocity)


def car_observation_space(params) -> spaces.Box:
    """Gymnasium's bounds: position in [min_position, max_position], |velocity| <= max_speed."""
    low = jnp.array([params.min_position, -params.max_speed], dtype=jnp.float32)
    high = jnp.array([params.max_position, params.max_speed], dtype=jnp.float32)
    return spaces.Box(low, high, (2,), jnp.float32)


def hill_height(position: jax.Array) -> jax.Array:
    """The valley's height at `position` (Gymnasium's `_height`): `0.45 sin(3 x) + 0.55`."""
    return jnp.sin(3 * position) * 0.45 + 0.55


def render_car(state: EnvState, params, screen_height: int, screen_width: int) -> jax.Array:
    """Both MountainCar envs' picture, Gymnasium's: the hill, the car tilted along the slope on
    two wheels, and the flag at `goal_position`.

    The frame spans `[min_position, max_position]` horizontally and heights from 0 at the same
    scale.

    Args:
        state: one state.
        params: either env's params; reads `min_position`, `max_position` and `goal_position`.
        screen_height: frame height in pixels.
        screen_width: frame width in pixels.

    Returns:
        uint8 `[screen_height, screen_width, 3]`.
    """
    scale = screen_width / (params.max_position - params.min_position)
    car_width, car_height, clearance = 40.0, 20.0, 10.0
    # The world's origin on screen: `min_position` at the left edge, height 0 at the bottom.
    origin = jnp.stack([-params.min_position * scale, jnp.zeros_like(scale)])
    xs = jnp.linspace(params.min_position, params.max_position, 100)
    hill = rendering.world_to_screen(jnp.stack([xs, hill_height(xs)], axis=-1), scale, origin)
    # Gymnasium tilts the car by cos(3 x) radians, close to the slope's own angle.
    angle = jnp.cos(3 * state.position)
    on_hill = jnp.stack([state.position, hill_height(state.position)])
    base = rendering.world_to_screen(on_hill, scale, origin) + jnp.array([0.0, clearance])
    body_center = base + rendering.rotate(jnp.array([0.0, car_height / 2]), angle)
    goal = jnp.stack([params.goal_position, hill_height(params.goal_position)])
    flag_foot = rendering.world_to_screen(goal, scale, origin)
    flag_top = flag_foot + jnp.array([0.0, 50.0])
    flag = flag_top[None] + jnp.array([[0.0, 0.0], [0.0, -10.0], [25.0, -5.0]])
    frame = rendering.canvas(screen_height, screen_width)
    frame = rendering.draw_polyline(frame, hill, 2.0, rendering.BLACK)
    frame = rendering.fill_rectangle(
        frame, body_center, (car_width, car_height), rendering.BLACK, angle
    )
    for wheel_offset in (car_width / 4, -car_width / 4):
        wheel = base + rendering.rotate(jnp.array([wheel_offset, 0.0]), angle)
        frame = rendering.fill_circle(frame, wheel, car_height / 2.5, (128, 128, 128))
    # A one-pixel pole on the column pygame's vline at x = flag_x fills.
    column = jnp.array([0.5, 0.0])
    frame = rendering.fill_segment(
        frame, flag_foot + column, flag_top + column, 1.0, rendering.BLACK
    )
    frame = rendering.fill_convex_polygon(frame, flag, (204, 204, 0))
    return rendering.to_uint8(frame)
