"""Tuned PPO configs per registered env: `default_config(env_id)`."""

from __future__ import annotations

from jaxrl.agents.ppo.config import PPOConfig

# CartPole: rejax's batch shape (5 envs x 100 steps, 5 epochs x 5 minibatches) with a high
# learning rate annealed to 0 solves it in 40k steps.
_CONFIGS: dict[str, PPOConfig] = {
    "CartPole-v1": PPOConfig(
        total_timesteps=40_000,
        num_envs=5,
        num_steps=100,
        update_epochs=5,
        num_minibatches=5,
        learning_rate=5e-3,
        ent_coef=0.0,
        gamma=0.99,
        gae_lambda=0.95,
        clip_eps=0.2,
        max_grad_norm=0.5,
    ),
}


def default_config(env_id: str) -> PPOConfig:
    """The tuned config for `env_id`; for any other env (gymnax's too) a generic default."""
    return _CONFIGS.get(env_id, PPOConfig())


def tuned_env_ids() -> list[str]:
    return sorted(_CONFIGS)
