"""Atomic JSON writes (a failed write leaves the previous file intact and no temp files) and the
machine's description."""

import json
import os

import pytest

from jaxrl.reporting import available_cores, cpu_devices_for, cpu_model, write_json_atomically


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "metrics.json"
    write_json_atomically(path, {"a": 1})
    write_json_atomically(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_json_atomically(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomically(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_cpu_model_names_something():
    assert isinstance(cpu_model(), str) and cpu_model()


def test_cpu_devices_split_the_runs_evenly_over_at_most_one_device_per_core():
    assert [cpu_devices_for(8, cores) for cores in (1, 2, 3, 4, 6, 16)] == [1, 2, 2, 4, 4, 8]
    assert [cpu_devices_for(runs, 4) for runs in (1, 2, 3, 5, 6, 12)] == [1, 2, 3, 1, 3, 4]
    assert 1 <= available_cores() <= (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="positive counts"):
        cpu_devices_for(0, 2)
