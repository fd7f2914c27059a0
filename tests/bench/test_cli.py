"""`jaxrl bench` (jaxrl.bench.cli, `python -m jaxrl.bench`): bad input, the devices worker's
entry, and one quick end-to-end run of `all` whose output files are checked."""

import json
import subprocess
import sys

import pytest
from PIL import Image

from jaxrl.bench import cli, devices
from jaxrl.bench import envs as bench_envs
from jaxrl.bench import learners as bench_learners
from jaxrl.bench import ppo as bench_ppo


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["envs", "--envs", "Nope-v0"], "unknown env ids ['Nope-v0']"),
        (["envs", "--num-envs", "0"], "each must be at least 1"),
        (["ppo", "--contestants", "ppo2"], "unknown PPO contestants ['ppo2']"),
        (["learners", "--algos", "a2c"], "unknown algorithms ['a2c']"),
        (["learners", "--contestants", "cleanrl"], "unknown contestants ['cleanrl']"),
        (["seeds", "--seeds", "0"], "at least 1"),
        (["devices", "--devices", "3"], "must divide 8"),
        (["all", "--repeats", "0"], "repeats=0"),
        (["envs", "--steps", "0"], "steps=0"),
    ],
)
@pytest.mark.timeout(60)  # refused at once: a slip that starts a real run fails fast
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert cli.main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_out_must_be_a_folder(tmp_path, capsys):
    file = tmp_path / "taken"
    file.write_text("")
    assert cli.main(["devices", "--out", str(file)]) == 2
    assert "is a file; name a folder" in capsys.readouterr().err


def test_outputs_of_a_fixed_section(tmp_path, monkeypatch):
    """The JSON with the command, the machine and the versions; the table; the plot; report.md."""
    rows = [
        {
            "workload": "seeds",
            "devices": d,
            "median_s": 4.0 / d,
            "env_steps_per_s": 250.0 * d,
            "compile_s": 5.0,
            "peak_rss_mib": 600.0,
        }
        for d in (1, 2)
    ]
    seen = []

    def fake_run(settings, log):
        seen.append(settings)
        return {"settings": {"in_process": False}, "results": devices.with_scaling(rows)}

    monkeypatch.setattr(devices, "run", fake_run)
    argv = ["devices", "--devices", "1", "2", "--repeats", "3", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    assert seen == [devices.Settings(devices=(1, 2), repeats=3)]
    written = json.loads((tmp_path / "devices.json").read_text())
    assert written["benchmark"] == "devices" and written["command"] == ["jaxrl", "bench", *argv]
    assert written["hardware"]["cpu"] and written["versions"]["jax"]
    assert [row["speedup"] for row in written["results"]] == [1.0, 2.0]
    table = (tmp_path / "devices.md").read_text()
    assert "| seeds | 2 | 2.00 | 500 | 2.00x | 100% | 5.0 | 600 |" in table
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "devices.json",
        "devices.md",
        "devices_scaling.png",
        "report.md",
    ]


def test_the_devices_worker_refuses_bad_input_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "jaxrl.bench.devices", "--worker", "2", "--workloads", "pipe"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "invalid choice: 'pipe'" in done.stderr


def _learner_record(job, returns):
    """What a learners child reports (its real path: tests/bench/test_learners.py)."""
    timings = dict.fromkeys(bench_ppo.TIMINGS, 1.0)
    return {
        **timings,
        "call_to_evaluated_s": 2.0,
        "steps_per_s": 1000.0,
        "env_steps": job.total_timesteps or 1000,
        "num_seeds": len(returns),
        "eval_returns": returns,
        "compilation_cache": False,
        "curve": {"t_s": [], "env_steps": [], "return": []},
    }


