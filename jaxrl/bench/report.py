"""Turning benchmark numbers into what a reader sees: ratios, markdown tables, JSON and PNG plots.

Plots use matplotlib's Agg backend (files only, no display), set on the figure itself so that
importing this module never changes a user's global backend.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from jaxrl.bench.harness import ratio

Series = Mapping[str, Mapping[str, Sequence[tuple[float, float]]]]


def ratios(
    figures: Mapping[str, float | None], pairs: Sequence[tuple[str, str]]
) -> dict[str, float | None]:
    """`{"a/b": figures[a] / figures[b]}` for each pair; None where either side is missing or 0.

    Args:
        figures: contestant name -> a figure where larger is better (e.g. steps per second).
        pairs: (numerator, denominator) names, so a ratio above 1 favours the numerator.
    """
    return {
        f"{top}/{bottom}": ratio(figures.get(top), figures.get(bottom)) for top, bottom in pairs
    }


def fmt(value: float | None) -> str:
    """Three significant figures without an exponent; "-" for a missing value."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return str(value)
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{digits}f}"


def fmt_ratio(value: float | None) -> str:
    """A ratio as "2.35x"; "-" for a missing one."""
    return "-" if value is None else f"{value:.2f}x"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table; the first column left-aligned, the others right-aligned."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells under a header of {len(header)}: {row}")
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def line_panels(
    series: Series,
    out_dir: str | os.PathLike,
    filename: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    hlines: Mapping[str, float] | None = None,
    share_axes: bool = False,
) -> Path:
    """One panel per key of `series`, one line per contestant, saved as a PNG (atomically).

    Args:
        series: panel title -> contestant -> `(x, y)` points (sorted by x when drawn).
        out_dir: folder of the PNG.
        filename: the PNG's name.
        xlabel, ylabel: axis labels.
        logx, logy: log-scaled axes.
        hlines: label -> y of a dashed horizontal line drawn in every panel (e.g. "solved").
        share_axes: every panel on the same axes, x from 0, so that panels compare at a glance.

    Returns:
        The PNG's path.
    """
    from matplotlib.figure import Figure

    if not series:
        raise ValueError(f"{filename}: nothing to plot (no results).")
    columns = min(3, len(series))
    rows = math.ceil(len(series) / columns)
    figure = Figure(figsize=(4.8 * columns, 3.6 * rows), layout="constrained")
    axes = figure.subplots(
        rows, columns, squeeze=False, sharex=share_axes, sharey=share_axes
    ).ravel()
    for axis, (title, lines) in zip(axes, series.items(), strict=False):
        for name, points in lines.items():
            xs, ys = zip(*sorted(points), strict=True) if points else ((), ())
            axis.plot(xs, ys, marker="o", markersize=3, label=name)
        for label, y in (hlines or {}).items():
            axis.axhline(y, linestyle="--", color="grey", linewidth=1, label=label)
        if logx:
            axis.set_xscale("log", base=2)
        if logy:
            axis.set_yscale("log")
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    for axis in axes[len(series) :]:
        axis.set_visible(False)
    if share_axes and not logx:
        axes[0].set_xlim(left=0)  # after every panel is drawn: the right end spans them all
    path = Path(out_dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temp, dpi=100)
    os.replace(temp, path)
    return path
