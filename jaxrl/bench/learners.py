"""DQN, PQN and SAC timed cold against rejax 0.1.3 and Stable-Baselines3, side by side.

Each algorithm races on its env (`RACES`: DQN and PQN on CartPole-v1, SAC on Pendulum-v1); every
measurement is a fresh process with the compile cache off. The jaxrl contestants run the
README's fast path for the learner:

    config = <algo>.default_config(env_id)
    train = jaxrl.jit(<algo>.make_train(config, env, env_params), <algo>.compile_options(config))
    result = train(jax.random.key(seed))
    returns = <the learner's deterministic policy over 100 episodes>(result, key)

timed from the `train(...)` call (which traces and compiles) to `returns` being ready:
"call->evaluated". The policy is the learner's `make_policy(..., deterministic=True)` played by
`play_policy` (the law of the learning tables), compiled with the same options once `train`
has finished (waiting there marks the run's end, so its env steps per second are the run's
own: the seconds from the call less the trace and compile seconds JAX reports). `jaxrl_8_seeds`
is the same with `jax.vmap` over 8 seeds in one program.

rejax 0.1.3 runs its published gymnax config for the same algorithm (`REJAX`, from rejax's
`configs/gymnax/`), through `ppo.FiveTupleEnv` (rejax unpacks gymnax 0.0.x's 5-tuple step),
with one evaluation at the end of `train` (`eval_freq = total_timesteps`: its published
config evaluates every few thousand steps, which would only slow it); `rejax_8_seeds` vmaps
its `train` over 8 seeds. Its env steps per second count its final evaluation as run time. Its
final policy is scored after the clock stops by the same law on jaxrl's env (greedy in its
Q-values; SAC: the tanh of the actor's mean).

Stable-Baselines3 (`sb3`) trains its RL Zoo hyperparameters for the algorithm (for PQN, which
SB3 lacks, its DQN, the closest) on Gymnasium's env with one torch thread, to the Zoo's budget,
then `evaluate_policy` plays 100 deterministic episodes. Eight SB3 seeds run one after another,
so its 8-seed time is taken as 8 times its one-seed median.

Solved means the mean of a seed's 100 evaluation episodes reaches the env's
`reward_threshold`. Contestants alternate within each repetition so machine noise hits all
alike; medians are reported with min and max, and ratios are of medians from the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from jaxrl.bench import harness, report
from jaxrl.bench.ppo import (
    FiveTupleEnv,
    Job,
    Measured,
    import_jax,
    jax_facts,
    record_of,
    seed_means,
    span,
    summarize,
)
from jaxrl.cli.parser import ArgumentParser

EVAL_EPISODES = 100
NUM_SEEDS_VMAPPED = 8
#: `--quick`: every contestant's training steps (enough for one PQN rollout).
QUICK_TIMESTEPS = 4_096
RESULT_PREFIX = "BENCH_LEARNERS_RESULT "
#: The least speedups, call->evaluated side by side, at one seed and at 8.
REJAX_SPEEDUP_GOAL = 3.0
SB3_SPEEDUP_GOAL = 10.0

#: rejax's `configs/gymnax/cartpole.yaml` (dqn, pqn) and `pendulum.yaml` (sac).
REJAX = {
    "dqn": {
        "agent": "DuelingQNetwork",
        "agent_kwargs": {"activation": "swish"},
        "num_envs": 10,
        "buffer_size": 50_000,
        "fill_buffer": 5_000,
        "batch_size": 100,
        "max_grad_norm": 10,
        "learning_rate": 0.001,
        "num_epochs": 5,
        "total_timesteps": 100_000,
        "polyak": 0.98,
        "eps_start": 1,
        "eps_end": 0.05,
        "exploration_fraction": 0.5,
        "gamma": 0.99,
        "ddqn": True,
        "normalize_observations": False,
    },
    "pqn": {
        "num_envs": 16,
        "num_steps": 128,
        "num_minibatches": 16,
        "max_grad_norm": 10,
        "learning_rate": 0.0003,
        "num_epochs": 5,
        "total_timesteps": 524_288,
        "eps_start": 1,
        "eps_end": 0.05,
        "exploration_fraction": 0.5,
        "gamma": 0.99,
        "td_lambda": 0.9,
        "normalize_observations": False,
    },
    "sac": {
        "agent_kwargs": {"activation": "swish"},
        "num_envs": 1,
        "buffer_size": 10_000,
        "fill_buffer": 256,
        "batch_size": 256,
        "learning_rate": 0.01,
        "num_epochs": 1,
        "total_timesteps": 10_000,
        "gamma": 0.99,
        "polyak": 0.98,
        "target_entropy_ratio": None,
        "normalize_observations": True,
    },
}

#: rl-baselines3-zoo `hyperparams/dqn.yml` CartPole-v1 and `hyperparams/sac.yml` Pendulum-v1.
RL_ZOO = {
    "DQN": {
        "n_timesteps": 50_000,
        "learning_rate": 2.3e-3,
        "batch_size": 64,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "gamma": 0.99,
        "target_update_interval": 10,
        "train_freq": 256,
        "gradient_steps": 128,
        "exploration_fraction": 0.16,
        "exploration_final_eps": 0.04,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "SAC": {"n_timesteps": 20_000, "learning_rate": 1e-3},
}


@dataclasses.dataclass(frozen=True)
class Race:
    """One algorithm's race.

    Attributes:
        env_id: the env (jaxrl's, gymnax's and Gymnasium's share it).
        rejax_class: the rejax algorithm class name; its config is `REJAX[algo]`.
        sb3_class: the SB3 algorithm class name; its config is `RL_ZOO[sb3_class]`.
    """

    env_id: str
    rejax_class: str
    sb3_class: str


RACES = {
    "dqn": Race("CartPole-v1", "DQN", "DQN"),
    "pqn": Race("CartPole-v1", "PQN", "DQN"),
    "sac": Race("Pendulum-v1", "SAC", "SAC"),
}
#: Contestant -> (its legend line, optional packages it imports).
CONTESTANTS = {
    "jaxrl": (
        "the README's fast path: jaxrl.jit(train, compile_options(config)), then the "
        "deterministic policy over 100 episodes, call->evaluated",
        (),
    ),
    "jaxrl_8_seeds": (f"the fast path, jax.vmap over {NUM_SEEDS_VMAPPED} seeds in one program", ()),
    "rejax": (
        "rejax 0.1.3, its published gymnax config, jax.jit(algo.train), one evaluation at the end",
        ("rejax", "gymnax"),
    ),
    "rejax_8_seeds": (
        f"rejax, jax.vmap(algo.train) over {NUM_SEEDS_VMAPPED} seeds",
        ("rejax", "gymnax"),
    ),
    "sb3": (
        "Stable-Baselines3, torch CPU (one thread), RL Zoo hyperparameters and budget "
        "(PQN: its DQN)",
        ("stable_baselines3", "torch"),
    ),
}
#: (ours, theirs) pairs whose call->evaluated and steps/s are compared; "sb3_x8" is eight
#: one-seed SB3 runs one after another.
PAIRS = (
    ("jaxrl", "rejax"),
    ("jaxrl_8_seeds", "rejax_8_seeds"),
    ("jaxrl", "sb3"),
    ("jaxrl_8_seeds", "sb3_x8"),
)
QUICK_CONTESTANTS = ("jaxrl",)


def measure_jaxrl(algo: str, job: Job, clock: harness.Clock, *, num_seeds: int = 1) -> Measured:
    """The learner's fast path (the module docstring) on `RACES[algo].env_id`, `jax.vmap`ped
    over `num_seeds` seeds when more than one."""
    jax = import_jax()
    import jaxrl
    from jaxrl import envs
    from jaxrl.agents import learner
    from jaxrl.agents.common.policy import play_policy

    clock.mark("imported")
    module, env_id = learner(algo), RACES[algo].env_id
    env, env_params = envs.make(env_id)
    config = module.default_config(env_id)
    if job.total_timesteps is not None:
        config = config.replace(total_timesteps=max(job.total_timesteps, config.rollout_size))
    options = module.compile_options(config, runs_per_device=num_seeds)
    policy = module.make_policy(config, env, env_params, deterministic=True)

    def evaluate(learner_state, key):
        params = policy.params(learner_state)
        return play_policy(policy, params, env, env_params, EVAL_EPISODES, key)

    batched = jax.vmap if num_seeds > 1 else lambda fn: fn
    keys = jax.random.key
    if num_seeds > 1:
        keys = lambda seed: jax.random.split(jax.random.key(seed), num_seeds)
    train = jaxrl.jit(batched(module.make_train(config, env, env_params)), options)
    evaluate = jaxrl.jit(batched(evaluate), options)
    compile_times = harness.record_compile_times()

    clock.mark("call")
    result = jax.block_until_ready(train(keys(job.seed)))
    clock.mark("trained")
    train_compile_times = dict(compile_times)
    returns = evaluate(result.runner_state.learner, keys(job.seed + 1))
    jax.block_until_ready(returns)
    clock.mark("evaluated")
    compile_times = dict(compile_times)
    env_steps = num_seeds * config.num_updates * config.rollout_size
    return Measured(
        num_seeds=num_seeds,
        env_steps=env_steps,
        eval_returns=seed_means(returns, num_seeds),
        curve=[],
        compile_times=compile_times,
        config={**dataclasses.asdict(config), "compile_options": dataclasses.asdict(options)},
        facts={**jax_facts(), **throughput(clock, "trained", train_compile_times, env_steps)},
    )


def throughput(
    clock: harness.Clock, end: str, compile_times: dict[str, float], env_steps: int
) -> dict[str, float]:
    """`run_s`, the seconds from "call" to the mark `end` less the tracing and compiling JAX
    reported in them, and the env steps per second it gives (`steps_per_s`)."""
    compiling_s = compile_times["trace_s"] + compile_times["compile_s"]
    run_s = clock.wall("call", end) - compiling_s
    return {"run_s": run_s, "steps_per_s": env_steps / run_s}


def measure_rejax(algo: str, job: Job, clock: harness.Clock, *, num_seeds: int = 1) -> Measured:
    """rejax 0.1.3's algorithm at `REJAX[algo]` through its own API (`create`, `jax.jit` of
    `algo.train`, vmapped over seeds when more than one), evaluating once, at the end; its
    result is its evaluation, so "trained" and "evaluated" are one moment. The 100-episode
    score on jaxrl's env is taken after the clock stops."""
    jax = import_jax()
    import gymnax
    import rejax

    clock.mark("imported")
    race = RACES[algo]
    hparams = dict(REJAX[algo])
    if job.total_timesteps is not None:
        hparams["total_timesteps"] = job.total_timesteps
    hparams.update(eval_freq=hparams["total_timesteps"], skip_initial_evaluation=True)
    env, env_params = gymnax.make(race.env_id)
    rejax_algo = getattr(rejax, race.rejax_class).create(
        env=FiveTupleEnv(env), env_params=env_params, **hparams
    )
    train = rejax_algo.train if num_seeds == 1 else jax.vmap(rejax_algo.train)
    keys = jax.random.key(job.seed)
    if num_seeds > 1:
        keys = jax.random.split(keys, num_seeds)
    compile_times = harness.record_compile_times()

    clock.mark("call")
    train_state, _ = jax.block_until_ready(jax.jit(train)(keys))
    clock.mark("evaluated")
    compile_times = dict(compile_times)

    evaluate = jax.jit(rejax_evaluate(algo, rejax_algo))
    if num_seeds > 1:
        evaluate = jax.jit(jax.vmap(rejax_evaluate(algo, rejax_algo)))
        eval_keys = jax.random.split(jax.random.key(job.seed + 1), num_seeds)
    else:
        eval_keys = jax.random.key(job.seed + 1)
    returns = evaluate(train_state, eval_keys)
    env_steps = num_seeds * int(rejax_algo.total_timesteps)
    return Measured(
        num_seeds=num_seeds,
        env_steps=env_steps,
        eval_returns=seed_means(returns, num_seeds),
        curve=[],
        compile_times=compile_times,
        config=hparams,
        facts={**jax_facts(), **throughput(clock, "evaluated", compile_times, env_steps)},
    )


