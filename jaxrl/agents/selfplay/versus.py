"""A game seen from one seat: the learner plays one player, a league opponent the other.

`Versus(game, agent)` is a single-agent `Environment`, so PPO's rollout and update run on it
unchanged. Each episode is one game: its reset draws the learner's seat (0 or 1, each half the
time) and its opponent (uniformly among the league's filled slots), and when the learner has
the second seat the opponent opens. Each step is the learner's move and, unless it ended the
game, the opponent's reply; the reward is the learner's (+1 win, -1 loss, 0 draw, paid at the
move that ends the game).

The league is data: `VersusParams.league` `[K, P]` holds K opponents' flat parameters (the
learner's own network, so past selves), `league_count` how many slots are filled. An opponent
samples its masked policy at `opponent_temperature`. Inside a batched step every game
evaluates all K opponents on its board and keeps its own opponent's logits: one dense product
for the batch rather than a gather of parameters per game.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.agents.ppo.networks import Agent
from jaxrl.agents.selfplay.networks import learner_observation, observation_size
from jaxrl.envs import core, numerics, spaces
from jaxrl.envs.games.core import GameState, TwoPlayerGame


@struct.dataclass
class VersusState(core.EnvState):
    """Attributes:
    game: the game's state (the learner is to move, except after the game ended).
    seat: int32 scalar, the learner's player (0 opens).
    opponent: int32 scalar, the league slot the opponent plays from.
    """

    game: GameState
    seat: jax.Array
    opponent: jax.Array


@struct.dataclass
class VersusParams(core.EnvParams):
    """Attributes:
    league: float32 `[K, P]`, the opponents' flat parameters.
    league_count: int32 scalar in [1, K], the filled slots (0 .. league_count - 1).
    """

    _: dataclasses.KW_ONLY
    league: jax.Array
    league_count: jax.Array
    max_steps: int = 100


class Versus(core.Environment[VersusState, VersusParams]):
    """`game` from the learner's seat against league opponents that play `agent`'s network.

    Args:
        game: a two-player game.
        agent: the learner's agent (its masked actor-critic and flat-parameter layout).
        opponent_temperature: opponents sample their logits divided by it (0: their most
            probable move, ties broken at random).
    """

    stochastic_step = True

    def __init__(self, game: TwoPlayerGame, agent: Agent, *, opponent_temperature: float = 1.0):
        self.game = game
        self.agent = agent
        self.opponent_temperature = opponent_temperature

    @property
    def name(self) -> str:
        return f"{self.game.name} against a league"

    def params_for(self, league: jax.Array, league_count: jax.Array) -> VersusParams:
        """The params of games against the first `league_count` opponents of `league`
        `[K, P]`."""
        return VersusParams(
            league=league, league_count=league_count, max_steps=self.game.max_moves + 1
        )

    @property
    def default_params(self) -> VersusParams:
        """A league of one opponent with zero parameters: equal logits, a random player."""
        league = jnp.zeros((1, self.agent.flat.size), jnp.float32)
        return self.params_for(league, jnp.ones((), jnp.int32))

    def reset_env(self, key: jax.Array, params: VersusParams) -> tuple[jax.Array, VersusState]:
        key_seat, key_opponent, key_move = numerics.split(key, 3)
        seat = jax.random.bernoulli(key_seat).astype(jnp.int32)
        opponent = jax.random.randint(key_opponent, (), 0, params.league_count, jnp.int32)
        _, game = self.game.reset(key, self.game.default_params)
        opened, _, _ = self.opponent_move(key_move, game, opponent, params)
        game = jax.tree.map(lambda a, b: jnp.where(seat == 1, a, b), opened, game)
        state = VersusState(game=game, seat=seat, opponent=opponent)
        return self.observation(state), state

    def step_env(self, key: jax.Array, state: VersusState, action: jax.Array, params):
        game_params = self.game.default_params
        _, game, reward, ended, _, _ = self.game.step_without_reset(
            key, state.game, action, game_params
        )
        replied, reply_reward, reply_ended = self.opponent_move(key, game, state.opponent, params)
        game = jax.tree.map(lambda a, b: jnp.where(ended, a, b), game, replied)
        reward = jnp.where(ended, reward, -reply_reward)
        next_state = state.replace(game=game)
        return self.observation(next_state), next_state, reward, ended | reply_ended, {}

    def opponent_move(
        self, key: jax.Array, game: GameState, opponent: jax.Array, params: VersusParams
    ) -> tuple[GameState, jax.Array, jax.Array]:
        """The league opponent's move on `game`: the next state, the opponent's reward for the
        move, and whether it ended the game."""
        obs = learner_observation(self.game, game)
        network, unravel = self.agent.network, self.agent.unravel

        def logits_of(flat_params):
            return network.apply(unravel(flat_params), obs, method=type(network).policy).logits

        logits = jax.vmap(logits_of)(params.league)[opponent]
        action = sample_move(key, logits, self.opponent_temperature)
        _, game, reward, ended, _, _ = self.game.step_without_reset(
            key, game, action, self.game.default_params
        )
        return game, reward, ended

    def observation(self, state: VersusState) -> jax.Array:
        return learner_observation(self.game, state.game)

    def action_space(self, params: VersusParams | None = None) -> spaces.Discrete:
        return self.game.action_space()

    def observation_space(self, params: VersusParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (observation_size(self.game),), jnp.float32)

    def render(self, state: VersusState, params: VersusParams | None = None) -> jax.Array:
        return self.game.render(state.game)


def sample_move(key: jax.Array, logits: jax.Array, temperature: float) -> jax.Array:
    """A move drawn from `logits / temperature` (Gumbel-max); at temperature 0 the most probable
    move, exact ties broken uniformly at random."""
    noise = jax.random.gumbel(key, logits.shape, jnp.float32)
    if temperature == 0:
        best = logits >= jnp.max(logits)
        return jnp.argmax(jnp.where(best, noise, -jnp.inf)).astype(jnp.int32)
    return jnp.argmax(logits / temperature + noise).astype(jnp.int32)
