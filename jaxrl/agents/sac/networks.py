"""SAC's networks: a tanh-squashed Gaussian actor and twin Q critics, each one flat vector.

The actor's log-probabilities are of the squashed action in [-1, 1]^A (SB3's convention), so
the target entropy does not depend on the env's action bounds; the env receives that action
mapped affinely onto its Box, and the critics see the squashed action.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl._xla_cpu import FlatParams, flat_params
from jaxrl.envs import spaces

if TYPE_CHECKING:
    from jaxrl.agents.sac.config import SACConfig
    from jaxrl.envs.core import Environment, EnvParams

#: The actor's log standard deviation is clipped into this range (SB3's and the SAC paper's).
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
# Normal initial kernels, std = gain / sqrt(fan_in): He's gain for hidden layers, a small one
# for the actor's heads so the initial policy is the same in every state.
HIDDEN_GAIN, ACTOR_HEAD_GAIN, CRITIC_HEAD_GAIN = math.sqrt(2.0), 0.01, 1.0
_LOG_2PI = math.log(2 * math.pi)
_LOG_2 = math.log(2.0)


@struct.dataclass
class TanhGaussian:
    """`tanh(u)` for `u ~ Normal(mean, exp(log_std))`, independent per dimension.

    Attributes:
        mean, log_std: `[..., action_dim]`, of the Gaussian before the tanh.
    """

    mean: jax.Array
    log_std: jax.Array

    def sample_and_log_prob(self, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The action for standard normal `noise` `[..., action_dim]` (reparameterised, so
        differentiable in mean and log_std) and its log-density.

        Returns:
            The squashed action `[..., action_dim]` in (-1, 1), and its log-density `[...]` in
            nats: the Gaussian's, less `sum log(1 - tanh(u)^2)`, the tanh's Jacobian.
        """
        u = self.mean + jnp.exp(self.log_std) * noise
        gaussian = jnp.sum(-0.5 * jnp.square(noise) - self.log_std - 0.5 * _LOG_2PI, axis=-1)
        # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), finite where tanh(u) rounds to 1.
        log_jacobian = jnp.sum(2.0 * (_LOG_2 - u - jax.nn.softplus(-2.0 * u)), axis=-1)
        return jnp.tanh(u), gaussian - log_jacobian

    def mode(self) -> jax.Array:
        """The deterministic action `tanh(mean)` `[..., action_dim]`."""
        return jnp.tanh(self.mean)


class MLP(nn.Module):
    """Dense layers of `hidden_sizes` widths, each followed by `activation`."""

    hidden_sizes: Sequence[int]
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        activation = getattr(nn, self.activation)
        for width in self.hidden_sizes:
            x = activation(nn.Dense(width)(x))
        return x


class Actor(nn.Module):
    """obs `[..., *obs_shape]` -> the policy over `[...]`, a `TanhGaussian`."""

    action_dim: int
    hidden_sizes: Sequence[int]
    activation: str
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs: jax.Array) -> TanhGaussian:
        x = MLP(self.hidden_sizes, self.activation)(_flatten(obs, self.obs_ndim))
        mean = nn.Dense(self.action_dim, name="mean_head")(x)
        log_std = nn.Dense(self.action_dim, name="log_std_head")(x)
        return TanhGaussian(mean=mean, log_std=jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX))


class QNetwork(nn.Module):
    """`[..., features]` -> Q-values `[...]`."""

    hidden_sizes: Sequence[int]
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return nn.Dense(1, name="q_head")(MLP(self.hidden_sizes, self.activation)(x))[..., 0]


class TwinQ(nn.Module):
    """Two independent critics evaluated as one: each layer's two weight matrices are stacked,
    so a layer is one batched matrix product.

    `[..., obs_size + action_dim]` (the flattened observation, then the squashed action) ->
    Q-values `[2, ...]`.
    """

    hidden_sizes: Sequence[int]
    activation: str

    @nn.compact
    def __call__(self, obs_action: jax.Array) -> jax.Array:
        critics = nn.vmap(
            QNetwork,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=2,
        )
        return critics(self.hidden_sizes, self.activation, name="critics")(obs_action)


def _flatten(obs: jax.Array, obs_ndim: int) -> jax.Array:
    batch_shape = obs.shape[: obs.ndim - obs_ndim]
    return obs.reshape(batch_shape + (-1,)).astype(jnp.float32)


