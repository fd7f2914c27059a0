"""Episodes as frames: a policy (trained or random) rolled out in one jitted scan, then a GIF."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.envs.core import Environment, EnvParams
from jaxrl.reporting import write_bytes_atomically

#: `policy(obs, key) -> action` for one env.
Policy = Callable[[jax.Array, jax.Array], jax.Array]


def trained_policy(driver, runner, run_index: int, deterministic: bool = True) -> Policy:
    """Run `run_index`'s policy from a checkpointed runner state (observations normalised as in
    training)."""
    from jaxrl.agents.ppo.networks import ActorCritic

    config, agent = driver.spec.config, driver.agent
    params = agent.unravel(runner.flat_params[run_index])
    obs_stats = jax.tree.map(lambda leaf: leaf[run_index], runner.obs_stats)

    def policy(obs, key):
        if config.normalize_observations:
            obs = obs_stats.normalize(obs)
        distribution = agent.network.apply(
            params, obs.astype(jnp.float32), method=ActorCritic.policy
        )
        return distribution.mode() if deterministic else distribution.sample(key)

    return policy


def random_policy(env: Environment, env_params: EnvParams) -> Policy:
    space = env.action_space(env_params)
    return lambda obs, key: space.sample(key)


def render_episode(
    env: Environment,
    env_params: EnvParams,
    policy: Policy,
    key: jax.Array,
    max_steps: int | None = None,
) -> tuple[np.ndarray, float]:
    """One episode's frames, from the reset state to the state it ends in.

    Runs `min(max_steps, env_params.max_steps)` steps in one jitted scan without auto-reset,
    renders every state with the env's (vmapped) renderer, and cuts after the episode's end.

    Returns:
        uint8 `[frames, H, W, 3]` and the episode's undiscounted return.
    """
    horizon = (
        int(env_params.max_steps)
        if max_steps is None
        else min(max_steps, int(env_params.max_steps))
    )

    @jax.jit
    def rollout(key):
        key_reset, key_run = jax.random.split(key)
        obs, state = env.reset(key_reset, env_params)

        def step(carry, step_key):
            obs, state, running = carry
            key_action, key_env = jax.random.split(step_key)
            action = policy(obs, key_action)
            obs, next_state, reward, terminated, truncated, _ = env.step_without_reset(
                key_env, state, action, env_params
            )
            done = jnp.logical_or(terminated, truncated)
            return (obs, next_state, running & ~done), (next_state, reward * running, running)

        _, (states, rewards, running) = jax.lax.scan(
            step, (obs, state, jnp.bool_(True)), jax.random.split(key_run, horizon)
        )
        all_states = jax.tree.map(
            lambda first, rest: jnp.concatenate([first[None], rest]), state, states
        )
        frames = jax.vmap(env.render, in_axes=(0, None))(all_states, env_params)
        return frames, jnp.sum(rewards), jnp.sum(running)

    frames, total, steps = rollout(key)
    return np.asarray(frames[: int(steps) + 1]), float(total)


def write_gif(path: Path, frames: np.ndarray, fps: int) -> None:
    """`[frames, H, W, 3]` uint8 as a looping GIF, written atomically."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(1, round(1000 / fps)),
        loop=0,
    )
    write_bytes_atomically(path, buffer.getvalue())
