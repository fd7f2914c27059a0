"""How many kernels XLA's CPU backend makes of PPO's program, loop body by loop body.

XLA's CPU backend compiles each fusion as its own kernel and launches each as its own task, so
compile time grows with the number of kernels, and for PPO's small arrays so does run time. This
prints, for each compile level, every loop body's launches per execution (kernels and buffer
copies; the rollout step runs `num_steps` times an update, a minibatch step `update_epochs x
num_minibatches` times), the launch sites in the program and the launches in one run.

    python experiments/ppo_kernels.py                      # CartPole-v1's tuned default
    python experiments/ppo_kernels.py --env Pendulum-v1
    python experiments/ppo_kernels.py --xla-option xla_cpu_opt_preset=CPU_OPT_PRESET_FAST_COMPILE
"""

from __future__ import annotations

import argparse
import time

import jax

from jaxrl import envs
from jaxrl.agents import ppo
from jaxrl.compilation import cpu_compile_options, loop_bodies, lower


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument(
        "--xla-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra XLA compiler option for every level (repeatable)",
    )
    args = parser.parse_args(argv)
    extra = {}
    for option in args.xla_option:
        name, sep, value = option.partition("=")
        if not sep:
            parser.error(f"--xla-option {option!r}: write it as NAME=VALUE.")
        extra[name] = value
    env, env_params = envs.make(args.env)
    config = ppo.default_config(args.env)
    train = ppo.make_train(config, env, env_params)
    lowered = lower(train, jax.random.key(0))
    print(f"{args.env}: {config.num_envs} envs x {config.num_steps} steps, {config.update_epochs}")
    print(f"epochs x {config.num_minibatches} minibatches, {config.num_updates} updates; {extra}")
    for level in (False, "fast", "fastest"):
        for single in (False, True):
            options = {**cpu_compile_options(level, parallel_tasks=not single), **extra}
            start = time.perf_counter()
            compiled = lowered.compile(compiler_options=options)
            seconds = time.perf_counter() - start
            bodies = loop_bodies(compiled.as_text())
            kernels = sum(body.launches for body in bodies)
            runs = sum(body.launches * (body.executions or 0) for body in bodies)
            print(
                f"\nfast_compile={level!r}, parallel_tasks={not single}: {kernels} launch sites "
                f"(kernels and copies), {runs:,} launches a run, compiled in {seconds:.2f} s"
            )
            for body in bodies:
                trips = "" if body.trip_count is None else f" x{body.trip_count}"
                print(f"  {'  ' * body.depth}{body.launches:4d}  {body.name}{trips}")


if __name__ == "__main__":
    main()
