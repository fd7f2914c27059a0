"""Env throughput in steps per second against `num_envs`: jaxrl beside gymnax and Gymnasium.

Figures, per env and batch size `num_envs` (`CONTESTANTS`, whose legend says what each is):
the JAX ones (gymnax_a, jaxrl_a, jaxrl_b, jaxrl_c) are each a jitted `lax.scan` of T batch
steps; the others are stepped from a Python loop as a Gymnasium client steps them, bringing
every step's outputs to NumPy (gymnax's wrapper returns device arrays, maybe in flight):
Gymnasium's own NumPy vector env (numpy), jaxrl's Gymnasium `VectorEnv` adapter in each of
Gymnasium's autoreset modes (jaxrl_gym: NEXT_STEP, the default; jaxrl_gym_same_step;
jaxrl_gym_disabled, which resets ended envs with `reset(options={"reset_mask": ...})` as a
Gymnasium user does), gymnax's `GymnaxToVectorGymWrapper` (gymnax_gym), and in rows with
num_envs = 1 one env through `gymnasium.make` (gym_single, jaxrl_gym_single).

The Python-loop figures take `python_scan_length` steps (fewer than T: their throughput is
steady from the first step, and T steps of one env would take minutes); `SyncVectorEnv`, whose
time grows with `num_envs` one env at a time, is not run above `max_sync_envs`. A figure whose
optional package fails to import, or which has no counterpart for an env, is left out with a
note.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import sys
from collections.abc import Callable
from typing import Any

from jaxrl.bench import harness, report
from jaxrl.machine import peak_rss_mib

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
#: Three decades apart: with every env, a full run's compiles fit the suite's ten minutes on two
#: cores; `--num-envs` adds points.
DEFAULT_NUM_ENVS = (1, 256, 65536)
QUICK_NUM_ENVS = (16,)
QUICK_ENVS = ("CartPole-v1",)

#: Batches of actions a Python-loop figure samples up front and cycles through.
ACTION_POOL = 16

BatchStep = Callable[[Any, Any, Any], tuple]


class Unavailable(Exception):
    """A figure cannot run for this env or batch size here; the message is the note."""


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
        quick: compile the JAX figures for the shortest compile (`compile_options`), so the
            figures are not comparable with a full run's.
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
    def compile_options(self) -> Any:
        """The JAX figures' `CompileOptions`: XLA's defaults, the same for jaxrl and gymnax
        ("fastest" in a quick run, where compile time dominates)."""
        from jaxrl.compilation import CompileOptions

        return CompileOptions(fast_compile="fastest" if self.quick else False)


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


def jax_contestant(name: str, rollout: Callable, args: tuple, options: Any) -> harness.Contestant:
    """Compiles `rollout(*args)` (timed, with `options`, a `CompileOptions`) and warms it up
    once."""
    from jaxrl.compilation import compile_program

    compiled, times = compile_program(rollout, *args, options=options)
    run = lambda: compiled(*args)
    harness.time_call(run)
    return harness.Contestant(name, run, times.trace_s + times.compile_s)


def python_contestant(
    name: str, vector_env: Any, num_steps: int, seed: int, *, reset_ended: bool = False
) -> harness.Contestant:
    """A Gymnasium `VectorEnv` stepped `num_steps` times with sampled actions, warmed up once.

    The actions cycle through `ACTION_POOL` batches sampled from the action space up front.
    `reset_ended`: after a step that ended episodes, reset those envs with
    `reset(options={"reset_mask": ended})`, as a Gymnasium user of a vector env without
    autoreset does. The warm-up step is where jaxrl's adapter compiles its jitted step: its
    seconds are the figure's compile seconds.
    """
    import numpy as np

    vector_env.reset(seed=seed)
    vector_env.action_space.seed(seed)
    # Drawn before the clock starts: `action_space.sample()` costs as much as a CartPole step,
    # and the figure is the env's speed.
    pool = [vector_env.action_space.sample() for _ in range(min(num_steps, ACTION_POOL))]

    def step(actions):
        _, _, terminated, truncated, _ = _to_numpy(vector_env.step(actions))
        ended = np.logical_or(terminated, truncated)
        if reset_ended and ended.any():
            vector_env.reset(options={"reset_mask": ended})

    def run():
        for index in range(num_steps):
            step(pool[index % len(pool)])

    compile_s = harness.time_call(lambda: step(pool[0]))
    return harness.Contestant(name, run, compile_s)


def numpy_vector_env(env_id: str, num_envs: int) -> Any:
    """Gymnasium's NumPy vector env for `env_id`: the NumPy-batched CartPoleVectorEnv where
    Gymnasium has one, else a SyncVectorEnv of `gymnasium.make(id)`."""
    import gymnasium

    if env_id == "CartPole-v1":
        from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

        return CartPoleVectorEnv(num_envs=num_envs)
    return gymnasium.make_vec(GYMNASIUM_IDS[env_id], num_envs, vectorization_mode="sync")


@dataclasses.dataclass(frozen=True)
class Row:
    """What every figure of one (env, num_envs) row is built from.

    Attributes:
        env_id, num_envs: the row.
        settings: the benchmark's settings.
        num_steps: T, batch steps per repetition of a JAX figure.
        python_steps: batch steps per repetition of a Python-loop figure.
        env, params: jaxrl's env and its params.
        key_run: the rollouts' key.
        key_reset: the initial states' key.
        obs, state: jaxrl's `num_envs` initial observations and states.
        draw: `key -> actions [num_envs, ...]`, uniformly random.
    """

    env_id: str
    num_envs: int
    settings: Settings
    num_steps: int
    python_steps: int
    env: Any
    params: Any
    key_run: Any
    key_reset: Any
    obs: Any
    state: Any
    draw: Callable[[Any], Any]


def gymnax_env(row: Row) -> tuple[Any, Any]:
    """gymnax's env and params for the row's env; `Unavailable` when gymnax has none."""
    import gymnax

    if row.env_id not in GYMNAX_IDS:
        raise Unavailable(f"gymnax has no {row.env_id}")
    return gymnax.make(GYMNAX_IDS[row.env_id])


def build_gymnax_scan(name: str, row: Row) -> harness.Contestant:
    """gymnax's convention: `vmap(env.step)`, one key per env per step, random actions."""
    import jax

    gx_env, gx_params = gymnax_env(row)
    keys = jax.random.split(row.key_reset, row.num_envs)
    obs, state = jax.vmap(gx_env.reset, in_axes=(0, None))(keys, gx_params)
    batch_step = per_env_keys(gx_env.step, gx_params, row.num_envs)
    rollout = make_rollout(batch_step, row.num_steps, row.draw)
    return jax_contestant(name, rollout, (row.key_run, obs, state), row.settings.compile_options)


