"""Seeds in parallel: wall time of PPO on CartPole-v1 for 1 to 1024 seeds in one program.

Each point is `jax.vmap(train)` over N seeds, compiled once (timed apart), warmed up once, then
run `repeats` times (median). With perfect batching the wall time stays flat as N grows until
the machine is busy; `per_seed_s` (wall / N) shows the price of one more seed. Every point also
records XLA's buffer accounting for the compiled program (exact, unlike RSS on a shared
machine), the process's peak RSS so far, and on a GPU the device's peak memory.

Contestants (`CONTESTANTS`, whose legend says what each is), alternating at every N: jaxrl's
tuned default (`ppo.default_config`), and opt-in, jaxrl at rejax's published CartPole
hyperparameters beside rejax 0.1.3's PPO at the same, its evaluation switched off (its vmapped
program compiles in tens of seconds on a CPU). Each program is compiled with the options jaxrl
picks for N seeds on one device (`ppo.compile_options(config, runs_per_device=N)`; rejax with
its jaxrl twin's), so the two compare as programs, not as compiler settings. A contestant whose
optional packages fail to import is skipped with a note naming the error.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
from collections.abc import Callable
from typing import Any

from jaxrl.bench import harness, report
from jaxrl.machine import peak_rss_mib

ENV_ID = "CartPole-v1"
DEFAULT_SEEDS = (1, 16, 256, 1024)
QUICK_SEEDS = (4,)
#: (numerator, denominator) of wall seconds, so > 1 favours the denominator (jaxrl).
RATIOS = (("rejax", "jaxrl_rejax_hp"),)


@dataclasses.dataclass(frozen=True)
class Program:
    """One contestant's program at N seeds, before compiling.

    Attributes:
        train: `keys [N] -> results`, pure and unjitted (`jax.vmap` of a `train`).
        options: the `CompileOptions` it is compiled with.
        env_steps: env steps one run takes, all seeds together.
    """

    train: Callable[[Any], Any]
    options: Any
    env_steps: int


def jaxrl_config(total_timesteps: int, quick: bool, *, rejax_hyperparameters: bool) -> Any:
    """The tuned default (or rejax's hyperparameters) at `total_timesteps` per seed; shrunk
    (`harness.quick_ppo_config`) when `quick`."""
    from jaxrl.agents import ppo
    from jaxrl.bench import ppo as bench_ppo

    config = ppo.default_config(ENV_ID)
    if rejax_hyperparameters:
        config = bench_ppo.jaxrl_rejax_config(config)
    config = config.replace(total_timesteps=total_timesteps)
    return harness.quick_ppo_config(config, total_timesteps) if quick else config


def jaxrl_program(
    num_seeds: int, total_timesteps: int, quick: bool, *, rejax_hyperparameters: bool = False
) -> Program:
    """`jax.vmap(ppo.make_train(config))` over the seeds."""
    import jax

    from jaxrl import envs
    from jaxrl.agents import ppo

    env, env_params = envs.make(ENV_ID)
    config = jaxrl_config(total_timesteps, quick, rejax_hyperparameters=rejax_hyperparameters)
    return Program(
        train=jax.vmap(ppo.make_train(config, env, env_params)),
        options=ppo.compile_options(config, runs_per_device=num_seeds),
        env_steps=num_seeds * config.num_updates * config.batch_size,
    )


def rejax_program(num_seeds: int, total_timesteps: int, quick: bool) -> Program:
    """rejax 0.1.3's `jax.vmap(algo.train)` at its published hyperparameters, evaluation off."""
    import jax
    import jax.numpy as jnp
    import rejax
    from gymnax.environments.classic_control import CartPole

    from jaxrl.agents import ppo
    from jaxrl.bench import ppo as bench_ppo

    env = bench_ppo.FiveTupleEnv(CartPole())
    hparams = {
        **bench_ppo.REJAX_CARTPOLE,
        "total_timesteps": total_timesteps,
        "eval_freq": total_timesteps,
        "skip_initial_evaluation": True,
    }
    algo = rejax.PPO.create(env=env, env_params=env.default_params, **hparams)
    # Training alone, as jaxrl's program: the one evaluation rejax would still make at the
    # end (128 full episodes) would cost more than the training itself.
    algo = algo.replace(eval_callback=lambda algo, ts, key: jnp.zeros(()))
    twin = jaxrl_config(total_timesteps, quick=False, rejax_hyperparameters=True)
    iteration = algo.num_envs * algo.num_steps
    return Program(
        train=jax.vmap(algo.train),
        options=ppo.compile_options(twin, runs_per_device=num_seeds),
        env_steps=num_seeds * -(-total_timesteps // iteration) * iteration,
    )


@dataclasses.dataclass(frozen=True)
class Contestant:
    """One seeds contestant.

    Attributes:
        description: its line in the legend.
        program: `(num_seeds, total_timesteps, quick) -> Program`.
        packages: optional modules it imports; it is skipped with a note when one fails to.
    """

    description: str
    program: Callable[[int, int, bool], Program]
    packages: tuple[str, ...] = ()


CONTESTANTS: dict[str, Contestant] = {
    "jaxrl": Contestant("jaxrl, tuned default config", jaxrl_program),
    "jaxrl_rejax_hp": Contestant(
        "jaxrl at rejax's published hyperparameters",
        functools.partial(jaxrl_program, rejax_hyperparameters=True),
    ),
    "rejax": Contestant(
        "rejax 0.1.3 at its published hyperparameters, evaluation off",
        rejax_program,
        packages=("rejax", "gymnax.environments.classic_control"),
    ),
}
DEFAULT_CONTESTANTS = ("jaxrl",)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the seeds benchmark measures.

    Attributes:
        seeds: the numbers of seeds N, one program each.
        total_timesteps: env steps per seed.
        contestants: names from `CONTESTANTS`.
        repeats: timed runs per point (median).
        quick: a smoke run: tiny sizes (`harness.QUICK_PPO` for jaxrl).
    """

    seeds: tuple[int, ...] = DEFAULT_SEEDS
    total_timesteps: int = 1_000
    contestants: tuple[str, ...] = DEFAULT_CONTESTANTS
    repeats: int = 2
    quick: bool = False

    def __post_init__(self):
        if not self.seeds or min(self.seeds) < 1:
            raise ValueError(f"seeds {list(self.seeds)}: each number of seeds must be at least 1.")
        unknown = [name for name in self.contestants if name not in CONTESTANTS]
        if unknown or not self.contestants:
            raise ValueError(
                f"unknown seeds contestants {unknown}; choose from {list(CONTESTANTS)}"
            )
        if self.total_timesteps < 1:
            raise ValueError(f"total_timesteps={self.total_timesteps}: must be at least 1.")
        if self.repeats < 1:
            raise ValueError(f"repeats={self.repeats}: run at least one repetition.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The seeds benchmark's options."""
    parser.add_argument(
        "--seeds", nargs="+", type=int, help=f"numbers of seeds (default {DEFAULT_SEEDS})"
    )
    parser.add_argument(
        "--timesteps", type=int, help="env steps per seed (default 1000: two updates)"
    )
    parser.add_argument(
        "--contestants", nargs="+", help=f"from {list(CONTESTANTS)} (default: jaxrl)"
    )
    parser.add_argument("--repeats", type=int, help="timed runs per point, median (default 2)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from parsed options; `--quick`: 4 seeds, 1000 steps, 1 repetition."""
    quick = bool(args.quick)
    return Settings(
        seeds=tuple(args.seeds or (QUICK_SEEDS if quick else DEFAULT_SEEDS)),
        total_timesteps=harness.given(
            args.timesteps, (1_000 if quick else Settings.total_timesteps)
        ),
        contestants=tuple(args.contestants or DEFAULT_CONTESTANTS),
        repeats=harness.given(args.repeats, (1 if quick else Settings.repeats)),
        quick=quick,
    )


def build(
    name: str, num_seeds: int, total_timesteps: int, quick: bool = False
) -> tuple[harness.Contestant, Any, int]:
    """One contestant at `num_seeds` seeds, compiled (timed) and warmed up.

    Returns:
        The contestant, its compiled program (for XLA's memory accounting) and the env steps
        one run takes over all seeds.
    """
    import jax

    from jaxrl.compilation import compile_program

    program = CONTESTANTS[name].program(num_seeds, total_timesteps, quick)
    keys = jax.random.split(jax.random.key(0), num_seeds)
    compiled, times = compile_program(program.train, keys, options=program.options)
    run = lambda: compiled(keys)
    harness.time_call(run)
    contestant = harness.Contestant(name, run, times.trace_s + times.compile_s)
    return contestant, compiled, program.env_steps


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Every contestant at every N, alternating; returns the benchmark's JSON section."""
    notes = []
    contestants = []
    for name in settings.contestants:
        error = harness.import_error(*CONTESTANTS[name].packages)
        if error is None:
            contestants.append(name)
        else:
            notes.append(f"{name} skipped: {error}")
            log(f"note: seeds: {notes[-1]}")
    rows = []
    for num_seeds in settings.seeds:
        built = {
            name: build(name, num_seeds, settings.total_timesteps, settings.quick)
            for name in contestants
        }
        seconds = harness.alternate([b[0] for b in built.values()], settings.repeats)
        for name, (contestant, compiled, env_steps) in built.items():
            median = statistics.median(seconds[name])
            rows.append(
                {
                    "contestant": name,
                    "seeds": num_seeds,
                    "compile_s": contestant.compile_s,
                    "seconds": seconds[name],
                    "median_s": median,
                    "per_seed_s": median / num_seeds,
                    "env_steps": env_steps,
                    "env_steps_per_s": env_steps / median,
                    "xla_memory": harness.compiled_memory(compiled),
                    "peak_rss_mib": peak_rss_mib(),
                    "device_memory": harness.device_memory(),
                }
            )
        log(f"seeds: {num_seeds} done")
    return {
        "settings": {**dataclasses.asdict(settings), "env_id": ENV_ID},
        "results": rows,
        "ratios": seed_ratios(rows),
        "notes": notes,
    }


def seed_ratios(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per N, `RATIOS` of median wall seconds (the slower side on top: > 1 favours jaxrl)."""
    out: dict[str, dict[str, float | None]] = {}
    for num_seeds in sorted({row["seeds"] for row in rows}):
        wall = {row["contestant"]: row["median_s"] for row in rows if row["seeds"] == num_seeds}
        if any(a in wall and b in wall for a, b in RATIOS):
            out[str(num_seeds)] = report.ratios(wall, RATIOS)
    return out


def markdown(section: dict[str, Any]) -> str:
    """One line per (contestant, N): wall time, per-seed time, throughput, compile, memory."""
    rows = []
    for row in section["results"]:
        memory = row["xla_memory"]
        xla_mib = "-" if memory is None else f"{sum(memory.values()) / 2**20:.1f}"
        device = row["device_memory"]
        device_mib = "-" if not device else f"{device.get('peak_bytes_in_use', 0) / 2**20:.0f}"
        rows.append(
            [
                row["contestant"],
                str(row["seeds"]),
                f"{row['median_s']:.3f}",
                f"{row['per_seed_s'] * 1e3:.2f}",
                f"{row['env_steps_per_s']:,.0f}",
                f"{row['compile_s']:.2f}",
                xla_mib,
                f"{row['peak_rss_mib']:.0f}",
                device_mib,
            ]
        )
    settings = section["settings"]
    lines = [
        f"PPO on {settings['env_id']}, {settings['total_timesteps']:,} env steps per seed, "
        f"`jax.vmap(train)` over N seeds, median of {settings['repeats']} run(s):",
        "",
        report.markdown_table(
            [
                "contestant",
                "seeds",
                "wall s",
                "ms per seed",
                "env steps/s",
                "compile s",
                "XLA buffers MiB",
                "peak RSS MiB",
                "device peak MiB",
            ],
            rows,
        ),
    ]
    shown = dict.fromkeys(row["contestant"] for row in section["results"])
    lines.append("Legend: " + "; ".join(f"{n}: {CONTESTANTS[n].description}" for n in shown))
    for num_seeds, pairs in section["ratios"].items():
        text = ", ".join(f"{pair} {report.fmt_ratio(value)}" for pair, value in pairs.items())
        lines.append(f"- {num_seeds} seeds, wall-time ratio: {text}")
    lines += [f"- note: {note}" for note in section["notes"]]
    return "\n".join(lines)


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """`seeds_wall.png`: wall seconds against the number of seeds (log-log)."""
    lines: dict[str, list[tuple[float, float]]] = {}
    for row in section["results"]:
        lines.setdefault(row["contestant"], []).append((row["seeds"], row["median_s"]))
    path = report.line_panels(
        {f"PPO {ENV_ID}, seeds in one program": lines},
        out_dir,
        "seeds_wall.png",
        xlabel="seeds (vmapped)",
        ylabel="wall seconds per run",
        logx=True,
        logy=True,
    )
    return [path]
