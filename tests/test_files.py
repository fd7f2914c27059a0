"""Atomic writes: a failed write leaves the previous file intact and no temporary file."""

import json

import pytest

from jaxrl.files import write_atomically, write_json


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "metrics.json"
    write_json(path, {"a": 1})
    write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_text_and_bytes_are_written_whole(tmp_path):
    path = tmp_path / "sub" / "report.md"
    write_atomically(path, "one")
    write_atomically(path, b"two")
    assert path.read_text() == "two" and [p.name for p in path.parent.iterdir()] == ["report.md"]
