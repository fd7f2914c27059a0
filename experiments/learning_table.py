"""A learner's default configs, every seed trained in one compiled program: the README's
learning tables.

For each env, `jax.vmap(train)` trains all seeds at once with `<algo>.default_config`, compiled
with the options jaxrl picks for that many seeds (`compile_options(config, runs_per_device=N)`);
each seed's final policy (the learner's `make_policy`, deterministic) is scored by the mean
return of `--episodes` evaluation episodes, and a seed counts as solved when its score reaches
the env's `reward_threshold` (GridWorld: the layout's optimal return). Trace + compile and run
seconds are measured apart. The table is printed; the rows, the command and the machine go to
`--out` (default `runs/learning_table-<algo>-<UTC time>.json`).

    python experiments/learning_table.py --algo dqn --envs CartPole-v1 Acrobot-v1 --seeds 16
"""

from __future__ import annotations

import dataclasses
import datetime
import shlex
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jaxrl import envs
from jaxrl.agents import ALGORITHMS, learner
from jaxrl.agents.common.policy import play_policy
from jaxrl.cli.parser import ArgumentParser
from jaxrl.compilation import compile_program
from jaxrl.files import write_json
from jaxrl.machine import available_cores, cpu_model


def run_env(algo: str, env_id: str, num_seeds: int, num_episodes: int, seed: int) -> dict:
    """Trains `num_seeds` seeds of `algo`'s default config for `env_id` in one program and
    scores each seed's deterministic policy.

    Returns:
        A JSON-ready row: the threshold (None where the env has none), per-seed scores, solved
        count, compile and run seconds.
    """
    agent = learner(algo)
    env, env_params = envs.make(env_id)
    config = agent.default_config(env_id)
    options = agent.compile_options(config, runs_per_device=num_seeds)
    key_train, key_eval = jax.random.split(jax.random.key(seed))
    keys = jax.random.split(key_train, num_seeds)

    train, times = compile_program(
        jax.vmap(agent.make_train(config, env, env_params)), keys, options=options
    )
    start = time.perf_counter()
    result = jax.block_until_ready(train(keys))
    train_s = time.perf_counter() - start

    policy = agent.make_policy(config, env, env_params, deterministic=True)

    @jax.jit
    @jax.vmap
    def evaluate(learner_state, key):
        params = policy.params(learner_state)
        return play_policy(policy, params, env, env_params, num_episodes, key)

    eval_keys = jax.random.split(key_eval, num_seeds)
    scores = np.asarray(evaluate(result.runner_state.learner, eval_keys)).mean(axis=1)
    bar = env.reward_threshold(env_params)
    return {
        "algo": algo,
        "env": env_id,
        "threshold": None if bar is None else float(bar),
        "seeds": num_seeds,
        "episodes": num_episodes,
        "solved": None if bar is None else int(np.sum(scores >= bar)),
        "scores": scores.tolist(),
        "mean": float(scores.mean()),
        "std": float(scores.std()),
        "total_timesteps": config.num_updates * config.rollout_size,
        "compile_s": times.trace_s + times.compile_s,
        "train_s": train_s,
        "config": dataclasses.asdict(config),
        "compile_options": dataclasses.asdict(options),
    }


def markdown_table(rows: list[dict]) -> str:
    """The results as a GitHub markdown table, one line per env."""
    lines = [
        "| env | threshold | solved / seeds | score (mean ± std) | env steps per seed "
        "| compile (s) | train (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        threshold = "-" if row["threshold"] is None else f"{row['threshold']:g}"
        solved = "-" if row["solved"] is None else row["solved"]
        lines.append(
            f"| {row['env']} | {threshold} | {solved} / {row['seeds']} "
            f"| {row['mean']:.1f} ± {row['std']:.1f} | {row['total_timesteps']:,} "
            f"| {row['compile_s']:.1f} | {row['train_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs the table; 0, or 2 on bad input (one line on stderr)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = ArgumentParser(prog="learning_table.py", description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=ALGORITHMS, default="ppo")
    parser.add_argument("--envs", nargs="+", help="env ids (default: the learner's tuned ones)")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="master PRNG seed")
    parser.add_argument(
        "--out", type=Path, help="JSON file (default runs/learning_table-<algo>-<time>.json)"
    )
    args = parser.parse_args(argv)
    args.envs = args.envs or learner(args.algo).defaults.tuned_env_ids()
    if args.seeds < 1 or args.episodes < 1:
        parser.error(f"--seeds {args.seeds} --episodes {args.episodes}: pass positive counts.")
    for env_id in args.envs:
        try:
            envs.make(env_id)
        except (ValueError, ImportError) as error:  # an unknown id, or gymnax failing to import
            parser.error(f"{env_id}: {error}")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("runs") / f"learning_table-{args.algo}-{stamp}.json"

    command = "python " + shlex.join(["experiments/learning_table.py", *argv])
    rows = []
    for env_id in args.envs:
        rows.append(run_env(args.algo, env_id, args.seeds, args.episodes, args.seed))
        row = rows[-1]
        print(
            f"{env_id}: {row['solved']}/{row['seeds']} solved, compile {row['compile_s']:.1f} s, "
            f"train {row['train_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    cpu, cores = cpu_model(), available_cores()
    print(markdown_table(rows))
    print(
        f"\nCPU: {cpu} ({cores} cores), jax {jax.__version__}, "
        f"backend {jax.default_backend()}. Command: `{command}`"
    )
    write_json(
        out,
        {
            "cpu": cpu,
            "cores": cores,
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "command": command,
            "algo": args.algo,
            "rows": rows,
        },
    )
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
