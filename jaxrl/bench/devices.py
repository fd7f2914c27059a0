"""Wall time of PPO on 1, 2, 4, 8 devices, with the speedup and per-device efficiency.

Two workloads (`WORKLOADS`), each a fixed total amount of work split over D devices (strong
scaling), each compiled with the options jaxrl picks for one device's share:
  seeds          `distributed.sharded_vmap`: 8 independent CartPole runs, 8 / D per device.
  data_parallel  `distributed.data_parallel_train`: one run of 64 envs, 64 / D per device,
                 gradients averaged across devices every minibatch.
speedup = time(1 device) / time(D devices); efficiency = speedup / D.

On the CPU each device count runs in its own process (`python -m jaxrl.bench.devices --worker
D`, `worker_main`) with `XLA_FLAGS=--xla_force_host_platform_device_count=D`, which JAX reads
once when it starts (`--quick` measures every count as a sub-mesh of one such process). Forced CPU
devices share the machine's cores, so the speedup stops at the core count. On a multi-GPU
machine `in_process` (`--in-process`) measures sub-meshes of the first D devices of this process
instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from jaxrl.bench import harness, report
from jaxrl.cli.parser import ArgumentParser
from jaxrl.machine import peak_rss_mib

NUM_SEEDS = 8
DEFAULT_DEVICES = (1, 2, 4, 8)
QUICK_DEVICES = (1, 2)
#: `--quick` measures one workload: each compile costs seconds, and a smoke run checks shapes.
QUICK_WORKLOADS = ("seeds",)


@dataclasses.dataclass(frozen=True)
class Program:
    """One workload on a mesh, before compiling.

    Attributes:
        train: a jitted program with the mesh's shardings.
        args: its arguments.
        runs: training runs it makes (seeds).
        options: the `CompileOptions` it is compiled with: those jaxrl picks for each device's
            share (`ppo.compile_options`).
    """

    train: Callable[..., Any]
    args: tuple
    runs: int
    options: Any


def seeds_program(config: Any, env: Any, env_params: Any, mesh: Any) -> Program:
    """`distributed.sharded_vmap`: `NUM_SEEDS` independent runs, `NUM_SEEDS / D` per device."""
    import jax

    from jaxrl import distributed
    from jaxrl.agents import ppo

    train = distributed.sharded_vmap(ppo.make_train(config, env, env_params), mesh)
    keys = jax.random.split(jax.random.key(0), NUM_SEEDS)
    options = ppo.compile_options(config, runs_per_device=NUM_SEEDS // mesh.size)
    return Program(train=train, args=(keys, None), runs=NUM_SEEDS, options=options)


def data_parallel_program(config: Any, env: Any, env_params: Any, mesh: Any) -> Program:
    """`distributed.data_parallel_train`: one run, its envs split over the devices."""
    import jax

    from jaxrl import distributed
    from jaxrl.agents import ppo

    train = distributed.data_parallel_train(config, env, env_params, mesh)
    options = ppo.compile_options(config.per_shard(mesh.size))
    return Program(train=train, args=(jax.random.key(0),), runs=1, options=options)


@dataclasses.dataclass(frozen=True)
class Workload:
    """A fixed total amount of PPO work, split over D devices.

    Attributes:
        description: what it is.
        config: `() -> PPOConfig`, the whole work's config (CartPole-v1's batch shape).
        program: `(config, env, env_params, mesh) -> Program`.
    """

    description: str
    config: Callable[[], Any]
    program: Callable[[Any, Any, Any, Any], Program]


def seeds_config() -> Any:
    """CartPole-v1's tuned default at 16k steps a seed."""
    from jaxrl.agents import ppo

    return ppo.default_config("CartPole-v1").replace(total_timesteps=16_000)


def data_parallel_config() -> Any:
    """One run of 64 envs x 128 steps, 8 updates."""
    from jaxrl.agents import ppo

    return ppo.PPOConfig(
        total_timesteps=64 * 128 * 8, num_envs=64, num_steps=128, update_epochs=4, num_minibatches=4
    )


