"""jaxrl.bench.learners: ratios and goals on fixed runs, rejax's policies scored by the library's
evaluation law, and one quick child per learner. No timing is asserted: the machine is shared."""

import jax
import numpy as np
import pytest

from jaxrl.bench import learners
from jaxrl.bench import ppo as bench_ppo


def _run(call_s, steps_per_s, returns):
    timings = dict.fromkeys(bench_ppo.TIMINGS, 1.0)
    timings.update(call_to_evaluated_s=call_s, steps_per_s=steps_per_s)
    return {
        **timings,
        "env_steps": 100,
        "num_seeds": len(returns),
        "eval_returns": returns,
        "curve": {"t_s": [], "env_steps": [], "return": []},
    }


def test_ratios_favour_jaxrl_above_one_and_sb3_eight_seeds_is_eight_runs():
    runs = {
        "jaxrl": [_run(2.0, 1000.0, [500.0])],
        "jaxrl_8_seeds": [_run(4.0, 4000.0, [500.0] * 7 + [100.0])],
        "rejax": [_run(8.0, 500.0, [480.0])],
        "sb3": [_run(30.0, 100.0, [500.0])],
    }
    summaries = {name: bench_ppo.summarize(rs, 475.0) for name, rs in runs.items()}
    ratios = learners.comparisons(summaries)
    assert ratios["jaxrl/rejax"] == {"speedup": 4.0, "throughput": 2.0}
    assert ratios["jaxrl/sb3"] == {"speedup": 15.0, "throughput": 10.0}
    # Eight SB3 seeds run one after another: 8 x 30 s, at the same steps/s.
    assert ratios["jaxrl_8_seeds/sb3_x8"] == {"speedup": 60.0, "throughput": 40.0}
    assert ratios["jaxrl_8_seeds/rejax_8_seeds"] == {"speedup": None, "throughput": None}

    goals = {g["goal"]: g for g in learners.targets("dqn", summaries, ratios)}
    assert goals["dqn jaxrl: every seed solves"]["met"] is True
    assert goals["dqn jaxrl_8_seeds: every seed solves"] == {
        "goal": "dqn jaxrl_8_seeds: every seed solves",
        "value": "7/8",
        "met": False,
    }
    assert goals["dqn call->evaluated speedup jaxrl/rejax >= 3"]["met"] is True
    assert goals["dqn call->evaluated speedup jaxrl_8_seeds/rejax_8_seeds >= 3"]["met"] is None
    text = learners.markdown(
        {
            "settings": {"quick": False},
            "races": {
                "dqn": {
                    "env_id": "CartPole-v1",
                    "solved_return": 475.0,
                    "summary": summaries,
                    "ratios": ratios,
                    "targets": list(goals.values()),
                }
            },
            "skipped": {"dqn/rejax_8_seeds": "timed out after 900 s"},
        }
    )
    assert "| jaxrl/rejax | 4.00x | 2.00x |" in text
    assert "dqn/rejax_8_seeds skipped: timed out" in text


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"algos": ("a2c",)}, "unknown algorithms ['a2c']"),
        ({"contestants": ()}, "name at least one of the contestants"),
        ({"repeats": 0}, "repeats=0"),
    ],
)
def test_settings_reject_bad_input_with_the_fix(changes, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        learners.Settings(**changes)


@pytest.mark.parametrize("algo", ["dqn", "sac"])
def test_rejax_policies_are_scored_deterministically_on_jaxrl_envs(algo):
    """rejax's untrained policy through `rejax_evaluate`: the same key gives the same returns
    (a deterministic policy), actions inside the env's space."""
    import gymnax

    # rejax is a contestant of the benchmark (the `bench` extra), not of the test extra.
    rejax = pytest.importorskip(
        "rejax", reason="rejax is the bench extra: pip install -e '.[bench]'"
    )

    race = learners.RACES[algo]
    env, env_params = gymnax.make(race.env_id)
    hparams = {**learners.REJAX[algo], "total_timesteps": 1_000, "eval_freq": 1_000}
    algo_ = getattr(rejax, race.rejax_class).create(
        env=bench_ppo.FiveTupleEnv(env), env_params=env_params, **hparams
    )
    state = algo_.init_state(jax.random.key(0))
    evaluate = jax.jit(learners.rejax_evaluate(algo, algo_))
    with jax.numpy_rank_promotion("allow"):  # rejax's observation normaliser broadcasts
        first = np.asarray(evaluate(state, jax.random.key(1)))
        again = np.asarray(evaluate(state, jax.random.key(1)))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (learners.EVAL_EPISODES,) and np.all(np.isfinite(first))


@pytest.mark.slow  # a child process that imports JAX and compiles
@pytest.mark.timeout(240)
def test_a_quick_child_of_the_fast_path():
    """One real child process (`python -m jaxrl.bench.learners --child dqn/jaxrl`)."""
    job = bench_ppo.Job(seed=0, total_timesteps=learners.QUICK_TIMESTEPS)
    record = learners.spawn("dqn/jaxrl", job, timeout_s=230)
    assert "error" not in record, record
    assert record["compilation_cache"] is False and record["num_seeds"] == 1
    assert 0 < record["trace_compile_s"] < record["call_to_evaluated_s"] < record["process_s"]
    assert record["steps_per_s"] == pytest.approx(record["env_steps"] / record["run_s"])
    [mean] = record["eval_returns"]
    assert 1.0 <= mean <= 500.0