@pytest.mark.slow  # half a minute: five benchmarks run for real, with child processes
def test_quick_run_of_all_writes_every_file(tmp_path, monkeypatch, capsys):
    # The learners' children (a compile each) report canned records: one real child is
    # tests/bench/test_learners.py's; every other benchmark runs as `jaxrl bench all` runs it.
    monkeypatch.setattr(
        bench_learners,
        "spawn",
        lambda name, job, timeout_s: _learner_record(job, [500.0] * (8 if "8" in name else 1)),
    )
    out = tmp_path / "bench"
    assert cli.main(["all", "--quick", "--out", str(out)]) == 0, capsys.readouterr().err[-3000:]
    names = sorted(path.name for path in out.iterdir())
    assert names == sorted(
        [f"{name}.{ext}" for name in cli.ALL for ext in ("json", "md")]
        + [
            "report.md",
            "envs_throughput.png",
            "ppo_return_vs_time.png",
            "seeds_wall.png",
            "devices_scaling.png",
        ]
    )
    for png in out.glob("*.png"):
        with Image.open(png) as image:
            image.verify()
    report = (out / "report.md").read_text()
    for name in cli.ALL:
        assert f"## {cli.TITLES[name]}" in report
    assert report.count("`jaxrl bench all --quick --out") == len(cli.ALL)

    payloads = {name: json.loads((out / f"{name}.json").read_text()) for name in cli.ALL}
    for name, payload in payloads.items():
        assert payload["benchmark"] == name and payload["settings"]["quick"] is True
        assert payload["hardware"]["cpu"] and payload["hardware"]["cpu_count"] >= 1
        assert payload["hardware"]["jax_devices"] and payload["versions"]["jax"]
        assert payload["wall_s"] > 0

    envs = payloads["envs"]
    [row] = envs["results"]
    assert (row["env"], row["num_envs"]) == ("CartPole-v1", 16)
    # gymnax and gymnasium are test dependencies, so every figure but the single-env ones is
    # there (they run only at num_envs = 1).
    assert set(row["figures"]) == {
        name for name, figure in bench_envs.CONTESTANTS.items() if not figure.single_env
    }
    for figure in row["figures"].values():
        assert len(figure["seconds"]) == envs["settings"]["repeats"]
        median = sorted(figure["seconds"])[len(figure["seconds"]) // 2 - 1 :][:2]
        assert figure["median_s"] == pytest.approx(sum(median) / len(median))
        assert figure["steps_per_s"] == pytest.approx(16 * figure["num_steps"] / figure["median_s"])
    # The single-env figures exist only in num_envs = 1 rows, so their ratio is None here.
    assert row["ratios"].pop("jaxrl_gym_single/gym_single") is None
    assert all(value > 0 for value in row["ratios"].values())

    ppo = payloads["ppo"]
    assert set(ppo["runs"]) == {"jaxrl", "jaxrl_stages"}
    [run] = ppo["runs"]["jaxrl"]
    assert run["env_steps"] == 1000 and run["compilation_cache"] is False
    # The README's fast path, timed whole: no stages apart, so no run seconds and no curve.
    assert run["run_s"] is None and run["curve"]["t_s"] == []
    assert 0 < run["trace_compile_s"] <= run["call_to_evaluated_s"] < run["process_s"]
    [stages] = ppo["runs"]["jaxrl_stages"]
    # The same program, key and options: the same evaluation.
    assert stages["eval_returns"] == run["eval_returns"]
    assert stages["curve"]["t_s"][-1] == pytest.approx(stages["call_to_trained_s"], rel=1e-6)
    assert ppo["summary"]["jaxrl"]["seeds_evaluated"] == 1
    assert ppo["settings"]["solved_return"] == 475.0

    [seeds_row] = payloads["seeds"]["results"]
    assert seeds_row["seeds"] == 4 and seeds_row["xla_memory"]["temp_bytes"] > 0
    assert seeds_row["per_seed_s"] == pytest.approx(seeds_row["median_s"] / 4)

    scaling = payloads["devices"]["results"]
    assert [(row["workload"], row["devices"]) for row in scaling] == [("seeds", 1), ("seeds", 2)]
    assert scaling[0]["speedup"] == 1.0 and scaling[0]["efficiency"] == 1.0
    assert scaling[1]["efficiency"] == pytest.approx(scaling[1]["speedup"] / 2)
