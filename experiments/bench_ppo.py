"""PPO on CartPole-v1 timed cold: every measurement is a fresh process, compile cache off.

Contestants (`CONTESTANTS`):
  jaxrl           the tuned default (`ppo.default_config("CartPole-v1")`), compiled with
                  `compile_program` (the CPU fast-compile XLA options).
  jaxrl_jit       the same program through plain `jax.jit` (XLA's default options).
  jaxrl_rejax_hp  jaxrl at rejax's published CartPole hyperparameters (`REJAX_CARTPOLE`).
  jaxrl_8_seeds   the tuned default, `jax.vmap(train)` over 8 seeds in one program.
  rejax           rejax 0.1.3 as published: it evaluates 128 episodes every 1000 steps inside
                  `train` (`pip install rejax==0.1.3`; skipped with a note when absent).
  rejax_eval_end  rejax with `eval_freq = total_timesteps` and no initial evaluation: one
                  evaluation, at the end.
  jaxrl_no_fusion_emitters  (opt-in, `--contestants`) the tuned default compiled with the fast
                  options plus `xla_cpu_use_fusion_emitters=False` (XLA:CPU's older elemental
                  emitters: fewer, larger kernels to generate).

Each child process reports trace, compile and run seconds, the wall clock from `jax.jit(train)`
to trained parameters (`block_until_ready`), the process wall from spawn to those parameters
(interpreter start and imports included) and env steps per second during the run. Then, outside
the timed part, it evaluates each seed's final policy: mean return of 100 deterministic (argmax)
episodes on jaxrl's CartPole-v1, the same evaluator for every contestant; solved is >= 475.
Contestants alternate within each repetition (round-robin) so machine noise hits all alike;
medians are reported with min and max.

    python experiments/bench_ppo.py                 # 5 repetitions, results/bench_ppo.json
    python experiments/bench_ppo.py --quick         # CI: 1 repetition, tiny runs, jaxrl only
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jaxrl.reporting import cpu_model, write_json_atomically

ENV_ID = "CartPole-v1"
SOLVED_RETURN = 475.0
EVAL_EPISODES = 100
NUM_SEEDS_VMAPPED = 8
QUICK_TIMESTEPS = 1_000
RESULT_PREFIX = "BENCH_PPO_RESULT "

#: rejax's `configs/gymnax/cartpole.yaml`, PPO section (rejax 0.1.3's published CartPole run).
REJAX_CARTPOLE = {
    "agent_kwargs": {"activation": "tanh"},
    "num_envs": 5,
    "num_steps": 100,
    "num_epochs": 5,
    "num_minibatches": 5,
    "learning_rate": 7.5e-4,
    "max_grad_norm": 0.5,
    "total_timesteps": 100_000,
    "eval_freq": 1000,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_eps": 0.2,
    "ent_coef": 0.01,
    "vf_coef": 0.5,
}
#: Contestant name -> what it is (the table's legend).
CONTESTANTS = {
    "jaxrl": "tuned default, compile_program (fast compile)",
    "jaxrl_jit": "tuned default, plain jax.jit",
    "jaxrl_rejax_hp": "rejax's hyperparameters, compile_program",
    "jaxrl_8_seeds": f"tuned default, vmap over {NUM_SEEDS_VMAPPED} seeds, compile_program",
    "rejax": "rejax 0.1.3 as published (eval every 1000 steps)",
    "rejax_eval_end": "rejax 0.1.3, one evaluation at the end",
    "jaxrl_no_fusion_emitters": "tuned default, fast compile + xla_cpu_use_fusion_emitters=False",
}
REJAX_CONTESTANTS = ("rejax", "rejax_eval_end")
#: Run only when named with --contestants: a compiler setting under evaluation.
OPT_IN_CONTESTANTS = ("jaxrl_no_fusion_emitters",)
DEFAULT_CONTESTANTS = tuple(name for name in CONTESTANTS if name not in OPT_IN_CONTESTANTS)
QUICK_CONTESTANTS = tuple(name for name in DEFAULT_CONTESTANTS if name not in REJAX_CONTESTANTS)
#: Contestants that train the tuned default config (whose every seed should solve CartPole).
TUNED_DEFAULT = ("jaxrl", "jaxrl_jit", "jaxrl_8_seeds")
#: Per-run numbers summarised as median/min/max.
TIMINGS = (
    "trace_s",
    "compile_s",
    "trace_compile_s",
    "run_s",
    "jit_to_params_s",
    "process_s",
    "import_jax_s",
    "import_s",
    "trace_compile_cpu_s",
    "run_cpu_s",
    "jit_to_params_cpu_s",
    "process_cpu_s",
    "steps_per_s",
    "steps_per_cpu_s",
)


def jaxrl_rejax_config(base):
    """`base` (a PPOConfig) at `REJAX_CARTPOLE`'s settings; rejax keeps its learning rate fixed."""
    hp = REJAX_CARTPOLE
    return base.replace(
        total_timesteps=hp["total_timesteps"],
        num_envs=hp["num_envs"],
        num_steps=hp["num_steps"],
        update_epochs=hp["num_epochs"],
        num_minibatches=hp["num_minibatches"],
        learning_rate=hp["learning_rate"],
        max_grad_norm=hp["max_grad_norm"],
        gamma=hp["gamma"],
        gae_lambda=hp["gae_lambda"],
        clip_eps=hp["clip_eps"],
        ent_coef=hp["ent_coef"],
        vf_coef=hp["vf_coef"],
        activation=hp["agent_kwargs"]["activation"],
        hidden_sizes=(64, 64),
        anneal_lr=False,
    )


