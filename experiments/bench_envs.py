"""Env throughput in steps per second: jaxrl beside gymnax and Gymnasium's NumPy CartPole.

Figures, per env and batch size `num_envs`, each a jitted `lax.scan` of T batch steps:
  gymnax_a  gymnax's convention: `vmap(env.step)` with `jax.random.split(key, num_envs)` every
            step, uniformly random actions, auto-reset (gymnax's own env).
  jaxrl_a   the same harness over jaxrl's `env.step`.
  jaxrl_b   jaxrl's batched rollout path `env.step_batch` (one key per batch step), same actions.
  jaxrl_c   physics + auto-reset alone: `vmap(env.step)` with one fixed key and fixed actions, so
            no random numbers are drawn for actions and no keys are split.
  numpy     Gymnasium's `CartPoleVectorEnv` stepped in a Python loop with NumPy random actions
            (CartPole-v1 only).

Contestants alternate within each repetition so machine noise hits all alike; the figure is
`num_envs * T / median seconds`. Compile time is reported apart.

    python experiments/bench_envs.py --envs CartPole-v1 Acrobot-v1 --num-envs 4096 65536
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl import envs
from jaxrl.envs import spaces
from jaxrl.reporting import cpu_model, write_json_atomically

#: jaxrl id -> gymnax id of the same environment.
GYMNAX_IDS = {
    "CartPole-v1": "CartPole-v1",
    "MountainCar-v0": "MountainCar-v0",
    "MountainCarContinuous-v0": "MountainCarContinuous-v0",
    "Acrobot-v1": "Acrobot-v1",
    "Pendulum-v1": "Pendulum-v1",
}
#: jaxrl ids with a Gymnasium NumPy vector env to compare against.
NUMPY_IDS = ("CartPole-v1",)
CONTESTANTS = ("gymnax_a", "jaxrl_a", "jaxrl_b", "jaxrl_c", "numpy")
#: (numerator, denominator) pairs reported as ratios of steps per second.
RATIOS = (
    ("jaxrl_a", "gymnax_a"),
    ("jaxrl_b", "gymnax_a"),
    ("jaxrl_c", "gymnax_a"),
    ("jaxrl_b", "numpy"),
)
DEFAULT_NUM_ENVS = (1, 16, 256, 4096, 65536)
QUICK_NUM_ENVS = (1, 16)
#: XLA options for `--quick`: LLVM without optimisation halves compile time, which dominates a CI
#: smoke run; its figures are then not comparable with a full run's.
QUICK_COMPILER_OPTIONS = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}

BatchStep = Callable[[jax.Array, Any, jax.Array], tuple]


def make_rollout(
    batch_step: BatchStep,
    num_steps: int,
    draw_actions: Callable[[jax.Array], jax.Array] | None = None,
    fixed_actions: jax.Array | None = None,
) -> Callable[[jax.Array, jax.Array, Any], tuple]:
    """A rollout of `num_steps` batch steps in one `lax.scan` (unjitted; the caller jits it).

    Args:
        batch_step: `(key, state, actions) -> (obs, state, reward, terminated, truncated, info)`,
            every output with a leading `num_envs` axis.
        num_steps: the scan length T (static).
        draw_actions: `key -> actions` (`[num_envs]` ints or `[num_envs, dim]` floats); every
            step splits the carried key into the next carried key, the actions' key and
            `batch_step`'s key.
        fixed_actions: actions used at every step instead of `draw_actions`; the carried key is
            then passed to `batch_step` unsplit, so no random numbers are spent on actions.

    Returns:
        `rollout(key, obs, state) -> (key, obs, state, returns, num_done)`, the final carry:
        `returns` `[num_envs]` float32 sums the rewards and `num_done` `[num_envs]` int32 counts
        finished episodes, so the compiler cannot drop the reward and the flags.
    """
    if (draw_actions is None) == (fixed_actions is None):
        raise ValueError("make_rollout: pass exactly one of draw_actions and fixed_actions.")

    def body(carry, _):
        key, _, state, returns, num_done = carry
        if fixed_actions is None:
            key, key_actions, key_step = jax.random.split(key, 3)
            actions = draw_actions(key_actions)
        else:
            key_step, actions = key, fixed_actions
        obs, state, reward, terminated, truncated, _ = batch_step(key_step, state, actions)
        done = jnp.logical_or(terminated, truncated)
        return (key, obs, state, returns + reward, num_done + done.astype(jnp.int32)), None

    def rollout(key, obs, state):
        num_envs = obs.shape[0]
        carry = (key, obs, state, jnp.zeros(num_envs, jnp.float32), jnp.zeros(num_envs, jnp.int32))
        return jax.lax.scan(body, carry, None, length=num_steps)[0]

    return rollout


def per_env_keys(step: Callable, params: Any, num_envs: int) -> BatchStep:
    """gymnax's convention: `vmap(step)` with the step's key split into one key per env."""

    def batch_step(key, state, actions):
        keys = jax.random.split(key, num_envs)
        return jax.vmap(step, in_axes=(0, 0, 0, None))(keys, state, actions, params)

    return batch_step


def shared_key(step: Callable, params: Any) -> BatchStep:
    """`vmap(step)` with one key for every env (the reset noise is then drawn once)."""

    def batch_step(key, state, actions):
        return jax.vmap(step, in_axes=(None, 0, 0, None))(key, state, actions, params)

    return batch_step


def random_actions(space: spaces.Space, num_envs: int) -> Callable[[jax.Array], jax.Array]:
    """`key -> actions`: uniform over a Discrete space's ints or inside a Box, `[num_envs, ...]`."""
    if isinstance(space, spaces.Discrete):
        return lambda key: jax.random.randint(key, (num_envs,), 0, space.n)
    shape = (num_envs, *space.shape)
    low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), shape)
    high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), shape)
    return lambda key: jax.random.uniform(key, shape, jnp.float32, low, high)