def rejax_evaluate(algo: str, rejax_algo: Any) -> Callable:
    """`evaluate(train_state, key) -> returns [EVAL_EPISODES]`: rejax's final policy, greedy
    in its Q-values (SAC: the tanh of the actor's mean, scaled to the bounds), on observations
    normalised as it normalises them, played by `play_episodes` on jaxrl's env."""
    import jax.numpy as jnp

    from jaxrl import envs
    from jaxrl.agents.common.evaluation import play_episodes

    env, env_params = envs.make(RACES[algo].env_id)

    def deterministic_action(module, obs):
        return module.action_loc + jnp.tanh(module._action_dist(obs).mean()) * module.action_scale

    def evaluate(train_state, key):
        def act(obs, _):
            obs = obs.astype(jnp.float32)
            if getattr(rejax_algo, "normalize_observations", False):
                obs = rejax_algo.normalize_obs(train_state.obs_rms_state, obs)
            if algo == "sac":
                params = train_state.actor_ts.params
                return rejax_algo.actor.apply(params, obs, method=deterministic_action)
            q_values = rejax_algo.agent.apply(train_state.q_ts.params, obs)
            return jnp.argmax(q_values, axis=-1).astype(jnp.int32)

        return play_episodes(act, env, env_params, EVAL_EPISODES, key)

    return evaluate