def build_jaxrl_per_env_keys(name: str, row: Row) -> harness.Contestant:
    """gymnax's convention over jaxrl's `env.step`."""
    batch_step = per_env_keys(row.env.step, row.params, row.num_envs)
    return jaxrl_scan(name, row, make_rollout(batch_step, row.num_steps, row.draw))


def build_jaxrl_step_batch(name: str, row: Row) -> harness.Contestant:
    """jaxrl's batched rollout path, `env.step_batch` (one key per batch step)."""
    batch_step = lambda key, state, actions: row.env.step_batch(key, state, actions, row.params)
    return jaxrl_scan(name, row, make_rollout(batch_step, row.num_steps, row.draw))


def build_jaxrl_fixed_actions(name: str, row: Row) -> harness.Contestant:
    """Physics and auto-reset alone: one fixed key and fixed actions, no random numbers."""
    actions = alternating_actions(row.env.action_space(row.params), row.num_envs)
    batch_step = shared_key(row.env.step, row.params)
    return jaxrl_scan(name, row, make_rollout(batch_step, row.num_steps, fixed_actions=actions))


def jaxrl_scan(name: str, row: Row, rollout: Callable) -> harness.Contestant:
    """`rollout` from jaxrl's initial batch, compiled with the row's options."""
    args = (row.key_run, row.obs, row.state)
    return jax_contestant(name, rollout, args, row.settings.compile_options)


def build_numpy(name: str, row: Row) -> harness.Contestant:
    """Gymnasium's NumPy vector env (`numpy_vector_env`)."""
    if row.env_id not in GYMNASIUM_IDS:
        raise Unavailable(f"Gymnasium has no {row.env_id}")
    if row.env_id != "CartPole-v1" and row.num_envs > row.settings.max_sync_envs:
        raise Unavailable(
            f"SyncVectorEnv not run above {row.settings.max_sync_envs} envs: it steps one env "
            "after the other in Python, so its throughput does not grow with num_envs"
        )
    vector_env = numpy_vector_env(row.env_id, row.num_envs)
    return python_contestant(name, vector_env, row.python_steps, row.settings.seed)


def build_gym_adapter(name: str, row: Row, *, autoreset_mode: str) -> harness.Contestant:
    """jaxrl's Gymnasium `VectorEnv` adapter in `autoreset_mode` (an `AutoresetMode` member's
    name); under DISABLED the loop resets ended envs with a `reset_mask`."""
    from gymnasium.vector import AutoresetMode

    from jaxrl.envs.games.core import TwoPlayerGame
    from jaxrl.envs.gymnasium_interop import GymnasiumVectorEnv

    if isinstance(row.env, TwoPlayerGame):
        raise Unavailable(f"{row.env_id} is a two-player game, which Gymnasium cannot wrap")
    mode = AutoresetMode[autoreset_mode]
    adapter = GymnasiumVectorEnv(row.env_id, num_envs=row.num_envs, autoreset_mode=mode)
    reset_ended = mode is AutoresetMode.DISABLED
    return python_contestant(
        name, adapter, row.python_steps, row.settings.seed, reset_ended=reset_ended
    )


