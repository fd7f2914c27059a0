"""jaxrl.bench.rlhf: the settings' checks, the table beside TRL's figures, a quick run with every
figure, and a skip note without the throughput module."""

import argparse
import sys

import pytest

import jaxrl.rlhf
from jaxrl.bench import cli, rlhf


def test_missing_throughput_is_a_note_not_a_crash(monkeypatch):
    monkeypatch.delattr(jaxrl.rlhf, "throughput", raising=False)
    monkeypatch.setitem(sys.modules, "jaxrl.rlhf.throughput", None)  # import raises ImportError
    lines = []
    section = rlhf.run(rlhf.Settings(preset="quick", repeats=1), log=lines.append)
    assert section["results"] is None and len(section["notes"]) == 1
    assert lines == [f"note: {section['notes'][0]}"]
    assert rlhf.markdown(section).startswith("- note: rlhf skipped:")


def test_settings_refuse_bad_input_in_one_line(capsys, tmp_path):
    with pytest.raises(ValueError, match="preset='big': choose one of trl, quick"):
        rlhf.Settings(preset="big")
    with pytest.raises(ValueError, match="repeats=0: run at least one round"):
        rlhf.Settings(repeats=0)
    args = argparse.Namespace(quick=True, preset=None, repeats=None)
    assert rlhf.settings_from_args(args) == rlhf.Settings(preset="quick", repeats=2)
    args = argparse.Namespace(quick=False, preset=None, repeats=3)
    assert rlhf.settings_from_args(args) == rlhf.Settings(preset="trl", repeats=3)
    assert cli.main(["rlhf", "--repeats", "0", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "repeats=0" in err
    assert not (tmp_path / "out").exists()


def figure(rate, gflops_per_s, mfu, unit="episodes/s"):
    return {"unit": unit, "rate": rate, "gflops_per_s": gflops_per_s, "mfu": mfu, "compile_s": 7.0}


def test_table_of_fixed_figures_beside_trls():
    results = {
        "model": {"num_layers": 2, "d_model": 128, "num_heads": 4, "max_len": 25, "vocab_size": 30},
        "parameters": {"language_model": 407_710},
        "matmul": {
            "matmul_model": {"gflops_per_s": 80.0},
            "matmul_square": {"gflops_per_s": 100.0},
        },
        "peak_gflops_per_s": 100.0,
        "figures": {
            "ppo_64x4": figure(198.0, 12.5, 0.125),
            "generate_1": figure(1_500.0, 0.6, 0.006, "tokens/s"),
            "generate_256": figure(79_000.0, 25.0, 0.25, "tokens/s"),
        },
    }
    section = {"settings": {"preset": "trl", "repeats": 5}, "results": results}
    lines = rlhf.markdown(section).splitlines()
    assert "| ppo_64x4 | episodes/s | 198 | 66 | 3.00x | >= 3x | 12.5 | 12.5% | 7.0 |" in lines
    assert "| generate_1 | tokens/s | 1,500 | - | - | - | 0.600 | 0.6% | 7.0 |" in lines
    assert (
        "| generate_256 | tokens/s | 79,000 | 39,500 | 2.00x | >= 2x | 25.0 | 25.0% | 7.0 |"
        in lines
    )
    assert "407,710 parameters, 24 sampled tokens" in lines[0]
    assert "Matmul peak 100 GFLOP/s" in lines[2] and "(80.0 GFLOP/s)" in lines[2]
    # A quick run's figures are not TRL's shapes: no reference, even under a shared name.
    quick = {"settings": {"preset": "quick", "repeats": 2}, "results": results}
    assert "| ppo_64x4 | episodes/s | 198 | - | - | - | 12.5 | 12.5% | 7.0 |" in (
        rlhf.markdown(quick).splitlines()
    )
    compared = rlhf.comparison(results["figures"], "trl")
    assert compared["ppo_64x4"] == {"trl": 66.0, "ratio": 3.0, "target": 3.0}
    assert compared["generate_1"] == {"trl": None, "ratio": None, "target": None}


@pytest.mark.slow  # seven small programs compiled
@pytest.mark.timeout(120)
def test_a_quick_run_has_every_figure(capsys):
    section = rlhf.run(rlhf.Settings(preset="quick", repeats=1))
    table = rlhf.markdown(section)
    with capsys.disabled():
        print(table)
    figures = section["results"]["figures"]
    assert list(figures) == [
        "ppo_16x1",
        "rloo_16",
        "grpo_16",
        "dpo_8",
        "reward_model_8",
        "generate_1",
        "generate_16",
    ]
    for name, entry in figures.items():
        assert entry["rate"] > 0 and entry["gflops_per_s"] > 0 and entry["mfu"] > 0, name
        assert entry["seconds"]["median"] > 0 and entry["compile_s"] > 0, name
        assert f"| {name} |" in table
    assert set(section["results"]["matmul"]) == {"matmul_model", "matmul_square"}
    assert all(compared["trl"] is None for compared in section["trl"].values())
