"""Sweep PPO's numeric hyperparameters: every point x every seed in one program, over all devices.

    python experiments/sweep.py CartPole-v1 --seeds 4 --set learning_rate=1e-3,5e-3
    python experiments/sweep.py Acrobot-v1 --seeds 2 --set learning_rate=1e-4,3e-4 \\
        --set clip_eps=0.1,0.2 --total-timesteps 100000

The grid is the product of the `--set` values (`ppo.hyperparams_grid`); points x seeds runs are
split over every device (`jaxrl.distributed.shard_seeds`), so their number must be a multiple of
the device count. On several hosts, run the same command on each with
`--distributed --coordinator HOST:PORT --num-processes N --process-id I`.

Prints each point's final evaluation return (mean +- std over seeds) and writes `sweep.json` (the
points, per-run evaluation and per-update metrics) to `--out`, atomically, from process 0.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from jaxrl import distributed  # noqa: E402  (after the platform choice; starts no backend)
from jaxrl.reporting import write_json_atomically


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id", help="a registered env id")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per point")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="values of one numeric hyperparameter (repeat for a grid)",
    )
    parser.add_argument("--total-timesteps", type=int, default=None, help="override the config")
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per run")
    parser.add_argument("--out", type=Path, default=None, help="directory for sweep.json")
    distributed.add_arguments(parser)
    return parser.parse_args(argv)


def parse_values(settings: list[str]) -> dict[str, list[float]]:
    """`["learning_rate=1e-4,3e-4"]` -> `{"learning_rate": [1e-4, 3e-4]}`; one-line errors."""
    values = {}
    for setting in settings:
        name, sep, listed = setting.partition("=")
        try:
            numbers = [float(v) for v in listed.split(",")] if sep else []
        except ValueError:
            numbers = []
        if not numbers:
            raise ValueError(
                f"--set {setting!r}: write NAME=V1,V2,... (e.g. learning_rate=1e-4,3e-4)."
            )
        if name in values:
            raise ValueError(f"--set {name} given twice: list all its values in one --set.")
        values[name] = numbers
    if not values:
        raise ValueError(
            "nothing to sweep: add --set NAME=V1,V2,... (e.g. learning_rate=1e-4,3e-4)."
        )
    return values


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    distributed.initialize_from_args(args)  # before anything starts JAX's backend
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxrl import envs
    from jaxrl.agents import ppo
    from jaxrl.compilation import compile_program

    # Every bad input fails here, in one line, before anything compiles.
    try:
        if args.seeds < 1:
            raise ValueError(f"--seeds {args.seeds}: run at least one seed per point.")
        env, env_params = envs.make(args.env_id)
        config = ppo.default_config(args.env_id)
        if args.total_timesteps is not None:
            config = config.replace(total_timesteps=args.total_timesteps)
        grid, points = ppo.hyperparams_grid(config, **parse_values(args.values))
        mesh = distributed.make_mesh()
        distributed.check_divisible(len(points) * args.seeds, mesh, "runs (points x seeds)")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("runs") / f"sweep-{args.env_id}-{stamp}"

    # Run r is point r // seeds with seed r % seeds: every point sees the same seeds.
    num_runs = len(points) * args.seeds
    hyperparams = jax.tree.map(lambda leaf: jnp.repeat(leaf, args.seeds), grid)
    seed_keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    keys = jnp.tile(seed_keys, len(points))
    program = distributed.sharded_vmap(
        ppo.make_train(config, env, env_params), mesh, batched_hyperparams=True
    )
    print(
        f"PPO sweep on {args.env_id}: {len(points)} points x {args.seeds} seeds = {num_runs} runs "
        f"of {config.total_timesteps:,} steps on {mesh.size} {jax.devices()[0].platform} "
        f"device(s), {jax.process_count()} process(es)"
    )
    compiled, times = compile_program(program, keys, hyperparams)
    start = time.perf_counter()
    result = distributed.gather(jax.block_until_ready(compiled(keys, hyperparams)))
    run_s = time.perf_counter() - start

    evaluate = jax.jit(jax.vmap(ppo.make_evaluate(config, env, env_params, args.episodes)))
    eval_keys = jax.random.split(jax.random.key(args.seed + 10_000), num_runs)
    returns = np.asarray(evaluate(result.params, eval_keys, result.obs_stats)).mean(axis=1)
    per_point = returns.reshape(len(points), args.seeds)

    print(f"compile {times.trace_s + times.compile_s:.1f} s, train {run_s:.1f} s")
    for point, scores in zip(points, per_point, strict=True):
        setting = ", ".join(f"{name}={value:g}" for name, value in point.items())
        print(f"{setting}: {scores.mean():.1f} +- {scores.std():.1f}")
    if jax.process_index() == 0:
        metrics = {
            name: np.asarray(value).reshape(len(points), args.seeds, -1).tolist()
            for name, value in result.metrics.items()
        }
        write_json_atomically(
            out / "sweep.json",
            {
                "env_id": args.env_id,
                "seeds": args.seeds,
                "points": points,
                "evaluation_per_point_and_seed": per_point.tolist(),
                "metrics_per_point_seed_update": metrics,
                "compile_s": times.trace_s + times.compile_s,
                "train_s": run_s,
                "devices": mesh.size,
                "processes": jax.process_count(),
            },
        )
        print(f"results in {out}/sweep.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
