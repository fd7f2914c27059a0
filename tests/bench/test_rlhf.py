"""jaxrl.bench.rlhf: the RLHF pipeline's throughput in a table, or a skip note without it."""

import sys

from jaxrl.bench import rlhf


def test_missing_pipeline_is_a_note_not_a_crash(monkeypatch):
    monkeypatch.setitem(sys.modules, "jaxrl.rlhf.pipeline", None)  # import raises ImportError
    lines = []
    section = rlhf.run(rlhf.Settings(quick=True), log=lines.append)
    assert section["results"] is None and len(section["notes"]) == 1
    assert lines == [f"note: {section['notes'][0]}"]
    assert rlhf.markdown(section).startswith("- note: rlhf skipped:")


def test_table_of_fixed_figures():
    section = {
        "settings": {"quick": True},
        "results": {"generation_tokens_per_s": 143403.2, "ppo_update_tokens_per_s": 31607.0},
    }
    lines = rlhf.markdown(section).splitlines()
    assert "| generation_tokens_per_s | 143,403 |" in lines
    assert "| ppo_update_tokens_per_s | 31,607 |" in lines
    assert "quick size" in lines[0]
