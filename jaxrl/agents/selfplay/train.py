"""Self-play PPO against a league of past selves, fused into one program:
`train = make_train(config, game)`, then `jax.jit(train)(key)` or `jax.jit(jax.vmap(train))(keys)`.

Each update is PPO's (`jaxrl.agents.ppo.train.update_step`, unchanged) on `Versus(game)`: the
learner's `num_envs` games, each from a seat drawn per game against an opponent drawn per game
from the league, whose parameters ride in the env's params. Every `snapshot_interval` updates
the learner's parameters enter the league (a ring of `league_size` slots on device; the first
slot starts as a uniformly random player), so the learner keeps meeting its past selves, and
strategies that beat only the latest self are punished by older ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl import _xla_cpu as xla_cpu
from jaxrl.agents.common import driver
from jaxrl.agents.ppo import train as ppo_train
from jaxrl.agents.ppo.config import PPOHyperparams
from jaxrl.agents.ppo.networks import Agent
from jaxrl.agents.selfplay.config import SelfPlayConfig
from jaxrl.agents.selfplay.networks import learner_observation, make_agent, mirror_augment
from jaxrl.agents.selfplay.versus import Versus, sample_move
from jaxrl.envs.core import EnvParams
from jaxrl.envs.games.core import GameState, TwoPlayerGame

Metrics = dict[str, jax.Array]
#: `act(key, state) -> action` for one game state (the ladder's players have this shape).
Player = Callable[[jax.Array, GameState], jax.Array]


@struct.dataclass
class League:
    """The learner's past selves.

    Slot 0 holds zero parameters for good: equal logits, a uniformly random player that keeps
    punishing a learner whose past selves all share one blind spot. Snapshots cycle through
    slots 1 to K - 1.

    Attributes:
        params: float32 `[K, P]`, flat parameters per slot.
        count: int32 scalar, slots filled (opponents are drawn among the first `count`).
        snapshots: int32 scalar, snapshots taken so far; the next one goes to slot
            `1 + snapshots % (K - 1)`.
    """

    params: jax.Array
    count: jax.Array
    snapshots: jax.Array

    @classmethod
    def create(cls, league_size: int, num_params: int) -> League:
        """A league of `league_size` slots (at least 2) holding only the random player."""
        return cls(
            params=jnp.zeros((league_size, num_params), jnp.float32),
            count=jnp.ones((), jnp.int32),
            snapshots=jnp.zeros((), jnp.int32),
        )

    def add_if(self, take: jax.Array, flat_params: jax.Array) -> League:
        """The league with `flat_params` in the next snapshot slot when `take`, else as it is."""
        size = self.params.shape[0]
        added = self.params.at[1 + self.snapshots % (size - 1)].set(flat_params)
        return League(
            params=jnp.where(take, added, self.params),
            count=jnp.where(take, jnp.minimum(self.count + 1, size), self.count),
            snapshots=jnp.where(take, self.snapshots + 1, self.snapshots),
        )


@struct.dataclass
class RunnerState:
    """PPO's runner state on the versus env, and the league."""

    ppo: ppo_train.RunnerState
    league: League

    @property
    def learner(self) -> ppo_train.Learner:
        return self.ppo.learner