def build_gymnax_gym(name: str, row: Row) -> harness.Contestant:
    """gymnax's `GymnaxToVectorGymWrapper`."""
    from gymnax.wrappers.gym import GymnaxToVectorGymWrapper

    gx_env, gx_params = gymnax_env(row)
    wrapper = GymnaxToVectorGymWrapper(gx_env, row.num_envs, gx_params, row.settings.seed)
    return python_contestant(name, wrapper, row.python_steps, row.settings.seed)


def build_single(name: str, row: Row, *, jaxrl_adapter: bool) -> harness.Contestant:
    """One env through `gymnasium.make`: Gymnasium's own, or `jaxrl/<id>` (`jaxrl_adapter`)."""
    import gymnasium

    import jaxrl.envs.gymnasium_interop  # noqa: F401  (registers jaxrl/<id>)

    if row.env_id not in GYMNASIUM_IDS:
        raise Unavailable(f"Gymnasium has no {row.env_id}")
    gym_id = f"jaxrl/{row.env_id}" if jaxrl_adapter else GYMNASIUM_IDS[row.env_id]
    env = gymnasium.make(gym_id)
    return single_env_contestant(name, env, row.python_steps, row.settings.seed)


@dataclasses.dataclass(frozen=True)
class Figure:
    """One env-throughput figure.

    Attributes:
        description: its line in the legend.
        build: `(name, row) -> harness.Contestant`, compiled and warmed up; raises
            `Unavailable` (the note) where the figure cannot run for the row.
        packages: optional modules it imports; when one fails to, it is left out with a note
            naming the error.
        python_loop: stepped from a Python loop, `python_steps` batch steps per repetition.
        single_env: only in rows with num_envs = 1.
    """

    description: str
    build: Callable[[str, Row], harness.Contestant]
    packages: tuple[str, ...] = ()
    python_loop: bool = False
    single_env: bool = False


#: Figure name -> how it is built, in table order.
CONTESTANTS: dict[str, Figure] = {
    "gymnax_a": Figure(
        "gymnax: vmap(env.step), jax.random.split(key, num_envs) every step, random actions",
        build_gymnax_scan,
        packages=("gymnax",),
    ),
    "jaxrl_a": Figure(
        "the same harness over jaxrl's env.step",
        build_jaxrl_per_env_keys,
    ),
    "jaxrl_b": Figure(
        "jaxrl's batched rollout path env.step_batch (one key per batch step), same actions",
        build_jaxrl_step_batch,
    ),
    "jaxrl_c": Figure(
        "physics and auto-reset alone: vmap(env.step), one fixed key, fixed actions",
        build_jaxrl_fixed_actions,
    ),
    "numpy": Figure(
        "Gymnasium's NumPy vector env: CartPoleVectorEnv, else SyncVectorEnv of gymnasium.make",
        build_numpy,
        packages=("gymnasium",),
        python_loop=True,
    ),
    "jaxrl_gym": Figure(
        "jaxrl's Gymnasium VectorEnv adapter, autoreset NEXT_STEP (the default)",
        functools.partial(build_gym_adapter, autoreset_mode="NEXT_STEP"),
        packages=("gymnasium",),
        python_loop=True,
    ),
    "jaxrl_gym_same_step": Figure(
        "the adapter, autoreset SAME_STEP",
        functools.partial(build_gym_adapter, autoreset_mode="SAME_STEP"),
        packages=("gymnasium",),
        python_loop=True,
    ),
    "jaxrl_gym_disabled": Figure(
        "the adapter, autoreset DISABLED, ended envs reset with reset(options={'reset_mask'})",
        functools.partial(build_gym_adapter, autoreset_mode="DISABLED"),
        packages=("gymnasium",),
        python_loop=True,
    ),
    "gymnax_gym": Figure(
        "gymnax's GymnaxToVectorGymWrapper",
        build_gymnax_gym,
        packages=("gymnax", "gymnasium", "gymnax.wrappers.gym"),
        python_loop=True,
    ),
    "gym_single": Figure(
        "one env through gymnasium.make, Gymnasium's own, in the docs' loop",
        functools.partial(build_single, jaxrl_adapter=False),
        packages=("gymnasium",),
        python_loop=True,
        single_env=True,
    ),
    "jaxrl_gym_single": Figure(
        "one env through gymnasium.make('jaxrl/<id>'), in the docs' loop",
        functools.partial(build_single, jaxrl_adapter=True),
        packages=("gymnasium",),
        python_loop=True,
        single_env=True,
    ),
}
#: (numerator, denominator) pairs reported as ratios of steps per second.
RATIOS = (
    ("jaxrl_a", "gymnax_a"),
    ("jaxrl_b", "gymnax_a"),
    ("jaxrl_c", "gymnax_a"),
    ("jaxrl_b", "numpy"),
    ("jaxrl_gym", "numpy"),
    ("jaxrl_gym", "gymnax_gym"),
    ("jaxrl_gym_same_step", "numpy"),
    ("jaxrl_gym_same_step", "gymnax_gym"),
    ("jaxrl_gym_disabled", "numpy"),
    ("jaxrl_gym_disabled", "gymnax_gym"),
    ("jaxrl_gym_single", "gym_single"),
)