def alternating_actions(space: spaces.Space, num_envs: int) -> jax.Array:
    """Fixed actions cycling over the envs: `i % n` for Discrete, -1/+1 (clipped) for a Box."""
    index = jnp.arange(num_envs)
    if isinstance(space, spaces.Discrete):
        return (index % space.n).astype(space.dtype)
    sign = jnp.where(index % 2 == 0, -1.0, 1.0).astype(jnp.float32)
    actions = jnp.broadcast_to(
        sign.reshape((num_envs,) + (1,) * len(space.shape)), (num_envs, *space.shape)
    )
    return space.clip(actions)


def time_fn(fn: Callable[[], Any]) -> float:
    """Seconds one call of `fn` takes, until its (JAX) outputs are ready."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def ratios(steps_per_s: dict[str, float | None]) -> dict[str, float | None]:
    """The `RATIOS` of a row's steps per second, `"a/b"`; None where either side is missing."""
    out = {}
    for numerator, denominator in RATIOS:
        top, bottom = steps_per_s.get(numerator), steps_per_s.get(denominator)
        out[f"{numerator}/{denominator}"] = top / bottom if top and bottom else None
    return out


def scan_length(num_envs: int, total_steps: int, max_scan_length: int) -> int:
    """T = `total_steps // num_envs`, at least 16 and at most `max_scan_length`."""
    return int(min(max(16, total_steps // num_envs), max(16, max_scan_length)))


@dataclasses.dataclass(frozen=True)
class Settings:
    """How each row is measured.

    Attributes:
        steps: env steps per repetition; the scan length is `scan_length(num_envs, steps, ...)`.
        max_scan_length: upper bound on the scan length T.
        repeats: timed repetitions per figure; the median is reported.
        seed: seeds the initial states, the rollout keys and NumPy's generator.
        compiler_options: XLA options for every compile (empty: XLA's defaults).
    """

    steps: int
    max_scan_length: int
    repeats: int
    seed: int
    compiler_options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Contestant:
    """One figure, ready to run: `run()` takes one repetition of T batch steps."""

    name: str
    run: Callable[[], Any]
    compile_s: float


def jax_contestant(
    name: str, rollout: Callable, args: tuple, compiler_options: dict[str, Any]
) -> Contestant:
    """Compiles `rollout(*args)` (timed, with XLA `compiler_options`) and warms it up once."""
    start = time.perf_counter()
    compiled = jax.jit(rollout).lower(*args).compile(compiler_options or None)
    compile_s = time.perf_counter() - start
    run = lambda: compiled(*args)
    time_fn(run)
    return Contestant(name, run, compile_s)


def numpy_contestant(num_envs: int, num_steps: int, seed: int) -> Contestant:
    """Gymnasium's NumPy `CartPoleVectorEnv`, `num_steps` steps with `np.random` actions."""
    from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

    env = CartPoleVectorEnv(num_envs=num_envs)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)

    def run():
        for _ in range(num_steps):
            env.step(rng.integers(0, 2, size=num_envs))

    time_fn(run)
    return Contestant("numpy", run, 0.0)


def build_contestants(
    env_id: str, num_envs: int, num_steps: int, settings: Settings
) -> list[Contestant]:
    """The figures available for `env_id`, compiled and warmed up, in `CONTESTANTS` order."""
    env, params = envs.make(env_id)
    space = env.action_space(params)
    key_reset, key_run = jax.random.split(jax.random.key(settings.seed))
    draw = random_actions(space, num_envs)
    options = settings.compiler_options
    contestants = []
    gymnax_env = _gymnax_env(env_id)
    if gymnax_env is not None:
        gx_env, gx_params = gymnax_env
        keys = jax.random.split(key_reset, num_envs)
        obs, state = jax.vmap(gx_env.reset, in_axes=(0, None))(keys, gx_params)
        rollout = make_rollout(per_env_keys(gx_env.step, gx_params, num_envs), num_steps, draw)
        contestants.append(jax_contestant("gymnax_a", rollout, (key_run, obs, state), options))
    obs, state = env.reset_batch(key_reset, num_envs, params)
    args = (key_run, obs, state)
    rollout = make_rollout(per_env_keys(env.step, params, num_envs), num_steps, draw)
    contestants.append(jax_contestant("jaxrl_a", rollout, args, options))
    step_batch = lambda key, state, actions: env.step_batch(key, state, actions, params)
    rollout = make_rollout(step_batch, num_steps, draw)
    contestants.append(jax_contestant("jaxrl_b", rollout, args, options))
    fixed_actions = alternating_actions(space, num_envs)
    rollout = make_rollout(shared_key(env.step, params), num_steps, fixed_actions=fixed_actions)
    contestants.append(jax_contestant("jaxrl_c", rollout, args, options))
    if env_id in NUMPY_IDS and _installed("gymnasium"):
        contestants.append(numpy_contestant(num_envs, num_steps, settings.seed))
    return contestants


def measure(contestants: Sequence[Contestant], repeats: int) -> dict[str, list[float]]:
    """Seconds per repetition for each contestant, the contestants alternating in each round."""
    seconds = {c.name: [] for c in contestants}
    for _ in range(repeats):
        for contestant in contestants:
            seconds[contestant.name].append(time_fn(contestant.run))
    return seconds


def bench_row(env_id: str, num_envs: int, settings: Settings) -> dict[str, Any]:
    """One table row: every available figure for `env_id` at `num_envs`."""
    num_steps = scan_length(num_envs, settings.steps, settings.max_scan_length)
    contestants = build_contestants(env_id, num_envs, num_steps, settings)
    seconds = measure(contestants, settings.repeats)
    figures = {}
    for contestant in contestants:
        median_s = statistics.median(seconds[contestant.name])
        figures[contestant.name] = {
            "steps_per_s": num_envs * num_steps / median_s,
            "median_s": median_s,
            "seconds": seconds[contestant.name],
            "compile_s": contestant.compile_s,
        }
    steps_per_s = {name: figure["steps_per_s"] for name, figure in figures.items()}
    return {
        "env": env_id,
        "num_envs": num_envs,
        "num_steps": num_steps,
        "figures": figures,
        "ratios": ratios(steps_per_s),
    }


def hardware() -> dict[str, Any]:
    """CPU model, core counts and JAX devices of this machine."""
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": _usable_cpus(),
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(device) for device in jax.devices()],
        "platform": platform.platform(),
    }