@struct.dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        params: the learner's final network parameters (a Flax params pytree).
        league: the final league.
        metrics: per-update arrays `[num_updates]`: PPO's (`episode_return` is the mean result
            against the league, win 1, draw 0, loss -1), and `league_count`.
        runner_state: the final training state, to continue training.
    """

    params: Any
    league: League
    metrics: Metrics
    runner_state: RunnerState


def make_train(
    config: SelfPlayConfig,
    env: TwoPlayerGame,
    env_params: EnvParams | None = None,
    *,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., TrainResult]:
    """Builds self-play training on `env` (a two-player game) as a pure function of a key.

    Args:
        config: a validated SelfPlayConfig.
        env: a `TwoPlayerGame` (e.g. `envs.make("ConnectFour-v0")[0]`).
        env_params: the game's params (they hold no rules: accepted for the common signature).
        log_callback: called on the host with each update's metrics; it only observes.

    Returns:
        `train(key, hyperparams=None) -> TrainResult`, pure and unjitted; `hyperparams` are
        PPO's (`PPOHyperparams`), batched under vmap for a sweep.
    """
    agent = _checked_agent(config, env)
    return driver.chain(
        make_init(config, env, env_params),
        make_run_updates(config, env, env_params, log_callback=log_callback),
        functools.partial(result_from_runner, agent),
    )


def make_init(
    config: SelfPlayConfig, env: TwoPlayerGame, env_params: EnvParams | None = None
) -> Callable[..., RunnerState]:
    """Builds `init(key, hyperparams=None) -> RunnerState`: the learner's initial parameters,
    a league holding the random player, and `num_envs` games begun."""
    agent = _checked_agent(config, env)
    versus = Versus(env, agent, opponent_temperature=config.opponent_temperature)

    def init(key: jax.Array, hyperparams: PPOHyperparams | None = None) -> RunnerState:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams
        league = League.create(config.league_size, agent.flat.size)
        params = versus.params_for(league.params, league.count)
        runner = ppo_train.init_runner_state(key, config, versus, params, agent, hyperparams)
        # Snapshots of batched parameters batch the league: batched from the start under vmap.
        league = xla_cpu.batched_from_start(league, runner.learner.params)
        return RunnerState(ppo=runner, league=league)

    return init


def make_run_updates(
    config: SelfPlayConfig,
    env: TwoPlayerGame,
    env_params: EnvParams | None = None,
    *,
    num_updates: int | None = None,
    log_callback: Callable[[Metrics], None] | None = None,
) -> Callable[..., tuple[RunnerState, Metrics]]:
    """Builds `run(runner, hyperparams=None) -> (runner, metrics [num_updates])`: the next
    `num_updates` updates (the whole run's when None); chunks compute what one call does."""
    agent = _checked_agent(config, env)
    versus = Versus(env, agent, opponent_temperature=config.opponent_temperature)
    num_updates = driver.checked_num_updates(config, num_updates)

    def run(
        runner: RunnerState, hyperparams: PPOHyperparams | None = None
    ) -> tuple[RunnerState, Metrics]:
        hyperparams = config.hyperparams if hyperparams is None else hyperparams

        def update(runner):
            return update_step(runner, config, versus, agent, hyperparams)

        return driver.scan_updates(update, runner, num_updates, log_callback)

    return run


def update_step(
    runner: RunnerState,
    config: SelfPlayConfig,
    versus: Versus,
    agent: Agent,
    hyperparams: PPOHyperparams,
) -> tuple[RunnerState, Metrics]:
    """One PPO update against the league, then a snapshot every `snapshot_interval` updates."""
    league = runner.league
    params = versus.params_for(league.params, league.count)
    augment = mirror_augment(versus.game) if config.mirror_augment else None
    ppo_runner, metrics = ppo_train.update_step(
        runner.ppo, config, versus, params, agent, hyperparams, augment=augment
    )
    learner = ppo_runner.learner
    take = learner.update_index % config.snapshot_interval == 0
    league = league.add_if(take, learner.params)
    metrics = {**metrics, "league_count": league.count.astype(jnp.float32)}
    return RunnerState(ppo=ppo_runner, league=league), metrics


def result_from_runner(agent: Agent, runner: RunnerState, metrics: Metrics) -> TrainResult:
    """The `TrainResult` of a run that ended in `runner`."""
    return TrainResult(
        params=agent.unravel(runner.learner.params),
        league=runner.league,
        metrics=metrics,
        runner_state=runner,
    )


def make_player(
    config: SelfPlayConfig, env: TwoPlayerGame, params: Any, *, temperature: float = 0.0
) -> Player:
    """The trained network as a player, `act(key, state) -> action`, for the ladder.

    Args:
        config, env: as for `make_train`.
        params: `TrainResult.params`.
        temperature: 0 plays the most probable legal move (ties broken at random); above 0
            samples the masked policy's logits divided by it.
    """
    if not temperature >= 0:
        raise ValueError(f"temperature={temperature!r}: give 0 (greedy) or a positive number.")
    network = _checked_agent(config, env).network

    def act(key: jax.Array, state: GameState) -> jax.Array:
        obs = learner_observation(env, state)
        logits = network.apply(params, obs, method=type(network).policy).logits
        return sample_move(key, logits, temperature)

    return act


def _checked_agent(config: SelfPlayConfig, env: Any) -> Agent:
    if not isinstance(env, TwoPlayerGame):
        raise ValueError(
            f"self-play needs a two-player game such as 'TicTacToe-v0' or 'ConnectFour-v0'; "
            f"{getattr(env, 'name', env)!r} is not one."
        )
    if not isinstance(config, SelfPlayConfig):
        raise ValueError(
            f"self-play takes a SelfPlayConfig, not {type(config).__name__}: use "
            "selfplay.default_config(env_id)."
        )
    return make_agent(config, env)
