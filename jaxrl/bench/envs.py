"""Env throughput in steps per second against `num_envs`: jaxrl beside gymnax and Gymnasium.

Figures, per env and batch size `num_envs` (`CONTESTANTS`); the JAX ones are each a jitted
`lax.scan` of T batch steps:
  gymnax_a   gymnax's convention: `vmap(env.step)` with `jax.random.split(key, num_envs)` every
             step, uniformly random actions, auto-reset (gymnax's own env).
  jaxrl_a    the same harness over jaxrl's `env.step`.
  jaxrl_b    jaxrl's batched rollout path `env.step_batch` (one key per batch step), same actions.
  jaxrl_c    physics + auto-reset alone: `vmap(env.step)` with one fixed key and fixed actions, so
             no random numbers are drawn for actions and no keys are split.
  numpy      Gymnasium's NumPy vector env stepped in a Python loop with `action_space.sample()`
             actions (sampled before timing): `CartPoleVectorEnv` for CartPole-v1 (NumPy over
             the whole batch), else `SyncVectorEnv` over `gymnasium.make(id)` (one env after
             the other, in Python).
  jaxrl_gym  jaxrl's own Gymnasium `VectorEnv` adapter (one jitted call per batch step, NumPy
             in and out) in the same Python loop: what a Gymnasium user of jaxrl gets.
  gymnax_gym gymnax's `GymnaxToVectorGymWrapper` in the same loop: what a Gymnasium user of
             gymnax gets. Every Python-loop figure brings the step's outputs to NumPy, as a
             Gymnasium client does (gymnax's wrapper returns device arrays, maybe in flight).
  gym_single, jaxrl_gym_single (rows with num_envs = 1 only): one env through `gymnasium.make`,
             Gymnasium's own NumPy env and `gymnasium.make("jaxrl/<id>")`, stepped in the
             Gymnasium docs' loop (reset when an episode ends): the single-env adapter's cost.

The Python-loop figures take `python_scan_length` steps (fewer than T: their throughput is
steady from the first step, and T steps of one env would take minutes); `SyncVectorEnv`, whose
time grows with `num_envs` one env at a time, is not run above `max_sync_envs`.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from jaxrl.bench import harness, report

#: jaxrl id -> gymnax id of the same environment.
GYMNAX_IDS = {
    "CartPole-v1": "CartPole-v1",
    "MountainCar-v0": "MountainCar-v0",
    "MountainCarContinuous-v0": "MountainCarContinuous-v0",
    "Acrobot-v1": "Acrobot-v1",
    "Pendulum-v1": "Pendulum-v1",
}
#: jaxrl id -> Gymnasium id of the same environment (run through Gymnasium's NumPy envs).
GYMNASIUM_IDS = dict(GYMNAX_IDS)
CONTESTANTS = (
    "gymnax_a",
    "jaxrl_a",
    "jaxrl_b",
    "jaxrl_c",
    "numpy",
    "jaxrl_gym",
    "gymnax_gym",
    "gym_single",
    "jaxrl_gym_single",
)
#: The contestants stepped from a Python loop, `python_scan_length` steps per repetition.
PYTHON_CONTESTANTS = ("numpy", "jaxrl_gym", "gymnax_gym", "gym_single", "jaxrl_gym_single")
#: (numerator, denominator) pairs reported as ratios of steps per second.
RATIOS = (
    ("jaxrl_a", "gymnax_a"),
    ("jaxrl_b", "gymnax_a"),
    ("jaxrl_c", "gymnax_a"),
    ("jaxrl_b", "numpy"),
    ("jaxrl_gym", "numpy"),
    ("jaxrl_gym", "gymnax_gym"),
    ("jaxrl_gym_single", "gym_single"),
)
#: Three decades apart: with every env, a full run's compiles (six figures per point) fit the
#: suite's ten minutes on two cores; `--num-envs` adds points.
DEFAULT_NUM_ENVS = (1, 256, 65536)
QUICK_NUM_ENVS = (16,)
QUICK_ENVS = ("CartPole-v1",)
QUICK_COMPILER_OPTIONS = harness.QUICK_COMPILER_OPTIONS

#: Batches of actions a Python-loop figure samples up front and cycles through.
ACTION_POOL = 16

BatchStep = Callable[[Any, Any, Any], tuple]


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the env benchmark measures.

    Attributes:
        envs: jaxrl env ids.
        num_envs: batch sizes.
        steps: env steps per repetition of a JAX figure; T = `scan_length(num_envs, steps,
            max_scan_length)`.
        max_scan_length: upper bound on T.
        python_steps: env steps per repetition of a Python-loop figure (same law, bounded by
            `max_python_scan_length` and by T).
        max_python_scan_length: upper bound on a Python-loop figure's number of batch steps.
        max_sync_envs: `SyncVectorEnv` is not run with more envs than this.
        repeats: timed repetitions per figure; the median is reported.
        seed: seeds the initial states, the rollout keys and NumPy's generators.
        quick: compile with `QUICK_COMPILER_OPTIONS` (figures not comparable with a full run).
    """

    envs: tuple[str, ...]
    num_envs: tuple[int, ...] = DEFAULT_NUM_ENVS
    steps: int = 2**20
    max_scan_length: int = 2**16
    python_steps: int = 2**18
    max_python_scan_length: int = 2**11
    max_sync_envs: int = 1024
    repeats: int = 3
    seed: int = 0
    quick: bool = False

    def __post_init__(self):
        from jaxrl import envs

        unknown = sorted(set(self.envs) - set(envs.registered()))
        if unknown:
            raise ValueError(
                f"unknown env ids {unknown}; registered: {', '.join(envs.registered())}"
            )
        if not self.envs or not self.num_envs:
            raise ValueError("name at least one env and one num_envs.")
        if min(self.num_envs) < 1:
            raise ValueError(f"num_envs {list(self.num_envs)}: each must be at least 1.")
        positive = ("steps", "max_scan_length", "python_steps", "max_python_scan_length", "repeats")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: must be at least 1.")

    @property
    def compiler_options(self) -> dict[str, Any]:
        return dict(QUICK_COMPILER_OPTIONS) if self.quick else {}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The env benchmark's options (defaults None: `settings_from_args` fills them)."""
    parser.add_argument("--envs", nargs="+", help="jaxrl env ids (default: every registered one)")
    parser.add_argument("--num-envs", nargs="+", type=int, help=f"default {DEFAULT_NUM_ENVS}")
    parser.add_argument(
        "--steps", type=int, help="env steps per repetition, T = steps // num_envs (default 2**20)"
    )
    parser.add_argument("--max-scan-length", type=int, help="upper bound on T (default 2**16)")
    parser.add_argument(
        "--python-steps", type=int, help="env steps per repetition of the Python loops (2**18)"
    )
    parser.add_argument("--repeats", type=int, help="timed repetitions, median taken (default 3)")
    parser.add_argument("--seed", type=int, default=0)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from parsed options, `--quick`'s small defaults where an option is not given."""
    from jaxrl import envs

    quick = bool(args.quick)
    chosen = {
        "envs": args.envs or (QUICK_ENVS if quick else envs.registered()),
        "num_envs": args.num_envs or (QUICK_NUM_ENVS if quick else DEFAULT_NUM_ENVS),
        "steps": harness.given(args.steps, (2**10 if quick else Settings.steps)),
        "max_scan_length": harness.given(args.max_scan_length, Settings.max_scan_length),
        "python_steps": harness.given(
            args.python_steps, (2**8 if quick else Settings.python_steps)
        ),
        "max_python_scan_length": 64 if quick else Settings.max_python_scan_length,
        "repeats": harness.given(args.repeats, (2 if quick else Settings.repeats)),
    }
    return Settings(
        envs=tuple(chosen["envs"]),
        num_envs=tuple(chosen["num_envs"]),
        steps=chosen["steps"],
        max_scan_length=chosen["max_scan_length"],
        python_steps=chosen["python_steps"],
        max_python_scan_length=chosen["max_python_scan_length"],
        repeats=chosen["repeats"],
        seed=args.seed,
        quick=quick,
    )


