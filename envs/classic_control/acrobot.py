"""Acrobot-v1, ported from Gymnasium's `gymnasium/envs/classic_control/acrobot.py` (1.x).

Two links hang from a fixed pivot; a torque of -1, 0 or +1 (actions 0, 1, 2) on the joint between
them swings the free end up. Gymnasium's default "book" dynamics (Sutton & Barto), integrated
with one fourth-order Runge-Kutta step over `dt` exactly as Gymnasium's `rk4`; the angles are then
wrapped into [-pi, pi] (Gymnasium's `wrap`: pi itself stays pi) and the angular velocities
clipped to +-4pi and +-9pi. Reward -1 every step and 0 on the step that terminates, when the free
end rises above the pivot by one link length: `-cos(theta1) - cos(theta1 + theta2) > 1`.
Truncated at 500 steps. The initial state is uniform in [-0.1, 0.1]^4.

Not ported: the "nips" dynamics (`book_or_nips`) and torque noise (`torque_noise_max`, 0 in
Gymnasium; noise would make every step consume a key). `LINK_LENGTH_2` only draws the second
link in Gymnasium, so it has no parameter here.

Out-of-range actions: Gymnasium indexes its torque list with the action (so -1 means +1 and 3
raises); here actions are clipped into {0, 1, 2}.
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
    theta1: jax.Array  # first link from straight down, radians in [-pi, pi]
    theta2: jax.Array  # second link relative to the first, radians in [-pi, pi]
    dtheta1: jax.Array  # rad/s
    dtheta2: jax.Array  # rad/s


@struct.dataclass
class EnvParams(core.EnvParams):
    dt: float = 0.2  # seconds per step
    link_length_1: float = 1.0  # metres
    link_mass_1: float = 1.0  # kg
    link_mass_2: float = 1.0  # kg
    link_com_pos_1: float = 0.5  # metres from the link's pivot to its centre of mass
    link_com_pos_2: float = 0.5
    link_moi: float = 1.0  # moment of inertia of either link, kg m^2
    gravity: float = 9.8  # m/s^2, a literal inside Gymnasium's `_dsdt`
    max_vel_1: float = 4 * math.pi  # rad/s
    max_vel_2: float = 9 * math.pi
    max_steps: int = 500


class Acrobot(core.Environment[EnvState, EnvParams]):
    """Acrobot-v1 with Gymnasium's "book" dynamics and single-step RK4."""

    solved_return = -100.0

    #: Frame side in pixels, Gymnasium's `SCREEN_DIM`.
    screen_dim: ClassVar[int] = 500
    #: Gymnasium's `LINK_LENGTH_2`: it only sets the second link's drawn length.
    link_length_2: ClassVar[float] = 1.0

    @property
    def name(self) -> str:
        return "Acrobot-v1"

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        theta1, theta2, dtheta1, dtheta2 = numerics.uniform(key, (4,), -0.1, 0.1)
        state = EnvState(theta1=theta1, theta2=theta2, dtheta1=dtheta1, dtheta2=dtheta2)
        return self.observation(state), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        torque = (action - 1).astype(state.dtheta1.dtype)
        theta1, theta2, dtheta1, dtheta2 = _rk4(
            (state.theta1, state.theta2, state.dtheta1, state.dtheta2), torque, params
        )
        next_state = state.replace(
            theta1=wrap(theta1, -math.pi, math.pi),
            theta2=wrap(theta2, -math.pi, math.pi),
            dtheta1=jnp.clip(dtheta1, -params.max_vel_1, params.max_vel_1),
            dtheta2=jnp.clip(dtheta2, -params.max_vel_2, params.max_vel_2),
        )
        terminated = self.is_terminated(next_state, params)
        reward = jnp.where(terminated, 0.0, -1.0)
        return self.observation(next_state), next_state, reward, terminated, {}

    def observation(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """[cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2], float32."""
        return jnp.stack(
            [
                numerics.cos(state.theta1),
                numerics.sin(state.theta1),
                numerics.cos(state.theta2),
                numerics.sin(state.theta2),
                state.dtheta1,
                state.dtheta2,
            ]
        ).astype(jnp.float32)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """Whether the free end is more than one link length above the pivot."""
        return -numerics.cos(state.theta1) - numerics.cos(state.theta2 + state.theta1) > 1.0

    def render(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """Gymnasium's picture: both links from the pivot at the frame's centre (hanging down
        at zero angles), a joint at each link's root, and the target line one unit above the
        pivot.

        Returns:
            uint8 `[screen_dim, screen_dim, 3]` = `[500, 500, 3]`.
        """
        params = self.default_params if params is None else params
        bound = params.link_length_1 + self.link_length_2 + 0.2
        scale = self.screen_dim / (bound * 2)
        center = self.screen_dim / 2
        pivot = jnp.full((2,), center, jnp.float32)
        # Gymnasium draws the target at a literal 1 unit, whatever the link lengths.
        target_y = jnp.floor(center + 1.0 * scale) + 0.5
        frame = rendering.canvas(self.screen_dim, self.screen_dim)
        frame = rendering.fill_segment(
            frame,
            jnp.stack([center - 2.2 * scale, target_y]),
            jnp.stack([center + 2.2 * scale, target_y]),
            1.0,
            rendering.BLACK,
        )
        elbow = pivot + params.link_length_1 * scale * _downward(state.theta1)
        links = (
            (pivot, state.theta1, params.link_length_1),
            (elbow, state.theta1 + state.theta2, self.link_length_2),
        )
        for root, angle, length in links:
            tip = root + length * scale * _downward(angle)
            frame = rendering.fill_segment(frame, root, tip, 0.2 * scale, (0, 204, 204))
            frame = rendering.fill_circle(frame, root, 0.1 * scale, (204, 204, 0))
        return rendering.to_uint8(frame)

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        high = jnp.array(
            [1.0, 1.0, 1.0, 1.0, params.max_vel_1, params.max_vel_2], dtype=jnp.float32
        )
        return spaces.Box(-high, high, (6,), jnp.float32)


def _downward(angle: jax.Array) -> jax.Array:
    """Unit screen vector `[2]` of a link `angle` radians counterclockwise from straight down."""
    return jnp.stack([jnp.sin(angle), -jnp.cos(angle)])


def wrap(x: jax.Array, low: float, high: float) -> jax.Array:
    """Gymnasium's `wrap`: shifts `x` by whole periods `high - low` into [low, high].

    Gymnasium subtracts the period while `x > high` and adds it while `x < low`, so `high`
    itself is kept (gymnax maps it to `low`). The count of periods is computed in closed form.
    """
    period = high - low
    periods_down = jnp.maximum(jnp.ceil((x - high) / period), 0.0)
    periods_up = jnp.maximum(jnp.ceil((low - x) / period), 0.0)
    return x + (periods_up - periods_down) * period


def _rk4(
    s: tuple[jax.Array, jax.Array, jax.Array, jax.Array], torque: jax.Array, params: EnvParams
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One RK4 step of length `params.dt` from `s = (theta1, theta2, dtheta1, dtheta2)`.

    Gymnasium's `rk4` over `t = [0, dt]` with the torque riding along as a fifth, constant state
    component; it is kept as a scalar here. The derivative follows Gymnasium's `_dsdt`
    expression by expression, with parameter-only products hoisted in the same association, so
    float64 runs round like Gymnasium's.
    """
    m1, m2 = params.link_mass_1, params.link_mass_2
    l1, lc1, lc2 = params.link_length_1, params.link_com_pos_1, params.link_com_pos_2
    moi, g = params.link_moi, params.gravity
    d1_const = m1 * lc1**2
    d1_inner_const = l1**2 + lc2**2
    two_l1_lc2 = 2 * l1 * lc2
    d2_const = lc2**2
    l1_lc2 = l1 * lc2
    phi2_coef = m2 * lc2 * g
    coriolis_22 = -m2 * l1 * lc2
    coriolis_12 = 2 * m2 * l1 * lc2
    m2_l1_lc2 = m2 * l1 * lc2
    gravity_1 = (m1 * lc1 + m2 * l1) * g
    inertia_2 = m2 * lc2**2 + moi

    def derivs(theta1, theta2, dtheta1, dtheta2):
        sin2, cos2 = numerics.sin_cos(theta2)
        d1 = d1_const + m2 * (d1_inner_const + two_l1_lc2 * cos2) + moi + moi
        d2 = m2 * (d2_const + l1_lc2 * cos2) + moi
        phi2 = phi2_coef * numerics.cos(theta1 + theta2 - math.pi / 2.0)
        phi1 = (
            coriolis_22 * dtheta2**2 * sin2
            - coriolis_12 * dtheta2 * dtheta1 * sin2
            + gravity_1 * numerics.cos(theta1 - math.pi / 2)
            + phi2
        )
        ddtheta2 = (torque + d2 / d1 * phi1 - m2_l1_lc2 * dtheta1**2 * sin2 - phi2) / (
            inertia_2 - d2**2 / d1
        )
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return dtheta1, dtheta2, ddtheta1, ddtheta2

    dt = params.dt
    dt2 = dt / 2.0
    k1 = derivs(*s)
    k2 = derivs(*(y + dt2 * k for y, k in zip(s, k1, strict=True)))
    k3 = derivs(*(y + dt2 * k for y, k in zip(s, k2, strict=True)))
    k4 = derivs(*(y + dt * k for y, k in zip(s, k3, strict=True)))
    return tuple(
        y + dt / 6.0 * (a + 2 * b + 2 * c + d)
        for y, a, b, c, d in zip(s, k1, k2, k3, k4, strict=True)
    )
