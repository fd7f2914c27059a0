"""jaxrl.bench.ppo and .sb3: the contestant table, summaries, ratios and goals on fixed runs, the
evaluator, the rejax adapter, the notes for contestants that fail to import, one quick child.

No timing is asserted: the machine is shared.
"""

import jax
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.agents import ppo
from jaxrl.agents.ppo.networks import ActorCritic, make_agent
from jaxrl.bench import harness, sb3
from jaxrl.bench import ppo as bench_ppo


def _run(call_s, process_s, trace_compile_s, steps_per_s, returns, curve=None):
    timings = dict.fromkeys(bench_ppo.TIMINGS, 1.0)
    timings.update(
        call_to_evaluated_s=call_s,
        process_s=process_s,
        trace_compile_s=trace_compile_s,
        steps_per_s=steps_per_s,
    )
    times, values = curve or ([1.0], [10.0])
    return {
        **timings,
        "env_steps": 100,
        "num_seeds": len(returns),
        "eval_returns": returns,
        "curve": {"t_s": times, "env_steps": [0] * len(times), "return": values},
    }


def _summaries(runs):
    return {name: bench_ppo.summarize(rs, 475.0) for name, rs in runs.items()}


def test_the_contestant_table():
    contestants = bench_ppo.CONTESTANTS
    assert list(contestants)[0] == "jaxrl"
    # The fast path times the README's snippet: jaxrl.jit, then evaluate, as one call->evaluated.
    assert contestants["jaxrl"].measure is bench_ppo.measure_fast_path
    assert "jaxrl_jit" not in bench_ppo.DEFAULT_CONTESTANTS and contestants["jaxrl_jit"].opt_in
    assert set(bench_ppo.QUICK_CONTESTANTS) <= set(bench_ppo.DEFAULT_CONTESTANTS)
    tuned = {name for name, c in contestants.items() if c.tuned_default}
    assert tuned == {
        "jaxrl",
        "jaxrl_stages",
        "jaxrl_jit",
        "jaxrl_8_seeds",
        "jaxrl_8_seeds_all_cores",
    }
    assert [name for name, c in contestants.items() if c.device_per_core] == [
        "jaxrl_8_seeds_all_cores"
    ]
    for name in ("rejax", "rejax_eval_end"):
        assert "rejax" in contestants[name].packages
    assert set(contestants["sb3"].packages) == {"stable_baselines3", "torch"}


def test_first_time_at_or_above_a_bound():
    assert bench_ppo.first_at_or_above([1.0, 2.0, 3.0], [100.0, 475.0, 500.0], 475.0) == 2.0
    assert bench_ppo.first_at_or_above([1.0, 2.0], [100.0, 474.9], 475.0) is None
    assert bench_ppo.first_at_or_above([], [], 475.0) is None


