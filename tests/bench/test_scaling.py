"""jaxrl.bench.seeds and .devices: scaling arithmetic, ratios and tables on fixed rows; settings."""

import pytest

from jaxrl.bench import devices, seeds


def _device_row(workload, num_devices, median_s):
    return {
        "workload": workload,
        "devices": num_devices,
        "median_s": median_s,
        "env_steps_per_s": 1000.0 / median_s,
        "compile_s": 5.0,
        "peak_rss_mib": 600.0,
    }


def test_speedup_and_efficiency_against_one_device():
    rows = devices.with_scaling(
        [
            _device_row("seeds", 1, 4.0),
            _device_row("seeds", 2, 2.5),
            _device_row("seeds", 8, 1.0),
            _device_row("data_parallel", 2, 1.0),  # no 1-device row for this workload
        ]
    )
    assert [(row["speedup"], row["efficiency"]) for row in rows] == [
        (1.0, 1.0),
        (1.6, 0.8),
        (4.0, 0.5),
        (None, None),
    ]
    text = devices.markdown({"settings": {"in_process": False}, "results": rows})
    assert "| seeds | 2 | 2.50 | 400 | 1.60x | 80% | 5.0 | 600 |" in text.splitlines()
    assert "| data_parallel | 2 | 1.00 | 1,000 | - | - | 5.0 | 600 |" in text.splitlines()


def test_devices_settings_reject_counts_that_do_not_divide_the_work():
    with pytest.raises(ValueError, match="must divide 8"):
        devices.Settings(devices=(1, 3))
    with pytest.raises(ValueError, match="unknown workloads"):
        devices.Settings(workloads=("pipeline",))


def _seed_row(contestant, num_seeds, median_s):
    return {
        "contestant": contestant,
        "seeds": num_seeds,
        "median_s": median_s,
        "per_seed_s": median_s / num_seeds,
        "env_steps_per_s": num_seeds * 1000 / median_s,
        "compile_s": 7.0,
        "xla_memory": {"argument_bytes": 2**20, "output_bytes": 2**20, "temp_bytes": 2**21},
        "peak_rss_mib": 700.0,
        "device_memory": None,
    }


def test_seed_ratios_put_the_slower_side_on_top():
    rows = [
        _seed_row("jaxrl_rejax_hp", 1, 0.5),
        _seed_row("rejax", 1, 1.5),
        _seed_row("jaxrl_rejax_hp", 64, 2.0),
        _seed_row("rejax", 64, 3.0),
        _seed_row("jaxrl", 1024, 9.0),  # jaxrl alone at 1024: no pair, no entry
    ]
    assert seeds.seed_ratios(rows) == {
        "1": {"rejax/jaxrl_rejax_hp": 3.0},
        "64": {"rejax/jaxrl_rejax_hp": 1.5},
    }
    section = {
        "settings": {"env_id": "CartPole-v1", "total_timesteps": 1000, "repeats": 2},
        "results": rows,
        "ratios": seeds.seed_ratios(rows),
        "notes": [],
    }
    lines = seeds.markdown(section).splitlines()
    # 9 s over 1024 seeds is 8.79 ms each; the XLA buffers add up to 4 MiB.
    assert "| jaxrl | 1024 | 9.000 | 8.79 | 113,778 | 7.00 | 4.0 | 700 | - |" in lines
    assert "- 64 seeds, wall-time ratio: rejax/jaxrl_rejax_hp 1.50x" in lines


def test_seeds_settings_reject_bad_input_with_the_fix():
    with pytest.raises(ValueError, match="at least 1"):
        seeds.Settings(seeds=(0, 4))
    with pytest.raises(ValueError, match="unknown seeds contestants"):
        seeds.Settings(contestants=("sb3",))
