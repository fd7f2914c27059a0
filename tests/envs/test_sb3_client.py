"""A real Gymnasium client: Stable-Baselines3 checks `jaxrl/CartPole-v1` with its own env checker
and its PPO learns on it. Skipped when SB3 (and PyTorch) are not installed."""

import gymnasium as gym
import pytest

sb3 = pytest.importorskip(
    "stable_baselines3",
    reason="Stable-Baselines3 is an optional client: pip install stable-baselines3",
)

import jaxrl.envs.gymnasium_interop  # noqa: E402,F401  (registers "jaxrl/<id>")


def test_sb3_env_checker_accepts_the_adapter():
    from stable_baselines3.common.env_checker import check_env

    check_env(gym.make("jaxrl/CartPole-v1").unwrapped, warn=True)


@pytest.mark.slow
def test_sb3_ppo_learns_cartpole_through_the_adapter():
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)  # a small MLP: more threads only contend on a shared CPU
    env = Monitor(gym.make("jaxrl/CartPole-v1"))
    model = PPO("MlpPolicy", env, n_steps=512, batch_size=64, n_epochs=10, seed=0, device="cpu")
    # The untrained policy is near-uniform: a random policy keeps the pole up ~22 steps.
    untrained, _ = evaluate_policy(model, env, n_eval_episodes=10, deterministic=False)
    model.learn(total_timesteps=6144)  # 12 rollouts of 512 steps
    trained, _ = evaluate_policy(model, env, n_eval_episodes=10, deterministic=True)
    assert untrained < 60
    # Measured: 455 after 5120 steps (seed 0); 150 leaves room for other library versions.
    assert trained > 150, f"SB3 PPO reached only {trained:.1f} on jaxrl/CartPole-v1"