def test_comparisons_variants_and_goals_on_fixed_runs():
    runs = {
        "jaxrl": [
            _run(2.0, 4.0, 1.5, 1000.0, [500.0], ([1.0, 2.0, 3.0], [9.0, 480.0, 500.0])),
            _run(4.0, 6.0, 2.5, 3000.0, [480.0], ([1.0, 4.0], [9.0, 490.0])),
            _run(3.0, 5.0, 2.0, 2000.0, [400.0], ([1.0, 2.0], [9.0, 300.0])),
        ],
        "jaxrl_stages": [_run(3.3, 5.0, 2.0, 2000.0, [500.0])],
        "jaxrl_8_seeds": [_run(4.5, 7.0, 3.0, 8000.0, [500.0] * 8)],
        "jaxrl_8_seeds_all_cores": [_run(4.95, 9.0, 3.0, 8000.0, [500.0] * 8)],
        "jaxrl_rejax_hp": [_run(5.0, 8.0, 2.0, 6000.0, [500.0])],
        "rejax": [_run(12.0, 20.0, 8.0, 500.0, [500.0])],
        "rejax_eval_end": [_run(9.0, 15.0, 6.0, 4000.0, [490.0])],
    }
    summaries = _summaries(runs)
    jaxrl = summaries["jaxrl"]
    assert jaxrl["call_to_evaluated_s"] == {"median": 3.0, "min": 2.0, "max": 4.0}
    assert jaxrl["solved"] == 2 and jaxrl["seeds_evaluated"] == 3
    assert jaxrl["eval_return"] == {"median": 480.0, "min": 400.0, "max": 500.0}
    # Two of three curves reach 475, at 2 s and 4 s; the third never does.
    assert jaxrl["curve_solve_s"] == {"median": 3.0, "min": 2.0, "max": 4.0}
    assert jaxrl["curve_solved_runs"] == 2 and jaxrl["runs"] == 3
    assert summaries["rejax"]["curve_solve_s"] is None

    ratios = bench_ppo.comparisons(summaries)
    # SB3 did not run: no pairs with it.
    assert set(ratios) == {
        f"{name}/{ref}"
        for name in runs
        if name not in bench_ppo.REFERENCES
        for ref in ("rejax", "rejax_eval_end")
    }
    assert ratios["jaxrl/rejax"] == {
        "speedup": 4.0,
        "process_speedup": 4.0,
        "compile_speedup": 4.0,
        "throughput": 4.0,
        "cpu_speedup": 1.0,
        "cpu_throughput": 1.0,
    }
    assert ratios["jaxrl_rejax_hp/rejax_eval_end"]["throughput"] == 1.5
    assert ratios["jaxrl_rejax_hp/rejax_eval_end"]["speedup"] == 1.8

    variants = bench_ppo.variant_ratios(summaries)
    assert variants["jaxrl_stages/jaxrl"] == pytest.approx(1.1)
    assert variants["jaxrl_8_seeds/jaxrl"] == 1.5
    assert variants["jaxrl_8_seeds_all_cores/jaxrl_stages"] == pytest.approx(1.5)
    assert variants["jaxrl_jit/jaxrl"] is None  # opt-in, not run

    goals = [(goal["value"], goal["met"]) for goal in bench_ppo.targets(summaries)]
    assert goals == [
        ("19/20", False),  # one jaxrl seed at 400
        (3.0, True),  # 3.0 s <= 3.5 s
        (4.0, True),  # rejax's 12 s over 3 s
        (1.5, True),  # 8 seeds' 4.5 s over 3 s
        (1.5, True),  # 6000 steps/s over 4000
    ]
    section = {
        "settings": {"quick": False, "solved_return": 475.0},
        "summary": summaries,
        "ratios": ratios,
        "variant_ratios": variants,
        "targets": bench_ppo.targets(summaries),
        "skipped": {"sb3": "import torch failed (ModuleNotFoundError: No module named 'torch')"},
    }
    text = bench_ppo.markdown(section)
    assert "| jaxrl_rejax_hp/rejax_eval_end | 1.80x |" in text
    assert "| jaxrl | 100 |" in text and "| 3.00 [2.00-4.00] |" in text
    assert "jaxrl call->evaluated <= 3.5 s on this machine | 3.00 | yes |" in text
    assert "jaxrl_8_seeds/jaxrl 1.50x" in text
    assert "- note: sb3 skipped: import torch failed (ModuleNotFoundError" in text
    # Words of a work log, not of a result ("sess" + "ion" keeps the word out of this file).
    for word in ("machine factor", "sess" + "ion", "issue", "prototype"):
        assert word not in text.lower()


def test_figures_a_contestant_does_not_measure_are_none_not_zero():
    fast_path = _run(3.0, 5.0, 2.0, 1.0, [500.0])
    fast_path.update(run_s=None, steps_per_s=None, call_to_trained_s=None)
    sb3_run = {**_run(60.0, 64.0, 1.0, 2000.0, [500.0]), "trace_compile_s": None}
    summaries = _summaries({"jaxrl": [fast_path], "sb3": [sb3_run]})
    assert summaries["jaxrl"]["steps_per_s"] is None and summaries["jaxrl"]["run_s"] is None
    row = bench_ppo.comparisons(summaries)["jaxrl/sb3"]
    assert row["speedup"] == 20.0 and row["process_speedup"] == 12.8
    # jaxrl's fast path has no run apart; SB3 compiles nothing.
    assert row["throughput"] is None and row["compile_speedup"] is None
    goals = {goal["goal"]: goal["met"] for goal in bench_ppo.targets(summaries)}
    assert goals["jaxrl call->evaluated <= 3.5 s on this machine"] is True
    assert goals["call->evaluated, rejax as published / jaxrl >= 3"] is None  # rejax absent


def test_targets_are_not_applicable_without_runs():
    assert all(goal["met"] is None for goal in bench_ppo.targets({}))


def test_settings_reject_bad_input_with_the_fix():
    with pytest.raises(ValueError, match="unknown PPO contestants"):
        bench_ppo.Settings(contestants=("jaxrl", "ppo2"))
    with pytest.raises(ValueError, match="repeats=0"):
        bench_ppo.Settings(repeats=0)


def test_contestants_that_fail_to_import_are_skipped_with_the_error(monkeypatch):
    def import_error(*modules):
        return f"import {modules[0]} failed (ModuleNotFoundError: No module named 'six')"

    monkeypatch.setattr(harness, "import_error", import_error)
    lines = []
    section = bench_ppo.run(
        bench_ppo.Settings(contestants=("rejax", "sb3"), repeats=1), log=lines.append
    )
    assert section["runs"] == {"rejax": [], "sb3": []} and section["summary"] == {}
    assert section["skipped"] == {
        "rejax": "import rejax failed (ModuleNotFoundError: No module named 'six')",
        "sb3": "import stable_baselines3 failed (ModuleNotFoundError: No module named 'six')",
    }
    assert lines == [
        f"note: ppo: {name} skipped: {why}" for name, why in section["skipped"].items()
    ]


def test_import_error_names_the_module_and_the_error(monkeypatch):
    import sys

    assert harness.import_error("json", "math") is None
    monkeypatch.setitem(sys.modules, "gymnax_missing_six", None)  # import raises ImportError
    note = harness.import_error("json", "gymnax_missing_six")
    assert note.startswith("import gymnax_missing_six failed (ModuleNotFoundError: ")
    assert "\n" not in note


