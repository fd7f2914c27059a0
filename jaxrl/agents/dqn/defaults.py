"""Tuned DQN configs per env: `default_config(env_id)`."""

from __future__ import annotations

from jaxrl.agents.dqn.config import DQNConfig

_CONFIGS: dict[str, DQNConfig] = {
    "CartPole-v1": DQNConfig(
        total_timesteps=50_000,
        num_envs=8,
        num_steps=32,
        replay_ratio=0.5,
        batch_size=64,
        buffer_size=50_000,
        learning_starts=1_000,
        target_update_interval=128,
        hidden_sizes=(256, 256),
        learning_rate=2.3e-3,
        exploration_fraction=0.16,
        epsilon_end=0.04,
    ),
}


def default_config(env_id: str) -> DQNConfig:
    """The tuned config for `env_id`; for any other env a generic default."""
    return _CONFIGS.get(env_id, DQNConfig())


def tuned_env_ids() -> list[str]:
    """The ids with a tuned config, sorted."""
    return sorted(_CONFIGS)
