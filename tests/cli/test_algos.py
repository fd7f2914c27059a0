"""`jaxrl train/eval/render/list --algo`: every learner through the same command paths."""

import json

import pytest

from jaxrl.cli import main

TINY_DQN = [
    "--algo", "dqn", "--seeds", "2", "--total-timesteps", "512", "--set", "hidden_sizes=16",
    "--set", "learning_starts=128", "--set", "buffer_size=1024", "--cpu-devices", "1",
    "--no-progress", "--no-compile-cache", "--eval-episodes", "3",
]  # fmt: skip


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dqn") / "run"
    assert main(["train", "CartPole-v1", *TINY_DQN, "--out", str(out)]) == 0
    return out


def test_a_dqn_run_writes_its_algorithm_and_config(dqn_run):
    config = json.loads((dqn_run / "config.json").read_text())
    assert config["algo"] == "dqn" and config["config"]["hidden_sizes"] == [16]
    evaluation = json.loads((dqn_run / "evaluation.json").read_text())
    assert len(evaluation["mean_return_per_run"]) == 2


def test_eval_and_render_read_a_dqn_run(dqn_run, tmp_path, capsys):
    assert main(["eval", str(dqn_run), "--episodes", "2", "--no-compile-cache"]) == 0
    assert "2 greedy episodes per run" in capsys.readouterr().out
    gif = tmp_path / "dqn.gif"
    args = ["render", str(dqn_run), "--out", str(gif), "--max-steps", "5", "--no-compile-cache"]
    assert main(args) == 0 and gif.stat().st_size > 0


def test_resume_refuses_another_algorithm(dqn_run, capsys):
    assert main(["train", "--resume", str(dqn_run), "--algo", "ppo"]) == 2
    assert "drop --algo" in capsys.readouterr().err


def test_a_learner_that_cannot_act_in_the_env_is_one_line(tmp_path, capsys):
    args = ["train", "Pendulum-v1", "--algo", "dqn", "--out", str(tmp_path / "x"), "--seeds", "1"]
    assert main([*args, "--cpu-devices", "1", "--no-compile-cache"]) == 2
    err = capsys.readouterr().err
    assert "DQN needs Discrete actions" in err and err.count("\n") == 1


def test_list_names_the_tuned_learners_and_shows_a_learners_config(capsys):
    assert main(["list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "CartPole-v1" in line)
    assert "ppo dqn" in row
    assert main(["list", "CartPole-v1", "--algo", "dqn"]) == 0
    out = capsys.readouterr().out
    assert "tuned DQN config" in out and "replay_ratio" in out


@pytest.mark.parametrize(
    "algo, env_id, settings",
    [
        ("pqn", "CartPole-v1", ["--set", "num_envs=4", "--set", "num_steps=16"]),
        (
            "sac",
            "Pendulum-v1",
            ["--set", "learning_starts=64", "--set", "buffer_size=512", "--set", "batch_size=16"],
        ),
    ],
)
def test_every_learner_trains_resumes_and_evaluates_from_the_command(
    algo, env_id, settings, tmp_path, capsys
):
    out = tmp_path / algo
    args = ["--algo", algo, "--seeds", "2", "--total-timesteps", "512", "--cpu-devices", "1"]
    args += ["--no-progress", "--no-compile-cache", "--eval-episodes", "2", "--chunk-updates", "2"]
    assert (
        main(["train", env_id, *args, *settings, "--set", "hidden_sizes=16", "--out", str(out)])
        == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["algo"] == algo and config["config"]["hidden_sizes"] == [16]
    assert main(["eval", str(out), "--episodes", "2", "--no-compile-cache"]) == 0
    assert "2 greedy episodes per run" in capsys.readouterr().out
