"""The machine's description and how runs split over CPU devices."""

import os

import pytest

from jaxrl.machine import available_cores, cpu_devices_for, cpu_model


def test_cpu_model_names_something():
    assert isinstance(cpu_model(), str) and cpu_model()


def test_cpu_devices_split_the_runs_evenly_over_at_most_one_device_per_core():
    assert [cpu_devices_for(8, cores) for cores in (1, 2, 3, 4, 6, 16)] == [1, 2, 2, 4, 4, 8]
    assert [cpu_devices_for(runs, 4) for runs in (1, 2, 3, 5, 6, 12)] == [1, 2, 3, 1, 3, 4]
    assert 1 <= available_cores() <= (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="positive counts"):
        cpu_devices_for(0, 2)
