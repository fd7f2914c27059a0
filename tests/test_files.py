"""Files: atomic writes (a failed write leaves the previous file intact and no temporary file)
and the JSON they hold."""

import json
import math

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


def test_json_keeps_plain_lists_on_one_line_and_strings_as_they_are(tmp_path):
    payload = {
        "curve": [0.5, -1e-07, None, True, float("nan")],
        "nested": [[1, 2], [3]],
        "names": ["a [ 1,  2 ]", "\x00"],
        "empty": [],
        "pair": (1, 2.0),
    }
    write_json(tmp_path / "out.json", payload)
    text = (tmp_path / "out.json").read_text()
    assert '"curve": [0.5, -1e-07, null, true, NaN]' in text
    assert "    [1, 2],\n    [3]\n" in text
    got = json.loads(text)
    assert got["names"] == payload["names"] and got["pair"] == [1, 2.0]
    assert got["nested"] == [[1, 2], [3]] and got["empty"] == []
    assert got["curve"][:4] == payload["curve"][:4] and math.isnan(got["curve"][4])


def test_json_rounds_floats_to_significant_digits_only_when_asked(tmp_path):
    payload = {"x": [123456.789, 0.000123456, 2], "y": 3.14159265, "n": 7, "s": "1.23456"}
    write_json(tmp_path / "full.json", payload)
    assert json.loads((tmp_path / "full.json").read_text()) == payload
    write_json(tmp_path / "short.json", payload, significant_digits=3)
    assert json.loads((tmp_path / "short.json").read_text()) == {
        "x": [123000.0, 0.000123, 2],
        "y": 3.14,
        "n": 7,
        "s": "1.23456",
    }
