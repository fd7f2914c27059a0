"""PPO on CartPole-v1 timed cold: every measurement is a fresh process, compile cache off.

The main contestant, `jaxrl`, is the README's fast path exactly as a user runs it:

    env, env_params = envs.make("CartPole-v1"); config = ppo.default_config("CartPole-v1")
    options = ppo.compile_options(config)
    train = jaxrl.jit(ppo.make_train(config, env, env_params), options)
    result = train(jax.random.key(seed))
    evaluate = jaxrl.jit(ppo.make_evaluate(config, env, env_params, num_episodes=100), options)
    returns = evaluate(result.params, jax.random.key(seed + 1), result.obs_stats)

timed from the `train(...)` call (which traces and compiles) to `returns` being ready:
"call->evaluated", both compiles included. Nothing waits in between, since waiting would change
what the snippet does (JAX dispatches `train` asynchronously, so `evaluate` compiles while it
runs). Its trace and compile seconds are read from `jax.monitoring`'s events
(`harness.record_compile_times`), which leaves the timed code as it is; `jaxrl_stages`, the same
programs and options through `compile_program` one stage after the other, gives the run's
seconds, steps per second and the return-against-time curve.

Contestants (`CONTESTANTS`, the legend says what each is): the fast path (`jaxrl`), its stages
(`jaxrl_stages`), plain `jax.jit` (`jaxrl_jit`, opt-in), rejax's hyperparameters for a
throughput comparison (`jaxrl_rejax_hp`), 8 vmapped seeds on one device (`jaxrl_8_seeds`),
8 seeds over one CPU device per core (`jaxrl_8_seeds_all_cores`), rejax 0.1.3 as published
(`rejax`: plain `jax.jit(algo.train)`, which evaluates during training, so its call->result is
its call->evaluated), rejax evaluating once at the end (`rejax_eval_end`) and
Stable-Baselines3 (`sb3`, `jaxrl.bench.sb3`). A contestant whose optional packages do not
import is skipped with a one-line note naming the error.

Each child reports, from marks on one clock: trace and compile seconds, the run ("compiled" to
"trained", where apart), call->trained and call->evaluated, the process wall from spawn to the
evaluated returns (interpreter start and imports included), env steps per second during the
run, CPU seconds, its peak RSS and, where the run is timed apart, a return-against-time curve
(seconds since the call; the fused programs' run seconds spread evenly over their equal-work
updates). Each seed's final policy is scored by the mean return of 100 deterministic
episodes: the timed evaluation for jaxrl, for rejax the same law on jaxrl's CartPole after the
clock stops (`make_greedy_evaluate`), for SB3 `evaluate_policy` on Gymnasium's. Solved means
the env's `reward_threshold` (475). Contestants alternate within each repetition so machine
noise hits all alike; medians are reported with min and max, and ratios against the peers
measured in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import operator
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from jaxrl.bench import harness, report
from jaxrl.cli.parser import ArgumentParser
from jaxrl.machine import available_cores, cpu_devices_for, peak_rss_mib

ENV_ID = "CartPole-v1"
EVAL_EPISODES = 100
NUM_SEEDS_VMAPPED = 8
QUICK_TIMESTEPS = 1_000
RESULT_PREFIX = "BENCH_PPO_RESULT "
#: The fast path's goal on the machine the benchmark runs on: `jaxrl` from the `train(...)`
#: call to evaluated returns, in seconds.
CALL_TO_EVALUATED_GOAL_S = 3.5
#: rejax 0.1.3 as published against `jaxrl`, call->evaluated side by side: the least speedup.
REJAX_SPEEDUP_GOAL = 3.0
#: 8 vmapped seeds against one, call->evaluated: the most they may take.
SEEDS_SLOWDOWN_GOAL = 2.0

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
#: The peers jaxrl's contestants are compared with, each ratio oriented so > 1 favours jaxrl.
REFERENCES = ("rejax", "rejax_eval_end", "sb3")
#: (contestant, base) pairs of the same run: the contestant's call->evaluated over the base's.
VARIANT_RATIOS = (
    ("jaxrl_stages", "jaxrl"),
    ("jaxrl_jit", "jaxrl"),
    ("jaxrl_8_seeds", "jaxrl"),
    ("jaxrl_8_seeds_all_cores", "jaxrl_stages"),
)
#: Per-run numbers summarised as median/min/max (None where a contestant does not measure one).
TIMINGS = (
    "trace_s",
    "compile_s",
    "trace_compile_s",
    "run_s",
    "eval_s",
    "call_to_trained_s",
    "call_to_evaluated_s",
    "process_s",
    "import_s",
    "call_to_evaluated_cpu_s",
    "run_cpu_s",
    "process_cpu_s",
    "steps_per_s",
    "steps_per_cpu_s",
    "peak_rss_mib",
)


@dataclasses.dataclass(frozen=True)
class Job:
    """What one child process measures.

    Attributes:
        seed: seeds training (`jax.random.key(seed)`) and evaluation (`seed + 1`).
        total_timesteps: overrides every contestant's training steps (None: their own).
        quick: a smoke run: jaxrl's configs shrunk (`harness.quick_ppo_config`).
    """

    seed: int
    total_timesteps: int | None = None
    quick: bool = False

    def ppo_config(self, config: Any) -> Any:
        """`config` (a PPOConfig) with this job's steps, shrunk when `quick`."""
        if self.total_timesteps is not None:
            config = config.replace(total_timesteps=self.total_timesteps)
        return harness.quick_ppo_config(config, config.total_timesteps) if self.quick else config


