"""The self-play actor-critic: PPO's, with illegal moves masked out of the policy.

The observation a game hands the learner (`versus.Versus`) is the board's egocentric planes,
flattened, followed by the legal-move mask as 0/1 floats; the policy reads the mask back from
its input, so PPO's rollout, loss and update run unchanged on masked policies.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl.agents.common.rollout import exact_int_fields
from jaxrl.agents.ppo.config import PPOConfig
from jaxrl.agents.ppo.networks import ActorCritic, Agent, Categorical, flat_params_of
from jaxrl.envs.games.core import GameState, TwoPlayerGame

#: The logit of an illegal move: finite, so entropies and log-probabilities stay finite (an
#: exp underflows to exactly 0) where -inf would give 0 * inf = NaN.
ILLEGAL_LOGIT = -1e9


class MaskedActorCritic(ActorCritic):
    """`ActorCritic` over `[..., features + num_moves]` observations whose last `action_dim`
    entries are the legal-move mask: illegal moves get `ILLEGAL_LOGIT`."""

    def policy(self, obs: jax.Array) -> Categorical:
        logits = super().policy(obs).logits
        legal = obs[..., -self.action_dim :] > 0.5
        return Categorical(logits=jnp.where(legal, logits, ILLEGAL_LOGIT))


def learner_observation(game: TwoPlayerGame, state: GameState) -> jax.Array:
    """float32 `[rows * cols * 2 + num_moves]`: the mover's egocentric planes, then its legal
    moves."""
    planes = game.observation(state).reshape(-1)
    return jnp.concatenate([planes, state.legal_action_mask.astype(jnp.float32)])


def observation_size(game: TwoPlayerGame) -> int:
    rows, cols = game.board_shape
    return rows * cols * 2 + game.num_moves


def make_agent(config: PPOConfig, game: TwoPlayerGame) -> Agent:
    """The masked actor-critic for `game` and its flat parameters."""
    network = MaskedActorCritic(
        action_dim=game.num_moves,
        discrete=True,
        hidden_sizes=config.hidden_sizes,
        activation=config.activation,
    )
    obs_shape = (observation_size(game),)
    return Agent(
        network=network,
        flat=flat_params_of(network, obs_shape),
        exact_ints=exact_int_fields(game.action_space()),
    )
