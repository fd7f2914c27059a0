"""PettingZoo adapter: a jaxrl two-player game as a PettingZoo AEC env.

    from jaxrl.envs.pettingzoo_interop import make_aec

    env = make_aec("TicTacToe-v0")
    env.reset(seed=0)
    for agent in env.agent_iter():
        observation, reward, termination, truncation, info = env.last()
        if termination or truncation:
            action = None
        else:
            action = env.action_space(agent).sample(observation["action_mask"])
        env.step(action)

PettingZoo is optional: this module is the only one that imports it. The conventions are those
of PettingZoo's classic games (`connect_four_v3`, `tictactoe_v3`):

- Agents "player_0" and "player_1" are the game's players 0 and 1; "player_0" opens. These are
  `connect_four_v3`'s names, and count from 0 as the game's players do (`tictactoe_v3`'s
  "player_1"/"player_2" would be off by one from `GameState.current_player`).
- An observation is a dict: "observation", int8 `[rows, cols, 2]`, from the observing agent's
  side (plane 0 its pieces, plane 1 its opponent's); "action_mask", int8 `[num_moves]`, the
  legal moves of the agent to move, all zeros for the other agent and once the game has ended.
- Rewards are the game's `info["rewards"]`: +1 to the winner and -1 to the loser when a game
  is won, 0 otherwise.
- An illegal move (an occupied cell, a full column) follows the jaxrl rule: the mover loses (-1),
  its opponent wins (+1) and the game ends, zero-sum like every other outcome and as jaxrl's own
  `step` plays it. PettingZoo's `tictactoe_v3.env()` pays the opponent 0 instead. An action
  outside `[0, num_moves)` raises ValueError, as `tictactoe_v3`'s bounds check does.
- Actions are the game's own. `tictactoe_v3` numbers its cells column-major but builds its
  observation by reshaping them row-major, so in both envs action `a` is observation cell
  `(a // 3, a % 3)` and the two agree move for move; only `tictactoe_v3`'s drawing is transposed.

Each move is one jitted call of the game's `step_without_reset`, compiled once per adapter: an
ended game stays visible until `reset()` starts the next. Both agents' observations, the legal
moves and both rewards come back from that call in one fetch.
"""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pettingzoo

from jaxrl.envs import core, registry
from jaxrl.envs.games.core import GameState, TwoPlayerGame

AGENTS = ("player_0", "player_1")


