"""Stable-Baselines3 on Gymnasium's envs, torch on the CPU: an optional contestant.

`train_and_evaluate` is its PPO on CartPole-v1 for the PPO benchmark (below);
`train_and_evaluate_zoo` its DQN or SAC at the RL Zoo's hyperparameters for the learners one.

Install it with `pip install -e ".[sb3]"`; on a machine without a GPU, install a CPU build of
torch first so that no CUDA build is pulled in. When `stable_baselines3` or `torch` fails to
import, the PPO benchmark skips this contestant with a note naming the error.

The hyperparameters are the RL Baselines3 Zoo's tuned CartPole-v1 PPO (`RL_ZOO_CARTPOLE`).
`train_and_evaluate` marks the PPO benchmark's clock as the JAX contestants do: "call" before
the envs and the model are built, "compiled" once they are (SB3 compiles nothing), "trained"
at the end of `learn` and "evaluated" after `evaluate_policy`'s 100 deterministic episodes on
Gymnasium's CartPole-v1 (whose dynamics jaxrl's CartPole matches, as the parity tests check),
played on `EVAL_ENVS` envs at once as jaxrl plays them in parallel. Its curve is the mean return
of the training episodes that ended in each rollout, at the wall time that rollout ended. Unlike
the fused JAX programs, which run their whole budget, SB3 stops once a rollout's mean return
reaches Gymnasium's `reward_threshold` (its wall clock to solve, at most the Zoo's 100k steps:
this favours SB3, never jaxrl, and keeps a CPU run within minutes).
"""

from __future__ import annotations

import time
from typing import Any

from jaxrl.bench import harness

ENV_ID = "CartPole-v1"
EVAL_EPISODES = 100
#: Envs `evaluate_policy` plays at once (each plays EVAL_EPISODES / EVAL_ENVS episodes).
EVAL_ENVS = 10
#: rl-baselines3-zoo `hyperparams/ppo.yml`, CartPole-v1 (`lin_x`: x decayed linearly to 0).
RL_ZOO_CARTPOLE = {
    "n_envs": 8,
    "n_timesteps": 100_000,
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,
    "clip_range": 0.2,
}


def linear(initial: float):
    """SB3's schedule convention: a function of the progress remaining (1 -> 0)."""
    return lambda progress_remaining: progress_remaining * initial


def train_and_evaluate(
    seed: int, total_timesteps: int | None, clock: harness.Clock
) -> dict[str, Any]:
    """One cold SB3 run in this (child) process, marking `clock` (see the module docstring).

    Returns:
        "env_steps" (trained), "eval_returns" (`[1]`, the mean over the episodes), "curve"
        (`(seconds since "call", env steps, mean return)` points) and "config".
    """
    import gymnasium
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    # One thread: on a 64-unit MLP more threads only add synchronisation, and on a shared
    # machine they spin against other processes.
    torch.set_num_threads(1)
    clock.mark("imported")
    hp = dict(RL_ZOO_CARTPOLE)
    solved_return = gymnasium.spec(ENV_ID).reward_threshold  # 475, as jaxrl's env gives it
    timesteps = hp["n_timesteps"] if total_timesteps is None else total_timesteps

    class CurveCallback(BaseCallback):
        """Mean return of the episodes that ended in each rollout, with the wall time; stops
        training at the first step after a rollout whose mean reached the solved return."""

        def __init__(self, start: float):
            super().__init__()
            self.start = start
            self.pending: list[float] = []
            self.points: list[tuple[float, int, float]] = []
            self.solved = False

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:  # Monitor's record of an episode that just ended
                    self.pending.append(float(info["episode"]["r"]))
            return not self.solved

        def _on_rollout_end(self) -> None:
            if self.pending:
                mean = sum(self.pending) / len(self.pending)
                elapsed = time.perf_counter() - self.start
                self.points.append((elapsed, int(self.num_timesteps), mean))
                self.pending = []
                self.solved = mean >= solved_return

    clock.mark("call")
    env = make_vec_env(ENV_ID, n_envs=hp["n_envs"], seed=seed)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=hp["n_steps"],
        batch_size=hp["batch_size"],
        gae_lambda=hp["gae_lambda"],
        gamma=hp["gamma"],
        n_epochs=hp["n_epochs"],
        ent_coef=hp["ent_coef"],
        learning_rate=linear(hp["learning_rate"]),
        clip_range=linear(hp["clip_range"]),
        seed=seed,
        device="cpu",
        verbose=0,
    )
    clock.mark("compiled")
    callback = CurveCallback(clock.marks["call"][0])
    model.learn(total_timesteps=timesteps, callback=callback)
    clock.mark("trained")
    eval_env = make_vec_env(ENV_ID, n_envs=EVAL_ENVS, seed=seed + 1)
    returns, _ = evaluate_policy(
        model,
        eval_env,
        n_eval_episodes=EVAL_EPISODES,
        deterministic=True,
        return_episode_rewards=True,
    )
    clock.mark("evaluated")
    return {
        "env_steps": int(model.num_timesteps),
        "eval_returns": [float(sum(returns) / len(returns))],
        "curve": callback.points,
        "config": {
            **hp,
            "total_timesteps": timesteps,
            "stopped_at_solve": callback.solved,
            "torch_threads": torch.get_num_threads(),
            "eval_envs": EVAL_ENVS,
        },
    }


