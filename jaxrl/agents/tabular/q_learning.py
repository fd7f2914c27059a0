"""Q-learning and Sarsa: one epsilon-greedy TD loop on the real env, the target the difference.

    Q(S, A) <- Q(S, A) + alpha * (R + gamma * bootstrap - Q(S, A))
    Q-learning: bootstrap = max_a Q(S', a)      (off-policy: learns the greedy policy's values)
    Sarsa:      bootstrap = Q(S', A')           (on-policy: A' is the epsilon-greedy next action)

`make_train(config, env, env_params) -> train(key, hyperparams=None)` runs `config.num_episodes`
episodes of `env.step` (auto-reset, time limit and slip are the env's own) as a `lax.scan` over
episodes around a `lax.while_loop` over steps. It is pure and unjitted, like every jaxrl
learner: the caller jits it and vmaps over seeds or hyperparameters. The algorithm is a traced
hyperparameter too, so Q-learning and Sarsa run side by side in one compiled program:

    grid, points = tabular.hyperparams_grid(config, algorithm=["q_learning", "sarsa"])
    results = jax.vmap(train, in_axes=(None, 0))(key, grid)

A terminated step does not bootstrap; a truncated one bootstraps from the state of
`info["final_observation"]` (the time limit is not part of the MDP). Both algorithms pick the
next action before updating (Sarsa needs it for its target); for the off-policy Q-learning this
only changes which table its behaviour policy reads when `S' = S`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.agents.common.evaluation import check_num_episodes, play_episodes
from jaxrl.agents.tabular.policies import epsilon_greedy, state_index
from jaxrl.checks import check_positive_ints
from jaxrl.envs import spaces
from jaxrl.envs.core import Environment, EnvParams

ALGORITHMS = ("q_learning", "sarsa")
Q_LEARNING, SARSA = 0, 1  # codes of TabularHyperparams.algorithm, the index in ALGORITHMS


@struct.dataclass
class TabularHyperparams:
    """The traceable settings, a pytree: scalars, or `[B]` leaves for a vmapped sweep.

    Attributes:
        algorithm: int32, `Q_LEARNING` (0) or `SARSA` (1).
        learning_rate: float32, alpha.
        gamma: float32, the discount.
        epsilon: float32, the exploration probability.
    """

    algorithm: jax.Array
    learning_rate: jax.Array
    gamma: jax.Array
    epsilon: jax.Array


@dataclasses.dataclass(frozen=True)
class TabularConfig:
    """Settings of a tabular TD learner, validated on construction.

    Static (fix the program):
        num_episodes: episodes to learn from (the scan's length).
        initial_q: the value every table entry starts at.

    Traceable (see `hyperparams`; vmap sweeps them):
        algorithm: "q_learning" or "sarsa".
        learning_rate: the step size alpha, in (0, 1].
        gamma: discount in (0, 1].
        epsilon: exploration probability of the epsilon-greedy behaviour policy, in [0, 1].
    """

    hyperparams_type: ClassVar[type] = TabularHyperparams

    algorithm: str = "q_learning"
    num_episodes: int = 500
    learning_rate: float = 0.5
    gamma: float = 1.0
    epsilon: float = 0.1
    initial_q: float = 0.0

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"TabularConfig.algorithm={self.algorithm!r}: choose one of {ALGORITHMS}."
            )
        check_positive_ints(self, ("num_episodes",), owner="TabularConfig")
        ranges = {
            "learning_rate": (False, 1.0, "in (0, 1], e.g. 0.5"),
            "gamma": (False, 1.0, "in (0, 1]"),
            "epsilon": (True, 1.0, "in [0, 1], e.g. 0.1"),
        }
        for name, (zero_allowed, high, expected) in ranges.items():
            value = getattr(self, name)
            is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not is_number or not (value >= 0 if zero_allowed else value > 0) or value > high:
                raise ValueError(f"TabularConfig.{name}={value!r}: must be {expected}.")
        if not isinstance(self.initial_q, numbers.Real) or not math.isfinite(self.initial_q):
            raise ValueError(
                f"TabularConfig.initial_q={self.initial_q!r}: must be a finite number, e.g. 0."
            )

    @property
    def hyperparams(self) -> TabularHyperparams:
        """The traceable settings as scalars."""
        return TabularHyperparams(
            algorithm=jnp.int32(ALGORITHMS.index(self.algorithm)),
            learning_rate=jnp.float32(self.learning_rate),
            gamma=jnp.float32(self.gamma),
            epsilon=jnp.float32(self.epsilon),
        )

    def replace(self, **changes: Any) -> TabularConfig:
        """A copy with `changes`, validated; unknown names are a ValueError listing the fields."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in valid]
        if unknown:
            raise ValueError(
                f"TabularConfig has no field {unknown[0]!r}; valid fields: {', '.join(valid)}."
            )
        return dataclasses.replace(self, **changes)


@struct.dataclass
class TDCarry:
    """What the step loop carries.

    Attributes:
        q_values: float32 `[S, A]`.
        env_state: the env's state.
        obs: the current observation (one-hot `[S]`).
        action: int32, the action about to be taken in `obs`.
        key: PRNG key.
        done: bool, whether the episode has just ended.
        episode_return: float32, the finished episode's return (valid once `done`).
        episode_length: int32, the finished episode's length (valid once `done`).
    """

    q_values: jax.Array
    env_state: Any
    obs: jax.Array
    action: jax.Array
    key: jax.Array
    done: jax.Array
    episode_return: jax.Array
    episode_length: jax.Array


@struct.dataclass
class TabularResult:
    """What `train` returns.

    Attributes:
        q_values: float32 `[S, A]`, the learned table.
        episode_returns: float32 `[num_episodes]`, each episode's (online, epsilon-greedy) return.
        episode_lengths: int32 `[num_episodes]`, steps in each episode.
    """

    q_values: jax.Array
    episode_returns: jax.Array
    episode_lengths: jax.Array


def td_target(
    hyperparams: TabularHyperparams,
    q_values: jax.Array,
    reward: jax.Array,
    terminated: jax.Array,
    final_state: jax.Array,
    next_action: jax.Array,
) -> jax.Array:
    """The one-step TD target; the only place where Q-learning and Sarsa differ.

    Args:
        hyperparams: supplies the algorithm and gamma.
        q_values: float32 `[S, A]` before the update.
        reward: float32 scalar.
        terminated: bool scalar; a terminal transition has no bootstrap.
        final_state: int32, the state the step reached (before any auto-reset).
        next_action: int32, the epsilon-greedy action in `final_state`.

    Returns:
        float32 scalar.
    """
    bootstrap = jnp.where(
        hyperparams.algorithm == SARSA,
        q_values[final_state, next_action],
        jnp.max(q_values[final_state]),
    )
    return reward + hyperparams.gamma * jnp.where(terminated, 0.0, bootstrap)


def td_step(
    hyperparams: TabularHyperparams, env: Environment, env_params: EnvParams, carry: TDCarry
) -> TDCarry:
    """Takes `carry.action` in the env, updates the table once, picks the next action."""
    key, key_step, key_next = jax.random.split(carry.key, 3)
    obs, env_state, reward, terminated, truncated, info = env.step(
        key_step, carry.env_state, carry.action, env_params
    )
    state = state_index(carry.obs)
    final_state = state_index(info["final_observation"])
    next_action = epsilon_greedy(key_next, carry.q_values[final_state], hyperparams.epsilon)
    target = td_target(hyperparams, carry.q_values, reward, terminated, final_state, next_action)
    error = target - carry.q_values[state, carry.action]
    q_values = carry.q_values.at[state, carry.action].add(hyperparams.learning_rate * error)
    return TDCarry(
        q_values=q_values,
        env_state=env_state,
        obs=obs,
        action=next_action,
        key=key,
        done=terminated | truncated,
        episode_return=info["episode_return"],
        episode_length=info["episode_length"],
    )


def run_episode(
    hyperparams: TabularHyperparams, env: Environment, env_params: EnvParams, carry: TDCarry
) -> TDCarry:
    """Learns through one whole episode from `carry.obs` (an episode's first observation).

    The env auto-resets, so on return `obs` and `env_state` already start the next episode.
    """
    key, key_action = jax.random.split(carry.key)
    action = epsilon_greedy(key_action, carry.q_values[state_index(carry.obs)], hyperparams.epsilon)
    carry = carry.replace(action=action, key=key, done=jnp.bool_(False))
    return jax.lax.while_loop(
        lambda c: ~c.done, lambda c: td_step(hyperparams, env, env_params, c), carry
    )


def make_train(
    config: TabularConfig, env: Environment, env_params: EnvParams | None = None
) -> Callable[..., TabularResult]:
    """Builds `train(key, hyperparams=None) -> TabularResult`, pure and unjitted.

    Args:
        config: the learner's settings.
        env: an env with Discrete actions whose observation is a one-hot of its state (every
            GridWorld).
        env_params: its params (the env's defaults when None); traced values work, so
            `jax.vmap(lambda p, k: make_train(config, env, p)(k))` runs a batch of layouts,
            slips or rewards of the same shapes in one program.

    Returns:
        `train(key, hyperparams=None)`; None means `config.hyperparams`.

    Raises:
        ValueError: the action or observation space is not a discrete / one-hot table.
    """
    env_params = env.default_params if env_params is None else env_params
    action_space = env.action_space(env_params)
    obs_space = env.observation_space(env_params)
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(
            f"Tabular learners need Discrete actions; {env.name} has {action_space}. "
            "Use PPO (jaxrl.agents.ppo) for continuous actions."
        )
    one_hot_box = (
        isinstance(obs_space, spaces.Box)
        and len(obs_space.shape) == 1
        and np.all(np.asarray(obs_space.low) == 0)
        and np.all(np.asarray(obs_space.high) == 1)
    )
    if not one_hot_box:
        raise ValueError(
            f"Tabular learners need a one-hot observation of the state (a GridWorld's); "
            f"{env.name}'s observation is not a vector in [0, 1] (shape {obs_space.shape}). "
            "Use PPO (jaxrl.agents.ppo) for it."
        )
    num_states, num_actions = obs_space.shape[0], action_space.n

    def train(key: jax.Array, hyperparams: TabularHyperparams | None = None) -> TabularResult:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        key_reset, key_learn = jax.random.split(key)
        obs, env_state = env.reset(key_reset, env_params)
        carry = TDCarry(
            q_values=jnp.full((num_states, num_actions), config.initial_q, jnp.float32),
            env_state=env_state,
            obs=obs,
            action=jnp.int32(0),
            key=key_learn,
            done=jnp.bool_(False),
            episode_return=jnp.float32(0.0),
            episode_length=jnp.int32(0),
        )

        def one_episode(carry, _):
            carry = run_episode(hyperparams, env, env_params, carry)
            return carry, (carry.episode_return, carry.episode_length)

        carry, (returns, lengths) = jax.lax.scan(
            one_episode, carry, None, length=config.num_episodes
        )
        return TabularResult(
            q_values=carry.q_values, episode_returns=returns, episode_lengths=lengths
        )

    return train


def default_config(env_id: str) -> TabularConfig:
    """Sutton and Barto's setting for the grid worlds (their Example 6.6: epsilon 0.1, step size
    0.5, no discount, 500 episodes); a ValueError for an env a table cannot hold."""
    if not env_id.startswith("GridWorld-"):
        raise ValueError(
            f"{env_id}: tabular learners need a grid world's one-hot state; use PPO "
            "(jaxrl.agents.ppo) for it."
        )
    return TabularConfig()


def make_evaluate(
    config: TabularConfig,
    env: Environment,
    env_params: EnvParams | None = None,
    *,
    num_episodes: int = 100,
) -> Callable[..., jax.Array]:
    """Builds `evaluate(q_values, key) -> returns [num_episodes]`: the greedy policy of a table
    `[S, A]` (ties to the lowest action) played over whole episodes (`play_episodes`, the law
    every jaxrl learner is evaluated by)."""
    env_params = env.default_params if env_params is None else env_params
    check_num_episodes(num_episodes)

    def evaluate(q_values: jax.Array, key: jax.Array) -> jax.Array:
        def act(obs, _):
            return jnp.argmax(q_values[state_index(obs)], axis=-1).astype(jnp.int32)

        return play_episodes(act, env, env_params, num_episodes, key)

    return evaluate
