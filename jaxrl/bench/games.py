"""Board-game throughput: jaxrl's Tic-tac-toe and Connect Four beside pgx's, in steps per second.

Every figure is a jitted `lax.scan` of T batch steps of `num_envs` games, each move drawn
uniformly among the mover's legal moves (`random_legal_moves`, the same code for every figure),
and each game that ends started afresh on the same step:

- jaxrl_a: `vmap(env.step)` with one key for the batch (a game's reset draws nothing);
- jaxrl_b: jaxrl's batched rollout path, `env.step_batch`;
- pgx: `vmap` of pgx's step wrapped in `pgx.experimental.auto_reset` (its own way to start
  finished games afresh), one key per game, as pgx's examples step a batch.

The keys, per game and per step, are split with `jaxrl.envs.numerics.split` and the sampler's
uniforms drawn with `numerics.uniform`: JAX's own Threefry bits, without its rolled loop, so
the random numbers common to all figures cost little beside the games. Compile time is measured
apart; the figure is the median of the repetitions, the contestants taking turns in each.
Without pgx the benchmark runs jaxrl's figures alone, with a note.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Callable
from typing import Any

from jaxrl.bench import envs as bench_envs
from jaxrl.bench import harness, report
from jaxrl.machine import cpu_model, peak_rss_mib

#: jaxrl id -> pgx id of the same game.
PGX_IDS = {"TicTacToe-v0": "tic_tac_toe", "ConnectFour-v0": "connect_four"}
DEFAULT_NUM_ENVS = (1, 256, 4096)
QUICK_NUM_ENVS = (16,)
QUICK_GAMES = ("ConnectFour-v0",)
#: Figure name -> its line in the legend, in table order.
CONTESTANTS = {
    "jaxrl_a": "jaxrl: vmap(env.step), one key per batch step",
    "jaxrl_b": "jaxrl's batched rollout path, env.step_batch",
    "pgx": "pgx: vmap(pgx.experimental.auto_reset(env.step, env.init)), one key per game",
}
#: (numerator, denominator) pairs reported as ratios of steps per second.
RATIOS = (("jaxrl_a", "pgx"), ("jaxrl_b", "pgx"))


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the game benchmark measures.

    Attributes:
        games: jaxrl game ids, keys of `PGX_IDS`.
        num_envs: batch sizes (games side by side).
        steps: moves per repetition; T = `bench.envs.scan_length(num_envs, steps,
            max_scan_length)` batch steps.
        max_scan_length: upper bound on T.
        repeats: timed repetitions per figure; the median is reported.
        seed: seeds the first games and the moves.
        quick: compile for the shortest compile, so the figures are not comparable with a
            full run's.
    """

    games: tuple[str, ...] = tuple(PGX_IDS)
    num_envs: tuple[int, ...] = DEFAULT_NUM_ENVS
    steps: int = 2**20
    max_scan_length: int = 2**14
    repeats: int = 3
    seed: int = 0
    quick: bool = False

    def __post_init__(self):
        unknown = sorted(set(self.games) - set(PGX_IDS))
        if unknown:
            raise ValueError(f"unknown games {unknown}; choose among {', '.join(PGX_IDS)}.")
        if not self.games or not self.num_envs:
            raise ValueError("name at least one game and one num_envs.")
        if min(self.num_envs) < 1:
            raise ValueError(f"num_envs {list(self.num_envs)}: each must be at least 1.")
        for name in ("steps", "max_scan_length", "repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: must be at least 1.")

    @property
    def compile_options(self) -> Any:
        """The figures' `CompileOptions`: XLA's defaults ("fastest" in a quick run)."""
        from jaxrl.compilation import CompileOptions

        return CompileOptions(fast_compile="fastest" if self.quick else False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The game benchmark's options (defaults None: `settings_from_args` fills them)."""
    parser.add_argument("--games", nargs="+", help=f"jaxrl game ids (default {list(PGX_IDS)})")
    parser.add_argument("--num-envs", nargs="+", type=int, help=f"default {DEFAULT_NUM_ENVS}")
    parser.add_argument(
        "--steps", type=int, help="moves per repetition, T = steps // num_envs (default 2**20)"
    )
    parser.add_argument("--max-scan-length", type=int, help="upper bound on T (default 2**14)")
    parser.add_argument("--repeats", type=int, help="timed repetitions, median taken (default 3)")
    parser.add_argument("--seed", type=int, default=0)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from parsed options, `--quick`'s small defaults where an option is not given."""
    quick = bool(args.quick)
    return Settings(
        games=tuple(args.games or (QUICK_GAMES if quick else PGX_IDS)),
        num_envs=tuple(args.num_envs or (QUICK_NUM_ENVS if quick else DEFAULT_NUM_ENVS)),
        steps=harness.given(args.steps, 2**8 if quick else Settings.steps),
        max_scan_length=harness.given(args.max_scan_length, Settings.max_scan_length),
        repeats=harness.given(args.repeats, 2 if quick else Settings.repeats),
        seed=args.seed,
        quick=quick,
    )


def random_legal_moves(key: Any, legal_action_mask: Any) -> Any:
    """int32 `[num_envs]`: a move per game, uniform among its legal ones.

    Args:
        key: one PRNG key for the batch.
        legal_action_mask: bool `[num_envs, num_actions]`, at least one legal move a game.
    """
    import jax
    import jax.numpy as jnp

    from jaxrl.envs import numerics

    num_envs, num_actions = legal_action_mask.shape
    uniforms = jax.vmap(lambda k: numerics.uniform(k, ()))(numerics.split(key, num_envs))
    # The legal moves up to each action (a product with a triangle of ones: a cumsum is a
    # reduce-window on the CPU), and the chosen rank among them.
    upper = jnp.triu(jnp.ones((num_actions, num_actions), jnp.float32))
    rank = legal_action_mask.astype(jnp.float32) @ upper
    chosen = jnp.floor(uniforms * rank[:, -1])
    return jnp.sum(rank <= chosen[:, None], axis=-1, dtype=jnp.int32)


def make_rollout(batch_step: Callable, num_steps: int) -> Callable:
    """`rollout(key, state) -> (key, state, returns, num_done)`: `num_steps` batch steps of
    random legal moves in one `lax.scan` (unjitted).

    Args:
        batch_step: `(key, state, actions) -> (state, reward [num_envs], done [num_envs])`.
        num_steps: the scan length T (static).
    """
    import jax
    import jax.numpy as jnp

    from jaxrl.envs import numerics

    def body(carry, _):
        key, state, returns, num_done = carry
        key, key_moves, key_step = numerics.split(key, 3)
        actions = random_legal_moves(key_moves, state.legal_action_mask)
        state, reward, done = batch_step(key_step, state, actions)
        return (key, state, returns + reward, num_done + done.astype(jnp.int32)), None

    def rollout(key, state):
        num_envs = state.legal_action_mask.shape[0]
        zeros = jnp.zeros(num_envs, jnp.float32), jnp.zeros(num_envs, jnp.int32)
        return jax.lax.scan(body, (key, state, *zeros), None, length=num_steps)[0]

    return rollout


def jaxrl_step(env: Any, batched: bool) -> Callable:
    """jaxrl's batch step: `env.step_batch` (`batched`) or `vmap(env.step)` with one key."""
    import jax

    params = env.default_params

    def batch_step(key, state, actions):
        if batched:
            outputs = env.step_batch(key, state, actions, params)
        else:
            outputs = jax.vmap(env.step, in_axes=(None, 0, 0, None))(key, state, actions, params)
        _, state, reward, terminated, truncated, _ = outputs
        return state, reward, terminated | truncated

    return batch_step


def pgx_step(env: Any) -> Callable:
    """pgx's batch step: its step in `auto_reset`, vmapped with one key per game."""
    import jax
    from pgx.experimental import auto_reset

    from jaxrl.envs import numerics

    step = jax.vmap(auto_reset(env.step, env.init))

    def batch_step(key, state, actions):
        state = step(state, actions, numerics.split(key, actions.shape[0]))
        return state, state.rewards[:, 0], state.terminated | state.truncated

    return batch_step


def build_contestants(
    game: str, num_envs: int, settings: Settings, notes: list[str]
) -> list[harness.Contestant]:
    """jaxrl_a, jaxrl_b and (where pgx imports) pgx for `game` at `num_envs`, compiled and
    warmed up."""
    import jax

    from jaxrl import envs
    from jaxrl.envs import numerics

    num_steps = bench_envs.scan_length(num_envs, settings.steps, settings.max_scan_length)
    key_reset, key_run = jax.random.split(jax.random.key(settings.seed))
    env, params = envs.make(game)
    state = env.reset_batch(key_reset, num_envs, params)[1]
    options = settings.compile_options
    contestants = [
        bench_envs.jax_contestant(
            name, make_rollout(jaxrl_step(env, batched), num_steps), (key_run, state), options
        )
        for name, batched in (("jaxrl_a", False), ("jaxrl_b", True))
    ]
    error = harness.import_error("pgx", "pgx.experimental")
    if error is not None:
        _note(notes, f"pgx skipped: {error}")
        return contestants
    import pgx

    pgx_env = pgx.make(PGX_IDS[game])
    pgx_state = jax.vmap(pgx_env.init)(numerics.split(key_reset, num_envs))
    rollout = make_rollout(pgx_step(pgx_env), num_steps)
    contestants.append(bench_envs.jax_contestant("pgx", rollout, (key_run, pgx_state), options))
    return contestants


def bench_row(game: str, num_envs: int, settings: Settings, notes: list[str]) -> dict[str, Any]:
    """One table row: every figure for `game` at `num_envs`, contestants alternated."""
    num_steps = bench_envs.scan_length(num_envs, settings.steps, settings.max_scan_length)
    contestants = build_contestants(game, num_envs, settings, notes)
    seconds = harness.alternate(contestants, settings.repeats)
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
        "game": game,
        "num_envs": num_envs,
        "num_steps": num_steps,
        "figures": figures,
        "ratios": report.ratios(steps_per_s, RATIOS),
        "peak_rss_mib": peak_rss_mib(),
    }


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Runs every (game, num_envs) row; returns the benchmark's JSON section."""
    rows, notes = [], []
    for game in settings.games:
        for num_envs in settings.num_envs:
            rows.append(bench_row(game, num_envs, settings, notes))
            log(f"games: {game} num_envs={num_envs} done")
    return {
        "settings": {
            **dataclasses.asdict(settings),
            "compile_options": dataclasses.asdict(settings.compile_options),
        },
        "cpu": cpu_model(),
        "results": rows,
        "notes": notes,
    }


