"""Train PPO on a jaxrl env with several seeds in one compiled program, then evaluate.

    python experiments/train.py                       # CartPole-v1, 8 seeds, on the CPU
    python experiments/train.py Acrobot-v1 --seeds 16 --total-timesteps 200000

The seeds are split over every device (`jaxrl.distributed.shard_seeds`): --seeds must be a
multiple of the device count. On several hosts, run the same command on each with
`--distributed --coordinator HOST:PORT --num-processes N --process-id I`.

Prints the compile and run times, each seed's final evaluation return, and writes the config,
per-update metrics and evaluation to `--out` (default runs/<env>-<time>/), each file atomically
(by process 0 only).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from jaxrl import distributed  # noqa: E402  (after the platform choice; starts no backend)
from jaxrl.reporting import write_json_atomically  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id", nargs="?", default="CartPole-v1", help="a registered env id")
    parser.add_argument("--seeds", type=int, default=8, help="seeds trained in parallel")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--total-timesteps", type=int, default=None, help="override the config")
    parser.add_argument("--episodes", type=int, default=100, help="evaluation episodes per seed")
    parser.add_argument("--out", type=Path, default=None, help="run directory to write")
    distributed.add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    process_start = time.perf_counter()
    distributed.initialize_from_args(args)  # before anything starts JAX's backend
    import jax
    import numpy as np

    from jaxrl import envs
    from jaxrl.agents import ppo
    from jaxrl.compilation import compile_program

    # Every bad input fails here, in one line, before anything compiles.
    try:
        if args.seeds < 1:
            raise ValueError(f"--seeds {args.seeds}: train at least one seed.")
        env, env_params = envs.make(args.env_id)
        config = ppo.default_config(args.env_id)
        if args.total_timesteps is not None:
            config = config.replace(total_timesteps=args.total_timesteps)
        mesh = distributed.make_mesh()
        distributed.check_divisible(args.seeds, mesh, "seeds")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("runs") / f"{args.env_id}-{stamp}"

    train = distributed.sharded_vmap(ppo.make_train(config, env, env_params), mesh)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    print(
        f"PPO on {args.env_id}: {args.seeds} seeds x {config.total_timesteps:,} steps "
        f"({config.num_updates} updates of {config.num_envs} envs x {config.num_steps} steps) "
        f"on {mesh.size} {jax.devices()[0].platform} device(s), {jax.process_count()} process(es)"
    )
    compiled, times = compile_program(train, keys, None)
    run_start = time.perf_counter()
    result = jax.block_until_ready(compiled(keys, None))
    run_s = time.perf_counter() - run_start
    result = distributed.gather(result)

    evaluate = jax.jit(jax.vmap(ppo.make_evaluate(config, env, env_params, args.episodes)))
    eval_keys = jax.random.split(jax.random.key(args.seed + 10_000), args.seeds)
    returns = np.asarray(evaluate(result.params, eval_keys, result.obs_stats))
    per_seed = returns.mean(axis=1)

    metrics = {name: np.asarray(value).tolist() for name, value in result.metrics.items()}
    if jax.process_index() == 0:
        write_json_atomically(
            out / "config.json", {"env_id": args.env_id, **dataclasses.asdict(config)}
        )
        write_json_atomically(out / "metrics.json", metrics)
        write_json_atomically(
            out / "evaluation.json",
            {"episodes_per_seed": args.episodes, "mean_return_per_seed": per_seed.tolist()},
        )
    print(
        f"trace {times.trace_s:.2f} s, compile {times.compile_s:.2f} s, "
        f"train {run_s:.2f} s ({args.seeds * config.num_updates * config.batch_size / run_s:,.0f}"
        f" env steps/s), process {time.perf_counter() - process_start:.2f} s"
    )
    print("final evaluation return per seed: " + " ".join(f"{r:.1f}" for r in per_seed))
    print(f"mean {per_seed.mean():.1f} +- {per_seed.std():.1f}; results in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
