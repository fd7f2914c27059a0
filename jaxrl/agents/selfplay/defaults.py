"""Tuned self-play configs per game: `default_config(env_id)`."""

from __future__ import annotations

from jaxrl.agents.selfplay.config import SelfPlayConfig

_CONFIGS: dict[str, SelfPlayConfig] = {
    "TicTacToe-v0": SelfPlayConfig(
        total_timesteps=300_000,
        num_envs=64,
        num_steps=16,
        update_epochs=4,
        num_minibatches=4,
        hidden_sizes=(128, 128),
        activation="relu",
        learning_rate=1e-3,
        gamma=1.0,
        gae_lambda=0.95,
        ent_coef=0.01,
        league_size=8,
        snapshot_interval=10,
    ),
    "ConnectFour-v0": SelfPlayConfig(
        total_timesteps=2_000_000,
        num_envs=128,
        num_steps=32,
        update_epochs=4,
        num_minibatches=4,
        hidden_sizes=(256, 256),
        activation="relu",
        learning_rate=5e-4,
        gamma=1.0,
        gae_lambda=0.95,
        ent_coef=0.01,
        league_size=8,
        snapshot_interval=10,
    ),
}


def tuned_env_ids() -> tuple[str, ...]:
    """The games with a tuned self-play config."""
    return tuple(_CONFIGS)


def default_config(env_id: str) -> SelfPlayConfig:
    """The tuned config for `env_id`; a one-line ValueError naming the games that have one."""
    if env_id not in _CONFIGS:
        raise ValueError(
            f"self-play has no tuned config for {env_id!r}; tuned: {', '.join(_CONFIGS)}."
        )
    return _CONFIGS[env_id]
