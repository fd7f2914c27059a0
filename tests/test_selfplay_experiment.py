"""experiments/selfplay.py: bad arguments are one line and exit status 2 before anything
compiles; a tiny run records a curve point per chunk against each rung and writes its JSON."""

import json

import pytest

from experiments import selfplay as experiment
from jaxrl.agents import selfplay

TINY = selfplay.SelfPlayConfig(
    total_timesteps=8 * 4 * 4,
    num_envs=8,
    num_steps=4,
    update_epochs=1,
    num_minibatches=2,
    hidden_sizes=(8,),
    activation="relu",
    league_size=2,
    snapshot_interval=1,
)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["CartPole-v1"], "no tuned config for 'CartPole-v1'"),
        (["TicTacToe"], "Unknown env id 'TicTacToe'"),
        (["TicTacToe-v0", "--rungs", "perfect"], "rungs are random, one-ply"),
        (["TicTacToe-v0", "--games", "1"], "--games 1"),
    ],
)
def test_bad_arguments_are_one_line_before_any_compile(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        experiment.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error


@pytest.mark.slow  # a run and the whole ladder, compiled
def test_a_tiny_run_evaluates_after_every_chunk(tmp_path):
    result = experiment.run(
        "TicTacToe-v0",
        seed=0,
        chunks=2,
        num_games=4,
        rungs=["random", "solver"],
        minutes=None,
        config=TINY,
    )
    assert [point["env_steps"] for point in result["curve"]] == [64, 128]
    for point in result["curve"]:
        for rung in ("random", "solver"):
            rates = point[rung]
            assert rates["win"] + rates["draw"] + rates["loss"] == pytest.approx(1.0)
    assert "| solver |" in experiment.markdown_table(result)
    json.dumps(result)  # JSON-ready
