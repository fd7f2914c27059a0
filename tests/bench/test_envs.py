"""jaxrl.bench.envs: the rollout harness, the ratio logic, the step budgets and the settings.

No timing is asserted: the machine is shared, so only structure and arithmetic are checked
(the quick end-to-end run in test_cli.py checks a real run's JSON).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl import envs
from jaxrl.bench import envs as bench_envs
from jaxrl.bench import harness, report


def test_ratios_on_fixed_figures():
    figures = {
        "gymnax_a": 2.0,
        "jaxrl_a": 3.0,
        "jaxrl_b": 6.0,
        "jaxrl_c": 8.0,
        "numpy": 1.5,
        "jaxrl_gym": 0.75,
        "jaxrl_gym_same_step": 0.6,
        "jaxrl_gym_disabled": 3.0,
        "gymnax_gym": 0.25,
    }
    assert report.ratios(figures, bench_envs.RATIOS) == {
        "jaxrl_a/gymnax_a": 1.5,
        "jaxrl_b/gymnax_a": 3.0,
        "jaxrl_c/gymnax_a": 4.0,
        "jaxrl_b/numpy": 4.0,
        "jaxrl_gym/numpy": 0.5,
        "jaxrl_gym/gymnax_gym": 3.0,
        "jaxrl_gym_same_step/numpy": pytest.approx(0.4),
        "jaxrl_gym_same_step/gymnax_gym": pytest.approx(2.4),
        "jaxrl_gym_disabled/numpy": 2.0,
        "jaxrl_gym_disabled/gymnax_gym": 12.0,
        "jaxrl_gym_single/gym_single": None,
    }


def test_ratios_are_none_where_a_figure_is_missing_or_zero():
    figures = {"jaxrl_a": 3.0, "jaxrl_b": 6.0, "jaxrl_c": 8.0, "numpy": 0.0, "jaxrl_gym": 1.0}
    assert set(report.ratios(figures, bench_envs.RATIOS).values()) == {None}


def test_the_figure_table():
    figures = bench_envs.CONTESTANTS
    # Every ratio's sides are figures; the adapter is there in each of Gymnasium's modes.
    assert {name for pair in bench_envs.RATIOS for name in pair} <= set(figures)
    assert {"jaxrl_gym", "jaxrl_gym_same_step", "jaxrl_gym_disabled"} <= set(figures)
    python_loops = {name for name, figure in figures.items() if figure.python_loop}
    assert python_loops == set(figures) - {"gymnax_a", "jaxrl_a", "jaxrl_b", "jaxrl_c"}
    assert {name for name, f in figures.items() if f.single_env} == {
        "gym_single",
        "jaxrl_gym_single",
    }
    assert "gymnax" in figures["gymnax_a"].packages and "gymnax" in figures["gymnax_gym"].packages
    assert all("gymnasium" in figures[name].packages for name in python_loops)


def test_figures_that_fail_to_import_or_have_no_counterpart_are_left_out_with_a_note(
    monkeypatch,
):
    def import_error(*modules):
        return (
            "import gymnax failed (ModuleNotFoundError: No module named 'six')"
            if ("gymnax" in modules)
            else None
        )

    monkeypatch.setattr(harness, "import_error", import_error)
    # One figure per kind, so that nothing but jaxrl_c compiles.
    kept = {name: bench_envs.CONTESTANTS[name] for name in ("gymnax_a", "jaxrl_c", "numpy")}
    monkeypatch.setattr(bench_envs, "CONTESTANTS", kept)
    settings = bench_envs.Settings(envs=("GridWorld-OpenRoom-v0",), num_envs=(4,), steps=64)
    notes = []
    contestants = bench_envs.build_contestants("GridWorld-OpenRoom-v0", 4, settings, notes)
    assert [c.name for c in contestants] == ["jaxrl_c"]
    assert notes == [
        "gymnax_a skipped: import gymnax failed (ModuleNotFoundError: No module named 'six')",
        "numpy skipped for GridWorld-OpenRoom-v0 at 4 envs: Gymnasium has no GridWorld-OpenRoom-v0",
    ]


@pytest.mark.parametrize("mode", ["jaxrl_gym", "jaxrl_gym_same_step", "jaxrl_gym_disabled"])
def test_the_adapter_figures_step_through_episode_ends(mode):
    """Enough steps that CartPoles fall: DISABLED's loop resets them, or its next step raises."""
    settings = bench_envs.Settings(envs=("CartPole-v1",), steps=64 * 4, python_steps=64 * 4)
    row = bench_envs.Row(
        env_id="CartPole-v1",
        num_envs=4,
        settings=settings,
        num_steps=64,
        python_steps=64,
        env=None,
        params=None,
        key_run=None,
        key_reset=None,
        obs=None,
        state=None,
        draw=None,
    )
    contestant = bench_envs.CONTESTANTS[mode].build(mode, row)
    assert contestant.name == mode and contestant.compile_s > 0
    contestant.run()  # 64 random steps: every CartPole falls at least once


