"""`jaxrl bench {envs,games,ppo,learners,seeds,devices,rlhf,all} [--quick] [--out DIR]`: the
speed benchmarks.

`all` runs envs, games, ppo, learners, seeds and devices; `rlhf` (the RLHF methods' episodes,
pairs and tokens per second at TRL's model size, beside TRL's) runs on its own.

Each benchmark writes, under DIR (default `runs/bench-<UTC time>/`):
  <name>.json   the raw numbers, the command, the hardware (CPU model, cores, load, JAX
                devices) and the package versions;
  <name>.md     its markdown tables, ratios included;
  *.png         its plots;
  report.md     every <name>.md found in DIR, in the order above, each under its command.
Bad input ends the command with one line on stderr and exit status 2, before anything runs.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jaxrl.bench import devices, envs, games, harness, learners, ppo, rlhf, seeds
from jaxrl.cli.parser import ArgumentParser
from jaxrl.files import write_atomically, write_json

#: Benchmark name -> its module (each has Settings, add_arguments, settings_from_args, run,
#: markdown and plot), in report order.
BENCHMARKS = {
    "envs": envs,
    "games": games,
    "ppo": ppo,
    "learners": learners,
    "seeds": seeds,
    "devices": devices,
    "rlhf": rlhf,
}
#: What `all` runs, in this order (RLHF is its own command: a language model, not RL speed).
ALL = ("envs", "games", "ppo", "learners", "seeds", "devices")
TITLES = {
    "envs": "Env throughput against num_envs",
    "games": "Board games against pgx: steps per second",
    "ppo": "PPO on CartPole-v1: wall clock, compile, return against time",
    "learners": "DQN, PQN and SAC against rejax and Stable-Baselines3: wall clock to solved",
    "seeds": "Seeds in parallel against wall time",
    "devices": "Devices: strong scaling",
    "rlhf": "RLHF throughput",
}


def build_parser() -> argparse.ArgumentParser:
    """`jaxrl bench`'s parser: one subcommand per benchmark, and `all`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run for CI: tiny sizes, figures not comparable",
    )
    common.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default runs/bench-<UTC time>/)"
    )
    parser = ArgumentParser(prog="jaxrl bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="benchmark", required=True, parser_class=ArgumentParser)
    for name, module in BENCHMARKS.items():
        sub = commands.add_parser(name, parents=[common], help=TITLES[name])
        module.add_arguments(sub)
    everything = commands.add_parser(
        "all", parents=[common], help=f"{', '.join(ALL)}, one after the other"
    )
    everything.add_argument("--repeats", type=int, help="repetitions for every benchmark")
    return parser


def settings_for(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """Benchmark name -> validated Settings; `all` parses each benchmark with the shared options.

    Raises:
        ValueError: a setting is out of range (the message names the fix).
    """
    if args.benchmark != "all":
        return {args.benchmark: BENCHMARKS[args.benchmark].settings_from_args(args)}
    shared = ["--quick"] if args.quick else []
    out = {}
    for name in ALL:
        repeats = [] if args.repeats is None else ["--repeats", str(args.repeats)]
        out[name] = BENCHMARKS[name].settings_from_args(
            parser.parse_args([name, *shared, *repeats])
        )
    return out


def measure(
    name: str, settings: Any, command: Sequence[str], log: Callable[[str], None]
) -> dict[str, Any]:
    """Runs benchmark `name`; its JSON payload: the section plus the command, the machine and
    the package versions, read before the run (a checkout may move on meanwhile)."""
    started = datetime.datetime.now(datetime.timezone.utc)
    facts = {"hardware": harness.hardware(), "versions": harness.versions()}
    start = time.perf_counter()
    section = BENCHMARKS[name].run(settings, log)
    return {
        "benchmark": name,
        "command": list(command),
        "started_at": started.isoformat(timespec="seconds"),
        "wall_s": time.perf_counter() - start,
        **facts,
        "load_average_at_end": list(os.getloadavg()),
        **section,
    }


def write_outputs(name: str, payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Writes `<name>.json`, `<name>.md`, the plots and `report.md` under `out_dir`."""
    module = BENCHMARKS[name]
    write_json(out_dir / f"{name}.json", payload)
    hw = payload["hardware"]
    body = [
        f"## {TITLES[name]}",
        "",
        f"`{shlex.join(payload['command'])}` ({payload['wall_s']:.0f} s; {hw['cpu']}, "
        f"{hw['cpus_usable']} usable cores, load average {hw['load_average'][0]:.1f} at the start; "
        f"JAX {payload['versions']['jax']} on {', '.join(hw['jax_devices'][:2])}"
        + (", ..." if len(hw["jax_devices"]) > 2 else "")
        + ")",
        "",
        module.markdown(payload),
        "",
    ]
    write_atomically(out_dir / f"{name}.md", "\n".join(body))
    paths = [out_dir / f"{name}.json", out_dir / f"{name}.md", *module.plot(payload, out_dir)]
    sections = [out_dir / f"{n}.md" for n in BENCHMARKS if (out_dir / f"{n}.md").exists()]
    text = "# jaxrl benchmarks\n\n" + "\n".join(path.read_text() for path in sections)
    write_atomically(out_dir / "report.md", text)
    return [*paths, out_dir / "report.md"]


def main(argv: list[str] | None = None) -> int:
    """`jaxrl bench ...`; returns the exit status (2 for bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        chosen = settings_for(parser, args)
    except ValueError as error:
        print(f"jaxrl bench {args.benchmark}: error: {error}", file=sys.stderr)
        return 2
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out_dir = args.out if args.out is not None else Path("runs") / f"bench-{stamp}"
    if out_dir.exists() and not out_dir.is_dir():
        print(f"jaxrl bench: error: --out {out_dir} is a file; name a folder.", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    log = lambda line: print(line, file=sys.stderr, flush=True)
    command = ["jaxrl", "bench", *argv]
    for name, settings in chosen.items():
        log(f"jaxrl bench: {name} ...")
        payload = measure(name, settings, command, log)
        paths = write_outputs(name, payload, out_dir)
        print(BENCHMARKS[name].markdown(payload))
        print()
        log(
            f"jaxrl bench: {name} done in {payload['wall_s']:.0f} s: "
            + ", ".join(str(path) for path in paths)
        )
    return 0
