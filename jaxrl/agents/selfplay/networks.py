"""The self-play actor-critic: PPO's, with illegal moves masked out of the policy.

The observation a game hands the learner (`versus.Versus`) is the board's egocentric planes,
flattened, followed by the legal-move mask as 0/1 floats; the policy reads the mask back from
its input, so PPO's rollout, loss and update run unchanged on masked policies.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.agents.common.rollout import exact_int_fields
from jaxrl.agents.ppo.networks import (
    _HIDDEN_INIT,
    ActorCritic,
    Agent,
    Categorical,
    flat_params_of,
)
from jaxrl.agents.selfplay.config import SelfPlayConfig
from jaxrl.envs.games.core import GameState, TwoPlayerGame

#: The logit of an illegal move: finite, so entropies and log-probabilities stay finite (an
#: exp underflows to exactly 0) where -inf would give 0 * inf = NaN.
ILLEGAL_LOGIT = -1e9


class MaskedActorCritic(ActorCritic):
    """`ActorCritic` over `[..., rows * cols * 2 + num_moves]` observations whose last
    `action_dim` entries are the legal-move mask: illegal moves get `ILLEGAL_LOGIT`.

    With `conv_features > 0` the board planes first pass through one `conv_size` convolution
    (valid padding, ReLU), shared by actor and critic, whose features join the raw input: a
    4x4 window holds every line of four, so one filter sees a threat wherever it stands. Its
    kernel is `[window cells * 2, conv_features]`, drawn like every hidden layer's.
    """

    board_shape: tuple[int, int] = (1, 1)
    conv_features: int = 0
    conv_size: tuple[int, int] = (4, 4)
    #: With `mirrored_moves` (the game's), policy and value are averaged over the board and its
    #: left-right mirror: equivariant by construction, where learning it takes twice the games.
    mirrored_moves: tuple[int, ...] | None = None

    def setup(self):
        super().setup()
        if self.conv_features:
            # The convolution as a dense layer over each window (im2col): one matrix product,
            # which XLA's CPU runtime runs far faster than a convolution of a 6x7 image.
            self.conv = nn.Dense(self.conv_features, kernel_init=_HIDDEN_INIT)

    def policy(self, obs: jax.Array) -> Categorical:
        if self.mirrored_moves is None:
            logits = super().policy(obs).logits
        else:
            both = super().policy(jnp.stack([obs, self._mirror(obs)])).logits
            logits = (both[0] + both[1][..., np.array(self.mirrored_moves)]) / 2
        legal = obs[..., -self.action_dim :] > 0.5
        return Categorical(logits=jnp.where(legal, logits, ILLEGAL_LOGIT))

    def value(self, obs: jax.Array) -> jax.Array:
        if self.mirrored_moves is None:
            return super().value(obs)
        return jnp.mean(super().value(jnp.stack([obs, self._mirror(obs)])), axis=0)

    def _mirror(self, obs: jax.Array) -> jax.Array:
        return mirrored_observation(obs, self.board_shape, self.mirrored_moves)

    def _flatten(self, obs: jax.Array) -> jax.Array:
        flat = super()._flatten(obs)
        if not self.conv_features:
            return flat
        windows = flat[..., window_indices(self.board_shape, self.conv_size)]
        features = nn.relu(self.conv(windows))
        return jnp.concatenate([flat, features.reshape(flat.shape[:-1] + (-1,))], axis=-1)


def mirrored_observation(
    obs: jax.Array, board_shape: tuple[int, int], mirrored_moves: tuple[int, ...]
) -> jax.Array:
    """`[..., rows * cols * 2 + num_moves]` learner observations of the boards' left-right
    mirror images: columns reversed, the legal mask permuted with the moves."""
    rows, cols = board_shape
    cells = rows * cols * 2
    planes = obs[..., :cells].reshape(obs.shape[:-1] + (rows, cols, 2))[..., ::-1, :]
    legal = obs[..., cells:][..., np.array(mirrored_moves)]
    return jnp.concatenate([planes.reshape(obs.shape[:-1] + (cells,)), legal], axis=-1)


def mirror_augment(game: TwoPlayerGame):
    """PPO's `augment` for `game`: each transition whose bit is set becomes its left-right mirror
    image (board, legal mask and move), with the same log-probability, value, advantage and
    target, which the game's symmetry makes an equally valid sample of the mirrored policy."""
    moves = np.array(game.mirrored_moves, np.int32)

    def augment(batch: dict[str, jax.Array], bits: jax.Array) -> dict[str, jax.Array]:
        flip = (bits & 1).astype(bool)
        obs = mirrored_observation(batch["obs"], game.board_shape, game.mirrored_moves)
        return {
            **batch,
            "obs": jnp.where(flip[:, None], obs, batch["obs"]),
            "action": jnp.where(flip, jnp.asarray(moves)[batch["action"]], batch["action"]),
        }

    return augment


def window_indices(board_shape: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """int32 `[windows, size_rows * size_cols * 2]`: for each valid `size` window of the board,
    row-major, the flat indices of its cells' two planes in the observation."""
    rows, cols = board_shape
    window = [
        [
            ((top + r) * cols + left + c) * 2 + plane
            for r in range(size[0])
            for c in range(size[1])
            for plane in range(2)
        ]
        for top in range(rows - size[0] + 1)
        for left in range(cols - size[1] + 1)
    ]
    return np.array(window, np.int32)


def learner_observation(game: TwoPlayerGame, state: GameState) -> jax.Array:
    """float32 `[rows * cols * 2 + num_moves]`: the mover's egocentric planes, then its legal
    moves."""
    planes = game.observation(state).reshape(-1)
    return jnp.concatenate([planes, state.legal_action_mask.astype(jnp.float32)])


def observation_size(game: TwoPlayerGame) -> int:
    rows, cols = game.board_shape
    return rows * cols * 2 + game.num_moves


def make_agent(config: SelfPlayConfig, game: TwoPlayerGame) -> Agent:
    """The masked actor-critic for `game` and its flat parameters."""
    network = MaskedActorCritic(
        action_dim=game.num_moves,
        discrete=True,
        hidden_sizes=config.hidden_sizes,
        activation=config.activation,
        board_shape=game.board_shape,
        conv_features=config.conv_features,
        mirrored_moves=game.mirrored_moves if config.mirror_symmetric else None,
    )
    obs_shape = (observation_size(game),)
    return Agent(
        network=network,
        flat=flat_params_of(network, obs_shape),
        exact_ints=exact_int_fields(game.action_space()),
    )