def markdown(section: dict[str, Any]) -> str:
    """Steps per second in millions and the ratios to pgx, one line per (game, num_envs); the
    compile seconds; the CPU, the legend and the notes."""
    ratio_names = [f"{a}/{b}" for a, b in RATIOS]
    shown = [n for n in CONTESTANTS if any(n in row["figures"] for row in section["results"])]
    speeds, compiles = [], []
    for row in section["results"]:
        figures = row["figures"]
        where = [row["game"], str(row["num_envs"])]
        speeds.append(
            [*where, str(row["num_steps"])]
            + [report.fmt(figures[n]["steps_per_s"] / 1e6) if n in figures else "-" for n in shown]
            + [report.fmt_ratio(row["ratios"][name]) for name in ratio_names]
        )
        compiles.append(
            where + [f"{figures[n]['compile_s']:.2f}" if n in figures else "-" for n in shown]
        )
    lines = [
        f"Game steps per second (millions, median of the repetitions; T = batch steps per "
        f"repetition) and their ratios, measured side by side on {section['cpu']}:",
        "",
        report.markdown_table(
            ["game", "num_envs", "T", *(f"{n} M/s" for n in shown), *ratio_names], speeds
        ),
        "",
        "Compile seconds:",
        "",
        report.markdown_table(["game", "num_envs", *(f"{n} compile s" for n in shown)], compiles),
        "",
        "Legend: " + "; ".join(f"{n}: {CONTESTANTS[n]}" for n in shown) + ". Moves uniform "
        "among the legal ones, drawn by the same code for every figure.",
    ]
    if section["notes"]:
        lines += ["", *(f"- note: {note}" for note in section["notes"])]
    return "\n".join(lines)


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """No plot: three batch sizes read better in the table."""
    return []


def _note(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)
        print(f"note: {note}", file=sys.stderr)
