"""PPO's actor-critic: two MLPs; only the policy head differs between discrete and continuous."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl._xla_cpu import FlatParams, flat_params
from jaxrl.agents.common.rollout import exact_int_fields
from jaxrl.envs import numerics, spaces

if TYPE_CHECKING:
    from jaxrl.agents.ppo.config import PPOConfig
    from jaxrl.envs.core import Environment, EnvParams

# Normal initialisers with orthogonal init's gains (std = gain / sqrt(fan_in)). An orthogonal
# init (a QR decomposition inside the program) deadlocked jaxlib 0.10's CPU backend under
# vmap(train) over seeds; a normal init never did.
HIDDEN_GAIN, POLICY_GAIN, VALUE_GAIN = math.sqrt(2.0), 0.01, 1.0
_HIDDEN_INIT = nn.initializers.variance_scaling(HIDDEN_GAIN**2, "fan_in", "normal")
_POLICY_INIT = nn.initializers.variance_scaling(POLICY_GAIN**2, "fan_in", "normal")
_VALUE_INIT = nn.initializers.variance_scaling(VALUE_GAIN**2, "fan_in", "normal")
_LOG_2PI = math.log(2 * math.pi)


@struct.dataclass
class Categorical:
    """A categorical policy over `n` actions. logits: `[..., n]`."""

    logits: jax.Array

    @staticmethod
    def noise(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        """Standard Gumbel noise `[..., n]` for `sample_with_noise` (drawable ahead of time)."""
        return jax.random.gumbel(key, shape, jnp.float32)

    @staticmethod
    def noise_from_bits(bits: jax.Array) -> jax.Array:
        """`noise(key, shape)` from `jax.random.bits(key, shape)` (`numerics.*_from_bits`)."""
        return numerics.gumbel_from_bits(bits)

    def sample_with_noise(self, noise: jax.Array) -> jax.Array:
        """The Gumbel-max sample: `jax.random.categorical`'s draw for the noise's key."""
        return jnp.argmax(noise + self.logits, axis=-1).astype(jnp.int32)

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_with_noise(self.noise(key, self.logits.shape))

    def mode(self) -> jax.Array:
        return jnp.argmax(self.logits, axis=-1).astype(jnp.int32)

    def log_prob(self, action: jax.Array) -> jax.Array:
        log_probs = jax.nn.log_softmax(self.logits)
        # A select and a sum rather than a gather (`take_along_axis`): the gather's gradient is
        # a scatter, which XLA's CPU loop emitters run as a loop over the batch. Exact: the sum
        # adds zeros to the one selected entry.
        chosen = jax.nn.one_hot(action.astype(jnp.int32), log_probs.shape[-1], dtype=jnp.bool_)
        return jnp.sum(jnp.where(chosen, log_probs, 0.0), axis=-1)

    def entropy(self) -> jax.Array:
        log_probs = jax.nn.log_softmax(self.logits)
        return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


@struct.dataclass
class DiagGaussian:
    """A diagonal Gaussian policy. mean and log_std: `[..., action_dim]`."""

    mean: jax.Array
    log_std: jax.Array

    @staticmethod
    def noise(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        """Standard normal noise `[..., action_dim]` for `sample_with_noise`."""
        return jax.random.normal(key, shape, jnp.float32)

    @staticmethod
    def noise_from_bits(bits: jax.Array) -> jax.Array:
        """`noise(key, shape)` from `jax.random.bits(key, shape)` (`numerics.*_from_bits`)."""
        return numerics.normal_from_bits(bits)

    def sample_with_noise(self, noise: jax.Array) -> jax.Array:
        return self.mean + jnp.exp(self.log_std) * noise

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_with_noise(self.noise(key, self.mean.shape))

    def mode(self) -> jax.Array:
        return self.mean

    def log_prob(self, action: jax.Array) -> jax.Array:
        z = (action - self.mean) * jnp.exp(-self.log_std)
        return jnp.sum(-0.5 * jnp.square(z) - self.log_std - 0.5 * _LOG_2PI, axis=-1)

    def entropy(self) -> jax.Array:
        return jnp.sum(self.log_std + 0.5 * (1.0 + _LOG_2PI), axis=-1)


Distribution = Categorical | DiagGaussian


class MLP(nn.Module):
    hidden_sizes: Sequence[int]
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        activation = getattr(nn, self.activation)
        for width in self.hidden_sizes:
            x = activation(nn.Dense(width, kernel_init=_HIDDEN_INIT)(x))
        return x


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs.

    Their first hidden layers are one `Dense` of twice the width (`input_layer`): the same
    function and the same initial law as two layers, computed as one matrix product (XLA's CPU
    runtime launches each product as its own task: docs/performance.md).

    Attributes:
        action_dim: number of discrete actions, or the action vector's length.
        discrete: a categorical head when True, else a Gaussian with a state-independent log-std.
        hidden_sizes, activation: the MLPs' shape.
        initial_log_std: the Gaussian's initial log standard deviation.
        obs_ndim: rank of one observation; image-like ones (gymnax's Catch, MinAtar) are
            flattened before the MLPs.
    """

    action_dim: int
    discrete: bool
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    initial_log_std: float = 0.0
    obs_ndim: int = 1

    def setup(self):
        if self.hidden_sizes:
            self.input_layer = nn.Dense(2 * self.hidden_sizes[0], kernel_init=_HIDDEN_INIT)
        self.actor_torso = MLP(self.hidden_sizes[1:], self.activation)
        self.critic_torso = MLP(self.hidden_sizes[1:], self.activation)
        self.policy_head = nn.Dense(self.action_dim, kernel_init=_POLICY_INIT)
        self.value_head = nn.Dense(1, kernel_init=_VALUE_INIT)
        if not self.discrete:
            self.log_std = self.param(
                "log_std", nn.initializers.constant(self.initial_log_std), (self.action_dim,)
            )

    def __call__(self, obs: jax.Array) -> tuple[Distribution, jax.Array]:
        """obs `[..., *obs_shape]` -> (policy over `[...]`, value `[...]`)."""
        return self.policy(obs), self.value(obs)

    def policy(self, obs: jax.Array) -> Distribution:
        actor_input, _ = self._torso_inputs(obs)
        out = self.policy_head(self.actor_torso(actor_input))
        if self.discrete:
            return Categorical(logits=out)
        return DiagGaussian(mean=out, log_std=jnp.broadcast_to(self.log_std, out.shape))

    def action_noise(self, key: jax.Array, batch_shape: tuple[int, ...]) -> jax.Array:
        """The noise the policy's `sample_with_noise` takes for a `batch_shape` of observations:
        `[*batch_shape, action_dim]`, Gumbel (discrete) or standard normal (continuous)."""
        distribution = Categorical if self.discrete else DiagGaussian
        return distribution.noise(key, tuple(batch_shape) + (self.action_dim,))

    def action_noise_from_bits(self, bits: jax.Array) -> jax.Array:
        """`action_noise` from uint32 bits `[*batch_shape, action_dim]`: bit for bit
        `action_noise(key, batch_shape)` when the bits are `jax.random.bits(key, bits.shape)`."""
        distribution = Categorical if self.discrete else DiagGaussian
        return distribution.noise_from_bits(bits)

    def value(self, obs: jax.Array) -> jax.Array:
        _, critic_input = self._torso_inputs(obs)
        return self.value_head(self.critic_torso(critic_input))[..., 0]

    def _torso_inputs(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The actor's and the critic's first hidden activations `[..., hidden_sizes[0]]` (the
        flattened observations when there are no hidden layers)."""
        x = self._flatten(obs)
        if not self.hidden_sizes:
            return x, x
        hidden = getattr(nn, self.activation)(self.input_layer(x))
        width = self.hidden_sizes[0]
        return hidden[..., :width], hidden[..., width:]

    def _flatten(self, obs: jax.Array) -> jax.Array:
        batch_shape = obs.shape[: obs.ndim - self.obs_ndim]
        return obs.reshape(batch_shape + (-1,)).astype(jnp.float32)


def flat_params_of(network: ActorCritic, obs_shape: tuple[int, ...]) -> FlatParams:
    """The network's parameters as one vector (`FlatParams`), with the initial law of
    `network.init`: normal kernels with orthogonal init's gains (std = gain / sqrt(fan_in)),
    zero biases, a constant log-std. Host-side only: it runs no XLA program."""

    def law(path: tuple[str, ...], shape: tuple[int, ...]) -> tuple[float, float]:
        if path[-1] == "kernel":
            gain = {"policy_head": POLICY_GAIN, "value_head": VALUE_GAIN}.get(path[-2], HIDDEN_GAIN)
            return 0.0, gain / math.sqrt(shape[0])
        if path[-1] == "log_std":
            return network.initial_log_std, 0.0
        return 0.0, 0.0

    return flat_params(network, jax.ShapeDtypeStruct(obs_shape, jnp.float32), law)


@dataclasses.dataclass(frozen=True)
class Agent:
    """The static pieces `make_train` derives from the config and the env.

    Attributes:
        network: the actor-critic.
        flat: its parameters as one vector (`unravel` maps the vector to its params pytree).
        exact_ints: integer arrays that packed loops may pack with the floats (the sampled
            actions of a categorical policy: `jaxrl.agents.common.rollout.exact_int_fields`).
    """

    network: ActorCritic
    flat: FlatParams
    exact_ints: frozenset[str]

    @property
    def unravel(self) -> Callable[[jax.Array], Any]:
        return self.flat.unravel


def make_agent(config: PPOConfig, env: Environment, env_params: EnvParams) -> Agent:
    """The actor-critic matching the env's spaces, and its flat parameters."""
    action_space = env.action_space(env_params)
    obs_shape = env.observation_space(env_params).shape
    discrete = isinstance(action_space, spaces.Discrete)
    network = ActorCritic(
        action_dim=action_space.n if discrete else action_space.shape[0],
        discrete=discrete,
        hidden_sizes=config.hidden_sizes,
        activation=config.activation,
        initial_log_std=config.initial_log_std,
        obs_ndim=len(obs_shape),
    )
    return Agent(
        network=network,
        flat=flat_params_of(network, obs_shape),
        exact_ints=exact_int_fields(action_space),
    )