def test_sb3_schedules_decay_linearly_to_zero():
    schedule = sb3.linear(1e-3)
    assert schedule(1.0) == 1e-3 and schedule(0.5) == 5e-4 and schedule(0.0) == 0.0


def test_greedy_evaluate_matches_the_library_evaluate():
    env, env_params = envs.make("CartPole-v1")
    config = ppo.default_config("CartPole-v1")
    network = make_agent(config, env, env_params).network
    params = network.init(jax.random.key(3), np.zeros((1, 4), np.float32))
    logits_fn = lambda p, obs: network.apply(p, obs, method=ActorCritic.policy).logits
    key = jax.random.key(4)

    ours = jax.jit(bench_ppo.make_greedy_evaluate(logits_fn, num_episodes=8))(params, key)
    library = jax.jit(ppo.make_evaluate(config, env, env_params, num_episodes=8))(params, key)
    np.testing.assert_array_equal(ours, library)
    assert ours.shape == (8,) and np.all(ours >= 1.0)


def test_five_tuple_env_folds_truncation_into_done():
    from gymnax.environments.classic_control import CartPole

    env = bench_ppo.FiveTupleEnv(CartPole())
    params = env.default_params.replace(max_steps_in_episode=3)
    key = jax.random.key(0)
    _, state = env.reset(key, params)
    step = jax.jit(env.step)  # one compile instead of dozens of eager ops per step
    dones = []
    for _ in range(3):
        _, state, reward, done, info = step(key, state, 1, params)
        dones.append(bool(done))
    # Three pushes cannot topple the pole: only the time limit ends the episode.
    assert dones == [False, False, True]
    assert bool(info["truncated"]) and not bool(info["terminated"])


def test_five_tuple_env_passes_a_gymnax_0_0_x_step_through():
    class OldGymnaxEnv:  # gymnax 0.0.x: step returns (obs, state, reward, done, info)
        def step(self, key, state, action, params=None):
            return "obs", state, 1.0, True, {"discount": 0.0}

    out = bench_ppo.FiveTupleEnv(OldGymnaxEnv()).step(None, "state", 0)
    assert out == ("obs", "state", 1.0, True, {"discount": 0.0})


@pytest.mark.slow  # a child process that imports JAX and compiles
@pytest.mark.timeout(180)
def test_a_quick_child_times_the_stages_of_the_fast_path():
    """One real child process (`python -m jaxrl.bench.ppo --child jaxrl_stages --quick`)."""
    job = bench_ppo.Job(seed=0, total_timesteps=1000, quick=True)
    record = bench_ppo.spawn("jaxrl_stages", job, timeout_s=170)
    assert "error" not in record, record
    assert record["env_steps"] == 1000 and record["compilation_cache"] is False
    assert record["config"]["compile_options"] == {
        "fast_compile": "fastest",
        "parallel_tasks": False,
    }
    stages = record["call_to_trained_s"] + record["eval_s"]
    assert record["call_to_evaluated_s"] == pytest.approx(stages, rel=1e-6)
    assert record["call_to_trained_s"] >= record["run_s"] > 0
    # Trace and compile, read from jax.monitoring, fit inside the timed part before the run.
    assert 0 < record["trace_compile_s"] <= record["call_to_evaluated_s"] - record["run_s"]
    assert record["process_s"] > record["call_to_evaluated_s"]
    assert record["steps_per_s"] == pytest.approx(1000 / record["run_s"])
    curve = record["curve"]
    assert len(curve["t_s"]) == len(curve["return"]) >= 1
    assert curve["t_s"][-1] == pytest.approx(record["call_to_trained_s"], rel=1e-6)
    [mean] = record["eval_returns"]
    assert 1.0 <= mean <= 500.0


@pytest.mark.slow  # torch and SB3 imports plus two rollouts and 100 episodes: several seconds
def test_sb3_marks_the_clock_as_the_jax_contestants_do():
    pytest.importorskip("stable_baselines3")  # the sb3 extra, not the test extra
    clock = harness.Clock()
    measured = bench_ppo.measure_sb3(bench_ppo.Job(seed=0, total_timesteps=512), clock)
    record = bench_ppo.record_of("sb3", bench_ppo.Job(seed=0), measured, clock, spawned_at=0.0)
    assert set(bench_ppo.TIMINGS) <= set(record)
    # 8 envs x 32 steps per rollout: 512 steps are two rollouts, each a point of the curve
    # once an episode has ended in it (CartPole's random policy ends one within ~20 steps).
    assert record["env_steps"] == 512 and len(record["curve"]["t_s"]) == 2
    assert record["trace_compile_s"] is None and record["run_s"] > 0 and record["eval_s"] > 0
    assert record["config"]["torch_threads"] == 1 and not record["config"]["stopped_at_solve"]
    [mean] = record["eval_returns"]
    assert 1.0 <= mean <= 500.0
