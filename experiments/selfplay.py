"""Self-play on a two-player game, measured on the evaluation ladder over wall-clock time.

Trains `selfplay.default_config(game)` in chunks of updates (one compiled chunk program, run
again and again); after each chunk the learner's network (greedy, ties broken at random; no
search at play time) plays `--games` games against every rung of the game's ladder, half from
each seat, and the win, draw and loss rates are recorded with the seconds since the command
started (compile included). The curve and the final rates go to `--out` (default
`runs/selfplay-<game>-<UTC time>.json`), the curve's plot beside it (`.png`), and the final
table is printed.

    python experiments/selfplay.py TicTacToe-v0
    python experiments/selfplay.py ConnectFour-v0 --minutes 15
"""

from __future__ import annotations

import dataclasses
import datetime
import shlex
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jaxrl import envs
from jaxrl.agents import selfplay
from jaxrl.agents.selfplay import ladder
from jaxrl.agents.selfplay.networks import make_agent
from jaxrl.cli.parser import ArgumentParser
from jaxrl.cli.plots import save_ladder_curve
from jaxrl.envs.games.core import TwoPlayerGame
from jaxrl.files import write_json
from jaxrl.machine import available_cores, cpu_model


def run(
    game_id: str,
    *,
    seed: int,
    chunks: int,
    num_games: int,
    rungs: list[str] | None,
    minutes: float | None,
    config: selfplay.SelfPlayConfig | None = None,
) -> dict:
    """Trains `config` (the game's default when None) in `chunks` equal chunks (or until
    `minutes` pass), evaluating after each."""
    started = time.perf_counter()
    game, _ = envs.make(game_id)
    config = selfplay.default_config(game_id) if config is None else config
    chunk_updates = max(1, config.num_updates // chunks)
    init = jax.jit(selfplay.make_init(config, game))
    run_chunk = jax.jit(selfplay.make_run_updates(config, game, num_updates=chunk_updates))
    players = ladder.ladder(game)
    agent = make_agent(config, game)
    names = list(players) if rungs is None else rungs

    @jax.jit
    def evaluate(params, key):
        learner = selfplay.make_player(config, game, params)
        keys = jax.random.split(key, len(names))
        return {
            name: ladder.play_games(game, learner, players[name], k, num_games)
            for name, k in zip(names, keys, strict=True)
        }

    key_train, key_eval = jax.random.split(jax.random.key(seed))
    runner = init(key_train)
    curve = []
    for chunk in range(chunks):
        runner, metrics = run_chunk(runner)
        params = agent.unravel(runner.learner.params)
        matches = jax.device_get(evaluate(params, jax.random.fold_in(key_eval, chunk)))
        point = {
            "seconds": time.perf_counter() - started,
            "env_steps": int((chunk + 1) * chunk_updates * config.rollout_size),
            "league_return": float(np.nanmean(np.asarray(metrics["episode_return"]))),
            **{name: _rates(match) for name, match in matches.items()},
        }
        curve.append(point)
        print(_progress(point, names), file=sys.stderr, flush=True)
        if minutes is not None and point["seconds"] > 60 * minutes:
            break
    return {
        "game": game_id,
        "config": dataclasses.asdict(config),
        "games_per_rung": num_games,
        "curve": curve,
        "final": {name: curve[-1][name] for name in names},
        "seconds": curve[-1]["seconds"],
    }


def _rates(match: ladder.MatchResult) -> dict:
    return {
        "win": float(match.win_rate),
        "draw": float(match.draw_rate),
        "loss": float(match.loss_rate),
        "seat_win": np.asarray(match.seat_win_rate).tolist(),
        "seat_loss": np.asarray(match.seat_loss_rate).tolist(),
    }


def _progress(point: dict, names: list[str]) -> str:
    rates = ", ".join(
        f"{name} {point[name]['win']:.0%}/{point[name]['draw']:.0%}/{point[name]['loss']:.0%}"
        for name in names
    )
    return f"{point['seconds']:6.1f} s {point['env_steps']:>9,} steps: {rates} (win/draw/loss)"


def markdown_table(result: dict) -> str:
    """The final rates against each rung as a GitHub markdown table."""
    lines = [
        "| opponent | win | draw | loss | loss as first / second |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rates in result["final"].items():
        first, second = rates["seat_loss"]
        lines.append(
            f"| {name} | {rates['win']:.1%} | {rates['draw']:.1%} | {rates['loss']:.1%} "
            f"| {first:.1%} / {second:.1%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs the experiment; 0, or 2 on bad input (one line on stderr)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = ArgumentParser(prog="selfplay.py", description=__doc__.splitlines()[0])
    parser.add_argument("game", help="TicTacToe-v0 or ConnectFour-v0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=10, help="evaluations over the run")
    parser.add_argument("--games", type=int, default=1000, help="games per ladder rung")
    parser.add_argument("--rungs", nargs="+", help="ladder rungs (default: all of the game's)")
    parser.add_argument("--minutes", type=float, help="stop after the chunk that passes this")
    parser.add_argument("--out", type=Path, help="JSON file (default runs/selfplay-...json)")
    args = parser.parse_args(argv)
    if args.chunks < 1 or args.games < 2:
        parser.error(
            f"--chunks {args.chunks} --games {args.games}: pass --chunks >= 1, --games >= 2."
        )
    try:
        game, _ = envs.make(args.game)
        selfplay.default_config(args.game)
    except ValueError as error:
        parser.error(str(error))
    if not isinstance(game, TwoPlayerGame):
        parser.error(f"{args.game} is not a two-player game; use TicTacToe-v0 or ConnectFour-v0.")
    known = list(ladder.ladder(game))
    unknown = [name for name in args.rungs or () if name not in known]
    if unknown:
        parser.error(f"--rungs {unknown[0]!r}: {args.game}'s rungs are {', '.join(known)}.")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("runs") / f"selfplay-{args.game}-{stamp}.json"
    command = "python " + shlex.join(["experiments/selfplay.py", *argv])
    result = run(
        args.game,
        seed=args.seed,
        chunks=args.chunks,
        num_games=args.games,
        rungs=args.rungs,
        minutes=args.minutes,
    )
    cpu, cores = cpu_model(), available_cores()
    print(markdown_table(result))
    print(
        f"\n{result['seconds']:.0f} s from start, compile included. CPU: {cpu} ({cores} cores), "
        f"jax {jax.__version__}. Command: `{command}`"
    )
    machine = {"cpu": cpu, "cores": cores, "jax": jax.__version__}
    write_json(out, {**machine, "command": command, **result})
    plot = out.with_suffix(".png")
    save_ladder_curve(plot, result["curve"], list(result["final"]), args.game)
    print(f"wrote {out} and {plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
