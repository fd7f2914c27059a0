"""CartPole-v1, ported from Gymnasium's `gymnasium/envs/classic_control/cartpole.py` (1.x).

A pole on a cart moving along a frictionless track; push the cart left (0) or right (1) to keep
the pole upright. Reward +1 every step, including the one that terminates (Gymnasium's default,
`sutton_barto_reward=False`). Terminates when |x| > 2.4 or |theta| > 12 degrees; truncated at
500 steps. The initial state is uniform in [-0.05, 0.05]^4.

Out-of-range actions: Gymnasium pushes left for any action other than 1 (after an assertion);
here actions are clipped into {0, 1}, so a negative action pushes left and one above 1 pushes
right.
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
    x: jax.Array
    x_dot: jax.Array
    theta: jax.Array
    theta_dot: jax.Array


@struct.dataclass
class EnvParams(core.EnvParams):
    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length, metres
    force_mag: float = 10.0
    tau: float = 0.02  # seconds between state updates
    theta_threshold_radians: float = 12 * 2 * math.pi / 360
    x_threshold: float = 2.4
    max_steps: int = 500

    @property
    def total_mass(self):
        return self.masspole + self.masscart

    @property
    def polemass_length(self):
        return self.masspole * self.length


class CartPole(core.Environment[EnvState, EnvParams]):
    """CartPole-v1 with Euler integration (Gymnasium's default `kinematics_integrator`)."""

    solved_return = 475.0

    #: Frame size in pixels, Gymnasium's `screen_width` and `screen_height`.
    screen_width: ClassVar[int] = 600
    screen_height: ClassVar[int] = 400

    @property
    def name(self) -> str:
        return "CartPole-v1"

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        x, x_dot, theta, theta_dot = numerics.uniform(key, (4,), -0.05, 0.05)
        state = EnvState(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot)
        return self.observation(state), state

    def step_env(self, key, state: EnvState, action, params: EnvParams):
        force = jnp.where(action == 1, params.force_mag, -params.force_mag)
        sintheta, costheta = numerics.sin_cos(state.theta)
        temp = (
            force + params.polemass_length * jnp.square(state.theta_dot) * sintheta
        ) / params.total_mass
        thetaacc = (params.gravity * sintheta - costheta * temp) / (
            params.length * (4.0 / 3.0 - params.masspole * jnp.square(costheta) / params.total_mass)
        )
        xacc = temp - params.polemass_length * thetaacc * costheta / params.total_mass
        next_state = state.replace(
            x=state.x + params.tau * state.x_dot,
            x_dot=state.x_dot + params.tau * xacc,
            theta=state.theta + params.tau * state.theta_dot,
            theta_dot=state.theta_dot + params.tau * thetaacc,
        )
        terminated = self.is_terminated(next_state, params)
        return self.observation(next_state), next_state, jnp.float32(1.0), terminated, {}

    def render(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """Gymnasium's picture: the track, the cart, the pole and its axle.

        The track spans `[-x_threshold, x_threshold]` across the frame; the pole is drawn
        `2 * length` long at the same scale.

        Returns:
            uint8 `[screen_height, screen_width, 3]` = `[400, 600, 3]`.
        """
        params = self.default_params if params is None else params
        scale = self.screen_width / (2 * params.x_threshold)
        pole_width, pole_length = 10.0, scale * (2 * params.length)
        cart_width, cart_height = 50.0, 30.0
        cart_y = 100.0  # the cart's centre, Gymnasium's `carty`
        axle_y = cart_y + cart_height / 4.0
        cart_x = state.x * scale + self.screen_width / 2.0
        cart = jnp.stack([cart_x, jnp.full_like(cart_x, cart_y)])
        axle = jnp.stack([cart_x, jnp.full_like(cart_x, axle_y)])
        # Upright at theta = 0, leaning towards +x as theta grows (pygame's rotate by -theta).
        pole_direction = jnp.stack([jnp.sin(state.theta), jnp.cos(state.theta)])
        frame = rendering.canvas(self.screen_height, self.screen_width)
        frame = rendering.fill_rectangle(frame, cart, (cart_width, cart_height), rendering.BLACK)
        frame = rendering.fill_segment(
            frame,
            axle - pole_width / 2 * pole_direction,
            axle + (pole_length - pole_width / 2) * pole_direction,
            pole_width,
            (202, 152, 101),
        )
        frame = rendering.fill_circle(frame, axle, pole_width / 2, (129, 132, 203))
        # A one-pixel track on the row pygame's hline at y = cart_y fills.
        frame = rendering.fill_rectangle(
            frame, (self.screen_width / 2, cart_y + 0.5), (self.screen_width, 1.0), rendering.BLACK
        )
        return rendering.to_uint8(frame)

    def observation(self, state: EnvState, params: EnvParams | None = None) -> jax.Array:
        """[x, x_dot, theta, theta_dot], float32, metres, m/s, radians, rad/s."""
        return jnp.stack([state.x, state.x_dot, state.theta, state.theta_dot]).astype(jnp.float32)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return (
            (state.x < -params.x_threshold)
            | (state.x > params.x_threshold)
            | (state.theta < -params.theta_threshold_radians)
            | (state.theta > params.theta_threshold_radians)
        )

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        high = jnp.array(
            [params.x_threshold * 2, jnp.inf, params.theta_threshold_radians * 2, jnp.inf],
            dtype=jnp.float32,
        )
        return spaces.Box(-high, high, (4,), jnp.float32)
