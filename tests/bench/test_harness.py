"""jaxrl.bench.harness and .report: alternation, medians, ratios, memory, machine facts, tables,
plots and atomic files, on fixed inputs."""

import json

import jax
import jax.numpy as jnp
import pytest
from PIL import Image

from jaxrl.bench import harness, report
from jaxrl.machine import peak_rss_mib


def test_alternate_takes_turns_in_every_round():
    calls = []
    contestants = [
        harness.Contestant(name, lambda name=name: calls.append(name), compile_s=0.0)
        for name in ("a", "b", "c")
    ]
    seconds = harness.alternate(contestants, repeats=3)
    assert calls == ["a", "b", "c"] * 3
    assert {name: len(values) for name, values in seconds.items()} == {"a": 3, "b": 3, "c": 3}
    assert all(value >= 0 for values in seconds.values() for value in values)


def test_alternate_rejects_repeated_names_and_no_repetition():
    twice = [harness.Contestant("a", lambda: None, 0.0)] * 2
    with pytest.raises(ValueError, match="repeat"):
        harness.alternate(twice, repeats=1)
    with pytest.raises(ValueError, match="at least one"):
        harness.alternate(twice[:1], repeats=0)


def test_time_call_waits_for_jax_outputs():
    compiled = jax.jit(lambda x: jnp.sum(x @ x)).lower(jnp.ones((64, 64))).compile()
    assert harness.time_call(lambda: compiled(jnp.ones((64, 64)))) > 0


def test_summary_takes_median_min_max():
    assert harness.summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert harness.summary([4.0, 1.0, 2.0, 3.0]) == {"median": 2.5, "min": 1.0, "max": 4.0}
    with pytest.raises(ValueError):
        harness.summary([])


def test_ratio_is_none_when_a_side_is_missing():
    assert harness.ratio(3.0, 2.0) == 1.5
    assert harness.ratio(None, 2.0) is None
    assert harness.ratio(3.0, None) is None
    assert harness.ratio(3.0, 0.0) is None


def test_ratios_name_each_pair_numerator_first():
    figures = {"fast": 6.0, "slow": 2.0}
    pairs = (("fast", "slow"), ("slow", "fast"), ("fast", "absent"))
    assert report.ratios(figures, pairs) == {
        "fast/slow": 3.0,
        "slow/fast": 1 / 3,
        "fast/absent": None,
    }


def test_memory_figures():
    before = peak_rss_mib()
    block = bytearray(64 * 2**20)  # touched below, so resident
    block[::4096] = b"x" * len(block[::4096])
    assert peak_rss_mib() >= before and peak_rss_mib() > 64
    # The CPU backend keeps no device counters.
    assert (harness.device_memory() is None) == (jax.default_backend() == "cpu")
    compiled = jax.jit(lambda x: x * 2.0).lower(jnp.ones(1000, jnp.float32)).compile()
    memory = harness.compiled_memory(compiled)
    assert memory["argument_bytes"] == 4000 and memory["output_bytes"] == 4000


def test_clock_spans_are_none_where_a_mark_was_not_made():
    clock = harness.Clock()
    clock.mark("call")
    clock.mark("evaluated")
    assert clock.wall("call", "evaluated") >= 0 and clock.cpu("start", "evaluated") >= 0
    assert clock.wall("call", "trained") is None and clock.cpu("trained", "evaluated") is None


def test_compile_times_come_from_jax_monitoring():
    totals = harness.record_compile_times()
    x = jnp.arange(7.0)
    jax.jit(lambda x: jnp.cumsum(x) * 5.0)(x).block_until_ready()  # a program not seen before
    seen = dict(totals)
    assert set(seen) == {"trace_s", "compile_s"}
    assert seen["trace_s"] > 0 and seen["compile_s"] > 0


def test_machine_facts():
    hardware = harness.hardware()
    assert hardware["cpu"] and hardware["cpu_count"] >= 1
    assert hardware["jax_devices"] == [str(device) for device in jax.devices()]
    assert len(hardware["load_average"]) == 3
    versions = harness.versions()
    assert versions["jax"] == jax.__version__ and "rejax" in versions and "torch" in versions
    json.dumps({"hardware": hardware, "versions": versions})  # JSON-able


def test_markdown_table_and_formats():
    table = report.markdown_table(["name", "x"], [["a", "1"], ["b", "22"]])
    assert table.splitlines() == ["| name | x |", "| --- | ---: |", "| a | 1 |", "| b | 22 |"]
    with pytest.raises(ValueError, match="header of 2"):
        report.markdown_table(["name", "x"], [["a"]])
    assert [report.fmt(v) for v in (12345.6, 10.46, 0.012345, None)] == [
        "12346",
        "10.5",
        "0.0123",
        "-",
    ]
    assert report.fmt_ratio(2.345) == "2.35x" and report.fmt_ratio(None) == "-"


def test_line_panels_writes_a_png_atomically(tmp_path):
    series = {
        "CartPole-v1": {"a": [(16, 2e6), (1, 1e5)], "b": [(1, 2e5), (16, 3e6)]},
        "Acrobot-v1": {"a": [(1, 5e4)]},
    }
    path = report.line_panels(
        series, tmp_path, "t.png", "num_envs", "steps/s", logx=True, logy=True
    )
    assert [p.name for p in tmp_path.iterdir()] == ["t.png"]  # no temp file left
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (960, 360)  # two panels side by side
    with pytest.raises(ValueError, match="nothing to plot"):
        report.line_panels({}, tmp_path, "empty.png", "x", "y")
