"""RLHF throughput: tokens per second of generation and of PPO updates on a small language model.

The numbers come from `jaxrl.rlhf.pipeline.throughput(quick)` (compiled programs on the default
device). When that module or function is not there, the benchmark is skipped with a note.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from jaxrl.bench import harness, report
from jaxrl.machine import peak_rss_mib


@dataclasses.dataclass(frozen=True)
class Settings:
    """Attributes:
    quick: the RLHF pipeline's quick model and batch (else its default run's).
    """

    quick: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The RLHF benchmark has no options of its own."""


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(quick=bool(args.quick))


def run(settings: Settings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Calls `jaxrl.rlhf.pipeline.throughput`; a skip note instead when it is unavailable."""
    try:
        from jaxrl.rlhf.pipeline import throughput
    except (ImportError, AttributeError) as error:
        note = f"rlhf skipped: jaxrl.rlhf.pipeline.throughput is unavailable ({error})"
        log(f"note: {note}")
        return {"settings": dataclasses.asdict(settings), "results": None, "notes": [note]}
    start = time.perf_counter()
    results = {name: float(value) for name, value in throughput(quick=settings.quick).items()}
    return {
        "settings": dataclasses.asdict(settings),
        "results": results,
        "wall_s": time.perf_counter() - start,
        "peak_rss_mib": peak_rss_mib(),
        "device_memory": harness.device_memory(),
        "notes": [],
    }


def markdown(section: dict[str, Any]) -> str:
    """The tokens per second, one line each; or the skip note."""
    if section["results"] is None:
        return "\n".join(f"- note: {note}" for note in section["notes"])
    rows = [[name, f"{value:,.0f}"] for name, value in section["results"].items()]
    size = "quick" if section["settings"]["quick"] else "default"
    return "\n".join(
        [
            f"`jaxrl.rlhf.pipeline.throughput` at the pipeline's {size} size, compiled:",
            "",
            report.markdown_table(["figure", "value"], rows),
        ]
    )


def plot(section: dict[str, Any], out_dir: Any) -> list[Any]:
    """No plot: two numbers read better in the table."""
    return []