class FiveTupleEnv:
    """A gymnax >= 1.0 env seen through the 5-tuple `step` that rejax 0.1.3 unpacks.

    gymnax 1.0's `step` returns `(obs, state, reward, terminated, truncated, info)`; rejax expects
    gymnax 0.0.x's `(obs, state, reward, done, info)` with `done = terminated | truncated`.
    """

    def __init__(self, env):
        self.env = env

    @property
    def default_params(self):
        return self.env.default_params

    def reset(self, key, params=None):
        return self.env.reset(key, params)

    def step(self, key, state, action, params=None):
        obs, state, reward, terminated, truncated, info = self.env.step(key, state, action, params)
        return obs, state, reward, terminated | truncated, info

    def action_space(self, params=None):
        return self.env.action_space(params)

    def observation_space(self, params):
        return self.env.observation_space(params)


def make_greedy_evaluate(logits_fn, num_episodes: int = EVAL_EPISODES):
    """Builds `evaluate(params, key) -> returns [num_episodes]` on jaxrl's CartPole-v1.

    The same law as `ppo.make_evaluate` (one env per episode, `max_steps` steps, each env's
    rewards summed up to its first episode end), for any policy given as
    `logits_fn(params, obs [N, 4]) -> logits [N, 2]`, acting by argmax.
    """
    import jax
    import jax.numpy as jnp

    from jaxrl import envs

    env, env_params = envs.make(ENV_ID)
    horizon = int(env_params.max_steps)

    def evaluate(params, key):
        key_reset, key_run = jax.random.split(key)
        obs, env_state = env.reset_batch(key_reset, num_episodes, env_params)

        def step(carry, key_step):
            obs, env_state, returns, running = carry
            _, key_env = jax.random.split(key_step)
            action = jnp.argmax(logits_fn(params, obs.astype(jnp.float32)), axis=-1)
            obs, env_state, reward, terminated, truncated, _ = env.step_batch(
                key_env, env_state, action.astype(jnp.int32), env_params
            )
            returns = returns + jnp.where(running, reward, 0.0)
            running = jnp.logical_and(running, ~jnp.logical_or(terminated, truncated))
            return (obs, env_state, returns, running), None

        init = (obs, env_state, jnp.zeros(num_episodes), jnp.ones(num_episodes, jnp.bool_))
        (_, _, returns, _), _ = jax.lax.scan(step, init, jax.random.split(key_run, horizon))
        return returns

    return evaluate


