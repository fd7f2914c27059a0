"""PQN's Q-network (an MLP whose hidden layers are Dense, LayerNorm, ReLU) and its epsilon-greedy
policy."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrl._xla_cpu import FlatParams, flat_params
from jaxrl.agents.common.rollout import exact_int_fields
from jaxrl.envs import spaces

if TYPE_CHECKING:
    from jaxrl.agents.pqn.config import PQNConfig
    from jaxrl.envs.core import Environment, EnvParams

#: Uniforms per env step that `epsilon_greedy` takes: the coin and the random action.
ACTION_NOISE_SHAPE = (2,)


class QNetwork(nn.Module):
    """Q-values of every action. LayerNorm in each hidden layer is what keeps PQN's TD updates
    stable without a target network (Gallici et al. 2024).

    Attributes:
        num_actions: the size of the Discrete action space.
        hidden_sizes: the hidden layers' widths.
        obs_ndim: rank of one observation; image-like ones are flattened first.
    """

    num_actions: int
    hidden_sizes: Sequence[int] = (128, 128)
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        """obs `[..., *obs_shape]` -> Q-values `[..., num_actions]` float32."""
        batch_shape = obs.shape[: obs.ndim - self.obs_ndim]
        x = obs.reshape(batch_shape + (-1,)).astype(jnp.float32)
        for width in self.hidden_sizes:
            x = nn.relu(nn.LayerNorm()(nn.Dense(width)(x)))
        return nn.Dense(self.num_actions)(x)


def epsilon_greedy(q_values: jax.Array, epsilon: jax.typing.ArrayLike, noise: jax.Array):
    """Epsilon-greedy actions from uniforms drawn ahead.

    With probability `epsilon` an action uniform over all actions, else the greedy one (ties,
    which float Q-values all but never have, go to the lowest index).

    Args:
        q_values: `[..., n]` float32.
        epsilon: scalar in [0, 1].
        noise: `[..., 2]` uniforms in [0, 1): the coin, then the random action's draw.

    Returns:
        int32 actions `[...]`.
    """
    num_actions = q_values.shape[-1]
    greedy = jnp.argmax(q_values, axis=-1).astype(jnp.int32)
    # min: a uniform just under 1 times n may round up to n.
    uniform = jnp.floor(noise[..., 1] * num_actions).astype(jnp.int32)
    uniform = jnp.minimum(uniform, num_actions - 1)
    return jnp.where(noise[..., 0] < epsilon, uniform, greedy)


def chosen_q(q_values: jax.Array, actions: jax.Array) -> jax.Array:
    """Q(s, a) `[...]` of `actions` `[...]` from `q_values` `[..., n]`.

    A select and a sum rather than a gather: the gather's gradient is a scatter, which XLA's CPU
    loop emitters run as a loop over the batch. Exact: the sum adds zeros to the one entry.
    """
    chosen = jax.nn.one_hot(actions.astype(jnp.int32), q_values.shape[-1], dtype=jnp.bool_)
    return jnp.sum(jnp.where(chosen, q_values, 0.0), axis=-1)


def flat_params_of(network: QNetwork, obs_shape: tuple[int, ...]) -> FlatParams:
    """The network's parameters as one vector (`FlatParams`): normal kernels of LeCun's scale
    (std 1 / sqrt(fan_in), Flax's default variance), zero biases, unit LayerNorm scales.
    Host-side only: it runs no XLA program."""

    def law(path: tuple[str, ...], shape: tuple[int, ...]) -> tuple[float, float]:
        if path[-1] == "kernel":
            return 0.0, 1.0 / math.sqrt(shape[0])
        if path[-1] == "scale":
            return 1.0, 0.0
        return 0.0, 0.0

    return flat_params(network, jax.ShapeDtypeStruct(obs_shape, jnp.float32), law)


@dataclasses.dataclass(frozen=True)
class Agent:
    """The static pieces `make_train` derives from the config and the env.

    Attributes:
        network: the Q-network.
        flat: its parameters as one vector (`unravel` maps the vector to its params pytree).
        exact_ints: integer arrays that packed loops may pack with the floats (the actions).
    """

    network: QNetwork
    flat: FlatParams
    exact_ints: frozenset[str]

    @property
    def unravel(self) -> Callable[[jax.Array], Any]:
        return self.flat.unravel


def make_agent(config: PQNConfig, env: Environment, env_params: EnvParams) -> Agent:
    """The Q-network matching the env's spaces, and its flat parameters; a one-line ValueError
    unless the actions are Discrete."""
    action_space = env.action_space(env_params)
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(
            f"PQN needs a Discrete action space; {type(env).__name__} has {action_space}: "
            "use a learner for continuous actions (ppo)."
        )
    obs_shape = env.observation_space(env_params).shape
    network = QNetwork(
        num_actions=int(action_space.n),
        hidden_sizes=config.hidden_sizes,
        obs_ndim=len(obs_shape),
    )
    return Agent(
        network=network,
        flat=flat_params_of(network, obs_shape),
        exact_ints=exact_int_fields(action_space),
    )