@dataclasses.dataclass(frozen=True)
class Measured:
    """What a contestant's child measured, besides the marks on its clock.

    Attributes:
        num_seeds: seeds trained in the program.
        env_steps: env steps training took, all seeds together (evaluations excluded).
        eval_returns: each seed's mean return over its final evaluation's episodes.
        curve: `(seconds since "call", env steps of one seed, mean training return)` points;
            empty where the run's seconds are not measured apart.
        compile_times: `{"trace_s", "compile_s"}` spent between "call" and "evaluated"; None
            for code that compiles nothing (SB3).
        config: the run's settings worth recording.
        facts: more fields for the record (JAX's devices and their memory).
    """

    num_seeds: int
    env_steps: int
    eval_returns: list[float]
    curve: list[tuple[float, int, float]]
    compile_times: dict[str, float] | None
    config: dict[str, Any]
    facts: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Contestant:
    """One PPO contestant: what its child process runs and times.

    Attributes:
        description: its line in the legend.
        measure: `(job, clock) -> Measured`, run in the child: it imports and builds, marks
            "call" where the timed part starts and "evaluated" where it ends, and "compiled"
            and "trained" in between where it runs those stages apart.
        packages: optional modules it imports; it is skipped with a note when one fails to.
        tuned_default: it trains `ppo.default_config(ENV_ID)`, whose every seed should solve.
        device_per_core: its child gets one forced CPU device per core (up to the seeds).
        opt_in: run only when named with `--contestants`.
    """

    description: str
    measure: Callable[[Job, harness.Clock], Measured]
    packages: tuple[str, ...] = ()
    tuned_default: bool = False
    device_per_core: bool = False
    opt_in: bool = False


def import_jax() -> Any:
    """JAX with the persistent compilation cache off, so that every child compiles cold (`spawn`
    also turns it off in the child's environment, which JAX reads when first imported)."""
    import jax

    jax.config.update("jax_enable_compilation_cache", False)
    return jax


def jaxrl_rejax_config(base: Any) -> Any:
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


def measure_fast_path(
    job: Job, clock: harness.Clock, *, num_seeds: int = 1, plain_jit: bool = False
) -> Measured:
    """The README's fast path (the module docstring), `jax.vmap`ped over `num_seeds` seeds in
    one program when more than one, compiled with `ppo.compile_options(config,
    runs_per_device=num_seeds)`; `plain_jit`: `jax.jit` with XLA's defaults instead."""
    jax = import_jax()
    import jaxrl
    from jaxrl import envs
    from jaxrl.agents import ppo

    clock.mark("imported")
    env, env_params = envs.make(ENV_ID)
    config = job.ppo_config(ppo.default_config(ENV_ID))
    options = ppo.compile_options(config, runs_per_device=num_seeds)
    jit = jax.jit if plain_jit else functools.partial(jaxrl.jit, options=options)
    batched = jax.vmap if num_seeds > 1 else lambda fn: fn
    keys = jax.random.key
    if num_seeds > 1:
        keys = lambda seed: jax.random.split(jax.random.key(seed), num_seeds)
    train = jit(batched(ppo.make_train(config, env, env_params)))
    compile_times = harness.record_compile_times()

    clock.mark("call")
    result = train(keys(job.seed))
    evaluate = jit(batched(ppo.make_evaluate(config, env, env_params, num_episodes=EVAL_EPISODES)))
    returns = evaluate(result.params, keys(job.seed + 1), result.obs_stats)
    jax.block_until_ready(returns)
    clock.mark("evaluated")
    compile_times = dict(compile_times)
    return Measured(
        num_seeds=num_seeds,
        env_steps=num_seeds * config.num_updates * config.batch_size,
        eval_returns=seed_means(returns, num_seeds),
        curve=[],
        compile_times=compile_times,
        config=config_facts(config, None if plain_jit else options),
        facts=jax_facts(),
    )


def measure_stages(
    job: Job, clock: harness.Clock, *, rejax_hyperparameters: bool = False
) -> Measured:
    """The fast path's programs and options (at rejax's hyperparameters when
    `rejax_hyperparameters`) through `compile_program`, stage after stage."""
    jax = import_jax()
    from jaxrl import envs
    from jaxrl.agents import ppo

    clock.mark("imported")
    env, env_params = envs.make(ENV_ID)
    config = ppo.default_config(ENV_ID)
    if rejax_hyperparameters:
        config = jaxrl_rejax_config(config)
    config = job.ppo_config(config)
    options = ppo.compile_options(config)
    if rejax_hyperparameters:
        # A throughput comparison: the level that runs fastest, not the one that reaches
        # trained parameters soonest (which trades run time for compile time).
        options = dataclasses.replace(options, fast_compile="fast")
    # `jaxrl.jit` reads the options' XLA flags (probing the jaxlib once) where `train` is
    # built, before the fast path's clock starts; so here.
    options.xla_options()
    train = ppo.make_train(config, env, env_params)
    evaluate = ppo.make_evaluate(config, env, env_params, num_episodes=EVAL_EPISODES)
    compile_times = harness.record_compile_times()

    clock.mark("call")
    result, returns = run_stages(
        clock, train, (jax.random.key(job.seed),), evaluate, jax.random.key(job.seed + 1), options
    )
    compile_times = dict(compile_times)
    return Measured(
        num_seeds=1,
        env_steps=config.num_updates * config.batch_size,
        eval_returns=seed_means(returns, 1),
        curve=spread_curve(result.metrics, 1, clock),
        compile_times=compile_times,
        config=config_facts(config, options),
        facts=jax_facts(),
    )