class Clock:
    """Wall (`perf_counter`), CPU (`process_time`) and epoch seconds at named points."""

    def __init__(self):
        self.marks: dict[str, tuple[float, float, float]] = {}
        self.mark("start")

    def mark(self, name: str) -> None:
        self.marks[name] = (time.perf_counter(), time.process_time(), time.time())

    def wall(self, start: str, end: str) -> float:
        return self.marks[end][0] - self.marks[start][0]

    def cpu(self, start: str, end: str) -> float:
        return self.marks[end][1] - self.marks[start][1]


@dataclasses.dataclass
class Trained:
    """What a child's timed part produced.

    Attributes:
        trace_s, compile_s: seconds lowering to StableHLO and compiling it.
        params: the final policy parameters (leading `[num_seeds]` axis when vmapped).
        logits_fn: `(params, obs [N, 4]) -> logits [N, 2]` of one seed's policy.
        num_seeds: seeds trained in the program.
        env_steps: env steps taken by training, all seeds together (evaluations excluded).
        config: the run's settings worth recording.
    """

    trace_s: float
    compile_s: float
    params: Any
    logits_fn: Callable[[Any, Any], Any]
    num_seeds: int
    env_steps: int
    config: dict[str, Any]


def train_jaxrl(name: str, seed: int, total_timesteps: int | None, clock: Clock) -> Trained:
    """Trains one jaxrl contestant, marking "imported", "jit", "compiled" and "params"."""
    import jax

    from jaxrl import envs
    from jaxrl.agents import ppo
    from jaxrl.compilation import CPU_FAST_COMPILE_OPTIONS, compile_program

    clock.mark("imported")
    env, env_params = envs.make(ENV_ID)
    config = ppo.default_config(ENV_ID)
    if name == "jaxrl_rejax_hp":
        config = jaxrl_rejax_config(config)
    if total_timesteps is not None:
        config = config.replace(total_timesteps=total_timesteps)
    num_seeds = NUM_SEEDS_VMAPPED if name == "jaxrl_8_seeds" else 1
    train = ppo.make_train(config, env, env_params)
    key = jax.random.key(seed)
    if num_seeds > 1:
        train, key = jax.vmap(train), jax.random.split(key, num_seeds)

    clock.mark("jit")
    if name == "jaxrl_no_fusion_emitters":
        lowered = jax.jit(train).lower(key)
        clock.mark("traced")
        options = {**CPU_FAST_COMPILE_OPTIONS, "xla_cpu_use_fusion_emitters": False}
        compiled = lowered.compile(compiler_options=options)
        clock.mark("compiled")
        trace_s, compile_s = clock.wall("jit", "traced"), clock.wall("traced", "compiled")
    else:
        compiled, times = compile_program(train, key, fast_compile=name != "jaxrl_jit")
        clock.mark("compiled")
        trace_s, compile_s = times.trace_s, times.compile_s
    params = jax.block_until_ready(compiled(key).params)
    clock.mark("params")

    network = ppo.make_agent(config, env, env_params).network
    return Trained(
        trace_s=trace_s,
        compile_s=compile_s,
        params=params,
        logits_fn=lambda p, obs: network.apply(p, obs, method=ppo.ActorCritic.policy).logits,
        num_seeds=num_seeds,
        env_steps=num_seeds * config.num_updates * config.batch_size,
        config={"total_timesteps": config.total_timesteps, "anneal_lr": config.anneal_lr},
    )