def test_scan_length_spends_the_budget_within_bounds():
    assert bench_envs.scan_length(4096, 2**24, 2**16) == 4096
    assert bench_envs.scan_length(65536, 2**24, 2**16) == 256
    assert bench_envs.scan_length(1, 2**24, 2**16) == 2**16
    assert bench_envs.scan_length(2**20, 2**10, 2**16) == 16


def test_python_loops_take_fewer_steps_never_more_than_the_scan():
    settings = bench_envs.Settings(
        envs=("CartPole-v1",), steps=2**22, python_steps=2**18, max_python_scan_length=2**11
    )
    # 1 env: the Python bound (2**11) wins over 2**18 steps and the scan's 2**16.
    assert bench_envs.python_scan_length(1, settings) == 2**11
    # 4096 envs: 2**18 // 4096 = 64 batch steps, under the scan's 1024.
    assert bench_envs.python_scan_length(4096, settings) == 64
    short = bench_envs.Settings(envs=("CartPole-v1",), steps=2**10, python_steps=2**18)
    assert bench_envs.python_scan_length(1, short) == 2**10  # the scan's T bounds it


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

    env, params = envs.make("Pendulum-v1")
    space = env.action_space(params)
    actions = np.asarray(bench_envs.random_actions(space, 500)(jax.random.key(2)))
    assert actions.shape == (500, *space.shape)
    low, high = np.min(space.low), np.max(space.high)
    assert actions.min() >= low and actions.max() <= high
    assert actions.std() > 0.5  # spread over [-2, 2], not a constant


def test_make_rollout_needs_exactly_one_action_source():
    batch_step = lambda key, state, actions: None
    with pytest.raises(ValueError, match="exactly one"):
        bench_envs.make_rollout(batch_step, 4)
    with pytest.raises(ValueError, match="exactly one"):
        bench_envs.make_rollout(batch_step, 4, lambda key: key, jnp.zeros(2))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"envs": ("Nope-v0",)}, "unknown env ids"),
        ({"num_envs": (0, 16)}, "at least 1"),
        ({"repeats": 0}, "repeats=0"),
        ({"steps": 0}, "steps=0"),
    ],
)
def test_settings_reject_bad_input_with_the_fix(overrides, message):
    with pytest.raises(ValueError, match=message):
        bench_envs.Settings(**{"envs": ("CartPole-v1",), **overrides})


def test_numpy_contestant_is_gymnasiums_vector_env():
    from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
    from gymnasium.vector import SyncVectorEnv

    assert isinstance(bench_envs.numpy_vector_env("CartPole-v1", 4), CartPoleVectorEnv)
    acrobot = bench_envs.numpy_vector_env("Acrobot-v1", 3)
    assert isinstance(acrobot, SyncVectorEnv) and acrobot.num_envs == 3


def test_markdown_and_plot_of_a_fixed_section(tmp_path):
    figure = lambda steps_per_s: {"steps_per_s": steps_per_s, "compile_s": 0.5}
    section = {
        "results": [
            {
                "env": "CartPole-v1",
                "num_envs": n,
                "num_steps": 64,
                "figures": {"gymnax_a": figure(1e6 * n), "jaxrl_b": figure(3e6 * n)},
                "ratios": report.ratios({"gymnax_a": 1e6, "jaxrl_b": 3e6}, bench_envs.RATIOS),
                "peak_rss_mib": 512.0,
            }
            for n in (1, 16)
        ],
        "notes": ["numpy skipped for X"],
    }
    lines = bench_envs.markdown(section).splitlines()
    # Columns only for the figures that ran; the ratios in a table of their own.
    assert "| env | num_envs | T | gymnax_a M/s | jaxrl_b M/s |" in lines
    assert "| CartPole-v1 | 16 | 64 | 16.0 | 48.0 |" in lines
    assert "| CartPole-v1 | 16 | - | 3.00x | - | - | - | - | - | - | - | - | - |" in lines
    assert any(line.startswith("Legend: gymnax_a: gymnax") for line in lines)
    assert "- note: numpy skipped for X" in lines
    [path] = bench_envs.plot(section, tmp_path)
    assert path.name == "envs_throughput.png" and path.stat().st_size > 1000
