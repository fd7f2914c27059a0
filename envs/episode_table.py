"""The agent-environment loop as data: one episode recorded as rows of (state, action, reward).

    from jaxrl import envs
    from jaxrl.envs.episode_table import record_episode

    env, params = envs.make("GridWorld-CliffWalking-v0")
    policy = lambda key, obs: env.action_space(params).sample(key)
    print(record_episode(env, params, policy, jax.random.key(0), max_steps=5))

prints the rows the way a lecture shows them:

    Pos(3,0), up, -1
    Pos(2,0), right, -1
    ...

A GridWorld's state is shown as its integer position `Pos(row,col)` (row 0 on top) and its
actions by name; any other env shows its observation, and its actions by Gymnasium's names where
they have one (CartPole's left/right) or by value.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.envs import gridworld
from jaxrl.envs.core import Environment, EnvParams

#: `policy(key, obs) -> action`, jittable.
Policy = Callable[[jax.Array, jax.Array], jax.Array]

GRID_ACTION_NAMES = {
    gridworld.UP: "up",
    gridworld.RIGHT: "right",
    gridworld.DOWN: "down",
    gridworld.LEFT: "left",
}
# Gymnasium's action descriptions, by env id.
ACTION_NAMES: dict[str, tuple[str, ...]] = {
    "CartPole-v1": ("left", "right"),
    "MountainCar-v0": ("left", "none", "right"),
    "Acrobot-v1": ("torque -1", "torque 0", "torque +1"),
}


@dataclasses.dataclass(frozen=True)
class EpisodeRow:
    """One step of the loop.

    Attributes:
        state: where the action was taken: (row, col) in a GridWorld, else the observation.
        action: the action taken (an int, or a tuple of floats for continuous actions).
        action_name: its name ("up") or its value as text.
        reward: the reward the step paid.
        terminated: whether the step ended the MDP's episode.
        truncated: whether the time limit ended the episode at this step.
    """

    state: tuple
    action: int | tuple[float, ...]
    action_name: str
    reward: float
    terminated: bool
    truncated: bool


@dataclasses.dataclass(frozen=True)
class EpisodeTable:
    """An episode's rows, where it ended and how.

    Attributes:
        rows: one per step, in order.
        final_state: the state reached by the last step (before any reset).
        is_grid: whether states are grid positions (printed `Pos(row,col)`).
    """

    rows: tuple[EpisodeRow, ...]
    final_state: tuple
    is_grid: bool

    @property
    def total_return(self) -> float:
        """The undiscounted sum of the rewards."""
        return float(sum(row.reward for row in self.rows))

    @property
    def terminated(self) -> bool:
        return bool(self.rows) and self.rows[-1].terminated

    @property
    def truncated(self) -> bool:
        return bool(self.rows) and self.rows[-1].truncated and not self.rows[-1].terminated

    def format_state(self, state: tuple) -> str:
        if self.is_grid:
            return f"Pos({state[0]},{state[1]})"
        return "obs(" + ", ".join(f"{x:.3f}" for x in state) + ")"

    def format(self, max_rows: int | None = None) -> str:
        """The table as text: one `state, action, reward` line per step, then how it ended.

        Args:
            max_rows: show at most this many step lines (the first and last ones, with a line
                saying how many were left out); None shows all.
        """
        lines = [
            f"{self.format_state(row.state)}, {row.action_name}, {row.reward:g}"
            for row in self.rows
        ]
        if max_rows is not None and len(lines) > max_rows:
            head = max(1, max_rows // 2)
            tail = max(0, max_rows - head)
            left_out = len(lines) - head - tail
            lines = lines[:head] + [f"... ({left_out} more steps)"] + lines[len(lines) - tail :]
        ending = (
            "terminated" if self.terminated else "truncated" if self.truncated else "not finished"
        )
        lines.append(
            f"{self.format_state(self.final_state)}: {ending} after {len(self.rows)} steps, "
            f"return {self.total_return:g}"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def record_episode(
    env: Environment,
    env_params: EnvParams,
    policy: Policy,
    key: jax.Array,
    max_steps: int | None = None,
) -> EpisodeTable:
    """Runs one episode of `policy` in `env` (one compiled scan) and returns its rows.

    Args:
        env: any jaxrl env.
        env_params: its params (concrete, unbatched).
        policy: `policy(key, obs) -> action`, jittable.
        key: PRNG key for the reset, the policy and the env.
        max_steps: record at most this many steps (the table then says "not finished"); default
            the env's time limit `env_params.max_steps`.

    Returns:
        The episode's table, up to and including the step that terminated or truncated it.

    Raises:
        ValueError: `max_steps` is not a positive integer.
    """
    limit = int(env_params.max_steps) if max_steps is None else max_steps
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"record_episode: max_steps={max_steps!r}: give a positive integer.")
    is_grid = isinstance(env, gridworld.GridWorld)
    run = _recorder(env, policy, limit)
    states, actions, rewards, terminated, truncated, finals = jax.device_get(run(key, env_params))
    done = np.logical_or(terminated, truncated)
    length = int(np.argmax(done)) + 1 if done.any() else limit
    names = _action_names(env)
    rows = []
    for t in range(length):
        action = actions[t]
        if action.ndim == 0:
            action_value = int(action)
            name = names[action_value] if action_value < len(names) else str(action_value)
        else:
            action_value = tuple(float(a) for a in action)
            name = "(" + ", ".join(f"{a:.3f}" for a in action_value) + ")"
        rows.append(
            EpisodeRow(
                state=_as_tuple(states[t], is_grid),
                action=action_value,
                action_name=name,
                reward=float(rewards[t]),
                terminated=bool(terminated[t]),
                truncated=bool(truncated[t]),
            )
        )
    return EpisodeTable(
        rows=tuple(rows), final_state=_as_tuple(finals[length - 1], is_grid), is_grid=is_grid
    )


@functools.lru_cache(maxsize=32)
def _recorder(env: Environment, policy: Policy, limit: int):
    """The jitted episode scan for one (env, policy, length): recording again with the same
    policy object, for another key or params of the same shapes, reuses the compiled program."""
    is_grid = isinstance(env, gridworld.GridWorld)

    def describe(obs, state):
        if is_grid:
            return env.position(state).astype(jnp.float32)
        return jnp.ravel(obs).astype(jnp.float32)

    def describe_final(obs, env_params):
        # After an auto-reset `state` is the next episode's; the step's own observation survives
        # in info["final_observation"], the one-hot of the cell for a GridWorld.
        if is_grid:
            width = env_params.layout.shape[1]
            cell = jnp.argmax(obs)
            return jnp.stack([cell // width, cell % width]).astype(jnp.float32)
        return jnp.ravel(obs).astype(jnp.float32)

    @jax.jit
    def run(key, env_params):
        key_reset, key_steps = jax.random.split(key)
        obs, state = env.reset(key_reset, env_params)

        def step(carry, key):
            obs, state = carry
            key_policy, key_step = jax.random.split(key)
            action = policy(key_policy, obs)
            next_obs, next_state, reward, terminated, truncated, info = env.step(
                key_step, state, action, env_params
            )
            row = (
                describe(obs, state),
                jnp.asarray(action),
                reward,
                terminated,
                truncated,
                describe_final(info["final_observation"], env_params),
            )
            return (next_obs, next_state), row

        _, rows = jax.lax.scan(step, (obs, state), jax.random.split(key_steps, limit))
        return rows

    return run


def _action_names(env: Environment) -> tuple[str, ...]:
    if isinstance(env, gridworld.GridWorld):
        return tuple(GRID_ACTION_NAMES[a] for a in range(gridworld.NUM_ACTIONS))
    return ACTION_NAMES.get(env.name, ())


def _as_tuple(values: np.ndarray, is_grid: bool) -> tuple:
    if is_grid:
        return tuple(int(v) for v in values)
    return tuple(float(v) for v in values)
