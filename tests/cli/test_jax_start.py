"""JAX starts only in `setup_jax`: sweeps split over CPU devices and join several hosts.

The CPU device count and `jax.distributed.initialize` take effect only before JAX's backend
starts, so every command checks its input (spec, run count, sweep grid, run folder) without JAX,
then calls `setup_jax`. Checked: no command line starts the backend before `setup_jax` (in a
fresh process, as the CLI runs); `jaxrl sweep --cpu-devices 2` runs on 2 devices; a sweep on two
processes joined by `--distributed` equals the one-process sweep; where JAX did start early (a
caller that used it before calling the CLI), a one-line error names the fix.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import serialization

from jaxrl.cli import main

ROOT = Path(__file__).resolve().parents[2]
#: 2 points x 2 seeds of a PPO small enough to compile in seconds: 2 updates of 5 envs x 100.
SWEEP = [
    "sweep", "CartPole-v1", "--seeds", "2",
    "--set", "learning_rate=1e-3,3e-3",
    "--set", "hidden_sizes=16",
    "--total-timesteps", "1000",
    "--eval-episodes", "2",
    "--no-progress",
]  # fmt: skip
SUBPROCESS_TIMEOUT_S = 300


class _SetupReached(Exception):
    """Raised in place of `setup_jax`; carries whether JAX's backend had started by then."""


def jax_started_at_setup(command_lines: list[list[str]]) -> dict[str, bool | None]:
    """Runs each command line up to `setup_jax`, in this process, one after another.

    Returns:
        Per command line: whether JAX's backend had started when it reached `setup_jax`, or
        None where it stopped before (bad input).
    """
    from unittest import mock

    from jax._src import xla_bridge

    from jaxrl.cli import commands

    def reached(args, num_runs=None):
        raise _SetupReached(xla_bridge.backends_are_initialized())

    started = {}
    with mock.patch.object(commands, "setup_jax", reached):
        for argv in command_lines:
            try:
                main(argv)
                started[" ".join(argv)] = None
            except _SetupReached as stop:
                started[" ".join(argv)] = stop.args[0]
    return started


# The entry point of the fresh process: nothing in it may start JAX before the commands run.
_BOOTSTRAP = """
import json, sys
from tests.cli import test_jax_start
print(json.dumps(test_jax_start.jax_started_at_setup(json.loads(sys.argv[1]))))
"""


def _write_run(run: Path, sweep: dict | None) -> None:
    """A run folder as far as the checks before JAX read it: config.json and a checkpoint."""
    from jaxrl.agents import ppo
    from jaxrl.cli.training import RunSpec

    spec = RunSpec("CartPole-v1", {}, ppo.PPOConfig(total_timesteps=2048), seeds=2, sweep=sweep)
    run.mkdir()
    (run / "config.json").write_text(json.dumps(spec.to_json()))
    (run / "checkpoint.msgpack").write_bytes(b"")


