"""Tuned PQN configs per registered env: `default_config(env_id)`.

Each solves its env (the mean return of 100 greedy episodes reaching `env.reward_threshold`) on
at least 14 of 16 seeds, with the smallest budget found to do so.
"""

from __future__ import annotations

from jaxrl.agents.pqn.config import PQNConfig

#: What the tuned configs share: rollouts of 32 envs x 32 steps, 4 epochs of 16 minibatches,
#: Adam at 1e-3 annealed to 0, epsilon from 1 to 0.05 over the first 20% of the updates.
_TUNED = PQNConfig(num_envs=32, num_steps=32, learning_rate=1e-3)

_CONFIGS: dict[str, PQNConfig] = {
    "Acrobot-v1": _TUNED.replace(total_timesteps=131_072, q_lambda=0.95),
    # 64x64 hidden layers: 46 of 48 seeds (128x128: 48 of 48) in half the run time.
    "CartPole-v1": _TUNED.replace(
        total_timesteps=98_304, q_lambda=0.98, epsilon_finish=0.01, hidden_sizes=(64, 64)
    ),
    # Exploration by optimism: Q-values start near 0, above every return (-1 a step), so the
    # near-greedy policy (epsilon 0.05 -> 0) tries what it has not yet found to be bad. With 8
    # envs each update averages over few trajectories and the optimism lasts until the flag is
    # found; with 32 envs or more it fades first, and epsilon-greedy exploration (epsilon from 1)
    # reached the flag on at most 13 of 16 seeds, solving 2.
    "MountainCar-v0": _TUNED.replace(
        total_timesteps=524_288,
        num_envs=8,
        normalize_observations=True,
        q_lambda=0.9,
        epsilon_start=0.05,
        epsilon_finish=0.0,
        epsilon_anneal_fraction=0.5,
    ),
    # One-step targets (lambda 0) learn the greedy path along the cliff's edge; traces of the
    # exploring policy would favour the safer detour.
    "GridWorld-CliffWalking-v0": _TUNED.replace(
        total_timesteps=131_072, q_lambda=0.0, epsilon_finish=0.1
    ),
    "GridWorld-FourRooms-v0": _TUNED.replace(total_timesteps=131_072, q_lambda=0.9),
    "GridWorld-OpenRoom-v0": _TUNED.replace(total_timesteps=32_768, q_lambda=0.9),
}


def default_config(env_id: str) -> PQNConfig:
    """The tuned config for `env_id`; for any other env (gymnax's too) a generic default."""
    return _CONFIGS.get(env_id, PQNConfig())


def tuned_env_ids() -> list[str]:
    """The ids with a tuned config, sorted."""
    return sorted(_CONFIGS)