def _law(path: tuple[str, ...], shape: tuple[int, ...]) -> tuple[float, float]:
    """Each parameter's initial normal law (mean, std): zero biases, kernels by `*_GAIN`."""
    if path[-1] != "kernel":
        return 0.0, 0.0
    gain = {"mean_head": ACTOR_HEAD_GAIN, "log_std_head": ACTOR_HEAD_GAIN}.get(path[-2])
    gain = {"q_head": CRITIC_HEAD_GAIN}.get(path[-2], HIDDEN_GAIN if gain is None else gain)
    return 0.0, gain / math.sqrt(shape[-2])


@dataclasses.dataclass(frozen=True)
class Agent:
    """The static pieces `make_train` derives from the config and the env.

    Attributes:
        actor, critic: the modules.
        actor_flat, critic_flat: their parameters as one vector each (`unravel` maps a vector
            to its params pytree).
        action_low, action_high: `[action_dim]` float32 NumPy, the env's action Box.
        obs_ndim: rank of one observation.
    """

    actor: Actor
    critic: TwinQ
    actor_flat: FlatParams
    critic_flat: FlatParams
    action_low: np.ndarray
    action_high: np.ndarray
    obs_ndim: int

    @property
    def action_dim(self) -> int:
        return self.actor.action_dim

    def policy(self, actor_params: jax.Array, obs: jax.Array) -> TanhGaussian:
        """The policy for `obs` `[..., *obs_shape]` under flat `actor_params` `[Pa]`."""
        return self.actor.apply(self.actor_flat.unravel(actor_params), obs)

    def q_values(self, critic_params: jax.Array, obs: jax.Array, action: jax.Array) -> jax.Array:
        """Both critics' Q-values `[2, ...]` of `obs` `[..., *obs_shape]` and squashed `action`
        `[..., action_dim]` under flat `critic_params` `[Pc]`."""
        obs_action = jnp.concatenate([_flatten(obs, self.obs_ndim), action], axis=-1)
        return self.critic.apply(self.critic_flat.unravel(critic_params), obs_action)

    def env_action(self, squashed: jax.Array) -> jax.Array:
        """A squashed action `[..., action_dim]` in [-1, 1]^A mapped onto the env's Box."""
        low, high = self._bounds(squashed)
        return low + 0.5 * (squashed + 1.0) * (high - low)

    def squashed_action(self, env_action: jax.Array) -> jax.Array:
        """`env_action`'s inverse: an action `[..., action_dim]` in the Box mapped back onto
        [-1, 1]^A."""
        low, high = self._bounds(env_action)
        return 2.0 * (env_action - low) / (high - low) - 1.0

    def _bounds(self, like: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The Box's bounds broadcast to `like`'s shape (no implicit rank promotion)."""
        return tuple(
            jnp.broadcast_to(jnp.asarray(bound), like.shape)
            for bound in (self.action_low, self.action_high)
        )


def make_agent(config: SACConfig, env: Environment, env_params: EnvParams) -> Agent:
    """The actor and the twin critics for the env's spaces, and their flat parameters.

    Raises:
        ValueError: the env's actions are not a Box with finite bounds.
    """
    action_space = env.action_space(env_params)
    if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
        raise ValueError(
            f"SAC acts in a 1-D Box action space; {env.name} has {action_space!r} (use a "
            "discrete-action learner such as PPO)."
        )
    low = np.broadcast_to(np.asarray(action_space.low, np.float32), action_space.shape)
    high = np.broadcast_to(np.asarray(action_space.high, np.float32), action_space.shape)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
        raise ValueError(
            f"SAC squashes actions into the action Box; {env.name}'s bounds {low}..{high} must "
            "be finite with low < high."
        )
    obs_shape = env.observation_space(env_params).shape
    actor = Actor(
        action_dim=action_space.shape[0],
        hidden_sizes=config.hidden_sizes,
        activation=config.activation,
        obs_ndim=len(obs_shape),
    )
    critic = TwinQ(hidden_sizes=config.hidden_sizes, activation=config.activation)
    obs_size = math.prod(obs_shape)

    def actor_law(path: tuple[str, ...], shape: tuple[int, ...]) -> tuple[float, float]:
        if path[-2:] == ("log_std_head", "bias"):
            return config.initial_log_std, 0.0
        return _law(path, shape)

    return Agent(
        actor=actor,
        critic=critic,
        actor_flat=flat_params(actor, jax.ShapeDtypeStruct(obs_shape, jnp.float32), actor_law),
        critic_flat=flat_params(
            critic, jax.ShapeDtypeStruct((obs_size + actor.action_dim,), jnp.float32), _law
        ),
        action_low=low.copy(),
        action_high=high.copy(),
        obs_ndim=len(obs_shape),
    )