def measure_sb3(algo: str, job: Job, clock: harness.Clock) -> Measured:
    """Stable-Baselines3 at `RL_ZOO` (`jaxrl.bench.sb3.train_and_evaluate_zoo`)."""
    from jaxrl.bench import sb3

    race = RACES[algo]
    hp = dict(RL_ZOO[race.sb3_class])
    if job.total_timesteps is not None:
        hp["n_timesteps"] = job.total_timesteps
    trained = sb3.train_and_evaluate_zoo(race.sb3_class, race.env_id, hp, job.seed, clock)
    return Measured(
        num_seeds=1,
        env_steps=trained["env_steps"],
        eval_returns=trained["eval_returns"],
        curve=trained["curve"],
        compile_times=None,
        config=trained["config"],
        facts={"jax_devices": ["cpu (torch)"], "device_memory": None},
    )


def measure(name: str, job: Job, clock: harness.Clock) -> Measured:
    """Contestant `name` ("<algo>/<contestant>") measured in this (child) process."""
    algo, contestant = name.split("/")
    if contestant == "sb3":
        return measure_sb3(algo, job, clock)
    num_seeds = NUM_SEEDS_VMAPPED if contestant.endswith("_8_seeds") else 1
    how = measure_jaxrl if contestant.startswith("jaxrl") else measure_rejax
    return how(algo, job, clock, num_seeds=num_seeds)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the learners benchmark measures.

    Attributes:
        algos: names from `RACES`.
        contestants: names from `CONTESTANTS`, run in this order in every repetition.
        repeats: fresh processes per contestant.
        timeout_s: seconds one child process may take.
        quick: a smoke run (`QUICK_TIMESTEPS` per run, so the goals do not apply).
    """

    algos: tuple[str, ...] = tuple(RACES)
    contestants: tuple[str, ...] = tuple(CONTESTANTS)
    repeats: int = 3
    timeout_s: float = 900.0
    quick: bool = False

    def __post_init__(self):
        for kind, names, choices in (
            ("algorithms", self.algos, RACES),
            ("contestants", self.contestants, CONTESTANTS),
        ):
            unknown = [name for name in names if name not in choices]
            if unknown:
                raise ValueError(f"unknown {kind} {unknown}; choose from {list(choices)}.")
            if not names:
                raise ValueError(f"name at least one of the {kind} {list(choices)}.")
        if self.repeats < 1:
            raise ValueError(f"repeats={self.repeats}: run at least one repetition.")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout={self.timeout_s}: give each child a positive time.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The learners benchmark's options."""
    parser.add_argument("--algos", nargs="+", help=f"from {list(RACES)} (default: all)")
    parser.add_argument("--contestants", nargs="+", help=f"from {list(CONTESTANTS)} (default: all)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child process")
    parser.add_argument("--repeats", type=int, help="fresh processes per contestant (default 3)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from parsed options; `--quick`: 1 repetition of jaxrl, `QUICK_TIMESTEPS`."""
    quick = bool(args.quick)
    return Settings(
        algos=tuple(args.algos or RACES),
        contestants=tuple(args.contestants or (QUICK_CONTESTANTS if quick else CONTESTANTS)),
        repeats=harness.given(args.repeats, 1 if quick else Settings.repeats),
        timeout_s=args.timeout,
        quick=quick,
    )


def spawn(name: str, job: Job, timeout_s: float) -> dict[str, Any]:
    """Runs one child process (`python -m jaxrl.bench.learners --child ALGO/NAME`); its record,
    or `{"error": one line}` if it failed."""
    command = [sys.executable, "-m", "jaxrl.bench.learners", "--child", name]
    command += ["--seed", str(job.seed)]
    if job.total_timesteps is not None:
        command += ["--total-timesteps", str(job.total_timesteps)]
    child_env = {**os.environ, "JAX_ENABLE_COMPILATION_CACHE": "false"}
    child_env.setdefault("JAX_PLATFORMS", "cpu")
    spawned_at = time.time()
    command += ["--spawned-at", repr(spawned_at)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, env=child_env
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {done.returncode}: {last[0]}"}
    record = json.loads(lines[-1][len(RESULT_PREFIX) :])
    record["child_wall_s"] = time.time() - spawned_at
    return record


def solved_return(algo: str) -> float:
    """The race's env's `reward_threshold`."""
    from jaxrl import envs

    env, env_params = envs.make(RACES[algo].env_id)
    return float(env.reward_threshold(env_params))


def median(summaries: dict[str, Any], name: str, key: str) -> float | None:
    """`name`'s median of `key`; "sb3_x8" is eight SB3 runs one after another: 8 times its
    seconds, the same steps per second."""
    if name == "sb3_x8":
        one = median(summaries, "sb3", key)
        scale = 1 if key == "steps_per_s" else NUM_SEEDS_VMAPPED
        return None if one is None else one * scale
    stats = summaries.get(name, {}).get(key)
    return None if stats is None else stats["median"]


def comparisons(summaries: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """`PAIRS`: call->evaluated speedup and env steps/s ratio, > 1 favouring jaxrl; None where
    either side did not run."""
    out = {}
    for ours, theirs in PAIRS:
        out[f"{ours}/{theirs}"] = {
            "speedup": harness.ratio(
                median(summaries, theirs, "call_to_evaluated_s"),
                median(summaries, ours, "call_to_evaluated_s"),
            ),
            "throughput": harness.ratio(
                median(summaries, ours, "steps_per_s"), median(summaries, theirs, "steps_per_s")
            ),
        }
    return out


def targets(algo: str, summaries: dict[str, Any], ratios: dict[str, Any]) -> list[dict]:
    """The goals for one race, each with its measured value and `met` (None: not measured)."""
    out = []
    for name in ("jaxrl", "jaxrl_8_seeds"):
        if name in summaries:
            s = summaries[name]
            out.append(
                {
                    "goal": f"{algo} {name}: every seed solves",
                    "value": f"{s['solved']}/{s['seeds_evaluated']}",
                    "met": s["solved"] == s["seeds_evaluated"],
                }
            )
    for pair, bound in (
        ("jaxrl/rejax", REJAX_SPEEDUP_GOAL),
        ("jaxrl_8_seeds/rejax_8_seeds", REJAX_SPEEDUP_GOAL),
        ("jaxrl/sb3", SB3_SPEEDUP_GOAL),
        ("jaxrl_8_seeds/sb3_x8", SB3_SPEEDUP_GOAL),
    ):
        value = ratios[pair]["speedup"]
        out.append(
            {
                "goal": f"{algo} call->evaluated speedup {pair} >= {bound:g}",
                "value": value,
                "met": None if value is None else value >= bound,
            }
        )
    return out


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Round-robin over each race's contestants, `settings.repeats` times; the JSON section."""
    skipped: dict[str, str] = {}
    for contestant in settings.contestants:
        error = harness.import_error(*CONTESTANTS[contestant][1])
        if error is not None:
            for algo in settings.algos:
                skipped[f"{algo}/{contestant}"] = error
            log(f"note: learners: {contestant} skipped: {error}")
    total_timesteps = QUICK_TIMESTEPS if settings.quick else None
    races = {}
    for algo in settings.algos:
        names = [f"{algo}/{c}" for c in settings.contestants]
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for repeat in range(settings.repeats):
            for name in names:
                if name in skipped:
                    continue
                record = spawn(
                    name, Job(seed=repeat, total_timesteps=total_timesteps), settings.timeout_s
                )
                if "error" in record:
                    skipped[name] = record["error"]
                    log(f"note: learners: {name} skipped: {record['error']}")
                    continue
                runs[name].append(record)
                log(
                    f"learners [{repeat + 1}/{settings.repeats}] {name}: call->evaluated "
                    f"{record['call_to_evaluated_s']:.2f} s, eval "
                    + " ".join(f"{r:.0f}" for r in record["eval_returns"])
                )
        solved = solved_return(algo)
        summaries = {
            name.split("/")[1]: summarize(runs[name], solved)
            for name in names
            if runs[name] and name not in skipped
        }
        ratios = comparisons(summaries)
        races[algo] = {
            "env_id": RACES[algo].env_id,
            "solved_return": solved,
            "rejax_hyperparameters": REJAX[algo],
            "sb3_hyperparameters": RL_ZOO[RACES[algo].sb3_class],
            "runs": runs,
            "summary": summaries,
            "ratios": ratios,
            "targets": targets(algo, summaries, ratios),
        }
    return {
        "settings": {
            **dataclasses.asdict(settings),
            "eval_episodes": EVAL_EPISODES,
            "compilation_cache": False,
        },
        "races": races,
        "skipped": skipped,
    }


def markdown(section: dict[str, Any]) -> str:
    """Per race: timings (median [min-max]), env steps/s, evaluation, and the ratios."""
    lines = []
    for algo, race in section["races"].items():
        rows = [
            [
                name,
                f"{s['env_steps']:,}",
                span(s["trace_compile_s"]),
                span(s["call_to_evaluated_s"]),
                span(s["process_s"]),
                "-" if s["steps_per_s"] is None else f"{s['steps_per_s']['median']:,.0f}",
                span(s["eval_return"], 1),
                f"{s['solved']}/{s['seeds_evaluated']}",
                f"{s['peak_rss_mib']['median']:.0f}",
            ]
            for name, s in race["summary"].items()
        ]
        header = [
            "contestant",
            "env steps",
            "trace+compile s",
            "call→evaluated s",
            "process s",
            "steps/s",
            "eval return (median [min-max])",
            "solved",
            "peak RSS MiB",
        ]
        ratio_rows = [
            [pair, report.fmt_ratio(row["speedup"]), report.fmt_ratio(row["throughput"])]
            for pair, row in race["ratios"].items()
            if any(v is not None for v in row.values())
        ]
        goal_rows = []
        for goal in race["targets"]:
            value = goal["value"]
            value = (
                f"{value:.2f}" if isinstance(value, float) else ("-" if value is None else value)
            )
            goal_rows.append(
                [goal["goal"], value, {True: "yes", False: "NO", None: "n/a"}[goal["met"]]]
            )
        lines += [
            f"### {algo} on {race['env_id']} (solved at {race['solved_return']:g})",
            "",
            report.markdown_table(header, rows),
            "",
        ]
        if ratio_rows:
            lines += [
                "Ratios of medians, > 1 favours jaxrl (sb3_x8: eight SB3 runs one after another):",
                "",
                report.markdown_table(
                    ["pair", "call→evaluated speedup", "steps/s ratio"], ratio_rows
                ),
                "",
            ]
        lines += [report.markdown_table(["goal", "measured", "met"], goal_rows), ""]
    lines.append("Legend: " + "; ".join(f"{n}: {d}" for n, (d, _) in CONTESTANTS.items()))
    if section["settings"]["quick"]:
        lines += ["", f"quick: {QUICK_TIMESTEPS} steps per run, so the goals do not apply."]
    for name, reason in section["skipped"].items():
        lines.append(f"- note: {name} skipped: {reason}")
    return "\n".join(lines)


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """No plots: the fused programs report no curve."""
    return []


def child_main(argv: Sequence[str] | None = None) -> int:
    """`python -m jaxrl.bench.learners --child ALGO/NAME ...`: one measurement, a JSON line."""
    names = [f"{algo}/{c}" for algo in RACES for c in CONTESTANTS]
    parser = ArgumentParser(
        prog="python -m jaxrl.bench.learners", description="one cold measurement, a JSON line"
    )
    parser.add_argument("--child", choices=names, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--total-timesteps", type=int)
    parser.add_argument("--spawned-at", type=float)
    args = parser.parse_args(argv)
    spawned_at = time.time() if args.spawned_at is None else args.spawned_at
    job = Job(seed=args.seed, total_timesteps=args.total_timesteps)
    clock = harness.Clock()
    measured = measure(args.child, job, clock)
    record = record_of(args.child, job, measured, clock, spawned_at)
    print(RESULT_PREFIX + json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