def train_rejax(name: str, seed: int, total_timesteps: int | None, clock: Clock) -> Trained:
    """Trains rejax 0.1.3's PPO through its own API (`PPO.create`, `jax.jit(algo.train)`)."""
    import jax
    import rejax
    from gymnax.environments.classic_control import CartPole

    clock.mark("imported")
    hparams = dict(REJAX_CARTPOLE)
    if total_timesteps is not None:
        hparams["total_timesteps"] = total_timesteps
    if name == "rejax_eval_end":
        hparams.update(eval_freq=hparams["total_timesteps"], skip_initial_evaluation=True)
    env = FiveTupleEnv(CartPole())
    algo = rejax.PPO.create(env=env, env_params=env.default_params, **hparams)
    key = jax.random.key(seed)

    clock.mark("jit")
    lowered = jax.jit(algo.train).lower(key)
    clock.mark("traced")
    compiled = lowered.compile()
    clock.mark("compiled")
    train_state, _ = compiled(key)
    params = jax.block_until_ready(train_state.actor_ts.params)
    clock.mark("params")

    iteration = algo.num_envs * algo.num_steps
    num_evals = math.ceil(algo.total_timesteps / algo.eval_freq)
    return Trained(
        trace_s=clock.wall("jit", "traced"),
        compile_s=clock.wall("traced", "compiled"),
        params=params,
        logits_fn=lambda p, obs: algo.actor.apply(p, obs, method="_action_dist").logits,
        num_seeds=1,
        env_steps=num_evals * math.ceil(algo.eval_freq / iteration) * iteration,
        config={
            "total_timesteps": algo.total_timesteps,
            "eval_freq": algo.eval_freq,
            "evaluations": num_evals + (0 if algo.skip_initial_evaluation else 1),
        },
    )


def run_child(name: str, seed: int, total_timesteps: int | None, spawned_at: float) -> dict:
    """Child mode: one cold measurement of `name`, as a JSON-able dict."""
    clock = Clock()
    # jax reads these when imported; the parent sets them too, this covers a child run by hand.
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["JAX_ENABLE_COMPILATION_CACHE"] = "false"
    import jax

    jax.config.update("jax_enable_compilation_cache", False)
    clock.mark("jax")
    train = train_rejax if name in REJAX_CONTESTANTS else train_jaxrl
    trained = train(name, seed, total_timesteps, clock)
    run_s = clock.wall("compiled", "params")
    record = {
        "name": name,
        "seed": seed,
        "trace_s": trained.trace_s,
        "compile_s": trained.compile_s,
        "trace_compile_s": trained.trace_s + trained.compile_s,
        "run_s": run_s,
        "jit_to_params_s": clock.wall("jit", "params"),
        "process_s": clock.marks["params"][2] - spawned_at,
        "interpreter_s": clock.marks["start"][2] - spawned_at,
        "import_jax_s": clock.wall("start", "jax"),
        "import_s": clock.wall("start", "imported"),
        "setup_s": clock.wall("imported", "jit"),
        "trace_compile_cpu_s": clock.cpu("jit", "compiled"),
        "run_cpu_s": clock.cpu("compiled", "params"),
        "jit_to_params_cpu_s": clock.cpu("jit", "params"),
        "process_cpu_s": clock.marks["params"][1],
        "env_steps": trained.env_steps,
        "steps_per_s": trained.env_steps / run_s,
        "steps_per_cpu_s": trained.env_steps / max(clock.cpu("compiled", "params"), 1e-9),
        "num_seeds": trained.num_seeds,
        "config": trained.config,
    }

    # Outside the timed part: each seed's final greedy policy on jaxrl's CartPole-v1.
    from jaxrl.compilation import compile_program

    evaluate = make_greedy_evaluate(trained.logits_fn)
    eval_key = jax.random.key(seed + 10_000)
    if trained.num_seeds > 1:
        evaluate, eval_key = jax.vmap(evaluate), jax.random.split(eval_key, trained.num_seeds)
    compiled_evaluate, _ = compile_program(evaluate, trained.params, eval_key)
    returns = compiled_evaluate(trained.params, eval_key)
    clock.mark("evaluated")
    record.update(
        eval_returns=[float(r) for r in returns.reshape((trained.num_seeds, -1)).mean(axis=1)],
        eval_s=clock.wall("params", "evaluated"),
        compilation_cache=bool(jax.config.jax_enable_compilation_cache),
        jax_devices=[str(device) for device in jax.devices()],
    )
    return record


