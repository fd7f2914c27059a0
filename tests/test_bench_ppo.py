"""experiments/bench_ppo.py: a quick run's JSON, the summary and ratio arithmetic, the evaluator.

No timing is asserted: the machine is shared, so only structure and arithmetic are checked.
"""

import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments import bench_ppo
from jaxrl import envs
from jaxrl.agents import ppo

SCRIPT = Path(bench_ppo.__file__)
QUICK_CONTESTANTS = ["jaxrl", "jaxrl_8_seeds"]


def test_quick_run_writes_the_results_json(tmp_path):
    out = tmp_path / "bench.json"
    argv = ["--quick", "--contestants", *QUICK_CONTESTANTS, "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| jaxrl |" in done.stdout and "| jaxrl_8_seeds |" in done.stdout

    written = json.loads(out.read_text())
    assert [path.name for path in tmp_path.iterdir()] == ["bench.json"]  # no temp file left
    assert written["command"][2:] == argv
    assert written["settings"]["repeats"] == 1
    assert written["settings"]["total_timesteps_override"] == bench_ppo.QUICK_TIMESTEPS
    assert written["hardware"]["cpu"] and written["hardware"]["cpu_count"] >= 1
    assert all("cpu" in device.lower() for device in written["hardware"]["jax_devices"])
    assert written["versions"]["jax"] == jax.__version__
    assert written["skipped"] == {}

    for name in QUICK_CONTESTANTS:
        [run] = written["runs"][name]
        num_seeds = bench_ppo.NUM_SEEDS_VMAPPED if name == "jaxrl_8_seeds" else 1
        assert run["num_seeds"] == num_seeds and len(run["eval_returns"]) == num_seeds
        # 1000 steps is two updates of 5 envs x 100 steps.
        assert run["env_steps"] == num_seeds * bench_ppo.QUICK_TIMESTEPS
        assert all(1.0 <= r <= 500.0 for r in run["eval_returns"])
        assert run["compilation_cache"] is False
        assert 0 < run["trace_s"] and 0 < run["compile_s"] and 0 < run["run_s"]
        assert run["jit_to_params_s"] >= run["trace_s"] + run["compile_s"] + run["run_s"] - 1e-6
        assert run["process_s"] > run["jit_to_params_s"]
        assert run["steps_per_s"] == pytest.approx(run["env_steps"] / run["run_s"])

        summary = written["summary"][name]
        for timing in bench_ppo.TIMINGS:
            assert summary[timing]["min"] == summary[timing]["median"] == run[timing]
        assert summary["seeds_evaluated"] == num_seeds
        assert summary["solved"] == sum(r >= 475 for r in run["eval_returns"])

    assert set(written["ratios"]) == {
        f"{name}/{reference}"
        for name in QUICK_CONTESTANTS
        for reference in bench_ppo.REJAX_CONTESTANTS
    }
    assert all(value is None for row in written["ratios"].values() for value in row.values())
    goals = {goal["goal"]: goal for goal in written["targets"]}
    seeds_goal = next(goal for name, goal in goals.items() if name.startswith("8 seeds"))
    assert seeds_goal["value"] == pytest.approx(
        written["summary"]["jaxrl_8_seeds"]["jit_to_params_s"]["median"]
        / written["summary"]["jaxrl"]["jit_to_params_s"]["median"]
    )
    throughput_goal = next(goal for name, goal in goals.items() if name.startswith("steps/s"))
    assert throughput_goal["value"] is None and throughput_goal["met"] is None


def test_summary_takes_median_min_max():
    assert bench_ppo.summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert bench_ppo.summary([4.0, 1.0, 2.0, 3.0]) == {"median": 2.5, "min": 1.0, "max": 4.0}
    assert bench_ppo.span({"median": 2.0, "min": 1.0, "max": 3.25}) == "2.00 [1.00-3.25]"


def test_ratio_is_none_when_a_side_is_missing():
    assert bench_ppo.ratio(3.0, 2.0) == 1.5
    assert bench_ppo.ratio(None, 2.0) is None
    assert bench_ppo.ratio(3.0, None) is None
    assert bench_ppo.ratio(3.0, 0.0) is None


def _run(jit_to_params_s, process_s, trace_compile_s, steps_per_s, returns):
    timings = dict.fromkeys(bench_ppo.TIMINGS, 1.0)
    timings.update(
        jit_to_params_s=jit_to_params_s,
        process_s=process_s,
        trace_compile_s=trace_compile_s,
        steps_per_s=steps_per_s,
    )
    return {**timings, "env_steps": 100, "num_seeds": len(returns), "eval_returns": returns}


def test_comparisons_and_targets_on_fixed_runs():
    runs = {
        "jaxrl": [
            _run(2.0, 4.0, 1.5, 1000.0, [500.0]),
            _run(4.0, 6.0, 2.5, 3000.0, [480.0]),
            _run(3.0, 5.0, 2.0, 2000.0, [400.0]),
        ],
        "jaxrl_8_seeds": [_run(4.5, 7.0, 3.0, 8000.0, [500.0] * 8)],
        "jaxrl_rejax_hp": [_run(5.0, 8.0, 2.0, 6000.0, [500.0])],
        "rejax": [_run(12.0, 20.0, 8.0, 500.0, [500.0])],
        "rejax_eval_end": [_run(9.0, 15.0, 6.0, 4000.0, [490.0])],
    }
    summaries = {name: bench_ppo.summarize(rs) for name, rs in runs.items()}
    assert summaries["jaxrl"]["jit_to_params_s"] == {"median": 3.0, "min": 2.0, "max": 4.0}
    assert summaries["jaxrl"]["solved"] == 2 and summaries["jaxrl"]["seeds_evaluated"] == 3
    assert summaries["jaxrl"]["eval_return"] == {"median": 480.0, "min": 400.0, "max": 500.0}

    ratios = bench_ppo.comparisons(summaries)
    assert set(ratios) == {
        f"{name}/{ref}"
        for name in ("jaxrl", "jaxrl_8_seeds", "jaxrl_rejax_hp")
        for ref in ("rejax", "rejax_eval_end")
    }
    assert ratios["jaxrl/rejax"] == {
        "speedup": 4.0,
        "process_speedup": 4.0,
        "compile_speedup": 4.0,
        "throughput": 4.0,
        "compile_cpu_speedup": 1.0,
        "cpu_throughput": 1.0,
    }
    assert ratios["jaxrl_rejax_hp/rejax_eval_end"]["throughput"] == 1.5
    assert ratios["jaxrl_rejax_hp/rejax_eval_end"]["speedup"] == 1.8

    goals = [(goal["value"], goal["met"]) for goal in bench_ppo.targets(summaries)]
    assert goals == [
        ("10/11", False),  # one jaxrl seed at 400
        (3.0, True),
        (5.0, True),
        (2.0, True),
        (1.5, True),
        (1.5, True),
    ]
    assert "| jaxrl_rejax_hp/rejax_eval_end | 1.80x |" in bench_ppo.format_report(
        summaries, ratios, bench_ppo.targets(summaries)
    )


def test_targets_are_not_applicable_without_runs():
    assert all(goal["met"] is None for goal in bench_ppo.targets({}))


def test_greedy_evaluate_matches_the_library_evaluate():
    env, env_params = envs.make("CartPole-v1")
    config = ppo.default_config("CartPole-v1")
    agent = ppo.make_agent(config, env, env_params)
    params = agent.unravel(agent.init_flat_params(jax.random.key(3)))
    logits_fn = lambda p, obs: agent.network.apply(p, obs, method=ppo.ActorCritic.policy).logits
    key = jax.random.key(4)

    ours = jax.jit(bench_ppo.make_greedy_evaluate(logits_fn, num_episodes=8))(params, key)
    library = jax.jit(ppo.make_evaluate(config, env, env_params, num_episodes=8))(params, key)
    np.testing.assert_array_equal(ours, library)
    assert ours.shape == (8,) and np.all(ours >= 1.0)


def test_five_tuple_env_folds_truncation_into_done():
    gymnax_cartpole = pytest.importorskip("gymnax.environments.classic_control")
    env = bench_ppo.FiveTupleEnv(gymnax_cartpole.CartPole())
    params = env.default_params.replace(max_steps_in_episode=3)
    key = jax.random.key(0)
    _, state = env.reset(key, params)
    dones = []
    for _ in range(3):
        _, state, reward, done, info = env.step(key, state, 1, params)
        dones.append(bool(done))
    # Three pushes cannot topple the pole: only the time limit ends the episode.
    assert dones == [False, False, True]
    assert bool(info["truncated"]) and not bool(info["terminated"])