def make_rollout(
    batch_step: BatchStep,
    num_steps: int,
    draw_actions: Callable[[Any], Any] | None = None,
    fixed_actions: Any | None = None,
) -> Callable[[Any, Any, Any], tuple]:
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
    import jax
    import jax.numpy as jnp

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
    import jax

    def batch_step(key, state, actions):
        keys = jax.random.split(key, num_envs)
        return jax.vmap(step, in_axes=(0, 0, 0, None))(keys, state, actions, params)

    return batch_step


def shared_key(step: Callable, params: Any) -> BatchStep:
    """`vmap(step)` with one key for every env (the reset noise is then drawn once)."""
    import jax

    def batch_step(key, state, actions):
        return jax.vmap(step, in_axes=(None, 0, 0, None))(key, state, actions, params)

    return batch_step


def random_actions(space: Any, num_envs: int) -> Callable[[Any], Any]:
    """`key -> actions`: uniform over a Discrete space's ints or inside a Box, `[num_envs, ...]`."""
    import jax
    import jax.numpy as jnp

    from jaxrl.envs import spaces

    if isinstance(space, spaces.Discrete):
        return lambda key: jax.random.randint(key, (num_envs,), 0, space.n)
    shape = (num_envs, *space.shape)
    low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), shape)
    high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), shape)
    return lambda key: jax.random.uniform(key, shape, jnp.float32, low, high)


