"""A trained policy read off a learner's training state: what the `jaxrl` command evaluates,
renders and saves, the same way for every learner."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

from jaxrl.agents.common.evaluation import play_episodes
from jaxrl.envs.core import Environment, EnvParams


@dataclasses.dataclass(frozen=True)
class Policy:
    """How a learner acts.

    Attributes:
        params: `learner -> params`, the pytree the policy needs from a run's training state
            (`RunnerState.learner`): network parameters, observation statistics, ...
        act: `(params, obs [N, ...], key) -> actions [N, ...]`; `key` drives a stochastic policy
            (a deterministic one ignores it).
    """

    params: Callable[[Any], Any]
    act: Callable[[Any, jax.Array, jax.Array], jax.Array]


def play_policy(
    policy: Policy,
    params: Any,
    env: Environment,
    env_params: EnvParams,
    num_episodes: int,
    key: jax.Array,
) -> jax.Array:
    """`play_episodes` with `policy` at `params`: float32 `[num_episodes]` returns; each step's
    key for the policy is split from `key` ahead of the loop."""
    key_play, key_policy = jax.random.split(key)
    horizon = int(env_params.max_steps)

    def act(obs, step_key):
        return policy.act(params, obs, step_key)

    return play_episodes(
        act,
        env,
        env_params,
        num_episodes,
        key_play,
        action_noise_fn=lambda _: jax.random.split(key_policy, horizon),
    )
