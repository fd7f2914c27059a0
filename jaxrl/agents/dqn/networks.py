"""DQN's Q-network: an MLP with one output per action, or a dueling head."""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrl._xla_cpu import FlatParams, flat_params


class QNetwork(nn.Module):
    """Q-values `[..., num_actions]` of observations `[..., *obs_shape]`.

    Attributes:
        num_actions: the env's discrete actions.
        hidden_sizes: widths of the ReLU hidden layers.
        layer_norm: LayerNorm before each hidden ReLU, which keeps TD regression from diverging
            (Gallici et al. 2024; Lyle et al. 2023).
        dueling: a value stream and an advantage stream, `Q = V + A - mean(A)` (Wang et al. 2016).
        obs_ndim: rank of one observation; image-like ones are flattened.
    """

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    layer_norm: bool = False
    dueling: bool = False
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        batch_shape = obs.shape[: obs.ndim - self.obs_ndim]
        x = obs.reshape(batch_shape + (-1,)).astype(jnp.float32)
        for width in self.hidden_sizes:
            x = nn.Dense(width)(x)
            x = nn.relu(nn.LayerNorm()(x) if self.layer_norm else x)
        if not self.dueling:
            return nn.Dense(self.num_actions, name="q_head")(x)
        advantage = nn.Dense(self.num_actions, name="advantage_head")(x)
        value = nn.Dense(1, name="value_head")(x)
        return value + advantage - jnp.mean(advantage, axis=-1, keepdims=True)


def flat_params_of(network: QNetwork, obs_shape: tuple[int, ...]) -> FlatParams:
    """The network's parameters as one vector, drawn as He-normal kernels (std sqrt(2/fan_in),
    for ReLU layers) with heads at std 1/sqrt(fan_in), zero biases, unit LayerNorm scales."""

    def law(path: tuple[str, ...], shape: tuple[int, ...]) -> tuple[float, float]:
        if path[-1] == "scale":
            return 1.0, 0.0
        if path[-1] != "kernel":
            return 0.0, 0.0
        gain = 1.0 if path[-2].endswith("_head") else math.sqrt(2.0)
        return 0.0, gain / math.sqrt(shape[0])

    return flat_params(network, jax.ShapeDtypeStruct(obs_shape, jnp.float32), law)
