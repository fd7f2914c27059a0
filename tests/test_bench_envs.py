"""experiments/bench_envs.py: a quick run's JSON, the rollout harness and the ratio logic.

No timing is asserted: the machine is shared, so only structure and arithmetic are checked.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import bench_envs
from jaxrl import envs


def test_quick_run_writes_every_requested_env_and_size(tmp_path):
    out = tmp_path / "bench.json"
    argv = ["--quick", "--envs", "CartPole-v1", "--num-envs", "1", "16", "--out", str(out)]
    payload = bench_envs.main(argv)

    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(payload))
    assert [path.name for path in tmp_path.iterdir()] == ["bench.json"]  # no temp file left
    assert written["command"][1:] == argv
    assert written["settings"]["num_envs"] == [1, 16]
    assert written["settings"]["compiler_options"] == bench_envs.QUICK_COMPILER_OPTIONS
    assert written["hardware"]["cpu"] and written["hardware"]["cpu_count"] >= 1
    assert written["versions"]["jax"] == jax.__version__
    assert written["skipped"] == []

    rows = written["results"]
    assert [(row["env"], row["num_envs"]) for row in rows] == [
        ("CartPole-v1", 1),
        ("CartPole-v1", 16),
    ]
    repeats = written["settings"]["repeats"]
    for row in rows:
        assert row["num_steps"] == max(16, written["settings"]["steps"] // row["num_envs"])
        # gymnax and gymnasium are test dependencies, so every figure is there.
        assert set(row["figures"]) == set(bench_envs.CONTESTANTS)
        for figure in row["figures"].values():
            assert len(figure["seconds"]) == repeats
            assert all(seconds > 0 for seconds in figure["seconds"])
            assert figure["median_s"] == pytest.approx(np.median(figure["seconds"]))
            assert figure["steps_per_s"] == pytest.approx(
                row["num_envs"] * row["num_steps"] / figure["median_s"]
            )
            assert figure["compile_s"] >= 0
        assert set(row["ratios"]) == {f"{a}/{b}" for a, b in bench_envs.RATIOS}
        assert all(ratio > 0 for ratio in row["ratios"].values())


def test_ratios_on_fixed_figures():
    figures = {"gymnax_a": 2.0, "jaxrl_a": 3.0, "jaxrl_b": 6.0, "jaxrl_c": 8.0, "numpy": 1.5}
    assert bench_envs.ratios(figures) == {
        "jaxrl_a/gymnax_a": 1.5,
        "jaxrl_b/gymnax_a": 3.0,
        "jaxrl_c/gymnax_a": 4.0,
        "jaxrl_b/numpy": 4.0,
    }


def test_ratios_are_none_where_a_figure_is_missing():
    assert bench_envs.ratios({"jaxrl_a": 3.0, "jaxrl_b": 6.0, "jaxrl_c": 8.0}) == {
        "jaxrl_a/gymnax_a": None,
        "jaxrl_b/gymnax_a": None,
        "jaxrl_c/gymnax_a": None,
        "jaxrl_b/numpy": None,
    }


def test_scan_length_spends_the_budget_within_bounds():
    assert bench_envs.scan_length(4096, 2**24, 2**16) == 4096
    assert bench_envs.scan_length(65536, 2**24, 2**16) == 256
    assert bench_envs.scan_length(1, 2**24, 2**16) == 2**16
    assert bench_envs.scan_length(2**20, 2**10, 2**16) == 16


def test_rollout_with_fixed_actions_matches_stepping_by_hand():
    env, params = envs.make("CartPole-v1")
    num_envs, num_steps = 3, 30
    key = jax.random.key(0)
    obs, state = env.reset_batch(key, num_envs, params)
    actions = bench_envs.alternating_actions(env.action_space(params), num_envs)
    np.testing.assert_array_equal(actions, [0, 1, 0])
    batch_step = jax.jit(bench_envs.shared_key(env.step, params))

    rollout = bench_envs.make_rollout(batch_step, num_steps, fixed_actions=actions)
    _, obs_scan, state_scan, returns, num_done = jax.jit(rollout)(key, obs, state)

    expected_done = jnp.zeros(num_envs, jnp.int32)
    for _ in range(num_steps):
        obs, state, _, terminated, truncated, _ = batch_step(key, state, actions)
        expected_done = expected_done + (terminated | truncated)
    np.testing.assert_allclose(obs_scan, obs, rtol=1e-6)
    np.testing.assert_allclose(state_scan.x, state.x, rtol=1e-6)
    # CartPole pays +1 on every step, terminal ones included.
    np.testing.assert_array_equal(returns, np.full(num_envs, num_steps, np.float32))
    np.testing.assert_array_equal(num_done, expected_done)
    assert int(num_done.sum()) > 0  # one push direction topples the pole within 30 steps


def test_random_actions_stay_in_the_space():
    env, params = envs.make("CartPole-v1")
    draw = bench_envs.random_actions(env.action_space(params), 1000)
    actions = np.asarray(draw(jax.random.key(1)))
    assert actions.shape == (1000,)
    assert set(np.unique(actions)) == {0, 1}


def test_make_rollout_needs_exactly_one_action_source():
    batch_step = lambda key, state, actions: None
    with pytest.raises(ValueError, match="exactly one"):
        bench_envs.make_rollout(batch_step, 4)
    with pytest.raises(ValueError, match="exactly one"):
        bench_envs.make_rollout(batch_step, 4, lambda key: key, jnp.zeros(2))
