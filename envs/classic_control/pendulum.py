"""Pendulum-v1, ported from Gymnasium's `gymnasium/envs/classic_control/pendulum.py` (1.x).

A pendulum hangs from a pivot; a torque in [-2, 2] N m swings it up and holds it upright. The
reward, computed on the state before the step, is
`-(angle_normalize(th)^2 + 0.1 * thdot^2 + 0.001 * u^2)`, in [-16.27, 0]. A semi-implicit Euler
step: the angular velocity is updated first, clipped to +-8 rad/s, then moves the angle. Never
terminates; truncated at 200 steps. The initial angle is uniform in [-pi, pi], the angular
velocity uniform in [-1, 1]. `th` is not wrapped: it accumulates whole turns, as in Gymnasium.

Out-of-range actions: the base clips the action into the action box [-max_torque, max_torque],
which is what Gymnasium's `step` does itself (`np.clip(u, -max_torque, max_torque)`); both the
reward and the dynamics see the clipped torque.
"""

from __future__ import annotations

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.envs import core, numerics, rendering, spaces


@struct.dataclass
class EnvState(core.EnvState):
    th: jax.Array  # radians from upright, unwrapped
    thdot: jax.Array  # rad/s


@struct.dataclass
class EnvParams(core.EnvParams):
    max_speed: float = 8.0  # rad/s
    max_torque: float = 2.0  # N m
    dt: float = 0.05  # seconds per step
    g: float = 10.0  # m/s^2, Gymnasium's `g` constructor argument
    m: float = 1.0  # kg
    l: float = 1.0  # metres  # noqa: E741
    max_steps: int = 200


class Pendulum(core.Environment[EnvState, EnvParams]):
    """Pendulum-v1: swing up and balance a torque-limited pendulum."""

    #: Gymnasium registers none; -200 is a common bar for a swing-up held upright.
    solved_return = -200.0

    #: Frame side in pixels, Gymnasium's `screen_dim`.
    screen_dim: ClassVar[int] = 500

    @property
    def name(self) -> str:
        return "Pendulum-v1"

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        high = jnp.array([math.pi, 1.0])
        th, thdot = numerics.uniform(key, (2,), -high, high)
        state = EnvState(th=th, thdot=thdot)
        return self.observation(state), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        # The base has clipped the action into the box, as Gymnasium's step clips it.
        u = jnp.reshape(action, ())
        th, thdot = state.th, state.thdot
        g, m, l, dt = params.g, params.m, params.l, params.dt  # noqa: E741
        costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
        newthdot = thdot + (3 * g / (2 * l) * numerics.sin(th) + 3.0 / (m * l**2) * u) * dt
        newthdot = jnp.clip(newthdot, -params.max_speed, params.max_speed)
        newth = th + newthdot * dt
        next_state = state.replace(th=newth, thdot=newthdot)
        return self.observation(next_state), next_state, -costs, jnp.bool_(False), {}

    def observation(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """[cos th, sin th, thdot], float32."""
        sin_th, cos_th = numerics.sin_cos(state.th)
        return jnp.stack([cos_th, sin_th, state.thdot]).astype(jnp.float32)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return jnp.bool_(False)

    def render(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """Gymnasium's picture: a rod of unit length from the centre at angle `th` (upright at
        0, counterclockwise as `th` grows), rounded at both ends, and the axle.

        As in Gymnasium the rod is drawn one unit long whatever `params.l`, in a frame spanning
        +-2.2 units. Gymnasium's torque arrow is left out: the state does not keep the action.

        Returns:
            uint8 `[screen_dim, screen_dim, 3]` = `[500, 500, 3]`.
        """
        scale = self.screen_dim / (2 * 2.2)
        rod_length, rod_width = 1.0 * scale, 0.2 * scale
        color = (204, 77, 77)
        pivot = jnp.full((2,), self.screen_dim // 2, jnp.float32)
        end = pivot + rod_length * jnp.stack([-jnp.sin(state.th), jnp.cos(state.th)])
        frame = rendering.canvas(self.screen_dim, self.screen_dim)
        frame = rendering.fill_segment(frame, pivot, end, rod_width, color)
        frame = rendering.fill_circle(frame, pivot, rod_width / 2, color)
        frame = rendering.fill_circle(frame, end, rod_width / 2, color)
        frame = rendering.fill_circle(frame, pivot, 0.05 * scale, rendering.BLACK)
        return rendering.to_uint8(frame)

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        return spaces.Box(-params.max_torque, params.max_torque, (1,), jnp.float32)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        high = jnp.array([1.0, 1.0, params.max_speed], dtype=jnp.float32)
        return spaces.Box(-high, high, (3,), jnp.float32)


def angle_normalize(x: jax.Array) -> jax.Array:
    """Maps an angle in radians into [-pi, pi)."""
    return ((x + math.pi) % (2 * math.pi)) - math.pi
