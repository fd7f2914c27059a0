"""SAC's trained policy: its returns over whole episodes (`make_evaluate`) and the policy the
`jaxrl` command reads off a training state (`make_policy`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from jaxrl.agents.common.evaluation import check_num_episodes, play_episodes
from jaxrl.agents.common.policy import Policy
from jaxrl.agents.sac.config import SACConfig
from jaxrl.agents.sac.networks import Agent, make_agent
from jaxrl.envs.core import Environment, EnvParams


def make_evaluate(
    config: SACConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_episodes: int = 100,
) -> Callable[[Any, jax.Array], jax.Array]:
    """Builds `evaluate(params, key) -> returns [num_episodes]` float32.

    `play_episodes` with the deterministic policy, `tanh(mean)` mapped onto the action Box:
    `num_episodes` envs in parallel for exactly `max_steps` steps, each env's rewards summed up
    to its first episode end. `params` is the actor's params pytree (`TrainResult.params`).
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)
    check_num_episodes(num_episodes)

    def evaluate(params: Any, key: jax.Array) -> jax.Array:
        def act(obs, _):
            return deterministic_action(agent, params, obs)

        return play_episodes(act, env, env_params, num_episodes, key)

    return evaluate


def make_policy(
    config: SACConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    deterministic: bool = True,
) -> Policy:
    """The policy of a run's training state (`RunnerState.learner`): `tanh(mean)` mapped onto
    the action Box, or, when not deterministic, a sample of the tanh-squashed Gaussian.

    `act(params, obs [N, *obs_shape], key) -> actions [N, action_dim]` float32 within the Box.
    """
    env_params = env.default_params if env_params is None else env_params
    agent = make_agent(config, env, env_params)

    def params(learner) -> dict[str, Any]:
        return {"params": agent.actor_flat.unravel(learner.actor_params)}

    def act(params: dict[str, Any], obs: jax.Array, key: jax.Array) -> jax.Array:
        if deterministic:
            return deterministic_action(agent, params["params"], obs)
        policy = agent.actor.apply(params["params"], obs)
        noise = jax.random.normal(key, policy.mean.shape)
        squashed, _ = policy.sample_and_log_prob(noise)
        return agent.env_action(squashed)

    return Policy(params=params, act=act)


def deterministic_action(agent: Agent, params: Any, obs: jax.Array) -> jax.Array:
    """`tanh(mean)` of the actor at Flax `params` for `obs` `[N, *obs_shape]`, mapped onto the
    env's action Box: `[N, action_dim]` float32."""
    return agent.env_action(agent.actor.apply(params, obs).mode())