def build_contestants(
    env_id: str, num_envs: int, settings: Settings, notes: list[str]
) -> list[harness.Contestant]:
    """The figures available for `env_id` at `num_envs`, compiled and warmed up, in
    `CONTESTANTS` order. A figure that cannot run here (a package that fails to import, no
    counterpart, too many envs for a SyncVectorEnv) is left out with a line in `notes`."""
    import jax

    from jaxrl import envs

    env, params = envs.make(env_id)
    key_reset, key_run = jax.random.split(jax.random.key(settings.seed))
    obs, state = env.reset_batch(key_reset, num_envs, params)
    row = Row(
        env_id=env_id,
        num_envs=num_envs,
        settings=settings,
        num_steps=scan_length(num_envs, settings.steps, settings.max_scan_length),
        python_steps=python_scan_length(num_envs, settings),
        env=env,
        params=params,
        key_run=key_run,
        key_reset=key_reset,
        obs=obs,
        state=state,
        draw=random_actions(env.action_space(params), num_envs),
    )
    contestants = []
    for name, figure in CONTESTANTS.items():
        if figure.single_env and num_envs != 1:
            continue
        error = harness.import_error(*figure.packages)
        if error is not None:
            _note(notes, f"{name} skipped: {error}")
            continue
        try:
            contestants.append(figure.build(name, row))
        except Unavailable as reason:
            _note(notes, f"{name} skipped for {env_id} at {num_envs} envs: {reason}")
    return contestants


def bench_row(env_id: str, num_envs: int, settings: Settings, notes: list[str]) -> dict[str, Any]:
    """One table row: every available figure for `env_id` at `num_envs`, contestants alternated."""
    num_steps = scan_length(num_envs, settings.steps, settings.max_scan_length)
    python_steps = python_scan_length(num_envs, settings)
    contestants = build_contestants(env_id, num_envs, settings, notes)
    seconds = harness.alternate(contestants, settings.repeats)
    figures = {}
    for contestant in contestants:
        steps = python_steps if CONTESTANTS[contestant.name].python_loop else num_steps
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
        "peak_rss_mib": peak_rss_mib(),
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
        "settings": {
            **dataclasses.asdict(settings),
            "compile_options": dataclasses.asdict(settings.compile_options),
        },
        "results": rows,
        "notes": notes,
    }


def markdown(section: dict[str, Any]) -> str:
    """Steps per second in millions, one line per (env, num_envs); the ratios; the compile
    seconds; the legend and the notes."""
    ratio_names = [f"{a}/{b}" for a, b in RATIOS]
    shown = [n for n in CONTESTANTS if any(n in row["figures"] for row in section["results"])]
    speeds, ratios, compiles = [], [], []
    for row in section["results"]:
        figures = row["figures"]
        where = [row["env"], str(row["num_envs"])]
        speeds.append(
            [*where, str(row["num_steps"])]
            + [report.fmt(figures[n]["steps_per_s"] / 1e6) if n in figures else "-" for n in shown]
        )
        ratios.append([*where, *(report.fmt_ratio(row["ratios"][name]) for name in ratio_names)])
        compiles.append(
            where
            + [f"{figures[n]['compile_s']:.2f}" if n in figures else "-" for n in shown]
            + [f"{row['peak_rss_mib']:.0f}"]
        )
    lines = [
        "Env steps per second (millions, median of the repetitions; T = batch steps per "
        "repetition of the JAX figures):",
        "",
        report.markdown_table(["env", "num_envs", "T", *(f"{n} M/s" for n in shown)], speeds),
        "",
        "Ratios of steps per second, measured side by side (> 1 favours the first):",
        "",
        report.markdown_table(["env", "num_envs", *ratio_names], ratios),
        "",
        "Compile seconds (for the Python-loop figures: the first step) and the process's peak RSS "
        "so far:",
        "",
        report.markdown_table(
            ["env", "num_envs", *(f"{n} compile s" for n in shown), "peak RSS MiB"], compiles
        ),
        "",
        "Legend: " + "; ".join(f"{n}: {CONTESTANTS[n].description}" for n in shown),
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
