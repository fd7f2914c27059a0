"""Learning-curve and sweep plots (matplotlib, Agg backend: no display needed), saved atomically."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from jaxrl.files import write_atomically


def returns_table(rows: list[dict[str, Any]]) -> np.ndarray:
    """`[updates, runs]` episode returns, each run's last known value carried over the updates in
    which none of its episodes ended (NaN before its first episode)."""
    table = np.array(
        [[np.nan if v is None else v for v in row["episode_return"]] for row in rows], np.float64
    )
    for update in range(1, len(table)):
        missing = np.isnan(table[update])
        table[update, missing] = table[update - 1, missing]
    return table


def save_learning_curve(
    path: Path, rows: list[dict[str, Any]], env_id: str, groups: list[tuple[str, list[int]]]
) -> None:
    """Return against env steps and against wall-clock: mean line, std band, min-max band.

    Args:
        path: the PNG to write.
        rows: metrics rows (see `training.metric_rows`).
        env_id: for the title.
        groups: (label, run indices) per curve, e.g. one per sweep point; one group of all runs
            for a plain run.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = returns_table(rows)
    steps = np.array([row["env_steps"] for row in rows], np.float64)
    wall = np.array([row["wall_s"] for row in rows], np.float64)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for label, runs in groups:
        values = table[:, runs]
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            mean = np.nanmean(values, axis=1)
            std = np.nanstd(values, axis=1)
            low, high = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
        for axis, x in ((axes[0], steps), (axes[1], wall)):
            (line,) = axis.plot(x, mean, label=f"{label} (n={len(runs)})")
            axis.fill_between(x, mean - std, mean + std, alpha=0.25, color=line.get_color())
            axis.fill_between(x, low, high, alpha=0.08, color=line.get_color())
    axes[0].set_xlabel("env steps per run")
    axes[1].set_xlabel("wall-clock seconds (compile included)")
    axes[0].set_ylabel("episode return (training episodes)")
    for axis in axes:
        axis.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize="small")
    figure.suptitle(f"PPO on {env_id}: mean, ±1 std and min-max over runs")
    figure.tight_layout()
    _save(figure, path)


def save_sweep_plot(
    path: Path, labels: list[str], scores: np.ndarray, env_id: str, threshold: float | None
) -> None:
    """Final evaluation return per sweep point: mean with std error bars and every seed's dot.

    Args:
        scores: `[points, seeds]` evaluation returns.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(max(5, 1.2 * len(labels) + 2), 4))
    positions = np.arange(len(labels))
    axis.errorbar(positions, scores.mean(axis=1), yerr=scores.std(axis=1), fmt="o", capsize=4)
    for position, seed_scores in zip(positions, scores, strict=True):
        axis.scatter(np.full(len(seed_scores), position + 0.15), seed_scores, s=8, alpha=0.5)
    if threshold is not None:
        axis.axhline(threshold, linestyle="--", color="grey", label=f"solved ({threshold:g})")
        axis.legend(fontsize="small")
    axis.set_xticks(positions, labels, rotation=20, ha="right", fontsize="small")
    axis.set_ylabel("final evaluation return")
    axis.set_title(f"PPO sweep on {env_id}")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    _save(figure, path)


def save_ladder_curve(
    path: Path, curve: list[dict[str, Any]], rungs: list[str], game_id: str
) -> None:
    """A self-play run against each ladder rung over wall-clock: win rate, and win or draw.

    Args:
        path: the PNG to write.
        curve: points with "seconds" and, per rung, a dict with "win", "draw" and "loss" rates
            (`experiments/selfplay.py`'s curve).
        rungs: the rungs to draw, weakest first.
        game_id: for the title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = [point["seconds"] for point in curve]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True, sharey=True)
    for rung in rungs:
        wins = [point[rung]["win"] for point in curve]
        not_lost = [point[rung]["win"] + point[rung]["draw"] for point in curve]
        (line,) = axes[0].plot(seconds, wins, marker="o", markersize=3, label=rung)
        axes[1].plot(seconds, not_lost, marker="o", markersize=3, color=line.get_color())
    axes[0].set_ylabel("rate over games from both seats")
    axes[0].set_title("win")
    axes[1].set_title("win or draw")
    for axis in axes:
        axis.set_xlabel("wall-clock seconds (compile and evaluation included)")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize="small")
    figure.suptitle(f"Self-play on {game_id}: the network alone against each ladder rung")
    figure.tight_layout()
    _save(figure, path)


def _save(figure, path: Path) -> None:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    write_atomically(path, buffer.getvalue())


class _quiet_nan_warnings:
    """Silences numpy's all-NaN slice warnings (updates before any episode ended)."""

    def __enter__(self):
        import warnings

        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc_info):
        return self._context.__exit__(*exc_info)