WORKLOADS: dict[str, Workload] = {
    "seeds": Workload(
        f"{NUM_SEEDS} independent CartPole runs, {NUM_SEEDS} / D per device",
        seeds_config,
        seeds_program,
    ),
    "data_parallel": Workload(
        "one run of 64 envs, 64 / D per device, gradients averaged every minibatch",
        data_parallel_config,
        data_parallel_program,
    ),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the devices benchmark measures.

    Attributes:
        devices: device counts D; each must divide 8 seeds and 64 envs.
        workloads: names from `WORKLOADS`.
        repeats: timed runs per point (median).
        quick: a quarter of the work on a small network (`harness.QUICK_PPO`).
        in_process: sub-meshes of this process's devices instead of forced CPU devices.
        timeout_s: seconds one worker process may take.
    """

    devices: tuple[int, ...] = DEFAULT_DEVICES
    workloads: tuple[str, ...] = tuple(WORKLOADS)
    repeats: int = 2
    quick: bool = False
    in_process: bool = False
    timeout_s: float = 900.0

    def __post_init__(self):
        bad = [d for d in self.devices if d < 1 or NUM_SEEDS % d]
        if bad or not self.devices:
            raise ValueError(
                f"devices {list(self.devices)}: each count must divide {NUM_SEEDS} (1, 2, 4, 8)."
            )
        unknown = [name for name in self.workloads if name not in WORKLOADS]
        if unknown or not self.workloads:
            raise ValueError(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}.")
        if self.repeats < 1:
            raise ValueError(f"repeats={self.repeats}: run at least one repetition.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The devices benchmark's options."""
    parser.add_argument(
        "--devices", type=int, nargs="+", help=f"device counts (default {DEFAULT_DEVICES})"
    )
    parser.add_argument("--repeats", type=int, help="timed runs per point, median (default 2)")
    parser.add_argument("--in-process", action="store_true", help="sub-meshes of this process")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from parsed options; `--quick`: 1 and 2 devices, the seeds workload, a quarter
    of the work."""
    quick = bool(args.quick)
    return Settings(
        devices=tuple(args.devices or (QUICK_DEVICES if quick else DEFAULT_DEVICES)),
        workloads=QUICK_WORKLOADS if quick else tuple(WORKLOADS),
        repeats=harness.given(args.repeats, (1 if quick else Settings.repeats)),
        quick=quick,
        in_process=bool(args.in_process),
    )


def workload_configs(quick: bool) -> dict[str, Any]:
    """The PPOConfig of each workload; a quarter of the work on a small network when `quick`."""
    configs = {name: workload.config() for name, workload in WORKLOADS.items()}
    if quick:
        configs = {
            name: harness.quick_ppo_config(config, config.total_timesteps // 4)
            for name, config in configs.items()
        }
    return configs


def measure(
    num_devices: int, repeats: int, quick: bool, workloads: Sequence[str] = tuple(WORKLOADS)
) -> list[dict[str, Any]]:
    """Compiles and runs `workloads` on a mesh of this process's first `num_devices` devices."""
    import jax

    from jaxrl import distributed, envs
    from jaxrl.compilation import compile_program

    if jax.device_count() < num_devices:
        raise ValueError(f"{num_devices} devices asked for, {jax.device_count()} present.")
    mesh = distributed.make_mesh(jax.devices()[:num_devices])
    env, env_params = envs.make("CartPole-v1")
    configs = workload_configs(quick)
    rows = []
    for name in workloads:
        config = configs[name]
        program = WORKLOADS[name].program(config, env, env_params, mesh)
        compiled, times = compile_program(program.train, *program.args, options=program.options)
        run = lambda compiled=compiled, args=program.args: compiled(*args)
        harness.time_call(run)  # warm-up
        seconds = [harness.time_call(run) for _ in range(repeats)]
        env_steps = program.runs * config.num_updates * config.batch_size
        median = statistics.median(seconds)
        rows.append(
            {
                "workload": name,
                "devices": num_devices,
                "platform": jax.devices()[0].platform,
                "compile_s": times.trace_s + times.compile_s,
                "seconds": seconds,
                "median_s": median,
                "env_steps": env_steps,
                "env_steps_per_s": env_steps / median,
                "peak_rss_mib": peak_rss_mib(),
                "device_memory": harness.device_memory(),
            }
        )
    return rows


def spawn_worker(
    num_devices: int, settings: Settings, counts: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """`measure` in a fresh process with `num_devices` forced CPU devices, on a mesh of each of
    `counts` of them (default: all `num_devices`)."""
    flags = os.environ.get("XLA_FLAGS", "")
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={num_devices}".strip(),
    }
    command = [sys.executable, "-m", "jaxrl.bench.devices", "--worker", str(num_devices)]
    command += ["--meshes", *(str(count) for count in (counts or [num_devices]))]
    command += ["--repeats", str(settings.repeats), "--workloads", *settings.workloads]
    command += ["--quick"] if settings.quick else []
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=settings.timeout_s
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"devices worker ({num_devices} devices) timed out") from error
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"devices worker ({num_devices} devices) failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def with_scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds the speedup over the 1-device time and the per-device efficiency (speedup / D);
    None for both where the workload has no 1-device row."""
    baseline = {row["workload"]: row["median_s"] for row in rows if row["devices"] == 1}
    for row in rows:
        base = baseline.get(row["workload"])
        row["speedup"] = harness.ratio(base, row["median_s"])
        row["efficiency"] = None if row["speedup"] is None else row["speedup"] / row["devices"]
    return rows


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Every device count, each in its own worker process (or in this one); the JSON section."""
    start = time.perf_counter()
    rows = []
    if settings.in_process:
        for num_devices in settings.devices:
            rows += measure(num_devices, settings.repeats, settings.quick, settings.workloads)
    elif settings.quick:
        # A smoke run: every count as a sub-mesh of one worker, one process start instead of
        # several (a full run gives each count a process of its own).
        rows += spawn_worker(max(settings.devices), settings, settings.devices)
    else:
        for num_devices in settings.devices:
            rows += spawn_worker(num_devices, settings)
            log(f"devices: {num_devices} done at {time.perf_counter() - start:.0f} s")
    configs = workload_configs(settings.quick)
    return {
        "settings": {
            **dataclasses.asdict(settings),
            "seeds": NUM_SEEDS,
            "configs": {name: dataclasses.asdict(config) for name, config in configs.items()},
            "peak_rss_is": "of each worker process" if not settings.in_process else "this process",
        },
        "results": with_scaling(rows),
    }


