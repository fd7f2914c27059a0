"""How many kernels XLA's CPU backend makes of PPO's program, loop body by loop body.

XLA's CPU backend compiles each fusion as its own kernel and launches each as its own task, so
compile time grows with the number of kernels, and for PPO's small arrays so does run time. This
prints, for each compile level, every loop body's launches per execution (kernels and buffer
copies; the rollout step runs `num_steps` times an update, a minibatch step `update_epochs x
num_minibatches` times), the launch sites in the program and the launches in one run; with
`--time`, the run's wall and CPU seconds too (one warm-up run, then the median of `--runs`,
each run listed: a run whose CPU seconds exceed its wall used the runtime's second thread).

    python experiments/ppo_kernels.py                      # CartPole-v1's tuned default
    python experiments/ppo_kernels.py --env MountainCar-v0 --total-timesteps 200000 --time
    python experiments/ppo_kernels.py --xla-option xla_cpu_opt_preset=CPU_OPT_PRESET_FAST_COMPILE
    python experiments/ppo_kernels.py --seeds 8 --levels fast --time   # 8 seeds vmapped
    python experiments/ppo_kernels.py --rejax-hp --levels fast --time --runs 12
"""

from __future__ import annotations

import statistics
import sys
import time

import jax

from jaxrl import envs
from jaxrl.agents import ppo
from jaxrl.cli.parser import ArgumentParser
from jaxrl.compilation import CompileOptions, loop_bodies

#: `--levels` name -> `CompileOptions.fast_compile`.
LEVELS = {"default": False, "fast": "fast", "fastest": "fastest"}


def main(argv: list[str] | None = None) -> int:
    """Prints the kernel counts (and with `--time` the run times); 0, or 2 when XLA refuses an
    option."""
    parser = ArgumentParser(prog="ppo_kernels.py", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--levels", nargs="+", choices=list(LEVELS), default=list(LEVELS))
    parser.add_argument("--total-timesteps", type=int, help="override the default config's")
    parser.add_argument("--time", action="store_true", help="also time each compiled run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs with --time (default 3)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds vmapped in one program")
    parser.add_argument(
        "--rejax-hp", action="store_true", help="rejax's published CartPole hyperparameters"
    )
    parser.add_argument(
        "--xla-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra XLA compiler option for every level (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.seeds < 1:
        parser.error(f"--runs {args.runs} --seeds {args.seeds}: pass positive counts.")
    extra = {}
    for option in args.xla_option:
        name, sep, value = option.partition("=")
        if not sep:
            parser.error(f"--xla-option {option!r}: write it as NAME=VALUE.")
        extra[name] = value
    try:
        env, env_params = envs.make(args.env)
        config = ppo.default_config(args.env)
        if args.rejax_hp:
            from jaxrl.bench.ppo import jaxrl_rejax_config

            config = jaxrl_rejax_config(config)
        if args.total_timesteps is not None:
            config = config.replace(total_timesteps=args.total_timesteps)
    except ValueError as error:
        parser.error(str(error))
    train, key = ppo.make_train(config, env, env_params), jax.random.key(0)
    if args.seeds > 1:
        train, key = jax.vmap(train), jax.random.split(key, args.seeds)
    lowered = jax.jit(train).lower(key)
    print(f"{args.env}: {config.num_envs} envs x {config.num_steps} steps, {config.update_epochs}")
    print(
        f"epochs x {config.num_minibatches} minibatches, {config.num_updates} updates, "
        f"{args.seeds} seed(s); extra XLA options {extra}"
    )
    picked = ppo.compile_options(config, runs_per_device=args.seeds)
    print(f"ppo.compile_options picks {picked}")
    for level in args.levels:
        for parallel_tasks in (True, False):
            options = CompileOptions(fast_compile=LEVELS[level], parallel_tasks=parallel_tasks)
            start = time.perf_counter()
            try:
                compiled = lowered.compile(compiler_options={**options.xla_options(), **extra})
            except jax.errors.JaxRuntimeError as error:
                print(f"error: XLA refused {extra}: {str(error).splitlines()[0]}", file=sys.stderr)
                return 2
            seconds = time.perf_counter() - start
            bodies = loop_bodies(compiled.as_text())
            sites = sum(body.launches for body in bodies)
            runs = sum(body.launches * (body.executions or 0) for body in bodies)
            timing = _time_runs(compiled, key, args.runs) if args.time else ""
            print(
                f"\nfast_compile={LEVELS[level]!r}, parallel_tasks={parallel_tasks}: {sites} "
                f"launch sites (kernels and copies), {runs:,} launches a run, compiled in "
                f"{seconds:.2f} s{timing}"
            )
            for body in bodies:
                trips = "" if body.trip_count is None else f" x{body.trip_count}"
                print(f"  {'  ' * body.depth}{body.launches:4d}  {body.name}{trips}")
    return 0


def _time_runs(compiled, key, runs: int) -> str:
    """One warm-up run, then `runs` timed ones: their median wall and CPU seconds, and each."""
    jax.block_until_ready(compiled(key))
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(compiled(key))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    each = ", ".join(f"{wall:.2f}/{cpu:.2f}" for wall, cpu in zip(walls, cpus, strict=True))
    return (
        f"; run {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU"
        f" (each run wall/CPU s: {each})"
    )


if __name__ == "__main__":
    sys.exit(main())