class GameAECEnv(pettingzoo.AECEnv):
    """One jaxrl `TwoPlayerGame` behind PettingZoo's AEC API (NumPy observations)."""

    metadata = {"render_modes": ["rgb_array"], "is_parallelizable": False, "render_fps": 1}

    def __init__(
        self,
        game: TwoPlayerGame,
        params: core.EnvParams | None = None,
        *,
        render_mode: str | None = None,
    ):
        """Wraps `game`.

        Args:
            game: the game; its moves are the action space, its board the observation.
            params: the game's params; `game.default_params` when None.
            render_mode: None, or "rgb_array" for `render()` to return the board's frame.
        """
        super().__init__()
        if not isinstance(game, TwoPlayerGame):
            raise ValueError(f"{game!r} is not a TwoPlayerGame: wrap one of {_game_ids()}.")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: jaxrl games render 'rgb_array' only.")
        params = game.default_params if params is None else params
        self.game = game
        self.render_mode = render_mode
        # Per instance: PettingZoo's str(env) reads the name from here.
        self.metadata = {**type(self).metadata, "name": game.name}
        self.possible_agents = list(AGENTS)
        self.agents = []
        obs_shape = game.observation_space(params).shape
        # One space object per agent, as PettingZoo's seeding of spaces expects.
        self.observation_spaces = {
            agent: gymnasium.spaces.Dict(
                {
                    "observation": gymnasium.spaces.Box(0, 1, obs_shape, np.int8),
                    "action_mask": gymnasium.spaces.Box(0, 1, (game.num_moves,), np.int8),
                }
            )
            for agent in AGENTS
        }
        self.action_spaces = {agent: gymnasium.spaces.Discrete(game.num_moves) for agent in AGENTS}
        # Device scalars made once: a NumPy argument costs a host-to-device copy on every call.
        self._device_actions = [jax.device_put(np.int32(a)) for a in range(game.num_moves)]
        self._key = None
        self._state = None
        self._view = None

        def view(state: GameState, terminated, truncated, rewards) -> dict[str, jax.Array]:
            """What the host reads after a move, from the state the move left."""
            observations = jnp.stack(
                [game.observation(state.replace(current_player=jnp.int32(p))) for p in (0, 1)]
            )
            ended = terminated | truncated
            return {
                "observations": observations.astype(jnp.int8),
                "action_mask": (state.legal_action_mask & ~ended).astype(jnp.int8),
                "current_player": state.current_player,
                "rewards": rewards,
                "terminated": terminated,
                "truncated": truncated,
            }

        def reset(key):
            key, key_reset = jax.random.split(key)
            _, state = game.reset(key_reset, params)
            no = jnp.zeros((), bool)
            return key, state, view(state, no, no, jnp.zeros(2, jnp.float32))

        def step(key, state, action):
            # The episode's key folded with the move count rather than split: it stays as reset
            # left it, so the call need not return it.
            _, state, _, terminated, truncated, info = game.step_without_reset(
                jax.random.fold_in(key, state.time), state, action, params
            )
            return state, view(state, terminated, truncated, info["rewards"])

        self._reset_fn = jax.jit(reset)
        self._step_fn = jax.jit(step)
        self._render_fn = jax.jit(lambda state: game.render(state, params))

    def observation_space(self, agent: str) -> gymnasium.spaces.Dict:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gymnasium.spaces.Discrete:
        return self.action_spaces[agent]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """`agent`'s observation: its board planes, and the legal moves if it is to move."""
        if self._view is None:
            raise RuntimeError("Call reset() before observe().")
        player = AGENTS.index(agent)
        to_move = player == int(self._view["current_player"])
        mask = self._view["action_mask"]
        return {
            "observation": self._view["observations"][player].copy(),
            "action_mask": mask.copy() if to_move else np.zeros_like(mask),
        }

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """Starts a new game; `seed` (or fresh entropy the first time) seeds its key stream."""
        if seed is not None or self._key is None:
            self._key = jax.random.key(int(np.random.SeedSequence(seed).generate_state(1)[0]))
        self._key, self._state, view = self._reset_fn(self._key)
        self._view = jax.device_get(view)
        self.agents = list(AGENTS)
        self.rewards = dict.fromkeys(AGENTS, 0.0)
        self._cumulative_rewards = dict.fromkeys(AGENTS, 0.0)
        self.terminations = dict.fromkeys(AGENTS, False)
        self.truncations = dict.fromkeys(AGENTS, False)
        self.infos = {agent: {} for agent in AGENTS}
        self._skip_agent_selection = None
        self.agent_selection = AGENTS[int(self._view["current_player"])]

    def step(self, action: int | None) -> None:
        """Plays `action` for `agent_selection`; a finished agent steps with None to leave."""
        if self._view is None:
            raise RuntimeError("Call reset() before step().")
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if not self.action_spaces[agent].contains(action):
            raise ValueError(
                f"action={action!r} for {agent}: give an int in [0, {self.game.num_moves})."
            )
        self._state, view = self._step_fn(self._key, self._state, self._device_actions[int(action)])
        self._view = view = jax.device_get(view)
        terminated, truncated = bool(view["terminated"]), bool(view["truncated"])
        self.rewards = {a: float(r) for a, r in zip(AGENTS, view["rewards"], strict=True)}
        self.terminations = dict.fromkeys(AGENTS, terminated)
        self.truncations = dict.fromkeys(AGENTS, truncated)
        # The mover's cumulative reward was read by its last(); what it gets now starts afresh.
        self._cumulative_rewards[agent] = 0.0
        self._accumulate_rewards()
        self.agent_selection = AGENTS[int(view["current_player"])]

    def render(self) -> np.ndarray | None:
        """The board as uint8 `[H, W, 3]` (the game's `render`), None without a render mode."""
        if self.render_mode != "rgb_array":
            return None
        if self._state is None:
            raise RuntimeError("Call reset() before render().")
        return np.asarray(self._render_fn(self._state))

    def close(self) -> None:
        """Lets go of the game's state; `reset()` starts a new one."""
        self._state = self._view = None


def make_aec(env_id_or_game: str | TwoPlayerGame, *, render_mode: str | None = None) -> GameAECEnv:
    """A registered two-player game (by id, e.g. "TicTacToe-v0") or a game as a PettingZoo AEC
    env with agents "player_0" and "player_1".

    Args:
        env_id_or_game: a registered id whose env is a `TwoPlayerGame`, or such a game.
        render_mode: None, or "rgb_array".

    Returns:
        The AEC env, to be `reset()` before use.
    """
    if isinstance(env_id_or_game, str):
        game, params = registry.make(env_id_or_game)
        if not isinstance(game, TwoPlayerGame):
            raise ValueError(
                f"{env_id_or_game!r} is not a two-player game: use one of {_game_ids()}."
            )
        return GameAECEnv(game, params, render_mode=render_mode)
    return GameAECEnv(env_id_or_game, render_mode=render_mode)


def _game_ids() -> list[str]:
    """The registered ids whose env is a `TwoPlayerGame`."""
    return [
        env_id
        for env_id in registry.registered()
        if isinstance(registry.make(env_id)[0], TwoPlayerGame)
    ]