def alternating_actions(space: Any, num_envs: int) -> Any:
    """Fixed actions cycling over the envs: `i % n` for Discrete, -1/+1 (clipped) for a Box."""
    import jax.numpy as jnp

    from jaxrl.envs import spaces

    index = jnp.arange(num_envs)
    if isinstance(space, spaces.Discrete):
        return (index % space.n).astype(space.dtype)
    sign = jnp.where(index % 2 == 0, -1.0, 1.0).astype(jnp.float32)
    actions = jnp.broadcast_to(
        sign.reshape((num_envs,) + (1,) * len(space.shape)), (num_envs, *space.shape)
    )
    return space.clip(actions)


def scan_length(num_envs: int, total_steps: int, max_scan_length: int) -> int:
    """T = `total_steps // num_envs`, at least 16 and at most `max_scan_length`."""
    return int(min(max(16, total_steps // num_envs), max(16, max_scan_length)))


def python_scan_length(num_envs: int, settings: Settings) -> int:
    """Batch steps per repetition of a Python-loop figure: the `scan_length` law over
    `python_steps`, never more than the JAX figures' T."""
    jax_steps = scan_length(num_envs, settings.steps, settings.max_scan_length)
    steps = scan_length(num_envs, settings.python_steps, settings.max_python_scan_length)
    return min(steps, jax_steps)


def single_env_contestant(name: str, env: Any, num_steps: int, seed: int) -> harness.Contestant:
    """A Gymnasium `Env` stepped `num_steps` times with sampled actions, reset whenever an episode
    ends: the agent-environment loop of Gymnasium's docs. The warm-up step is its compile."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    pool = [env.action_space.sample() for _ in range(ACTION_POOL)]

    def run():
        for step in range(num_steps):
            _, _, terminated, truncated, _ = _to_numpy(env.step(pool[step % len(pool)]))
            if terminated or truncated:
                env.reset()

    compile_s = harness.time_call(lambda: env.step(pool[0]))
    env.reset()
    return harness.Contestant(name, run, compile_s)


def _to_numpy(step_outputs: tuple) -> tuple:
    """A step's `(obs, reward, terminated, truncated, info)` with the first four as NumPy.

    What a Gymnasium client (SB3, a CleanRL script) consumes: gymnax's wrapper returns device
    arrays whose computation may still be in flight, so timing it without this would time the
    dispatch, not the step. For NumPy outputs it costs nothing (`np.asarray` returns them).
    """
    import numpy as np

    return (*(np.asarray(value) for value in step_outputs[:4]), step_outputs[4])


def jax_contestant(
    name: str, rollout: Callable, args: tuple, compiler_options: dict[str, Any]
) -> harness.Contestant:
    """Compiles `rollout(*args)` (timed, with XLA `compiler_options`) and warms it up once."""
    import jax

    start = time.perf_counter()
    compiled = jax.jit(rollout).lower(*args).compile(compiler_options or None)
    compile_s = time.perf_counter() - start
    run = lambda: compiled(*args)
    harness.time_call(run)
    return harness.Contestant(name, run, compile_s)


def python_contestant(name: str, vector_env: Any, num_steps: int, seed: int) -> harness.Contestant:
    """A Gymnasium `VectorEnv` stepped `num_steps` times with sampled actions, warmed up once.

    The actions cycle through `ACTION_POOL` batches sampled from the action space up front.

    The warm-up step is where jaxrl's adapter compiles its jitted step: its seconds are the
    figure's compile seconds.
    """
    vector_env.reset(seed=seed)
    vector_env.action_space.seed(seed)
    # Drawn before the clock starts: `action_space.sample()` costs as much as a CartPole step,
    # and the figure is the env's speed.
    pool = [vector_env.action_space.sample() for _ in range(min(num_steps, ACTION_POOL))]

    def run():
        for step in range(num_steps):
            _to_numpy(vector_env.step(pool[step % len(pool)]))

    compile_s = harness.time_call(lambda: vector_env.step(pool[0]))
    return harness.Contestant(name, run, compile_s)


def numpy_vector_env(env_id: str, num_envs: int) -> Any:
    """Gymnasium's NumPy vector env for `env_id`: the NumPy-batched CartPoleVectorEnv where
    Gymnasium has one, else a SyncVectorEnv of `gymnasium.make(id)`."""
    import gymnasium

    if env_id == "CartPole-v1":
        from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

        return CartPoleVectorEnv(num_envs=num_envs)
    return gymnasium.make_vec(GYMNASIUM_IDS[env_id], num_envs, vectorization_mode="sync")


def build_contestants(
    env_id: str, num_envs: int, settings: Settings, notes: list[str]
) -> list[harness.Contestant]:
    """The figures available for `env_id`, compiled and warmed up, in `CONTESTANTS` order.

    A figure that cannot run here (package missing, no counterpart, too many envs for a
    SyncVectorEnv) is left out with a line appended to `notes`.
    """
    import jax

    from jaxrl import envs

    num_steps = scan_length(num_envs, settings.steps, settings.max_scan_length)
    env, params = envs.make(env_id)
    space = env.action_space(params)
    key_reset, key_run = jax.random.split(jax.random.key(settings.seed))
    draw = random_actions(space, num_envs)
    options = settings.compiler_options
    contestants = []
    if env_id in GYMNAX_IDS and harness.installed("gymnax"):
        import gymnax

        gx_env, gx_params = gymnax.make(GYMNAX_IDS[env_id])
        keys = jax.random.split(key_reset, num_envs)
        obs, state = jax.vmap(gx_env.reset, in_axes=(0, None))(keys, gx_params)
        rollout = make_rollout(per_env_keys(gx_env.step, gx_params, num_envs), num_steps, draw)
        contestants.append(jax_contestant("gymnax_a", rollout, (key_run, obs, state), options))
    obs, state = env.reset_batch(key_reset, num_envs, params)
    args = (key_run, obs, state)
    rollout = make_rollout(per_env_keys(env.step, params, num_envs), num_steps, draw)
    contestants.append(jax_contestant("jaxrl_a", rollout, args, options))
    step_batch = lambda key, state, actions: env.step_batch(key, state, actions, params)
    contestants.append(
        jax_contestant("jaxrl_b", make_rollout(step_batch, num_steps, draw), args, options)
    )
    fixed = alternating_actions(space, num_envs)
    rollout = make_rollout(shared_key(env.step, params), num_steps, fixed_actions=fixed)
    contestants.append(jax_contestant("jaxrl_c", rollout, args, options))
    if not harness.installed("gymnasium"):
        _note(
            notes,
            "numpy and jaxrl_gym skipped: gymnasium is not installed (pip install -e '.[bench]')",
        )
        return contestants
    python_steps = python_scan_length(num_envs, settings)
    if env_id not in GYMNASIUM_IDS:
        _note(notes, f"numpy skipped for {env_id}: Gymnasium has no such env")
    elif env_id != "CartPole-v1" and num_envs > settings.max_sync_envs:
        _note(
            notes,
            f"numpy (SyncVectorEnv) not run above {settings.max_sync_envs} envs: it steps one "
            "env after the other in Python, so its throughput does not grow with num_envs",
        )
    else:
        vector_env = numpy_vector_env(env_id, num_envs)
        contestants.append(python_contestant("numpy", vector_env, python_steps, settings.seed))
    from jaxrl.envs.gymnasium_interop import GymnasiumVectorEnv

    adapter = GymnasiumVectorEnv(env_id, num_envs=num_envs)
    contestants.append(python_contestant("jaxrl_gym", adapter, python_steps, settings.seed))
    if env_id in GYMNAX_IDS and harness.installed("gymnax"):
        import gymnax
        from gymnax.wrappers.gym import GymnaxToVectorGymWrapper

        gx_env, gx_params = gymnax.make(GYMNAX_IDS[env_id])
        wrapper = GymnaxToVectorGymWrapper(gx_env, num_envs, gx_params, settings.seed)
        contestants.append(python_contestant("gymnax_gym", wrapper, python_steps, settings.seed))
    if num_envs == 1 and env_id in GYMNASIUM_IDS:
        import gymnasium

        import jaxrl.envs.gymnasium_interop  # noqa: F401  (registers jaxrl/<id>)

        for name, gym_id in (
            ("gym_single", GYMNASIUM_IDS[env_id]),
            ("jaxrl_gym_single", f"jaxrl/{env_id}"),
        ):
            single = gymnasium.make(gym_id)
            contestants.append(single_env_contestant(name, single, python_steps, settings.seed))
    return contestants


def bench_row(env_id: str, num_envs: int, settings: Settings, notes: list[str]) -> dict[str, Any]:
    """One table row: every available figure for `env_id` at `num_envs`, contestants alternated."""
    num_steps = scan_length(num_envs, settings.steps, settings.max_scan_length)
    python_steps = python_scan_length(num_envs, settings)
    contestants = build_contestants(env_id, num_envs, settings, notes)
    seconds = harness.alternate(contestants, settings.repeats)
    figures = {}
    for contestant in contestants:
        steps = python_steps if contestant.name in PYTHON_CONTESTANTS else num_steps
        median_s = statistics.median(seconds[contestant.name])
        figures[contestant.name] = {
            "steps_per_s": num_envs * steps / median_s,
            "num_steps": steps,
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
        "ratios": report.ratios(steps_per_s, RATIOS),
        "peak_rss_mib": harness.peak_rss_mib(),
        "device_memory": harness.device_memory(),
    }


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Runs every (env, num_envs) row; returns the benchmark's JSON section."""
    rows, notes = [], []
    for env_id in settings.envs:
        for num_envs in settings.num_envs:
            rows.append(bench_row(env_id, num_envs, settings, notes))
            log(f"envs: {env_id} num_envs={num_envs} done")
    return {
        "settings": {**dataclasses.asdict(settings), "compiler_options": settings.compiler_options},
        "results": rows,
        "notes": notes,
    }


def markdown(section: dict[str, Any]) -> str:
    """Steps per second in millions and the ratios, one line per (env, num_envs); then the
    compile seconds; then the notes."""
    ratio_names = [f"{a}/{b}" for a, b in RATIOS]
    speeds, compiles = [], []
    for row in section["results"]:
        figures = row["figures"]
        speeds.append(
            [row["env"], str(row["num_envs"]), str(row["num_steps"])]
            + [
                report.fmt(figures[n]["steps_per_s"] / 1e6) if n in figures else "-"
                for n in CONTESTANTS
            ]
            + [report.fmt_ratio(row["ratios"][name]) for name in ratio_names]
        )
        compiles.append(
            [row["env"], str(row["num_envs"])]
            + [f"{figures[n]['compile_s']:.2f}" if n in figures else "-" for n in CONTESTANTS]
            + [f"{row['peak_rss_mib']:.0f}"]
        )
    lines = [
        "Env steps per second (millions, median of the repetitions; T = batch steps per "
        "repetition of the JAX figures):",
        "",
        report.markdown_table(
            ["env", "num_envs", "T", *(f"{n} M/s" for n in CONTESTANTS), *ratio_names], speeds
        ),
        "",
        "Compile seconds (for the Python-loop figures: the first step) and the process's peak RSS "
        "so far:",
        "",
        report.markdown_table(
            ["env", "num_envs", *(f"{n} compile s" for n in CONTESTANTS), "peak RSS MiB"], compiles
        ),
    ]
    if section["notes"]:
        lines += ["", *(f"- note: {note}" for note in section["notes"])]
    return "\n".join(lines)


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """`envs_throughput.png`: steps per second against num_envs on log-log axes, one panel per
    env, one line per contestant."""
    series: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for row in section["results"]:
        panel = series.setdefault(row["env"], {})
        for name, figure in row["figures"].items():
            panel.setdefault(name, []).append((row["num_envs"], figure["steps_per_s"]))
    path = report.line_panels(
        series,
        out_dir,
        "envs_throughput.png",
        xlabel="num_envs",
        ylabel="env steps / s",
        logx=True,
        logy=True,
    )
    return [path]


def _note(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)
        print(f"note: {note}", file=sys.stderr)
