"""MountainCarContinuous-v0, ported from Gymnasium's
`gymnasium/envs/classic_control/continuous_mountain_car.py` (1.x).

MountainCar-v0's valley and car (see `mountain_car.py`, whose state and dynamics this reuses)
with a continuous engine: the action, a float vector of shape (1,) in [min_action, max_action],
adds `action * power` to the velocity. Reward `-action_cost * action**2` every step, plus
`goal_reward` (100) on the step that reaches the goal. Terminates when position >= 0.45 and
velocity >= `goal_velocity` (0); truncated at 999 steps. The initial position is uniform in
[-0.6, -0.4], the initial velocity 0.

Out-of-range actions are clipped into [min_action, max_action] before the dynamics, as
Gymnasium clips them. Unlike Gymnasium, the action cost is also charged on the clipped action:
Gymnasium charges `0.1 * action**2` on the raw action, so an action of 3 there moves the car
like 1 but costs 0.9 instead of 0.1.

Gymnasium keeps its state as float32 between steps (and computes in float32 from the second
step on); here the state has the default float dtype, so under `jax.enable_x64` it is float64.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.envs import core, spaces
from jaxrl.envs.classic_control import mountain_car
from jaxrl.envs.classic_control.mountain_car import EnvState


@struct.dataclass
class EnvParams(core.EnvParams):
    min_action: float = -1.0
    max_action: float = 1.0
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.45
    goal_velocity: float = 0.0
    power: float = 0.0015  # velocity change per step from a unit action
    gravity: float = 0.0025
    goal_reward: float = 100.0
    action_cost: float = 0.1  # reward lost per squared unit of action
    max_steps: int = 999


class ContinuousMountainCar(core.Environment[EnvState, EnvParams]):
    """MountainCarContinuous-v0: a Box(-1, 1, (1,)) engine, a quadratic action cost."""

    solved_return = 90.0

    #: Frame size in pixels, Gymnasium's `screen_width` and `screen_height`.
    screen_width: ClassVar[int] = 600
    screen_height: ClassVar[int] = 400

    @property
    def name(self) -> str:
        return "MountainCarContinuous-v0"

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        state = mountain_car.initial_state(key)
        return mountain_car.car_observation(state), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        force = action[0]
        next_state = mountain_car.move_car(state, force * params.power, params)
        terminated = mountain_car.reached_goal(next_state, params)
        goal_bonus = jnp.where(terminated, params.goal_reward, 0.0)
        reward = goal_bonus - params.action_cost * jnp.square(force)
        return mountain_car.car_observation(next_state), next_state, reward, terminated, {}

    def observation(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        return mountain_car.car_observation(state)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return mountain_car.reached_goal(state, params)

    def render(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """Gymnasium's picture (see `mountain_car.render_car`): uint8 `[400, 600, 3]`."""
        params = self.default_params if params is None else params
        return mountain_car.render_car(state, params, self.screen_height, self.screen_width)

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        return spaces.Box(params.min_action, params.max_action, (1,), jnp.float32)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        return mountain_car.car_observation_space(self.default_params if params is None else params)
