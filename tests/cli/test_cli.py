"""The `jaxrl` command as a user runs it: files, resume == uninterrupted, Ctrl-C, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import serialization
from PIL import Image

from jaxrl.agents.ppo import PPOConfig
from jaxrl.cli import main
from jaxrl.cli.options import UsageError
from jaxrl.cli.training import RunSpec
from jaxrl.machine import available_cores, cpu_devices_for

#: A PPO small enough to compile in a few seconds; 24 updates of 4 envs x 16 steps.
TINY = [
    "--set", "num_envs=4",
    "--set", "num_steps=16",
    "--set", "num_minibatches=2",
    "--set", "update_epochs=1",
    "--set", "hidden_sizes=16",
]  # fmt: skip


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    """Environment for subprocess runs: one persistent compilation cache for this module."""
    env = dict(os.environ)
    env["JAXRL_CACHE_DIR"] = str(tmp_path_factory.mktemp("xla-cache"))
    env["JAX_PLATFORMS"] = "cpu"
    # Fast, unoptimised compiles: these runs are compared, not timed.
    env["XLA_FLAGS"] = "--xla_backend_optimization_level=0"
    return env


def jaxrl(args, env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jaxrl", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,
    )


def read_rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, cli_env) -> Path:
    run = tmp_path_factory.mktemp("runs") / "cartpole"
    result = jaxrl(
        ["train", "CartPole-v1", "--seeds", "2", "--total-timesteps", "1536", *TINY,
         "--eval-episodes", "3", "--out", str(run)],
        cli_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"files in {run}" in result.stdout
    # On the CPU the seeds are split over one device per core (as many as split them evenly).
    assert f"on {cpu_devices_for(2, available_cores())} cpu device(s)" in result.stdout
    return run


def test_train_writes_every_file_and_they_parse(trained_run):
    spec = RunSpec.from_json(json.loads((trained_run / "config.json").read_text()))
    assert spec.env_id == "CartPole-v1" and spec.seeds == 2
    assert spec.config.num_envs == 4 and spec.config.hidden_sizes == (16,)
    assert spec.config.num_updates == 24

    rows = read_rows(trained_run)
    assert [row["update"] for row in rows] == list(range(1, 25))
    assert rows[-1]["env_steps"] == 1536
    assert all(len(row["episode_return"]) == 2 for row in rows)
    walls = [row["wall_s"] for row in rows]
    assert walls == sorted(walls) and walls[0] > 0

    evaluation = json.loads((trained_run / "evaluation.json").read_text())
    assert len(evaluation["mean_return_per_run"]) == 2
    assert evaluation["threshold"] == 475.0
    assert all(1 <= r <= 500 for r in evaluation["mean_return_per_run"])

    params = serialization.msgpack_restore((trained_run / "final_params.msgpack").read_bytes())
    kernel = params["params"]["params"]
    assert any(np.asarray(leaf).shape[0] == 2 for leaf in jax.tree.leaves(kernel))
    with Image.open(trained_run / "learning_curve.png") as image:
        assert image.size[0] > 500 and image.size[1] > 200


def test_eval_and_render_read_the_run(trained_run, cli_env, tmp_path):
    result = jaxrl(["eval", str(trained_run), "--episodes", "2"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "at update 24 of 24" in result.stdout

    gif = tmp_path / "episode.gif"
    result = jaxrl(["render", str(trained_run), "--out", str(gif), "--max-steps", "20"], cli_env)
    assert result.returncode == 0, result.stderr
    with Image.open(gif) as image:
        assert image.n_frames >= 2
        assert image.size[0] > 50


@pytest.mark.slow  # three training processes
def test_ctrl_c_keeps_the_data_and_resume_equals_an_uninterrupted_run(cli_env, tmp_path):
    # Long enough (1200 one-update chunks) that SIGINT lands mid-run on any machine.
    args = ["CartPole-v1", "--seeds", "2", "--total-timesteps", str(1200 * 64), *TINY,
            "--chunk-updates", "1", "--checkpoint-every", "20", "--eval-episodes", "2",
            "--no-progress"]  # fmt: skip
    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxrl", "train", *args, "--out", str(interrupted)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (interrupted / "checkpoint.msgpack").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"--resume {interrupted}" in stdout
    kept = read_rows(interrupted)
    assert 20 <= len(kept) < 1200 and [row["update"] for row in kept] == list(
        range(1, len(kept) + 1)
    )

    resumed = jaxrl(["train", "--resume", str(interrupted), "--no-progress"], cli_env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at update {len(kept)}" in resumed.stdout

    whole = tmp_path / "whole"
    result = jaxrl(["train", *args, "--out", str(whole)], cli_env)
    assert result.returncode == 0, result.stderr

    for got, want in zip(read_rows(interrupted), read_rows(whole), strict=True):
        assert {k: v for k, v in got.items() if k != "wall_s"} == {
            k: v for k, v in want.items() if k != "wall_s"
        }
    assert (interrupted / "final_params.msgpack").read_bytes() == (
        whole / "final_params.msgpack"
    ).read_bytes()
    assert json.loads((interrupted / "evaluation.json").read_text()) == json.loads(
        (whole / "evaluation.json").read_text()
    )


@pytest.mark.slow  # a sweep or chunked runs, compiled: the whole suite's
def test_sweep_batches_the_grid_and_writes_its_table(cli_env, tmp_path):
    run = tmp_path / "sweep"
    result = jaxrl(
        ["sweep", "CartPole-v1", "--set", "learning_rate=1e-3,3e-3", "--seeds", "2",
         "--total-timesteps", "1024", *TINY, "--eval-episodes", "2", "--out", str(run),
         "--no-progress"],
        cli_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "learning_rate=0.001" in result.stdout and "learning_rate=0.003" in result.stdout
    sweep = json.loads((run / "sweep.json").read_text())
    assert sweep["points"] == [{"learning_rate": 0.001}, {"learning_rate": 0.003}]
    assert np.asarray(sweep["evaluation_per_point_and_seed"]).shape == (2, 2)
    assert len(read_rows(run)[0]["episode_return"]) == 4
    with Image.open(run / "sweep.png"):
        pass


def test_bad_input_from_the_real_command_is_one_line_and_exit_2(cli_env):
    result = jaxrl(["train", "CartPol-v1"], cli_env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "did you mean 'CartPole-v1'" in lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "NoSuchEnv-v0"], "Unknown env id"),
        (["train", "CartPole-v1", "--set", "learning_rat=1e-3"], "did you mean learning_rate"),
        (["train", "CartPole-v1", "--set", "num_envs=many"], "num_envs takes an integer"),
        (["train", "CartPole-v1", "--set", "num_minibatches=7"], "does not split into"),
        (["train", "CartPole-v1", "--set", "env.gravty=9"], "no parameter 'gravty'"),
        (["train", "CartPole-v1", "--set", "learning_rate"], "write NAME=VALUE"),
        (["train", "CartPole-v1", "--seeds", "0"], "at least one seed"),
        (["train", "CartPole-v1", "--chunk-updates", "7"], "does not divide"),
        (["train", "CartPole-v1", "--cpu-devices", "3"], "do not split evenly"),
        (["train", "CartPole-v1", "--config", "missing.json"], "no such file"),
        (["train"], "give an env id"),
        (["sweep", "CartPole-v1", "--set", "num_envs=4,8"], "fixes the program's shapes"),
        (["sweep", "CartPole-v1"], "nothing to sweep"),
        (["sweep", "CartPole-v1", "--set", "learning_rate=abc"], "learning_rate takes a number"),
        (["sweep", "CartPole-v1", "--set", "gamma=0.9,1.5"], "gamma=1.5"),
        (["eval", "no-such-run"], "not a jaxrl run folder"),
        (["render", "CartPole-v1", "--out", "episode.mp4"], "write a .gif"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_anything_compiles(args, message, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_an_existing_run_folder_is_refused_and_left_untouched(trained_run, capsys):
    before = {p.name: p.read_bytes() for p in trained_run.iterdir()}
    assert main(["train", "CartPole-v1", "--out", str(trained_run)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in trained_run.iterdir()} == before


def test_resume_refuses_new_settings_and_damaged_checkpoints(trained_run, tmp_path, capsys):
    assert main(["train", "--resume", str(trained_run), "--set", "num_envs=8"]) == 2
    assert "drop --set" in capsys.readouterr().err
    # Settings that would silently not apply to a resumed run are refused too.
    for flag, value in (("--seed", "3"), ("--eval-episodes", "5")):
        assert main(["train", "--resume", str(trained_run), flag, value]) == 2
        assert f"drop {flag}" in capsys.readouterr().err

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in ("config.json", "metrics.jsonl"):
        (damaged / name).write_bytes((trained_run / name).read_bytes())
    assert main(["train", "--resume", str(damaged)]) == 2
    assert "no checkpoint.msgpack" in capsys.readouterr().err

    (damaged / "checkpoint.msgpack").write_bytes(b"\x93not a checkpoint")
    assert main(["train", "--resume", str(damaged), "--no-compile-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable jaxrl checkpoint" in err[0]


def test_list_shows_every_env_and_one_envs_config(capsys):
    from jaxrl import envs

    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(env_id in listing for env_id in envs.registered())
    assert main(["list", "Pendulum-v1"]) == 0
    details = capsys.readouterr().out
    assert "normalize_rewards" in details and "max_speed" in details


def test_config_file_and_settings_are_typed(tmp_path):
    from jaxrl.cli import options
    from jaxrl.cli.options import UsageError

    path = tmp_path / "ppo.json"
    path.write_text(json.dumps({"num_envs": 16, "hidden_sizes": [32, 32], "env": {"gravity": 9.0}}))
    fields, env_overrides = options.load_config_file(path, PPOConfig)
    assert fields == {"num_envs": 16, "hidden_sizes": (32, 32)} and env_overrides == {
        "gravity": 9.0
    }
    path.write_text(json.dumps({"num_envs": "16"}))
    with pytest.raises(UsageError, match="wrong type"):
        options.load_config_file(path, PPOConfig)
    settings = options.split_settings(["anneal_lr=false", "total_timesteps=1e6", "clip_eps=0.1"])
    config, _ = options.apply_settings(ppo_default(), {}, settings)
    assert config.anneal_lr is False and config.total_timesteps == 1_000_000
    assert config.clip_eps == 0.1


def ppo_default():
    from jaxrl.agents import ppo

    return ppo.PPOConfig()


def test_a_checkpoint_round_trips_keys_and_rejects_another_shape(tmp_path):
    from jaxrl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "key": jax.random.key(7)}
    save_checkpoint(tmp_path / "c.msgpack", state, {"update": 3})
    restored, metadata = load_checkpoint(tmp_path / "c.msgpack", jax.eval_shape(lambda: state))
    assert metadata == {"update": 3}
    np.testing.assert_array_equal(restored["w"], state["w"])
    np.testing.assert_array_equal(
        jax.random.key_data(restored["key"]), jax.random.key_data(state["key"])
    )
    other = {"w": np.zeros((3, 3), np.float32), "key": jax.random.key(0)}
    with pytest.raises(CheckpointError, match="another config"):
        load_checkpoint(tmp_path / "c.msgpack", other)


def test_python_dash_m_jaxrl_prints_help():
    result = subprocess.run(
        [sys.executable, "-m", "jaxrl", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    for command in ("train", "sweep", "eval", "render", "list", "bench", "rlhf"):
        assert command in result.stdout


@pytest.mark.slow
def test_two_processes_train_as_one_with_the_distributed_flags(trained_run, cli_env, tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    run = tmp_path / "two-hosts"
    args = ["train", "CartPole-v1", "--seeds", "2", "--total-timesteps", "1536", *TINY,
            "--eval-episodes", "3", "--out", str(run), "--no-progress", "--distributed",
            "--coordinator", f"localhost:{port}", "--num-processes", "2"]  # fmt: skip
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "jaxrl", *args, "--process-id", str(rank)],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = []
    for process in processes:
        try:
            outputs.append(process.communicate(timeout=300)[0])
        finally:
            process.kill()
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert "on 2 cpu device(s)" in outputs[0]

    # One seed per process: the same per-seed runs as one process holding both seeds.
    one = serialization.msgpack_restore((trained_run / "final_params.msgpack").read_bytes())
    two = serialization.msgpack_restore((run / "final_params.msgpack").read_bytes())
    for got, want in zip(jax.tree.leaves(two), jax.tree.leaves(one), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert read_rows(run)[-1]["env_steps"] == read_rows(trained_run)[-1]["env_steps"]


def test_a_ctrl_c_during_a_chunks_commit_is_raised_after_it():
    from jaxrl.cli.training import interrupts_deferred

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the signal has arrived; the block still runs to its end
            steps.append("committed")
    assert steps == ["committed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_cpu_devices_cannot_change_once_jax_started_and_an_explicit_count_says_so():
    """This test process has started JAX: the default keeps its devices quietly, an explicit
    count it cannot honour is a UsageError, one it already has passes."""
    from jaxrl.cli.commands import set_cpu_devices

    have = len(jax.devices("cpu"))
    set_cpu_devices(8, None)
    set_cpu_devices(have, have)
    other = 2 if have == 1 else 1
    with pytest.raises(UsageError, match="already started"):
        set_cpu_devices(2 * have, other)
    assert len(jax.devices("cpu")) == have