def spawn(name: str, seed: int, total_timesteps: int | None, timeout_s: float) -> dict:
    """Runs one child process; its record, or `{"error": ...}` if it failed."""
    command = [sys.executable, os.path.abspath(__file__), "--child", name, "--seed", str(seed)]
    if total_timesteps is not None:
        command += ["--total-timesteps", str(total_timesteps)]
    child_env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_ENABLE_COMPILATION_CACHE": "false"}
    spawned_at = time.time()
    command += ["--spawned-at", repr(spawned_at)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, env=child_env
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    wall_s = time.time() - spawned_at
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {done.returncode}: " + " | ".join(tail)}
    record = json.loads(lines[-1][len(RESULT_PREFIX) :])
    record["child_wall_s"] = wall_s
    return record


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of `values` (non-empty)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """`numerator / denominator`, None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def summarize(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One contestant's successful runs: timing summaries and the evaluation over all seeds."""
    returns = [r for run in runs for r in run["eval_returns"]]
    return {
        **{name: summary([run[name] for run in runs]) for name in TIMINGS},
        "env_steps": runs[0]["env_steps"],
        "num_seeds": runs[0]["num_seeds"],
        "eval_return": summary(returns),
        "solved": sum(r >= SOLVED_RETURN for r in returns),
        "seeds_evaluated": len(returns),
    }


def comparisons(summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Ratios of medians, each oriented so that > 1 favours the contestant.

    For every non-rejax contestant and both rejax variants: `speedup` (rejax's
    jit-to-params seconds / the contestant's), `process_speedup` (the same for process wall),
    `compile_speedup` (trace + compile), `throughput` (the contestant's env steps/s / rejax's),
    and on CPU seconds, which a shared machine's load distorts less, `compile_cpu_speedup` and
    `cpu_throughput` (env steps per CPU second of the run). Missing contestants give None.
    """
    med = lambda name, key: summaries[name][key]["median"] if name in summaries else None
    out = {}
    for name in summaries:
        if name in REJAX_CONTESTANTS:
            continue
        for reference in REJAX_CONTESTANTS:
            out[f"{name}/{reference}"] = {
                "speedup": ratio(med(reference, "jit_to_params_s"), med(name, "jit_to_params_s")),
                "process_speedup": ratio(med(reference, "process_s"), med(name, "process_s")),
                "compile_speedup": ratio(
                    med(reference, "trace_compile_s"), med(name, "trace_compile_s")
                ),
                "throughput": ratio(med(name, "steps_per_s"), med(reference, "steps_per_s")),
                "compile_cpu_speedup": ratio(
                    med(reference, "trace_compile_cpu_s"), med(name, "trace_compile_cpu_s")
                ),
                "cpu_throughput": ratio(
                    med(name, "steps_per_cpu_s"), med(reference, "steps_per_cpu_s")
                ),
            }
    return out


def targets(summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The goals this benchmark checks: each with its measured value and `met` (None: not run)."""
    med = lambda name, key: summaries[name][key]["median"] if name in summaries else None
    tuned = [summaries[name] for name in TUNED_DEFAULT if name in summaries]
    solved = sum(s["solved"] for s in tuned)
    evaluated = sum(s["seeds_evaluated"] for s in tuned)
    out = [
        {
            "goal": "the tuned default solves CartPole (>= 475) on every seed",
            "value": f"{solved}/{evaluated}" if tuned else None,
            "met": solved == evaluated if tuned else None,
        }
    ]
    upper_bounds = (
        ("jaxrl jit->params median <= 3 s", med("jaxrl", "jit_to_params_s"), 3.0),
        ("jaxrl process wall median <= 5 s", med("jaxrl", "process_s"), 5.0),
        ("jaxrl trace + compile median <= 2.5 s", med("jaxrl", "trace_compile_s"), 2.5),
        (
            f"{NUM_SEEDS_VMAPPED} seeds' jit->params / 1 seed's <= 2",
            ratio(med("jaxrl_8_seeds", "jit_to_params_s"), med("jaxrl", "jit_to_params_s")),
            2.0,
        ),
    )
    for goal, value, bound in upper_bounds:
        out.append({"goal": goal, "value": value, "met": None if value is None else value <= bound})
    throughput = ratio(med("jaxrl_rejax_hp", "steps_per_s"), med("rejax_eval_end", "steps_per_s"))
    out.append(
        {
            "goal": "steps/s: jaxrl_rejax_hp / rejax_eval_end >= 1",
            "value": throughput,
            "met": None if throughput is None else throughput >= 1.0,
        }
    )
    return out


def span(stats: dict[str, float], digits: int = 2) -> str:
    """`median [min-max]`."""
    median, low, high = (f"{stats[k]:.{digits}f}" for k in ("median", "min", "max"))
    return f"{median} [{low}-{high}]"


def format_report(summaries: dict[str, Any], ratios: dict[str, Any], goals: list) -> str:
    """Markdown tables: timings (median [min-max]), ratios against rejax, then the goals."""
    lines = [
        "| contestant | env steps | trace s | compile s | run s | jit→params s | process s "
        "| steps/s | eval return (median [min-max]) | solved |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in summaries.items():
        lines.append(
            f"| {name} | {s['env_steps']:,} | {span(s['trace_s'])} | {span(s['compile_s'])} "
            f"| {span(s['run_s'])} | {span(s['jit_to_params_s'])} | {span(s['process_s'])} "
            f"| {s['steps_per_s']['median']:,.0f} | {span(s['eval_return'], 1)} "
            f"| {s['solved']}/{s['seeds_evaluated']} |"
        )
    lines += [
        "",
        "CPU seconds of the child process (`time.process_time`, all threads), which a shared "
        "machine's load inflates less than wall seconds:",
        "",
        "| contestant | trace+compile CPU s | run CPU s | jit→params CPU s | process CPU s "
        "| steps per CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in summaries.items():
        lines.append(
            f"| {name} | {span(s['trace_compile_cpu_s'])} | {span(s['run_cpu_s'])} "
            f"| {span(s['jit_to_params_cpu_s'])} | {span(s['process_cpu_s'])} "
            f"| {s['steps_per_cpu_s']['median']:,.0f} |"
        )
    lines += ["", "Legend: " + "; ".join(f"{n}: {CONTESTANTS[n]}" for n in summaries)]
    fmt = lambda value: "-" if value is None else f"{value:.2f}x"
    if any(value is not None for row in ratios.values() for value in row.values()):
        lines += [
            "",
            "Ratios of medians, > 1 favours the jaxrl contestant:",
            "",
            "| pair | jit→params speedup | process speedup | trace+compile speedup | throughput "
            "| trace+compile CPU speedup | throughput per CPU s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for pair, row in ratios.items():
            if all(value is None for value in row.values()):
                continue
            lines.append(
                f"| {pair} | {fmt(row['speedup'])} | {fmt(row['process_speedup'])} "
                f"| {fmt(row['compile_speedup'])} | {fmt(row['throughput'])} "
                f"| {fmt(row['compile_cpu_speedup'])} | {fmt(row['cpu_throughput'])} |"
            )
    lines += ["", "| goal | measured | met |", "| --- | ---: | --- |"]
    for goal in goals:
        value = goal["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else ("-" if value is None else value)
        met = {True: "yes", False: "NO", None: "n/a"}[goal["met"]]
        lines.append(f"| {goal['goal']} | {shown} | {met} |")
    return "\n".join(lines)


def hardware() -> dict[str, Any]:
    """CPU model, core counts and load of this machine."""
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str | None]:
    """Package versions, where jaxrl is imported from, and this checkout's git commit."""
    out = {"python": platform.python_version()}
    jaxrl_spec = importlib.util.find_spec("jaxrl")
    out["jaxrl_source"] = jaxrl_spec.origin if jaxrl_spec else None
    try:
        out["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out["git_commit"] = None
    for package in (
        "jax",
        "jaxlib",
        "flax",
        "optax",
        "numpy",
        "gymnax",
        "rejax",
        "distrax",
        "jaxrl",
    ):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, help="fresh processes per contestant (default 5)")
    parser.add_argument(
        "--contestants", nargs="+", choices=list(CONTESTANTS), help="default: all of them"
    )
    parser.add_argument("--out", type=Path, default=Path("results/bench_ppo.json"))
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI: 1 repetition, {QUICK_TIMESTEPS} steps per run, jaxrl contestants only",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child process")
    parser.add_argument("--child", choices=list(CONTESTANTS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--total-timesteps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.contestants is None:
        args.contestants = list(QUICK_CONTESTANTS if args.quick else DEFAULT_CONTESTANTS)
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: run at least one repetition.")
    return args


def run_benchmark(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    """Round-robin over the contestants, `args.repeats` times; returns the JSON payload."""
    total_timesteps = QUICK_TIMESTEPS if args.quick else None
    contestants = list(args.contestants)
    skipped = {}
    if any(name in REJAX_CONTESTANTS for name in contestants) and not importlib.util.find_spec(
        "rejax"
    ):
        for name in REJAX_CONTESTANTS:
            skipped[name] = "rejax is not installed (pip install rejax==0.1.3)"
    load_before = os.getloadavg()
    # Read before the runs: the checkout may move on while they go.
    package_versions = versions()
    runs: dict[str, list[dict]] = {name: [] for name in contestants}
    for repeat in range(args.repeats):
        for name in contestants:
            if name in skipped:
                continue
            record = spawn(name, repeat, total_timesteps, args.timeout)
            if "error" in record:
                skipped[name] = record["error"]
                print(f"note: skipping {name}: {record['error']}", file=sys.stderr)
                continue
            runs[name].append(record)
            print(
                f"[{repeat + 1}/{args.repeats}] {name}: jit->params {record['jit_to_params_s']:.2f}"
                f" s, process {record['process_s']:.2f} s, eval "
                + " ".join(f"{r:.0f}" for r in record["eval_returns"]),
                file=sys.stderr,
            )
    for name in skipped:
        print(f"note: {name} skipped: {skipped[name]}", file=sys.stderr)
    summaries = {
        name: summarize(runs[name]) for name in contestants if runs[name] and name not in skipped
    }
    ratios = comparisons(summaries)
    goals = targets(summaries)
    devices = next((run["jax_devices"] for rs in runs.values() for run in rs), None)
    return {
        "command": [sys.executable, os.path.relpath(__file__), *argv],
        "settings": {
            "env_id": ENV_ID,
            "repeats": args.repeats,
            "quick": args.quick,
            "total_timesteps_override": total_timesteps,
            "contestants": contestants,
            "eval_episodes": EVAL_EPISODES,
            "solved_return": SOLVED_RETURN,
            "rejax_hyperparameters": REJAX_CARTPOLE,
            "compilation_cache": False,
        },
        "hardware": {
            **hardware(),
            "load_average_before": list(load_before),
            "jax_devices": devices,
        },
        "versions": package_versions,
        "environment": {
            name: os.environ.get(name)
            for name in ("JAX_PLATFORMS", "XLA_FLAGS", "PYTHONPATH", "OMP_NUM_THREADS")
        },
        "runs": runs,
        "summary": summaries,
        "ratios": ratios,
        "targets": goals,
        "skipped": skipped,
        "report": format_report(summaries, ratios, goals),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        spawned_at = time.time() if args.spawned_at is None else args.spawned_at
        record = run_child(args.child, args.seed, args.total_timesteps, spawned_at)
        print(RESULT_PREFIX + json.dumps(record), flush=True)
        return 0
    payload = run_benchmark(args, sys.argv[1:] if argv is None else list(argv))
    write_json_atomically(args.out, payload)
    hw = payload["hardware"]
    print(f"PPO on {ENV_ID}, {args.repeats} fresh process(es) per contestant, compile cache off")
    load = ", ".join(f"{value:.1f}" for value in hw["load_average_before"])
    print(f"CPU: {hw['cpu']} ({hw['cpus_usable']} usable cores), load average {load}")
    if args.quick:
        print(f"quick: {QUICK_TIMESTEPS} steps per run, so the goals below do not apply")
    print()
    print(payload["report"])
    print(f"\nresults in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
