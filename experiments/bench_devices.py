"""Wall time of PPO on 1, 2, 4, 8 devices, with the speedup and per-device efficiency.

Two workloads, each a fixed total amount of work split over D devices (strong scaling):
  seeds          `distributed.shard_seeds`: 8 independent CartPole runs, 8 / D per device.
  data_parallel  `distributed.data_parallel_train`: one run of 64 envs, 64 / D per device,
                 gradients averaged across devices every minibatch.
speedup = time(1 device) / time(D devices); efficiency = speedup / D.

On the CPU each device count runs in its own process with
`XLA_FLAGS=--xla_force_host_platform_device_count=D` (fixed when JAX starts). Forced CPU devices
share the machine's cores, so speedup stops at the core count. On a multi-GPU machine,
`--in-process` measures sub-meshes of the first D GPUs in one process:

    python experiments/bench_devices.py                      # forced CPU devices 1, 2, 4, 8
    JAX_PLATFORMS=cuda python experiments/bench_devices.py --in-process --devices 1 2 4 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jaxrl.reporting import cpu_model, write_json_atomically

WORKLOADS = ("seeds", "data_parallel")
NUM_SEEDS = 8


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per point (median)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the work")
    parser.add_argument("--in-process", action="store_true", help="sub-meshes of this process")
    parser.add_argument("--out", type=Path, default=Path("results/bench_devices.json"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def workload_configs(quick: bool) -> dict[str, Any]:
    """The PPOConfig of each workload (CartPole-v1's tuned batch shape, fixed total work)."""
    from jaxrl.agents import ppo

    scale = 4 if quick else 1
    return {
        "seeds": ppo.default_config("CartPole-v1").replace(total_timesteps=16_000 // scale),
        "data_parallel": ppo.PPOConfig(
            total_timesteps=64 * 128 * 8 // scale,
            num_envs=64,
            num_steps=128,
            update_epochs=4,
            num_minibatches=4,
        ),
    }


def measure(num_devices: int, repeats: int, quick: bool) -> list[dict[str, Any]]:
    """Compile and run each workload on a mesh of the first `num_devices` devices."""
    import jax

    from jaxrl import distributed, envs
    from jaxrl.agents import ppo
    from jaxrl.compilation import compile_program

    if jax.device_count() < num_devices:
        raise ValueError(f"{num_devices} devices asked for, {jax.device_count()} present.")
    mesh = distributed.make_mesh(jax.devices()[:num_devices])
    env, env_params = envs.make("CartPole-v1")
    configs = workload_configs(quick)
    keys = jax.random.split(jax.random.key(0), NUM_SEEDS)
    programs = {
        "seeds": (
            distributed.sharded_vmap(ppo.make_train(configs["seeds"], env, env_params), mesh),
            (keys, None),
            NUM_SEEDS,
        ),
        "data_parallel": (
            distributed.data_parallel_train(configs["data_parallel"], env, env_params, mesh),
            (jax.random.key(0),),
            1,
        ),
    }
    rows = []
    for name, (program, args, runs) in programs.items():
        compiled, times = compile_program(program, *args)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(compiled(*args))
            seconds.append(time.perf_counter() - start)
        config = configs[name]
        env_steps = runs * config.num_updates * config.batch_size
        median = statistics.median(seconds)
        rows.append(
            {
                "workload": name,
                "devices": num_devices,
                "compile_s": times.trace_s + times.compile_s,
                "seconds": seconds,
                "median_s": median,
                "env_steps": env_steps,
                "env_steps_per_s": env_steps / median,
            }
        )
        print(f"done: {name} on {num_devices} device(s)", file=sys.stderr, flush=True)
    return rows


def spawn_worker(num_devices: int, repeats: int, quick: bool) -> list[dict[str, Any]]:
    """`measure` in a fresh process with `num_devices` forced CPU devices."""
    flags = os.environ.get("XLA_FLAGS", "")
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={num_devices}".strip(),
    }
    command = [sys.executable, __file__, "--worker", "--devices", str(num_devices)]
    command += ["--repeats", str(repeats)] + (["--quick"] if quick else [])
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout)


def with_scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds speedup over the 1-device time and per-device efficiency (speedup / devices)."""
    baseline = {row["workload"]: row["median_s"] for row in rows if row["devices"] == 1}
    for row in rows:
        base = baseline.get(row["workload"])
        row["speedup"] = None if base is None else base / row["median_s"]
        row["efficiency"] = None if base is None else row["speedup"] / row["devices"]
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| workload | devices | wall time (s) | env steps/s | speedup | efficiency | compile (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        speedup = "-" if row["speedup"] is None else f"{row['speedup']:.2f}x"
        efficiency = "-" if row["efficiency"] is None else f"{row['efficiency']:.0%}"
        lines.append(
            f"| {row['workload']} | {row['devices']} | {row['median_s']:.2f} "
            f"| {row['env_steps_per_s']:,.0f} | {speedup} | {efficiency} | {row['compile_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.devices[0], args.repeats, args.quick)))
        return None
    rows = []
    for num_devices in args.devices:
        if args.in_process:
            rows += measure(num_devices, args.repeats, args.quick)
        else:
            rows += spawn_worker(num_devices, args.repeats, args.quick)
    rows = with_scaling(rows)
    import jax

    configs = workload_configs(args.quick)
    payload = {
        "command": [sys.executable, *sys.argv] if argv is None else ["bench_devices", *argv],
        "settings": {
            "devices": args.devices,
            "repeats": args.repeats,
            "quick": args.quick,
            "in_process": args.in_process,
            "seeds": NUM_SEEDS,
            "configs": {name: dataclasses.asdict(config) for name, config in configs.items()},
        },
        "hardware": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            # Other processes share the cores: the 1-minute load average says how much.
            "load_average_at_end": os.getloadavg()[0],
            "platform": "cpu" if not args.in_process else jax.devices()[0].platform,
        },
        "versions": {"jax": jax.__version__, "python": platform.python_version()},
        "results": rows,
    }
    print(format_table(rows))
    write_json_atomically(args.out, payload)
    print(f"wrote {args.out}", file=sys.stderr)
    return payload


if __name__ == "__main__":
    main()
