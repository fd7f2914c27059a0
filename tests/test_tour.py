"""experiments/tour.py in quick mode, as a user runs it: every cell, its printed results, its
figures and summary.json; and a bad argument as a one-line usage error."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Every cell of the tour, in a fresh process.
pytestmark = pytest.mark.slow

TOUR = Path(__file__).resolve().parents[1] / "experiments" / "tour.py"


def _run(*args, timeout=300):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("JAXRL_TOUR_QUICK", None)
    return subprocess.run(
        [sys.executable, str(TOUR), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=TOUR.parents[1],
    )


@pytest.fixture(scope="module")
def quick_tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    completed = _run("--quick", "--out", str(out))
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout, out


def test_the_quick_tour_prints_every_chapter(quick_tour):
    stdout, _ = quick_tour
    lines = stdout.splitlines()
    assert lines[0].startswith("jaxrl tour (quick), 2 seeds")
    assert any(line.startswith("Gymnasium loop, CartPole-v1") for line in lines)
    assert any(line.startswith("native loop, 256 CartPoles x 64 steps") for line in lines)
    assert "value iteration: V(start) = -13 after" in stdout
    # The optimal cliff episode, as the talk's table shows it.
    assert "Pos(3,0), up, -1\nPos(2,0), right, -1" in stdout
    assert "Pos(3,11): terminated after 13 steps, return -13" in stdout
    assert any(line.startswith("PPO CartPole-v1: 2 seeds") for line in lines)
    assert any(line.startswith("DQN: 2 seeds") for line in lines)
    assert any(line.startswith("self-play Tic-tac-toe:") for line in lines)
    # A game against the solver, move by move, ending in a result.
    assert "X plays (" in stdout and "O plays (" in stdout
    assert any(line in ("draw", "X wins", "O wins") for line in lines)
    assert lines[-2].startswith("next: the RLHF chapter, `jaxrl rlhf`")
    assert len(lines) < 120  # short, readable output


def test_the_quick_tour_writes_meaningful_results(quick_tour):
    _, out = quick_tour
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] is True and summary["seeds"] == 2
    # A random CartPole policy lasts ~22 steps; the native loop is the same env.
    assert 10 < summary["gym_loop"]["mean_return"] < 40
    assert summary["native_loop"]["episodes"] > 256
    assert summary["native_speedup_over_gym_loop"] > 1
    assert summary["random_cliff_episode"]["steps"] <= 200
    value_iteration = summary["value_iteration"]
    assert value_iteration["start_value"] == -13.0
    # Slip makes the walk worse, monotonically.
    assert value_iteration["start_values"][0] == -13.0
    assert np.all(np.diff(value_iteration["start_values"]) < 0)
    for algorithm in ("q_learning", "sarsa"):
        result = summary["cliff_td"][algorithm]
        assert len(result["greedy_returns"]) == 2
        assert all(r <= -13.0 for r in result["greedy_returns"])  # never above the optimum
    evaluation = summary["ppo"]["CartPole-v1"]["evaluation_return_per_seed"]
    assert len(evaluation) == 2 and all(1 <= r <= 500 for r in evaluation)
    for name in ("PPO", "DQN"):
        scores = summary["ppo_vs_dqn"][name]["evaluation_return_per_seed"]
        assert len(scores) == 2 and all(1 <= r <= 500 for r in scores)
    curve = summary["selfplay"]["curve"]
    assert len(curve) == 2 and all(0 <= point["solver"] <= 1 for point in curve)
    from PIL import Image

    for name in ("cliff_walk.png", "ppo_learning_curves.png", "ppo_vs_dqn.png", "selfplay.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200
    assert not list(out.glob("*.tmp*"))  # every file written atomically


@pytest.mark.parametrize("args", [["--seeds", "0"], ["--bogus"]])
def test_bad_arguments_exit_2_without_a_traceback(args):
    completed = _run(*args, timeout=60)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "error:" in completed.stderr.splitlines()[-1]
