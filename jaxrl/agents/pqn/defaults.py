"""Tuned PQN configs per registered env: `default_config(env_id)`."""

from __future__ import annotations

from jaxrl.agents.pqn.config import PQNConfig

_CONFIGS: dict[str, PQNConfig] = {
    "CartPole-v1": PQNConfig(),
}


def default_config(env_id: str) -> PQNConfig:
    """The tuned config for `env_id`; for any other env (gymnax's too) a generic default."""
    return _CONFIGS.get(env_id, PQNConfig())


def tuned_env_ids() -> list[str]:
    """The ids with a tuned config, sorted."""
    return sorted(_CONFIGS)