def markdown(section: dict[str, Any]) -> str:
    """One line per (workload, D): wall time, throughput, speedup, efficiency, compile."""
    rows = [
        [
            row["workload"],
            str(row["devices"]),
            f"{row['median_s']:.2f}",
            f"{row['env_steps_per_s']:,.0f}",
            report.fmt_ratio(row["speedup"]),
            "-" if row["efficiency"] is None else f"{row['efficiency']:.0%}",
            f"{row['compile_s']:.1f}",
            f"{row['peak_rss_mib']:.0f}",
        ]
        for row in section["results"]
    ]
    settings = section["settings"]
    if settings["in_process"]:
        kind = "sub-meshes of this process's devices"
    else:
        kind = (
            "forced CPU devices (`--xla_force_host_platform_device_count`), "
            + ("sub-meshes of one process" if settings.get("quick") else "one process each")
            + "; they share the machine's cores"
        )
    return "\n".join(
        [
            f"Strong scaling, fixed total work split over D devices: {kind}.",
            "",
            report.markdown_table(
                [
                    "workload",
                    "devices",
                    "wall s",
                    "env steps/s",
                    "speedup",
                    "efficiency",
                    "compile s",
                    "peak RSS MiB",
                ],
                rows,
            ),
        ]
    )


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """`devices_scaling.png`: speedup against devices per workload, with the ideal line."""
    lines: dict[str, list[tuple[float, float]]] = {}
    for row in section["results"]:
        if row["speedup"] is not None:
            lines.setdefault(row["workload"], []).append((row["devices"], row["speedup"]))
    if not lines:
        return []
    lines["ideal"] = [(d, float(d)) for d in sorted({row["devices"] for row in section["results"]})]
    path = report.line_panels(
        {"PPO CartPole-v1, strong scaling": lines},
        out_dir,
        "devices_scaling.png",
        xlabel="devices",
        ylabel="speedup over 1 device",
        logx=True,
    )
    return [path]


def worker_main(argv: Sequence[str] | None = None) -> int:
    """`python -m jaxrl.bench.devices --worker D [--meshes C ...]`: prints `measure`'s rows for
    meshes of C devices (default D) as one JSON line."""
    parser = ArgumentParser(
        prog="python -m jaxrl.bench.devices", description="one devices measurement, as JSON"
    )
    parser.add_argument("--worker", type=int, required=True)
    parser.add_argument("--meshes", type=int, nargs="+")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    args = parser.parse_args(argv)
    rows = []
    for count in args.meshes or [args.worker]:
        rows += measure(count, args.repeats, args.quick, args.workloads)
    print(json.dumps(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
