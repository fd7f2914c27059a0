"""The `jaxrl` subcommands: train, sweep, eval, render, list.

Each handler checks its input first (plain Python: nothing may start JAX's backend, which fixes
the platform, the CPU device count and the hosts once it starts), then sets JAX up
(`setup_jax`) and only then builds and compiles programs.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from pathlib import Path
from typing import Any

from jaxrl.cli import options
from jaxrl.cli.options import UsageError
from jaxrl.cli.training import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    CURVE_FILE,
    EVALUATION_FILE,
    INTERRUPTED,
    METRICS_FILE,
    RUN_FILES,
    SWEEP_FILE,
    SWEEP_PLOT_FILE,
    Driver,
    RunSpec,
    RunState,
    prepare_out_dir,
    read_spec,
)

PLATFORMS = ("cpu", "gpu", "tpu", "auto")


def add_train(sub) -> None:
    parser = sub.add_parser(
        "train",
        help="train a learner on an env, several seeds in one compiled program",
        description="Train a learner (--algo, PPO by default) on ENV_ID with its tuned config "
        "(`jaxrl list`), every seed in one compiled program, with live progress; writes a run "
        "folder.",
    )
    parser.add_argument("env_id", nargs="?", help="a registered env id (see `jaxrl list`)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds in parallel (default 8)")
    _add_run_arguments(parser, eval_episodes=100)
    parser.set_defaults(handler=run_train)


def add_sweep(sub) -> None:
    parser = sub.add_parser(
        "sweep",
        help="sweep numeric hyperparameters x seeds in one compiled program",
        description="Every grid point x every seed in one compiled program: --set NAME=V1,V2,... "
        "for a numeric hyperparameter of the learner (PPO: learning_rate, gamma, gae_lambda, "
        "clip_eps, ent_coef, vf_coef, max_grad_norm; repeat for a grid); a single value sets any "
        "config field.",
    )
    parser.add_argument("env_id", nargs="?", help="a registered env id (see `jaxrl list`)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per point (default 4)")
    _add_run_arguments(parser, eval_episodes=20)
    parser.set_defaults(handler=run_sweep)


def add_eval(sub) -> None:
    parser = sub.add_parser("eval", help="evaluate a run's latest checkpoint")
    parser.add_argument("run", type=Path, help="a run folder written by `jaxrl train`")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per run")
    parser.add_argument("--stochastic", action="store_true", help="sample actions (else greedy)")
    parser.add_argument("--seed", type=int, default=10_000, help="evaluation seed")
    _add_jax_arguments(parser)
    parser.set_defaults(handler=run_eval)


def add_render(sub) -> None:
    parser = sub.add_parser(
        "render",
        help="render an episode of a trained policy (or a random one) as a GIF",
        description="Render one episode as a GIF: of a run's policy (RUN is a run folder) or of "
        "random actions (RUN is an env id).",
    )
    parser.add_argument("run", help="a run folder, or an env id for a random policy")
    parser.add_argument("--out", type=Path, default=Path("episode.gif"), help="the GIF to write")
    parser.add_argument("--run-index", type=int, default=0, help="which of the run's seeds")
    parser.add_argument("--seed", type=int, default=0, help="the episode's seed")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--fps", type=int, default=30, help="frames per second")
    parser.add_argument("--stochastic", action="store_true", help="sample actions (else greedy)")
    _add_jax_arguments(parser)
    parser.set_defaults(handler=run_render)


def add_list(sub) -> None:
    from jaxrl.agents import ALGORITHMS

    parser = sub.add_parser("list", help="registered envs and the learners tuned for them")
    parser.add_argument("env_id", nargs="?", help="show one env's params and full config")
    parser.add_argument(
        "--algo", choices=ALGORITHMS, default=None, help="whose config to show (default ppo)"
    )
    parser.set_defaults(handler=run_list)


def _add_run_arguments(parser: argparse.ArgumentParser, eval_episodes: int) -> None:
    from jaxrl.agents import ALGORITHMS

    parser.add_argument(
        "--algo",
        choices=ALGORITHMS,
        default=None,
        help="the learner (default ppo)",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a config field (e.g. learning_rate=1e-3, hidden_sizes=64,64) or an env param "
        "(env.gravity=9.0); repeatable",
    )
    parser.add_argument("--config", type=Path, default=None, help="JSON/TOML of config fields")
    parser.add_argument("--total-timesteps", type=int, default=None, help="env steps per run")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="the run's seed: every run's key is split from it (default 0)",
    )
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/...)")
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    parser.add_argument("--resume", type=Path, default=None, metavar="RUN", help="continue RUN")
    parser.add_argument(
        "--chunk-updates", type=int, default=0, help="updates per compiled call (default ~5%%)"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        help="updates between checkpoints (default: every chunk)",
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        default=None,
        help=f"final evaluation episodes per run (default {eval_episodes})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no live progress bar")
    parser.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="on the CPU, split the runs over this many devices (default: one per core, as many "
        "as split the runs evenly; 1 keeps them on one)",
    )
    _add_jax_arguments(parser)
    from jaxrl import distributed

    distributed.add_arguments(parser)


def _add_jax_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--platform",
        choices=PLATFORMS,
        default=None,
        help="where to run (default: $JAX_PLATFORMS if set, else cpu)",
    )
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="skip JAX's persistent compilation cache ($JAXRL_CACHE_DIR, else "
        "$XDG_CACHE_HOME/jaxrl/xla or ~/.cache/jaxrl/xla)",
    )


def setup_jax(args: argparse.Namespace, num_runs: int | None = None) -> None:
    """Platform, persistent compilation cache, CPU devices and several hosts, before JAX starts a
    backend. `num_runs` (vmapped runs, for train and sweep) sets the CPU devices (`cpu_devices`)."""
    import jax

    platform = args.platform or ("cpu" if not os.environ.get("JAX_PLATFORMS") else None)
    if platform not in (None, "auto"):
        jax.config.update("jax_platforms", platform)
    runs_on_cpu = (platform or os.environ.get("JAX_PLATFORMS")) == "cpu"
    if runs_on_cpu and num_runs is not None and not getattr(args, "distributed", False):
        set_cpu_devices(num_runs, getattr(args, "cpu_devices", None))
    if not args.no_compile_cache:
        jax.config.update("jax_compilation_cache_dir", str(compilation_cache_dir()))
        # Cache every program: PPO's are 2-10 s to compile on a CPU, seconds to load.
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if getattr(args, "distributed", False):
        from jaxrl import distributed

        if jax_started():
            raise UsageError(
                "--distributed: JAX already started in this process, so it cannot join a "
                "multi-host run; run the command in a fresh process."
            )
        distributed.initialize_from_args(args)


def jax_started() -> bool:
    """Whether JAX's backend has started in this process: from then on its devices (their count,
    the platform, other hosts) are fixed, so every command checks its input without JAX first."""
    # No public API says so; jax.distributed.initialize asks the same function.
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def cpu_devices(num_runs: int, requested: int | None) -> int | None:
    """The CPU devices to split `num_runs` over (None: leave JAX's count alone).

    By default one per core, as many as split the runs evenly (`jaxrl.machine.cpu_devices_for`):
    each device runs its share of the seeds on its own core, where one device's program would
    share two cores between the kernels of one step. A count already set through
    `--xla_force_host_platform_device_count` in `XLA_FLAGS` or `jax_num_cpu_devices` is kept.
    """
    from jaxrl.machine import available_cores, cpu_devices_for

    if requested is not None:
        if requested < 1 or num_runs % requested:
            raise UsageError(
                f"--cpu-devices {requested}: {num_runs} runs do not split evenly over it; pass a "
                f"divisor of {num_runs} (e.g. 1)."
            )
        return requested
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return None
    import jax

    if jax.config.jax_num_cpu_devices != -1:
        return None
    return cpu_devices_for(num_runs, available_cores())


def set_cpu_devices(num_runs: int, requested: int | None) -> None:
    """Sets JAX's CPU device count to `cpu_devices(num_runs, requested)` before its backend starts.

    Where JAX already started in this process (a caller that used it before calling the CLI),
    the count can no longer change: the default keeps JAX's devices, an explicit `--cpu-devices`
    is a UsageError rather than silently ignored.
    """
    import jax

    devices = cpu_devices(num_runs, requested)
    if devices is None:
        return
    try:
        jax.config.update("jax_num_cpu_devices", devices)
    except RuntimeError:
        if requested is not None and requested != len(jax.devices("cpu")):
            raise UsageError(
                f"--cpu-devices {requested}: JAX already started in this process with "
                f"{len(jax.devices('cpu'))} CPU device(s); run the command in a fresh process."
            ) from None


def compilation_cache_dir() -> Path:
    """$JAXRL_CACHE_DIR, else $XDG_CACHE_HOME/jaxrl/xla, else ~/.cache/jaxrl/xla."""
    if os.environ.get("JAXRL_CACHE_DIR"):
        return Path(os.environ["JAXRL_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jaxrl" / "xla"


def build_spec(args: argparse.Namespace, sweep: bool) -> RunSpec:
    """The RunSpec a train or sweep command line asks for; UsageError on any bad input."""
    from jaxrl.agents import learner

    if args.env_id is None:
        raise UsageError(
            "give an env id, e.g. `jaxrl train CartPole-v1` (`jaxrl list` shows them)."
        )
    check_env_id(args.env_id)
    algo = args.algo or "ppo"
    config = learner(algo).default_config(args.env_id)
    env_overrides: dict[str, Any] = {}
    if args.config is not None:
        fields, env_overrides = options.load_config_file(args.config, type(config))
        try:
            config = config.replace(**fields)
        except ValueError as error:
            raise UsageError(f"--config {args.config}: {error}") from None
    settings = options.split_settings(args.settings)
    swept = None
    if sweep:
        settings, swept = options.parse_sweep(settings, config)
    if args.total_timesteps is not None:
        settings["total_timesteps"] = str(args.total_timesteps)
    config, env_overrides = options.apply_settings(config, env_overrides, settings)
    seeds = args.seeds if args.seeds is not None else (4 if sweep else 8)
    return RunSpec(
        env_id=args.env_id,
        env_overrides=env_overrides,
        config=config,
        seeds=seeds,
        seed=0 if args.seed is None else args.seed,
        sweep=swept,
        chunk_updates=args.chunk_updates,
        checkpoint_every=args.checkpoint_every,
        eval_episodes=(20 if sweep else 100) if args.eval_episodes is None else args.eval_episodes,
        algo=algo,
    )


def check_env_id(env_id: str, prefix: str = "") -> None:
    """UsageError (after `prefix`) for an unknown env id, without building the env: building
    some envs (gymnax's, the grid worlds) starts JAX."""
    from jaxrl import envs

    if env_id.startswith("gymnax:") or env_id in envs.registered():
        return
    try:
        envs.make(env_id)  # an unknown id fails before anything is built
    except ValueError as error:
        raise UsageError(f"{prefix}{error}") from None


def resolve_run(args: argparse.Namespace, sweep: bool) -> tuple[RunSpec, Path, bool]:
    """(spec, run folder, resuming) for train/sweep; every check before JAX starts."""
    if args.resume is not None:
        given = [
            flag
            for flag, value in (
                ("--set", args.settings),
                ("--config", args.config),
                ("--total-timesteps", args.total_timesteps),
                ("--algo", args.algo),
                ("--seeds", args.seeds),
                ("--seed", args.seed is not None),
                ("--eval-episodes", args.eval_episodes is not None),
                ("--out", args.out),
                ("--overwrite", args.overwrite),
                ("--chunk-updates", args.chunk_updates),
                ("--checkpoint-every", args.checkpoint_every),
            )
            if value
        ]
        if given:
            raise UsageError(
                f"--resume continues {args.resume} with its own settings; drop {', '.join(given)}."
            )
        spec = read_spec(args.resume)
        if args.env_id is not None and args.env_id != spec.env_id:
            raise UsageError(
                f"{args.resume} trains {spec.env_id}, not {args.env_id}; drop the env id."
            )
        if bool(spec.sweep) != sweep:
            command = "sweep" if spec.sweep else "train"
            raise UsageError(
                f"{args.resume} is a {command} run: resume it with `jaxrl {command} --resume`."
            )
        if not (args.resume / CHECKPOINT_FILE).is_file():
            raise UsageError(
                f"{args.resume} has no {CHECKPOINT_FILE} (stopped before its first chunk); "
                f"start it again with --out {args.resume} --overwrite."
            )
        return spec, args.resume, True
    spec = build_spec(args, sweep)
    if args.cpu_devices is not None:
        cpu_devices(spec.num_runs, args.cpu_devices)  # a bad count fails before --out is touched
    out = args.out or default_run_dir(("sweep-" if sweep else "") + spec.env_id.replace(":", "-"))
    prepare_out_dir(out, args.overwrite)
    return spec, out, False


def default_run_dir(name: str) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / f"{name}-{stamp}"
    suffix = 1
    while out.exists():
        suffix += 1
        out = Path("runs") / f"{name}-{stamp}-{suffix}"
    return out


def run_train(args: argparse.Namespace) -> int:
    return _train_or_sweep(args, sweep=False)


def run_sweep(args: argparse.Namespace) -> int:
    return _train_or_sweep(args, sweep=True)


def _train_or_sweep(args: argparse.Namespace, sweep: bool) -> int:
    process_start = time.perf_counter()
    spec, out, resuming = resolve_run(args, sweep)
    setup_jax(args, spec.num_runs)
    import jax

    from jaxrl.files import write_json

    driver = Driver(spec, out, progress=not args.no_progress)
    writer = jax.process_index() == 0
    if resuming:
        runner, state = driver.load()
        if state.update == spec.config.num_updates:
            print(f"{out} is complete ({state.update} updates); see `jaxrl eval {out}`.")
            return 0
    else:
        runner, state = None, RunState(rows=[], update=0, wall_offset_s=0.0)
        if writer:
            for name in RUN_FILES:  # --overwrite: no stale file of the old run survives
                (out / name).unlink(missing_ok=True)
            write_json(out / CONFIG_FILE, spec.to_json())
    config = spec.config
    what = (
        f"{len(spec.points)} points x {spec.seeds} seeds" if spec.sweep else f"{spec.seeds} seeds"
    )
    print(
        f"{spec.algo.upper()} on {spec.env_id}: {what} x {config.total_timesteps:,} env steps "
        f"({config.num_updates} updates of {config.num_envs} envs x {config.num_steps} steps) on "
        f"{driver.mesh.size} {jax.devices()[0].platform} device(s)"
        + (f", resuming at update {state.update}" if resuming else "")
        + f"; run folder {out}/"
    )
    print("compiling...", flush=True)
    start_update = state.update
    loop_start = time.perf_counter()
    try:
        runner, state, compile_s, interrupted = driver.train(runner, state)
    except KeyboardInterrupt:
        command = "sweep" if sweep else "train"
        again = f"--resume {out}" if resuming else f"--out {out} --overwrite"
        print(
            "\ninterrupted while compiling; nothing new to keep. Start again with "
            f"`jaxrl {command} {again}`."
        )
        return INTERRUPTED
    train_s = time.perf_counter() - loop_start - compile_s
    if interrupted:
        print(
            f"\ninterrupted: kept {state.update} of {config.num_updates} updates "
            f"({METRICS_FILE} and {CHECKPOINT_FILE} in {out}/); continue with "
            f"`jaxrl {'sweep' if sweep else 'train'} --resume {out}`."
        )
        return INTERRUPTED
    steps = (state.update - start_update) * config.rollout_size * spec.num_runs
    print(
        f"compile {compile_s:.1f} s, train {train_s:.1f} s "
        f"({steps / max(train_s, 1e-9):,.0f} env steps/s over {spec.num_runs} runs)"
    )
    returns = driver.evaluate(runner).mean(axis=1)
    driver.save_final_params(runner)
    _report(driver, state, returns, sweep, writer)
    print(f"total {time.perf_counter() - process_start:.1f} s; files in {out}/")
    return 0


def _report(driver: Driver, state: RunState, returns, sweep: bool, writer: bool) -> None:
    """Prints the final evaluation and writes evaluation.json, the plots and sweep.json."""
    import numpy as np

    from jaxrl.cli import plots
    from jaxrl.files import write_json

    spec, out = driver.spec, driver.out
    threshold = driver.env.reward_threshold(driver.env_params)
    points = spec.points
    per_point = returns.reshape(len(points), spec.seeds)
    labels = [
        ", ".join(f"{name}={value:g}" for name, value in point.items()) or "all seeds"
        for point in points
    ]
    solved = None if threshold is None else (per_point >= threshold).sum(axis=1).tolist()
    if writer:
        write_json(
            out / EVALUATION_FILE,
            {
                "episodes_per_run": spec.eval_episodes,
                "deterministic": True,
                "threshold": threshold,
                "mean_return_per_run": returns.tolist(),
                "points": points,
                "solved_per_point": solved,
            },
        )
        groups = [
            (label, list(range(i * spec.seeds, (i + 1) * spec.seeds)))
            for i, label in enumerate(labels)
        ]
        plots.save_learning_curve(out / CURVE_FILE, state.rows, spec.env_id, groups)
    bar = "" if threshold is None else f"; solved at {threshold:g}"
    print(f"final evaluation ({spec.eval_episodes} greedy episodes per run{bar}):")
    if not sweep:
        print("  per seed: " + " ".join(f"{r:.1f}" for r in returns))
        line = f"  mean {returns.mean():.1f} ± {returns.std():.1f}"
        if solved is not None:
            line += f"; {solved[0]}/{spec.seeds} seeds solved"
        print(line)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("point", "mean", "std", "min", "max", "solved")
    order = np.argsort(-per_point.mean(axis=1))
    for index in order:
        scores = per_point[index]
        table.add_row(
            labels[index],
            f"{scores.mean():.1f}",
            f"{scores.std():.1f}",
            f"{scores.min():.1f}",
            f"{scores.max():.1f}",
            "-" if solved is None else f"{solved[index]}/{spec.seeds}",
        )
    Console().print(table)
    if writer:
        write_json(
            out / SWEEP_FILE,
            {
                "env_id": spec.env_id,
                "seeds": spec.seeds,
                "points": points,
                "evaluation_per_point_and_seed": per_point.tolist(),
                "threshold": threshold,
                "best_point": points[int(order[0])],
            },
        )
        plots.save_sweep_plot(out / SWEEP_PLOT_FILE, labels, per_point, spec.env_id, threshold)


def load_run(run: Path) -> tuple[Driver, Any, dict[str, Any]]:
    """A run folder's driver and latest checkpoint; UsageError when missing or damaged."""
    from jaxrl.checkpoint import CheckpointError, load_checkpoint

    spec = read_spec(run)
    driver = Driver(spec, run, progress=False)
    try:
        runner, metadata = load_checkpoint(run / CHECKPOINT_FILE, driver.template())
    except CheckpointError as error:
        raise UsageError(str(error)) from None
    return driver, runner, metadata


def run_eval(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise UsageError(f"--episodes {args.episodes}: evaluate at least one episode.")
    read_spec(args.run)  # a bad folder fails before JAX starts
    setup_jax(args)
    import jax
    import numpy as np

    from jaxrl.agents.common.policy import play_policy

    driver, runner, metadata = load_run(args.run)
    spec = driver.spec
    policy = driver.learner.make_policy(
        spec.config, driver.env, driver.env_params, deterministic=not args.stochastic
    )

    def evaluate_run(learner, key):
        params = policy.params(learner)
        return play_policy(policy, params, driver.env, driver.env_params, args.episodes, key)

    keys = jax.random.split(jax.random.key(args.seed), spec.num_runs)
    returns = np.asarray(jax.jit(jax.vmap(evaluate_run))(runner.learner, keys)).mean(axis=1)
    mode = "sampled" if args.stochastic else "greedy"
    print(
        f"{spec.env_id}, {args.run} at update {metadata['update']} of {spec.config.num_updates}: "
        f"{args.episodes} {mode} episodes per run"
    )
    threshold = driver.env.reward_threshold(driver.env_params)
    for index, point in enumerate(spec.points):
        scores = returns[index * spec.seeds : (index + 1) * spec.seeds]
        label = ", ".join(f"{k}={v:g}" for k, v in point.items()) or "per seed"
        print(f"  {label}: " + " ".join(f"{r:.1f}" for r in scores))
        line = f"    mean {scores.mean():.1f} ± {scores.std():.1f}"
        if threshold is not None:
            line += f"; {(scores >= threshold).sum()}/{spec.seeds} reach {threshold:g}"
        print(line)
    return 0


def run_render(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() != ".gif":
        raise UsageError(f"--out {args.out}: write a .gif file, e.g. --out episode.gif.")
    if args.fps < 1 or (args.max_steps is not None and args.max_steps < 1):
        raise UsageError("--fps and --max-steps must be positive.")
    run_dir = Path(args.run)
    from_run = run_dir.is_dir()
    if from_run:
        spec = read_spec(run_dir)
        if not 0 <= args.run_index < spec.num_runs:
            raise UsageError(
                f"--run-index {args.run_index}: {run_dir} has runs 0 to {spec.num_runs - 1}."
            )
    else:
        check_env_id(args.run, prefix=f"{args.run} is neither a run folder nor an env id: ")
    setup_jax(args)
    import jax

    from jaxrl import envs
    from jaxrl.cli import rendering

    if from_run:
        driver, runner, _ = load_run(run_dir)
        env, env_params = driver.env, driver.env_params
        policy = rendering.trained_policy(driver, runner, args.run_index, not args.stochastic)
        what = f"run {args.run_index} of {run_dir}"
    else:
        try:
            env, env_params = envs.make(args.run)
        except ValueError as error:  # a gymnax id is only checked here
            raise UsageError(f"{args.run} is neither a run folder nor an env id: {error}") from None
        policy = rendering.random_policy(env, env_params)
        what = f"random actions on {args.run}"
    frames, num_frames, total = rendering.render_episode(
        env, env_params, policy, jax.random.key(args.seed), args.max_steps
    )
    try:
        rendering.write_gif(args.out, frames, args.fps)
    except NotImplementedError as error:  # the env has no renderer: met at its first frame
        raise UsageError(str(error)) from None
    print(f"{args.out}: {num_frames} frames of {what}, return {total:.1f}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    import dataclasses

    from rich.console import Console
    from rich.table import Table

    from jaxrl import envs
    from jaxrl.agents import ALGORITHMS, learner
    from jaxrl.envs import spaces

    console = Console()
    if not console.is_terminal:  # piped or captured: print whole ids, not 80 folded columns
        console = Console(width=130)
    if args.env_id is not None:
        try:
            env, env_params = envs.make(args.env_id)
        except ValueError as error:
            raise UsageError(str(error)) from None
        algo = args.algo or "ppo"
        config = learner(algo).default_config(args.env_id)
        tuned = "tuned" if args.env_id in learner(algo).tuned_env_ids() else "generic"
        table = Table(
            f"{type(config).__name__} field",
            "default",
            title=f"{args.env_id}: {tuned} {algo.upper()} config",
        )
        for field in dataclasses.fields(config):
            table.add_row(field.name, repr(getattr(config, field.name)))
        console.print(table)
        params = Table("env param", "value", title=f"{args.env_id}: env params (--set env.NAME=)")
        for field in dataclasses.fields(env_params):
            value = getattr(env_params, field.name)
            shape = getattr(value, "shape", ())
            params.add_row(field.name, f"array{list(shape)}" if shape else repr(_scalar(value)))
        console.print(params)
        return 0
    tuned = {algo: set(learner(algo).tuned_env_ids()) for algo in ALGORITHMS}
    table = Table(
        "env id",
        "observation",
        "actions",
        "max steps",
        "solved at",
        "tuned defaults (--algo)",
        title="jaxrl environments (`jaxrl list ENV_ID [--algo NAME]` for a config)",
    )
    for env_id in envs.registered():
        env, env_params = envs.make(env_id)
        obs_space = env.observation_space(env_params)
        action_space = env.action_space(env_params)
        if isinstance(action_space, spaces.Discrete):
            actions = f"Discrete({action_space.n})"
        else:
            actions = f"Box{action_space.shape}"
        threshold = env.reward_threshold(env_params)
        table.add_row(
            env_id,
            f"Box{obs_space.shape}",
            actions,
            str(int(env_params.max_steps)),
            "-" if threshold is None else f"{threshold:g}",
            " ".join(algo for algo in ALGORITHMS if env_id in tuned[algo]) or "-",
        )
    console.print(table)
    print("gymnax envs train as gymnax:<id> (e.g. `jaxrl train gymnax:Catch-bsuite`).")
    return 0


def _scalar(value: Any) -> Any:
    try:
        return value.item()
    except AttributeError:
        return value
