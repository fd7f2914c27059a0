"""Episodes as GIFs: a policy rolled out in one jitted scan, drawn and encoded chunk by chunk."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.envs.core import Environment, EnvParams
from jaxrl.files import write_atomically

#: `policy(obs, key) -> action` for one env.
Policy = Callable[[jax.Array, jax.Array], jax.Array]
#: States drawn per renderer call. A 500 x 500 frame takes several MB of float32 canvases while
#: it is drawn, so a whole episode in one vmapped call takes GBs; chunks bound that.
FRAMES_PER_CALL = 8


def trained_policy(driver, runner, run_index: int, deterministic: bool = True) -> Policy:
    """Run `run_index`'s policy from a checkpointed runner state (the learner's `make_policy`)."""
    spec = driver.spec
    policy = driver.learner.make_policy(
        spec.config, driver.env, driver.env_params, deterministic=deterministic
    )
    params = policy.params(jax.tree.map(lambda leaf: leaf[run_index], runner.learner))
    return lambda obs, key: policy.act(params, obs[None], key)[0]


def random_policy(env: Environment, env_params: EnvParams) -> Policy:
    space = env.action_space(env_params)
    return lambda obs, key: space.sample(key)


def render_episode(
    env: Environment,
    env_params: EnvParams,
    policy: Policy,
    key: jax.Array,
    max_steps: int | None = None,
    frames_per_call: int = FRAMES_PER_CALL,
) -> tuple[Iterator[np.ndarray], int, float]:
    """One episode's frames, from the reset state to the state it ends in.

    Runs `min(max_steps, env_params.max_steps)` steps in one jitted scan without auto-reset and
    keeps the states up to the episode's end; the frames are drawn from them as they are read,
    `frames_per_call` states per call of the env's (vmapped) renderer, so the renderer holds
    one chunk of frames however long the episode.

    Returns:
        the frames, uint8 `[H, W, 3]` each, as an iterator (an env without a renderer raises
        NotImplementedError when it is first read); the number of frames (steps + 1); and the
        episode's undiscounted return.
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
        return all_states, jnp.sum(rewards), jnp.sum(running)

    states, total, steps = rollout(key)
    num_frames = int(steps) + 1
    return (
        render_states(env, env_params, states, num_frames, frames_per_call),
        num_frames,
        float(total),
    )


def render_states(
    env: Environment,
    env_params: EnvParams,
    states: Any,
    num_frames: int,
    frames_per_call: int = FRAMES_PER_CALL,
) -> Iterator[np.ndarray]:
    """The frames of `states[:num_frames]`, drawn `frames_per_call` at a time.

    Args:
        states: env states with a leading `[T]` axis, `T >= num_frames`.
        num_frames: how many of them to draw.
        frames_per_call: states per renderer call; the last chunk repeats the final state to
            keep one compiled shape.

    Yields:
        uint8 `[H, W, 3]` frames, in order.
    """
    frames_per_call = min(frames_per_call, num_frames)

    @jax.jit
    def render_chunk(states, start):
        index = jnp.minimum(start + jnp.arange(frames_per_call), num_frames - 1)
        chunk = jax.tree.map(lambda leaf: leaf[index], states)
        return jax.vmap(env.render, in_axes=(0, None))(chunk, env_params)

    for start in range(0, num_frames, frames_per_call):
        frames = np.asarray(render_chunk(states, start))
        yield from frames[: num_frames - start]


def write_gif(path: Path, frames: Iterable[np.ndarray], fps: int) -> None:
    """uint8 `[H, W, 3]` frames as a looping GIF, written atomically once the last one is in.

    The frames are read one at a time; PIL keeps each as 8-bit palette indices (H x W bytes)
    until it writes the file.
    """
    from PIL import Image

    frames = iter(frames)
    buffer = io.BytesIO()
    Image.fromarray(next(frames)).save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=(Image.fromarray(frame) for frame in frames),
        duration=max(1, round(1000 / fps)),
        loop=0,
    )
    write_atomically(path, buffer.getvalue())