def test_no_command_starts_jax_before_setup_jax(tmp_path):
    _write_run(tmp_path / "trained", None)
    _write_run(tmp_path / "swept", {"learning_rate": [1e-3, 3e-3], "gamma": [0.9, 0.99]})
    out = str(tmp_path / "new")
    command_lines = [
        ["train", "CartPole-v1", "--out", out],
        ["train", "GridWorld-FourRooms-v0", "--out", out],
        ["sweep", "CartPole-v1", "--set", "learning_rate=1e-3,3e-3", "--out", out],
        ["sweep", "Acrobot-v1", "--set", "gamma=0.9,0.99", "--set", "clip_eps=0.1,0.2",
         "--cpu-devices", "2", "--out", out],
        ["sweep", "CartPole-v1", "--set", "ent_coef=0,0.01", "--out", out, "--distributed",
         "--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "0"],
        ["train", "--resume", str(tmp_path / "trained")],
        ["sweep", "--resume", str(tmp_path / "swept")],
        ["eval", str(tmp_path / "swept")],
        ["render", str(tmp_path / "swept"), "--run-index", "7", "--out", f"{out}.gif"],
        ["render", "GridWorld-CliffWalking-v0", "--out", f"{out}.gif"],
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", _BOOTSTRAP, json.dumps(command_lines)],
        cwd=ROOT,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(started) == [" ".join(argv) for argv in command_lines]
    # In order: once one command starts JAX, every later one sees it started; the first is it.
    assert [command for command, was in started.items() if was is not False] == [], result.stderr


def test_a_command_after_jax_started_says_so_in_one_line(tmp_path, capsys):
    """A caller that used JAX before calling the CLI: the device count and several hosts can
    no longer change, so --cpu-devices and --distributed are one-line errors naming the fix."""
    have = len(jax.devices("cpu"))  # starts JAX in this process, if nothing did yet
    sweep = [*SWEEP, "--out", str(tmp_path / "run"), "--no-compile-cache"]
    distributed = ["--distributed", "--coordinator", "127.0.0.1:1", "--num-processes", "2",
                   "--process-id", "0"]  # fmt: skip
    for flags, message in (
        (["--cpu-devices", "2" if have != 2 else "4"], "JAX already started in this process"),
        (distributed, "JAX already started in this process, so it cannot join"),
    ):
        assert main([*sweep, *flags]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "fresh process" in lines[0], lines
    assert not (tmp_path / "run" / "config.json").exists()


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory) -> dict[str, str]:
    """Environment for the subprocess runs: one persistent compilation cache for this module."""
    return {
        **os.environ,
        "JAXRL_CACHE_DIR": str(tmp_path_factory.mktemp("xla-cache")),
        "JAX_PLATFORMS": "cpu",
        # Fast, unoptimised compiles: these runs are compared, not timed.
        "XLA_FLAGS": "--xla_backend_optimization_level=0",
    }


@pytest.fixture(scope="module")
def one_process_sweep(tmp_path_factory, cli_env) -> tuple[Path, str]:
    """The sweep on one process split over 2 CPU devices: its run folder and its output."""
    run = tmp_path_factory.mktemp("sweeps") / "one-process"
    result = subprocess.run(
        [sys.executable, "-m", "jaxrl", *SWEEP, "--cpu-devices", "2", "--out", str(run)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    return run, result.stdout


@pytest.mark.slow  # a sweep or chunked runs, compiled: the whole suite's
def test_sweep_splits_its_runs_over_the_cpu_devices_asked_for(one_process_sweep):
    run, stdout = one_process_sweep
    assert "2 points x 2 seeds" in stdout and "on 2 cpu device(s)" in stdout
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert len(evaluation["mean_return_per_run"]) == 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read(run: Path) -> tuple[list[float], dict, dict]:
    """A sweep's per-run evaluation returns, last metrics row (less wall-clock) and params."""
    returns = json.loads((run / "evaluation.json").read_text())["mean_return_per_run"]
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    last.pop("wall_s")
    params = serialization.msgpack_restore((run / "final_params.msgpack").read_bytes())
    return returns, last, params


@pytest.mark.slow  # two processes joined by jax.distributed
def test_two_processes_sweep_as_one(one_process_sweep, cli_env, tmp_path):
    """The README's two-host sweep on localhost: 2 processes of one forced CPU device each, so
    each process holds one of the one-process sweep's 2 devices and its 2 runs."""
    run = tmp_path / "two-processes"
    env = {
        **cli_env,
        "XLA_FLAGS": f"{cli_env['XLA_FLAGS']} --xla_force_host_platform_device_count=1",
    }
    args = [*SWEEP, "--out", str(run), "--distributed", "--coordinator",
            f"127.0.0.1:{_free_port()}", "--num-processes", "2"]  # fmt: skip
    logs = [tmp_path / f"process-{rank}.log" for rank in range(2)]
    processes = []
    for rank, log in enumerate(logs):
        with log.open("w") as output:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "jaxrl", *args, "--process-id", str(rank)],
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
    # A failed process leaves its peer waiting for it: stop both at the first failure.
    while time.monotonic() < deadline and any(p.poll() is None for p in processes):
        if any(p.poll() not in (None, 0) for p in processes):
            break
        time.sleep(0.2)
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
    outputs = [log.read_text() for log in logs]
    assert [p.returncode for p in processes] == [0, 0], [text[-3000:] for text in outputs]
    assert "on 2 cpu device(s)" in outputs[0]

    one_run, _ = one_process_sweep
    (returns, last, params), (want_returns, want_last, want_params) = _read(run), _read(one_run)
    # Every device runs the same program on the same runs as in one process: equal up to float
    # rounding (bit for bit where tried), down to each run's greedy evaluation episodes.
    np.testing.assert_allclose(returns, want_returns, rtol=1e-6)
    assert last.keys() == want_last.keys()
    for name, values in last.items():
        np.testing.assert_allclose(values, want_last[name], rtol=1e-5, atol=1e-7, err_msg=name)
    for got, want in zip(jax.tree.leaves(params), jax.tree.leaves(want_params), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