def measure_all_cores(job: Job, clock: harness.Clock) -> Measured:
    """`NUM_SEEDS_VMAPPED` seeds split over this process's CPU devices (one per core, forced by
    `spawn`) with `jaxrl.distributed.sharded_vmap`, stage after stage: one compile, each core
    running its share of the seeds."""
    jax = import_jax()
    from jaxrl import distributed, envs
    from jaxrl.agents import ppo

    clock.mark("imported")
    env, env_params = envs.make(ENV_ID)
    config = job.ppo_config(ppo.default_config(ENV_ID))
    num_seeds = NUM_SEEDS_VMAPPED
    options = ppo.compile_options(config, runs_per_device=num_seeds // jax.device_count())
    options.xla_options()  # as in `measure_stages`
    train = distributed.sharded_vmap(ppo.make_train(config, env, env_params))
    evaluate = jax.vmap(ppo.make_evaluate(config, env, env_params, num_episodes=EVAL_EPISODES))
    compile_times = harness.record_compile_times()

    clock.mark("call")
    keys = jax.random.split(jax.random.key(job.seed), num_seeds)
    eval_keys = jax.random.split(jax.random.key(job.seed + 1), num_seeds)
    result, returns = run_stages(clock, train, (keys, None), evaluate, eval_keys, options)
    compile_times = dict(compile_times)
    return Measured(
        num_seeds=num_seeds,
        env_steps=num_seeds * config.num_updates * config.batch_size,
        eval_returns=seed_means(returns, num_seeds),
        curve=spread_curve(result.metrics, num_seeds, clock),
        compile_times=compile_times,
        config=config_facts(config, options),
        facts=jax_facts(),
    )


def run_stages(
    clock: harness.Clock,
    train: Callable[..., Any],
    train_args: tuple,
    evaluate: Callable[..., Any],
    eval_key: Any,
    options: Any,
) -> tuple[Any, Any]:
    """Compiles and runs `train(*train_args)`, then `evaluate(params, eval_key, obs_stats)`, each
    with `compile_program(..., options=options)` and waited on, marking "compiled", "trained"
    and "evaluated"; returns the `TrainResult` and the returns."""
    import jax

    from jaxrl.compilation import compile_program

    compiled_train, _ = compile_program(train, *train_args, options=options)
    clock.mark("compiled")
    result = jax.block_until_ready(compiled_train(*train_args))
    clock.mark("trained")
    eval_args = (result.params, eval_key, result.obs_stats)
    compiled_evaluate, _ = compile_program(evaluate, *eval_args, options=options)
    returns = jax.block_until_ready(compiled_evaluate(*eval_args))
    clock.mark("evaluated")
    return result, returns


class FiveTupleEnv:
    """A gymnax >= 1.0 env seen through the 5-tuple `step` that rejax 0.1.3 unpacks.

    gymnax 1.0's `step` returns `(obs, state, reward, terminated, truncated, info)`; rejax expects
    gymnax 0.0.x's `(obs, state, reward, done, info)` with `done = terminated | truncated`.
    Under gymnax 0.0.x the env's own 5-tuple passes through.
    """

    def __init__(self, env):
        self.env = env

    @property
    def default_params(self):
        return self.env.default_params

    def reset(self, key, params=None):
        return self.env.reset(key, params)

    def step(self, key, state, action, params=None):
        out = self.env.step(key, state, action, params)
        if len(out) == 5:  # gymnax 0.0.x already returns rejax's tuple
            return out
        obs, state, reward, terminated, truncated, info = out
        return obs, state, reward, terminated | truncated, info

    def action_space(self, params=None):
        return self.env.action_space(params)

    def observation_space(self, params):
        return self.env.observation_space(params)


def measure_rejax(job: Job, clock: harness.Clock, *, evaluate_at_end: bool = False) -> Measured:
    """rejax 0.1.3's PPO through its own API (`PPO.create`, `jax.jit(algo.train)`), at
    `REJAX_CARTPOLE`; `evaluate_at_end`: `eval_freq = total_timesteps` and no initial
    evaluation, so one evaluation, at the end. rejax evaluates inside `train`, so its result is
    its evaluation: "trained" and "evaluated" are one moment. The 100-episode score is taken
    after the clock stops."""
    jax = import_jax()
    import numpy as np
    import rejax
    from gymnax.environments.classic_control import CartPole

    clock.mark("imported")
    hparams = dict(REJAX_CARTPOLE)
    if job.total_timesteps is not None:
        hparams["total_timesteps"] = job.total_timesteps
    if evaluate_at_end:
        hparams.update(eval_freq=hparams["total_timesteps"], skip_initial_evaluation=True)
    env = FiveTupleEnv(CartPole())
    algo = rejax.PPO.create(env=env, env_params=env.default_params, **hparams)
    compile_times = harness.record_compile_times()

    clock.mark("call")
    key = jax.random.key(job.seed)
    # `jax.jit(algo.train)(key)` in its three steps, which it takes one after the other anyway.
    compiled = jax.jit(algo.train).lower(key).compile()
    clock.mark("compiled")
    train_state, (_, eval_returns) = jax.block_until_ready(compiled(key))
    clock.mark("trained")
    clock.mark("evaluated")
    compile_times = dict(compile_times)

    iteration = algo.num_envs * algo.num_steps
    per_eval = math.ceil(algo.eval_freq / iteration) * iteration
    num_evals = math.ceil(algo.total_timesteps / algo.eval_freq)
    # rejax's evaluations (128 sampled-action episodes each), the initial one at step 0.
    means = np.asarray(eval_returns).mean(axis=-1)
    first = 0 if algo.skip_initial_evaluation else 1
    start, run_s = clock.wall("call", "compiled"), clock.wall("compiled", "trained")
    curve = [(start, 0, float(means[0]))] if first else []
    for index, value in enumerate(means[first:], start=1):
        curve.append((start + index / num_evals * run_s, index * per_eval, float(value)))

    logits = lambda params, obs: algo.actor.apply(params, obs, method="_action_dist").logits
    evaluate = jax.jit(make_greedy_evaluate(logits))
    returns = evaluate(train_state.actor_ts.params, jax.random.key(job.seed + 1))
    return Measured(
        num_seeds=1,
        env_steps=num_evals * per_eval,
        eval_returns=seed_means(returns, 1),
        curve=curve,
        compile_times=compile_times,
        config={
            "total_timesteps": algo.total_timesteps,
            "eval_freq": algo.eval_freq,
            "evaluations": num_evals + first,
            "compile_options": None,
        },
        facts=jax_facts(),
    )


def measure_sb3(job: Job, clock: harness.Clock) -> Measured:
    """Stable-Baselines3's PPO (`jaxrl.bench.sb3`); it compiles nothing."""
    from jaxrl.bench import sb3

    trained = sb3.train_and_evaluate(job.seed, job.total_timesteps, clock)
    return Measured(
        num_seeds=1,
        env_steps=trained["env_steps"],
        eval_returns=trained["eval_returns"],
        curve=trained["curve"],
        compile_times=None,
        config=trained["config"],
        facts={"jax_devices": ["cpu (torch)"], "device_memory": None},
    )


def make_greedy_evaluate(logits_fn: Callable, num_episodes: int = EVAL_EPISODES) -> Callable:
    """Builds `evaluate(params, key) -> returns [num_episodes]` on jaxrl's CartPole-v1.

    `play_episodes`, the law `ppo.make_evaluate` uses, for any policy given as
    `logits_fn(params, obs [N, 4]) -> logits [N, 2]`, acting by argmax.
    """
    import jax.numpy as jnp

    from jaxrl import envs
    from jaxrl.agents.common.evaluation import play_episodes

    env, env_params = envs.make(ENV_ID)

    def evaluate(params, key):
        def act(obs, _):
            logits = logits_fn(params, obs.astype(jnp.float32))
            return jnp.argmax(logits, axis=-1).astype(jnp.int32)

        return play_episodes(act, env, env_params, num_episodes, key)

    return evaluate


def seed_means(returns: Any, num_seeds: int) -> list[float]:
    """Each seed's mean over its evaluation's episodes (`returns` `[num_seeds, episodes]`, or
    `[episodes]` for one seed)."""
    import numpy as np

    return [float(r) for r in np.asarray(returns).reshape(num_seeds, -1).mean(axis=1)]


def spread_curve(
    metrics: dict[str, Any], num_seeds: int, clock: harness.Clock
) -> list[tuple[float, int, float]]:
    """Training return against seconds since "call": the updates of a fused program all do the
    same work, so the run's seconds ("compiled" to "trained") are spread evenly over them.
    Updates in which no episode ended (NaN returns) give no point."""
    import numpy as np

    returns = np.asarray(metrics["episode_return"]).reshape(num_seeds, -1)
    steps = np.asarray(metrics["env_steps"]).reshape(num_seeds, -1)[0]
    start, run_s = clock.wall("call", "compiled"), clock.wall("compiled", "trained")
    num_updates = returns.shape[1]
    curve = []
    for update in range(num_updates):
        ended = returns[:, update][np.isfinite(returns[:, update])]
        if ended.size:
            t = start + (update + 1) / num_updates * run_s
            curve.append((t, int(steps[update]), float(ended.mean())))
    return curve


def config_facts(config: Any, options: Any) -> dict[str, Any]:
    """A PPOConfig's settings worth recording, and the compile options (None: XLA's defaults)."""
    return {
        "total_timesteps": config.total_timesteps,
        "num_envs": config.num_envs,
        "hidden_sizes": list(config.hidden_sizes),
        "anneal_lr": config.anneal_lr,
        "compile_options": None if options is None else dataclasses.asdict(options),
    }


def jax_facts() -> dict[str, Any]:
    """JAX's devices and their memory, and whether the compilation cache was on."""
    import jax

    return {
        "jax_devices": [str(device) for device in jax.devices()],
        "device_memory": harness.device_memory(),
        "compilation_cache": bool(jax.config.jax_enable_compilation_cache),
    }


#: Contestant name -> how its child measures it, in report order.
CONTESTANTS: dict[str, Contestant] = {
    "jaxrl": Contestant(
        "the README's fast path: jaxrl.jit(train, ppo.compile_options(config)), then "
        f"evaluate ({EVAL_EPISODES} episodes), call->evaluated",
        measure_fast_path,
        tuned_default=True,
    ),
    "jaxrl_stages": Contestant(
        "the same programs and options through compile_program, stage after stage",
        measure_stages,
        tuned_default=True,
    ),
    "jaxrl_jit": Contestant(
        "the README's fast path through plain jax.jit (XLA's default options)",
        functools.partial(measure_fast_path, plain_jit=True),
        tuned_default=True,
        opt_in=True,
    ),
    "jaxrl_rejax_hp": Contestant(
        "rejax's published hyperparameters, stage after stage, compiled for run speed ('fast')",
        functools.partial(measure_stages, rejax_hyperparameters=True),
    ),
    "jaxrl_8_seeds": Contestant(
        f"the fast path, jax.vmap over {NUM_SEEDS_VMAPPED} seeds in one program on one device",
        functools.partial(measure_fast_path, num_seeds=NUM_SEEDS_VMAPPED),
        tuned_default=True,
    ),
    "jaxrl_8_seeds_all_cores": Contestant(
        f"{NUM_SEEDS_VMAPPED} seeds sharded over one CPU device per core "
        "(distributed.sharded_vmap), stage after stage",
        measure_all_cores,
        tuned_default=True,
        device_per_core=True,
    ),
    "rejax": Contestant(
        "rejax 0.1.3 as published: jax.jit(algo.train), evaluating 128 episodes every 1000 steps",
        measure_rejax,
        packages=("rejax", "gymnax.environments.classic_control"),
    ),
    "rejax_eval_end": Contestant(
        "rejax 0.1.3, one evaluation, at the end of train",
        functools.partial(measure_rejax, evaluate_at_end=True),
        packages=("rejax", "gymnax.environments.classic_control"),
    ),
    "sb3": Contestant(
        "Stable-Baselines3 PPO, torch CPU, RL Zoo hyperparameters, stopping once solved",
        measure_sb3,
        packages=("stable_baselines3", "torch"),
    ),
}
DEFAULT_CONTESTANTS = tuple(name for name, c in CONTESTANTS.items() if not c.opt_in)
#: `--quick` runs both ways of timing jaxrl: the fast path as a whole and by stages.
QUICK_CONTESTANTS = ("jaxrl", "jaxrl_stages")


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the PPO benchmark measures.

    Attributes:
        contestants: names from `CONTESTANTS`, run in this order in every repetition.
        repeats: fresh processes per contestant.
        timeout_s: seconds one child process may take.
        total_timesteps: overrides every contestant's training steps (None: their own).
        quick: a smoke run (tiny runs, so the goals do not apply).
    """

    contestants: tuple[str, ...] = DEFAULT_CONTESTANTS
    repeats: int = 3  # a median of 3 outlives one slow process; of 2 it is their mean
    timeout_s: float = 900.0
    total_timesteps: int | None = None
    quick: bool = False

    def __post_init__(self):
        unknown = [name for name in self.contestants if name not in CONTESTANTS]
        if unknown:
            raise ValueError(f"unknown PPO contestants {unknown}; choose from {list(CONTESTANTS)}")
        if not self.contestants:
            raise ValueError("name at least one PPO contestant.")
        if self.repeats < 1:
            raise ValueError(f"repeats={self.repeats}: run at least one repetition.")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout={self.timeout_s}: give each child a positive time.")
        if self.total_timesteps is not None and self.total_timesteps < 1:
            raise ValueError(f"total_timesteps={self.total_timesteps}: must be at least 1.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The PPO benchmark's options."""
    parser.add_argument(
        "--contestants", nargs="+", help=f"from {list(CONTESTANTS)} (default: all but opt-in)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child process")
    parser.add_argument("--repeats", type=int, help="fresh processes per contestant (default 3)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from parsed options; `--quick`: 1 repetition of `QUICK_CONTESTANTS`, 1000
    steps."""
    quick = bool(args.quick)
    return Settings(
        contestants=tuple(
            args.contestants or (QUICK_CONTESTANTS if quick else DEFAULT_CONTESTANTS)
        ),
        repeats=harness.given(args.repeats, (1 if quick else Settings.repeats)),
        timeout_s=args.timeout,
        total_timesteps=QUICK_TIMESTEPS if quick else None,
        quick=quick,
    )


def run_child(name: str, job: Job, spawned_at: float) -> dict[str, Any]:
    """Child mode: one cold measurement of contestant `name`, as a JSON-able record."""
    clock = harness.Clock()
    measured = CONTESTANTS[name].measure(job, clock)
    return record_of(name, job, measured, clock, spawned_at)


def record_of(
    name: str, job: Job, measured: Measured, clock: harness.Clock, spawned_at: float
) -> dict[str, Any]:
    """A child's record: its clock's spans (None where a mark was not made), the compile
    seconds, throughput, memory, the evaluation and the curve. `interpreter_s` runs from the
    spawn to the clock's start: the interpreter's start and `import jaxrl` (which imports JAX);
    `import_s` from there to the contestant's own imports done."""
    times = measured.compile_times
    run_s, run_cpu_s = clock.wall("compiled", "trained"), clock.cpu("compiled", "trained")
    return {
        "name": name,
        "seed": job.seed,
        "trace_s": None if times is None else times["trace_s"],
        "compile_s": None if times is None else times["compile_s"],
        "trace_compile_s": None if times is None else times["trace_s"] + times["compile_s"],
        "run_s": run_s,
        "eval_s": clock.wall("trained", "evaluated"),
        "call_to_trained_s": clock.wall("call", "trained"),
        "call_to_evaluated_s": clock.wall("call", "evaluated"),
        "process_s": clock.marks["evaluated"][2] - spawned_at,
        "interpreter_s": clock.marks["start"][2] - spawned_at,
        "import_s": clock.wall("start", "imported"),
        "call_to_evaluated_cpu_s": clock.cpu("call", "evaluated"),
        "run_cpu_s": run_cpu_s,
        "process_cpu_s": clock.marks["evaluated"][1],
        "env_steps": measured.env_steps,
        "steps_per_s": harness.ratio(measured.env_steps, run_s),
        "steps_per_cpu_s": harness.ratio(measured.env_steps, run_cpu_s),
        "num_seeds": measured.num_seeds,
        "eval_returns": measured.eval_returns,
        "config": measured.config,
        "curve": {
            "t_s": [t for t, _, _ in measured.curve],
            "env_steps": [steps for _, steps, _ in measured.curve],
            "return": [value for _, _, value in measured.curve],
        },
        "peak_rss_mib": peak_rss_mib(),
        **measured.facts,
    }


def spawn(name: str, job: Job, timeout_s: float) -> dict[str, Any]:
    """Runs one child process (`python -m jaxrl.bench.ppo --child NAME`); its record, or
    `{"error": one line}` if it failed."""
    command = [sys.executable, "-m", "jaxrl.bench.ppo", "--child", name, "--seed", str(job.seed)]
    if job.total_timesteps is not None:
        command += ["--total-timesteps", str(job.total_timesteps)]
    if job.quick:
        command.append("--quick")
    child_env = {**os.environ, "JAX_ENABLE_COMPILATION_CACHE": "false"}
    child_env.setdefault("JAX_PLATFORMS", "cpu")
    if CONTESTANTS[name].device_per_core:
        flags = child_env.get("XLA_FLAGS", "")
        devices = cpu_devices_for(NUM_SEEDS_VMAPPED, available_cores())
        child_env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
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
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {done.returncode}: {last[0]}"}
    record = json.loads(lines[-1][len(RESULT_PREFIX) :])
    record["child_wall_s"] = wall_s
    return record


def solved_return() -> float:
    """CartPole-v1's `reward_threshold`: the mean evaluation return that solves it."""
    from jaxrl import envs

    env, env_params = envs.make(ENV_ID)
    return float(env.reward_threshold(env_params))


def first_at_or_above(
    times: Sequence[float], values: Sequence[float], bound: float
) -> float | None:
    """The first time whose value reaches `bound`; None if none does."""
    return next((t for t, v in zip(times, values, strict=True) if v >= bound), None)


def summarize(runs: Sequence[dict[str, Any]], solved: float) -> dict[str, Any]:
    """One contestant's successful runs: timing summaries (None for a figure it does not
    measure), the time its training curve first reached `solved` (runs that never did, or have
    no curve, are counted apart) and the final evaluation."""
    returns = [r for run in runs for r in run["eval_returns"]]
    solve_times = [
        t
        for run in runs
        if (t := first_at_or_above(run["curve"]["t_s"], run["curve"]["return"], solved)) is not None
    ]
    timings = {}
    for name in TIMINGS:
        values = [run[name] for run in runs]
        timings[name] = None if None in values else harness.summary(values)
    return {
        **timings,
        "env_steps": runs[0]["env_steps"],
        "num_seeds": runs[0]["num_seeds"],
        "eval_return": harness.summary(returns),
        "solved": sum(r >= solved for r in returns),
        "seeds_evaluated": len(returns),
        "curve_solve_s": harness.summary(solve_times) if solve_times else None,
        "curve_solved_runs": len(solve_times),
        "runs": len(runs),
    }


def median(summaries: dict[str, dict[str, Any]], name: str, key: str) -> float | None:
    """Contestant `name`'s median of `key`; None when it did not run or does not measure it."""
    stats = summaries.get(name, {}).get(key)
    return None if stats is None else stats["median"]


#: Ratio name -> (the figure, whether larger is better), for `comparisons`.
RATIO_FIGURES = {
    "speedup": ("call_to_evaluated_s", False),
    "process_speedup": ("process_s", False),
    "compile_speedup": ("trace_compile_s", False),
    "throughput": ("steps_per_s", True),
    "cpu_speedup": ("call_to_evaluated_cpu_s", False),
    "cpu_throughput": ("steps_per_cpu_s", True),
}


def comparisons(summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Ratios of medians against every peer (`REFERENCES`) that ran, each oriented so that > 1
    favours the jaxrl contestant (`RATIO_FIGURES`): call->evaluated, process wall, trace +
    compile, env steps per second, and the CPU seconds, which a shared machine's load distorts
    less. None where either side does not measure the figure (SB3 compiles nothing)."""
    out = {}
    for name in summaries:
        if name in REFERENCES:
            continue
        for reference in (r for r in REFERENCES if r in summaries):
            row = {}
            for ratio_name, (key, larger_is_better) in RATIO_FIGURES.items():
                ours, theirs = median(summaries, name, key), median(summaries, reference, key)
                pair = (ours, theirs) if larger_is_better else (theirs, ours)
                row[ratio_name] = harness.ratio(*pair)
            out[f"{name}/{reference}"] = row
    return out


def variant_ratios(summaries: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """`VARIANT_RATIOS`: each contestant's median call->evaluated over its base's (> 1: slower
    than the base)."""
    figures = {name: median(summaries, name, "call_to_evaluated_s") for name in summaries}
    return report.ratios(figures, VARIANT_RATIOS)


def targets(summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The goals, each with its measured value and `met` (None: a contestant it needs did not
    run). Every bound but the absolute one is a ratio of figures measured side by side."""
    call = "call_to_evaluated_s"
    tuned = [s for name, s in summaries.items() if CONTESTANTS[name].tuned_default]
    solved = sum(s["solved"] for s in tuned)
    evaluated = sum(s["seeds_evaluated"] for s in tuned)
    out = [
        {
            "goal": "every seed of the tuned default solves CartPole (>= its reward threshold)",
            "value": f"{solved}/{evaluated}" if tuned else None,
            "met": solved == evaluated if tuned else None,
        }
    ]
    checks = (
        (
            f"jaxrl call->evaluated <= {CALL_TO_EVALUATED_GOAL_S:g} s on this machine",
            median(summaries, "jaxrl", call),
            operator.le,
            CALL_TO_EVALUATED_GOAL_S,
        ),
        (
            f"call->evaluated, rejax as published / jaxrl >= {REJAX_SPEEDUP_GOAL:g}",
            harness.ratio(median(summaries, "rejax", call), median(summaries, "jaxrl", call)),
            operator.ge,
            REJAX_SPEEDUP_GOAL,
        ),
        (
            f"call->evaluated, {NUM_SEEDS_VMAPPED} vmapped seeds / 1 seed <= "
            f"{SEEDS_SLOWDOWN_GOAL:g}",
            harness.ratio(
                median(summaries, "jaxrl_8_seeds", call), median(summaries, "jaxrl", call)
            ),
            operator.le,
            SEEDS_SLOWDOWN_GOAL,
        ),
        (
            "steps/s at rejax's hyperparameters, jaxrl_rejax_hp / rejax_eval_end >= 1",
            harness.ratio(
                median(summaries, "jaxrl_rejax_hp", "steps_per_s"),
                median(summaries, "rejax_eval_end", "steps_per_s"),
            ),
            operator.ge,
            1.0,
        ),
    )
    for goal, value, compare, bound in checks:
        met = None if value is None else compare(value, bound)
        out.append({"goal": goal, "value": value, "met": met})
    return out


def span(stats: dict[str, float] | None, digits: int = 2) -> str:
    """`median [min-max]`; "-" for none."""
    if stats is None:
        return "-"
    median_, low, high = (f"{stats[k]:.{digits}f}" for k in ("median", "min", "max"))
    return f"{median_} [{low}-{high}]"


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Round-robin over the contestants, `settings.repeats` times; returns the JSON section."""
    skipped: dict[str, str] = {}
    for name in settings.contestants:
        error = harness.import_error(*CONTESTANTS[name].packages)
        if error is not None:
            skipped[name] = error
            log(f"note: ppo: {name} skipped: {error}")
    solved = solved_return()
    runs: dict[str, list[dict]] = {name: [] for name in settings.contestants}
    for repeat in range(settings.repeats):
        for name in settings.contestants:
            if name in skipped:
                continue
            job = Job(seed=repeat, total_timesteps=settings.total_timesteps, quick=settings.quick)
            record = spawn(name, job, settings.timeout_s)
            if "error" in record:
                skipped[name] = record["error"]
                log(f"note: ppo: {name} skipped: {record['error']}")
                continue
            runs[name].append(record)
            log(
                f"ppo [{repeat + 1}/{settings.repeats}] {name}: call->evaluated "
                f"{record['call_to_evaluated_s']:.2f} s, process {record['process_s']:.2f} s, "
                "eval " + " ".join(f"{r:.0f}" for r in record["eval_returns"])
            )
    summaries = {
        name: summarize(runs[name], solved)
        for name in settings.contestants
        if runs[name] and name not in skipped
    }
    return {
        "settings": {
            **dataclasses.asdict(settings),
            "env_id": ENV_ID,
            "eval_episodes": EVAL_EPISODES,
            "solved_return": solved,
            "rejax_hyperparameters": REJAX_CARTPOLE,
            "compilation_cache": False,
        },
        "runs": runs,
        "summary": summaries,
        "ratios": comparisons(summaries),
        "variant_ratios": variant_ratios(summaries),
        "targets": targets(summaries),
        "skipped": skipped,
    }


def markdown(section: dict[str, Any]) -> str:
    """Markdown tables: timings (median [min-max]), CPU seconds, ratios against the peers, the
    variants against jaxrl, the goals."""
    summaries, ratios = section["summary"], section["ratios"]
    solved = section["settings"]["solved_return"]
    rows = [
        [
            name,
            f"{s['env_steps']:,}",
            span(s["trace_s"]),
            span(s["compile_s"]),
            span(s["run_s"]),
            span(s["eval_s"]),
            span(s["call_to_trained_s"]),
            span(s["call_to_evaluated_s"]),
            span(s["process_s"]),
            span(s["curve_solve_s"]),
            "-" if s["steps_per_s"] is None else f"{s['steps_per_s']['median']:,.0f}",
            span(s["eval_return"], 1),
            f"{s['solved']}/{s['seeds_evaluated']}",
            f"{s['peak_rss_mib']['median']:.0f}",
        ]
        for name, s in summaries.items()
    ]
    header = [
        "contestant",
        "env steps",
        "trace s",
        "compile s",
        "run s",
        "eval s",
        "call→trained s",
        "call→evaluated s",
        "process s",
        f"curve reaches {solved:g} at s",
        "steps/s",
        "eval return (median [min-max])",
        "solved",
        "peak RSS MiB",
    ]
    cpu_rows = [
        [
            name,
            span(s["call_to_evaluated_cpu_s"]),
            span(s["run_cpu_s"]),
            span(s["process_cpu_s"]),
            "-" if s["steps_per_cpu_s"] is None else f"{s['steps_per_cpu_s']['median']:,.0f}",
        ]
        for name, s in summaries.items()
    ]
    lines = [
        report.markdown_table(header, rows),
        "",
        "CPU seconds of the child process (`time.process_time`, all threads), which a shared "
        "machine's load inflates less than wall seconds:",
        "",
        report.markdown_table(
            [
                "contestant",
                "call→evaluated CPU s",
                "run CPU s",
                "process CPU s",
                "steps per CPU s",
            ],
            cpu_rows,
        ),
        "",
        "Legend: " + "; ".join(f"{n}: {CONTESTANTS[n].description}" for n in summaries),
    ]
    shown = {pair: row for pair, row in ratios.items() if any(v is not None for v in row.values())}
    if shown:
        lines += [
            "",
            "Ratios of medians against the peers in this run, > 1 favours the jaxrl contestant:",
            "",
            report.markdown_table(
                [
                    "pair",
                    "call→evaluated speedup",
                    "process speedup",
                    "trace+compile speedup",
                    "throughput",
                    "call→evaluated CPU speedup",
                    "throughput per CPU s",
                ],
                [
                    [pair, *(report.fmt_ratio(row[k]) for k in RATIO_FIGURES)]
                    for pair, row in shown.items()
                ],
            ),
        ]
    variants = {pair: value for pair, value in section["variant_ratios"].items() if value}
    if variants:
        lines += [
            "",
            "call→evaluated against the base (> 1: slower): "
            + ", ".join(f"{pair} {report.fmt_ratio(value)}" for pair, value in variants.items()),
        ]
    goal_rows = []
    for goal in section["targets"]:
        value = goal["value"]
        value = f"{value:.2f}" if isinstance(value, float) else ("-" if value is None else value)
        goal_rows.append(
            [goal["goal"], value, {True: "yes", False: "NO", None: "n/a"}[goal["met"]]]
        )
    lines += ["", report.markdown_table(["goal", "measured", "met"], goal_rows)]
    if section["settings"]["quick"]:
        lines += ["", f"quick: {QUICK_TIMESTEPS} steps per run, so the goals do not apply."]
    for name, reason in section["skipped"].items():
        lines.append(f"- note: {name} skipped: {reason}")
    return "\n".join(lines)


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """`ppo_return_vs_time.png`: training return against seconds since the call (for SB3:
    since building the model), one line per run, one panel per contestant with a curve, on
    shared axes, with the solved line."""
    series = {}
    for name, runs in section["runs"].items():
        curves = {
            f"run {index}": list(zip(run["curve"]["t_s"], run["curve"]["return"], strict=True))
            for index, run in enumerate(runs)
            if run["curve"]["t_s"]
        }
        if curves:
            series[name] = curves
    if not series:
        return []
    solved = section["settings"]["solved_return"]
    path = report.line_panels(
        series,
        out_dir,
        "ppo_return_vs_time.png",
        xlabel="seconds since the call (compile included)",
        ylabel="episode return",
        hlines={f"solved ({solved:g})": solved},
        share_axes=True,
    )
    return [path]


def child_main(argv: Sequence[str] | None = None) -> int:
    """`python -m jaxrl.bench.ppo --child NAME ...`: one measurement, printed as a JSON line."""
    parser = ArgumentParser(
        prog="python -m jaxrl.bench.ppo", description="one cold PPO measurement, as a JSON line"
    )
    parser.add_argument("--child", choices=list(CONTESTANTS), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--total-timesteps", type=int)
    parser.add_argument("--spawned-at", type=float)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    spawned_at = time.time() if args.spawned_at is None else args.spawned_at
    job = Job(seed=args.seed, total_timesteps=args.total_timesteps, quick=args.quick)
    record = run_child(args.child, job, spawned_at)
    print(RESULT_PREFIX + json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
