"""Stable-Baselines3's PPO on Gymnasium's CartPole-v1, torch on the CPU: an optional contestant.

Install it with `pip install -e ".[sb3]"`; on a machine without a GPU, install a CPU build of
torch first (`pip install torch==2.13.0` where a CPU wheel is preinstalled) so that no CUDA
build is pulled in. When `stable_baselines3` or `torch` is
missing, `missing()` says so and the PPO benchmark skips this contestant with that note.

The hyperparameters are the RL Baselines3 Zoo's tuned CartPole-v1 PPO (`RL_ZOO_CARTPOLE`).
The child records the same fields as the JAX contestants' children (`jaxrl.bench.ppo`); SB3
compiles nothing, so its trace and compile seconds are 0 and `jit_to_params_s` runs from
building the model to the end of `learn`. Its curve is the mean return of the training
episodes that ended in each rollout, at the wall time that rollout ended. Unlike the fused JAX
programs, which run their whole budget, SB3 stops once a rollout's mean return reaches 475
(its wall clock to solve, at most the Zoo's 100k steps: this favours SB3, never jaxrl, and
keeps a CPU run within minutes); its evaluation is
100 deterministic episodes on Gymnasium's CartPole-v1 (whose dynamics jaxrl's CartPole matches,
as the parity tests check).
"""

from __future__ import annotations

import time
from typing import Any

from jaxrl.bench import harness

ENV_ID = "CartPole-v1"
EVAL_EPISODES = 100
SOLVED_RETURN = 475.0
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


def missing() -> str | None:
    """Why SB3 cannot run here (a line naming the install), or None when it can."""
    absent = [name for name in ("stable_baselines3", "torch") if not harness.installed(name)]
    if not absent:
        return None
    return (
        f"{' and '.join(absent)} not installed (pip install -e '.[sb3]'; on a CPU-only "
        "machine install a CPU build of torch first)"
    )


def linear(initial: float):
    """SB3's schedule convention: a function of the progress remaining (1 -> 0)."""
    return lambda progress_remaining: progress_remaining * initial


def run_child(seed: int, total_timesteps: int | None, spawned_at: float) -> dict[str, Any]:
    """One cold SB3 measurement in this (child) process, as a JSON-able dict."""
    clock = harness.Clock()
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    # One thread: on a 64-unit MLP more threads only add synchronisation, and on a shared
    # machine they spin against other processes (measured on a loaded 2-core machine: 2048
    # steps took 0.8 s with one thread, 45 s with two).
    torch.set_num_threads(1)
    clock.mark("jax")  # the heavy imports, as JAX's import is for the other contestants
    clock.mark("imported")
    hp = dict(RL_ZOO_CARTPOLE)
    timesteps = hp["n_timesteps"] if total_timesteps is None else total_timesteps

    class CurveCallback(BaseCallback):
        """Mean return of the episodes that ended in each rollout, with the wall time; stops
        training at the first step after a rollout whose mean reached `SOLVED_RETURN`."""

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
                self.solved = mean >= SOLVED_RETURN

    clock.mark("jit")
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
    callback = CurveCallback(clock.marks["jit"][0])
    model.learn(total_timesteps=timesteps, callback=callback)
    clock.mark("params")
    run_s = clock.wall("compiled", "params")
    env_steps = int(model.num_timesteps)
    record = {
        "name": "sb3",
        "seed": seed,
        "trace_s": 0.0,
        "compile_s": 0.0,
        "trace_compile_s": 0.0,
        "run_s": run_s,
        "jit_to_params_s": clock.wall("jit", "params"),
        "process_s": clock.marks["params"][2] - spawned_at,
        "interpreter_s": clock.marks["start"][2] - spawned_at,
        "import_jax_s": clock.wall("start", "jax"),
        "import_s": clock.wall("start", "imported"),
        "setup_s": clock.wall("jit", "compiled"),
        "trace_compile_cpu_s": 0.0,
        "run_cpu_s": clock.cpu("compiled", "params"),
        "jit_to_params_cpu_s": clock.cpu("jit", "params"),
        "process_cpu_s": clock.marks["params"][1],
        "env_steps": env_steps,
        "steps_per_s": env_steps / run_s,
        "steps_per_cpu_s": env_steps / max(clock.cpu("compiled", "params"), 1e-9),
        "num_seeds": 1,
        "config": {
            **hp,
            "total_timesteps": timesteps,
            "stopped_at_solve": callback.solved,
            "torch_threads": torch.get_num_threads(),
        },
        "curve": {
            "t_s": [t for t, _, _ in callback.points],
            "env_steps": [steps for _, steps, _ in callback.points],
            "return": [value for _, _, value in callback.points],
        },
        "peak_rss_mib": harness.peak_rss_mib(),
        "device_memory": None,
    }
    eval_env = make_vec_env(ENV_ID, n_envs=1, seed=seed + 10_000)
    returns, _ = evaluate_policy(
        model,
        eval_env,
        n_eval_episodes=EVAL_EPISODES,
        deterministic=True,
        return_episode_rewards=True,
    )
    clock.mark("evaluated")
    record.update(
        eval_returns=[float(sum(returns) / len(returns))],
        eval_s=clock.wall("params", "evaluated"),
        compilation_cache=False,
        jax_devices=["cpu (torch)"],
    )
    return record