def train_and_evaluate_zoo(
    algo: str, env_id: str, hp: dict[str, Any], seed: int, clock: harness.Clock
) -> dict[str, Any]:
    """One cold run of SB3's `algo` ("DQN" or "SAC") at the RL Zoo's `hp` (its `n_timesteps`
    the whole budget, no early stop) on Gymnasium's `env_id`, one torch thread, marking `clock`
    as `train_and_evaluate` does.

    Returns:
        "env_steps", "eval_returns" (`[1]`, the mean of `EVAL_EPISODES` deterministic
        episodes), "curve" (`(seconds since "call", env steps, return)` per training episode)
        and "config".
    """
    import stable_baselines3
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    torch.set_num_threads(1)  # as in `train_and_evaluate`
    clock.mark("imported")
    settings = dict(hp)
    timesteps = settings.pop("n_timesteps")

    class CurveCallback(BaseCallback):
        """Each training episode's return, with the wall time it ended."""

        def __init__(self, start: float):
            super().__init__()
            self.start = start
            self.points: list[tuple[float, int, float]] = []

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:  # Monitor's record of an episode that just ended
                    elapsed = time.perf_counter() - self.start
                    self.points.append((elapsed, int(self.num_timesteps), info["episode"]["r"]))
            return True

    clock.mark("call")
    env = make_vec_env(env_id, n_envs=1, seed=seed)
    model = getattr(stable_baselines3, algo)(
        "MlpPolicy", env, seed=seed, device="cpu", verbose=0, **settings
    )
    clock.mark("compiled")
    callback = CurveCallback(clock.marks["call"][0])
    model.learn(total_timesteps=timesteps, callback=callback)
    clock.mark("trained")
    eval_env = make_vec_env(env_id, n_envs=EVAL_ENVS, seed=seed + 1)
    returns, _ = evaluate_policy(
        model,
        eval_env,
        n_eval_episodes=EVAL_EPISODES,
        deterministic=True,
        return_episode_rewards=True,
    )
    clock.mark("evaluated")
    return {
        "env_steps": int(model.num_timesteps),
        "eval_returns": [float(sum(returns) / len(returns))],
        "curve": [(t, steps, float(r)) for t, steps, r in callback.points],
        "config": {
            "algo": algo,
            **hp,
            "torch_threads": torch.get_num_threads(),
            "eval_envs": EVAL_ENVS,
        },
    }
