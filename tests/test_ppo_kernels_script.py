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


def test_bad_input_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit):
        ppo_kernels.main(["--env", "Nope-v0"])
    assert "Unknown env id 'Nope-v0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ppo_kernels.main(["--xla-option", "no_equals_sign"])
    assert "write it as NAME=VALUE" in capsys.readouterr().err
