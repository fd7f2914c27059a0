"""`experiments/ppo_kernels.py`: counts every loop body's launches, and bad input is a one-line
error."""

import pytest

from experiments import ppo_kernels


def test_it_prints_the_rollout_and_minibatch_loops(capsys):
    assert ppo_kernels.main(["--levels", "fastest", "--total-timesteps", "1000"]) == 0
    out = capsys.readouterr().out
    assert out.count("launch sites (kernels and copies)") == 2  # with and without parallel tasks
    # CartPole's default: a rollout of 100 steps, epochs of 5 minibatch steps.
    assert " x100" in out and " x5" in out


def test_it_times_vmapped_seeds_at_rejax_hyperparameters(capsys):
    argv = ["--levels", "fastest", "--rejax-hp", "--seeds", "2", "--total-timesteps", "1000"]
    assert ppo_kernels.main([*argv, "--time", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 seed(s)" in out and "5 envs x 100 steps" in out
    # rejax's 100k steps cut to 1000: 2 updates; two runs listed per compile.
    assert "2 updates" in out and out.count("each run wall/CPU s: ") == 2
    assert all(line.count("/") >= 2 for line in out.splitlines() if "each run" in line)


def test_bad_input_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit):
        ppo_kernels.main(["--env", "Nope-v0"])
    assert "Unknown env id 'Nope-v0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ppo_kernels.main(["--xla-option", "no_equals_sign"])
    assert "write it as NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ppo_kernels.main(["--seeds", "0"])
    assert "pass positive counts" in capsys.readouterr().err
