"""PPO's default configs, every seed trained in one compiled program: the README's results table.

For each env, `jax.jit(jax.vmap(train))` trains all seeds at once with `ppo.default_config`; each
seed's final policy is scored by the mean return of `--episodes` deterministic evaluation episodes,
and a seed counts as solved when its score reaches the env's threshold (GridWorld: the layout's
optimal return). Compile and run times are measured apart, from `jax.jit` to trained params.

    python experiments/ppo_table.py --envs CartPole-v1 Acrobot-v1 --seeds 16
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jaxrl import envs
from jaxrl.agents import ppo
from jaxrl.files import write_json
from jaxrl.machine import cpu_model


def threshold(env_id: str, env_params: envs.EnvParams) -> float:
    return ppo.solved_threshold(env_id, env_params)


def run_env(env_id: str, num_seeds: int, num_episodes: int, seed: int) -> dict:
    """Trains `num_seeds` seeds of `env_id`'s default config in one program and scores them.

    Returns:
        A JSON-ready row: the threshold, per-seed scores, solved count, compile and run seconds.
    """
    env, env_params = envs.make(env_id)
    config = ppo.default_config(env_id)
    key_train, key_eval = jax.random.split(jax.random.key(seed))
    keys = jax.random.split(key_train, num_seeds)

    start = time.perf_counter()
    train = jax.jit(jax.vmap(ppo.make_train(config, env, env_params)))
    compiled = train.lower(keys).compile()
    compiled_at = time.perf_counter()
    result = jax.block_until_ready(compiled(keys))
    trained_at = time.perf_counter()

    evaluate = jax.jit(jax.vmap(ppo.make_evaluate(config, env, env_params, num_episodes)))
    eval_keys = jax.random.split(key_eval, num_seeds)
    obs_stats = result.obs_stats if config.normalize_observations else None
    scores = np.asarray(evaluate(result.params, eval_keys, obs_stats)).mean(axis=1)
    bar = threshold(env_id, env_params)
    return {
        "env": env_id,
        "threshold": bar,
        "seeds": num_seeds,
        "episodes": num_episodes,
        "solved": int(np.sum(scores >= bar)),
        "scores": scores.tolist(),
        "mean": float(scores.mean()),
        "std": float(scores.std()),
        "total_timesteps": config.num_updates * config.batch_size,
        "compile_s": compiled_at - start,
        "train_s": trained_at - compiled_at,
        "config": {k: v for k, v in vars(config).items()},
    }


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| env | threshold | solved / seeds | score (mean ± std) | env steps per seed "
        "| compile (s) | train (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['env']} | {row['threshold']:g} | {row['solved']} / {row['seeds']} "
            f"| {row['mean']:.1f} ± {row['std']:.1f} | {row['total_timesteps']:,} "
            f"| {row['compile_s']:.1f} | {row['train_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=ppo.defaults.tuned_env_ids())
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="master PRNG seed")
    parser.add_argument("--out", type=Path, default=Path("results/ppo_table.json"))
    args = parser.parse_args(argv)

    command = "python " + shlex.join([sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    rows = []
    for env_id in args.envs:
        rows.append(run_env(env_id, args.seeds, args.episodes, args.seed))
        row = rows[-1]
        print(
            f"{env_id}: {row['solved']}/{row['seeds']} solved, compile {row['compile_s']:.1f} s, "
            f"train {row['train_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    cpu = cpu_model()
    print(markdown_table(rows))
    print(
        f"\nCPU: {cpu} ({os.cpu_count()} cores), jax {jax.__version__}, "
        f"backend {jax.default_backend()}. Command: `{command}`"
    )
    write_json(
        args.out,
        {
            "cpu": cpu,
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "command": command,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