def versions() -> dict[str, str | None]:
    packages = ("jax", "jaxlib", "flax", "numpy", "gymnax", "gymnasium")
    out = {"python": platform.python_version()}
    for package in packages:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    return out


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Steps per second in millions, one line per (env, num_envs), then the compile seconds."""
    speeds = [
        ["env", "num_envs", "T", *(f"{name} M/s" for name in CONTESTANTS)]
        + [f"{numerator}/{denominator}" for numerator, denominator in RATIOS]
    ]
    compiles = [["env", "num_envs", *(f"{name} compile s" for name in CONTESTANTS[:-1])]]
    for row in rows:
        figures = row["figures"]
        speeds.append(
            [row["env"], str(row["num_envs"]), str(row["num_steps"])]
            + [_fmt(figures[n]["steps_per_s"] / 1e6) if n in figures else "-" for n in CONTESTANTS]
            + [_fmt(value) + "x" if value else "-" for value in row["ratios"].values()]
        )
        compiles.append(
            [row["env"], str(row["num_envs"])]
            + [f"{figures[n]['compile_s']:.2f}" if n in figures else "-" for n in CONTESTANTS[:-1]]
        )
    return _align(speeds) + "\n\n" + _align(compiles)


def _align(lines: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", nargs="+", help="jaxrl env ids (default: every registered one)")
    parser.add_argument("--num-envs", nargs="+", type=int, help=f"default {DEFAULT_NUM_ENVS}")
    parser.add_argument(
        "--steps", type=int, help="env steps per repetition, T = steps // num_envs (default 2**24)"
    )
    parser.add_argument(
        "--max-scan-length", type=int, default=2**16, help="upper bound on T (default 2**16)"
    )
    parser.add_argument("--repeats", type=int, help="timed repetitions, median taken (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/bench_envs.json"))
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run for CI: num_envs {QUICK_NUM_ENVS}, 2**10 steps, 2 repeats unless "
        "given, compiled without LLVM optimisation (figures not comparable with a full run)",
    )
    args = parser.parse_args(argv)
    if args.num_envs is None:
        args.num_envs = list(QUICK_NUM_ENVS if args.quick else DEFAULT_NUM_ENVS)
    if args.steps is None:
        args.steps = 2**10 if args.quick else 2**24
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.envs is None:
        args.envs = envs.registered()
    unknown = sorted(set(args.envs) - set(envs.registered()))
    if unknown:
        parser.error(f"unknown env ids {unknown}; registered: {', '.join(envs.registered())}")
    if min(args.num_envs) < 1 or args.repeats < 1 or args.steps < 1:
        parser.error("--num-envs, --steps and --repeats must be positive.")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark, prints the table, writes the JSON; returns the JSON payload."""
    args = parse_args(argv)
    settings = Settings(
        steps=args.steps,
        max_scan_length=args.max_scan_length,
        repeats=args.repeats,
        seed=args.seed,
        compiler_options=dict(QUICK_COMPILER_OPTIONS) if args.quick else {},
    )
    rows, skipped = [], []
    for env_id in args.envs:
        try:
            envs.make(env_id)
        except ImportError as error:
            print(f"note: skipping {env_id}: its module does not import ({error})", file=sys.stderr)
            skipped.append({"env": env_id, "reason": f"{type(error).__name__}: {error}"})
            continue
        for num_envs in args.num_envs:
            rows.append(bench_row(env_id, num_envs, settings))
            print(f"done: {env_id} num_envs={num_envs}", file=sys.stderr, flush=True)
    payload = {
        "command": [sys.executable, *sys.argv] if argv is None else ["bench_envs", *argv],
        "settings": {
            "envs": args.envs,
            "num_envs": args.num_envs,
            "quick": args.quick,
            **dataclasses.asdict(settings),
        },
        "hardware": hardware(),
        "versions": versions(),
        "results": rows,
        "skipped": skipped,
    }
    print(format_table(rows))
    write_json_atomically(args.out, payload)
    print(f"wrote {args.out}", file=sys.stderr)
    return payload


def _gymnax_env(env_id: str) -> tuple[Any, Any] | None:
    """gymnax's env and default params for `env_id`, or None without gymnax or a counterpart."""
    if env_id not in GYMNAX_IDS or not _installed("gymnax"):
        return None
    import gymnax

    return gymnax.make(GYMNAX_IDS[env_id])


def _installed(package: str) -> bool:
    try:
        importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None


def _fmt(value: float) -> str:
    """Three significant figures, no exponent for the magnitudes a table shows."""
    if value == 0 or not math.isfinite(value):
        return str(value)
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
