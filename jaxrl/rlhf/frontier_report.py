"""The analysis, report and plots of `jaxrl rlhf frontier` (`jaxrl.rlhf.frontier`): NumPy on
the programs' results, then report.md, overoptimisation.png and frontier.png."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jaxrl.rlhf import scaling_laws

if TYPE_CHECKING:
    from jaxrl.rlhf.frontier import FrontierConfig


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over the last axis, `window` (odd) points, valid part only:
    `[..., T]` -> `[..., T - window + 1]`."""
    kernel = np.ones(window) / window
    return np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="valid"), -1, x)


def sqrt_kl(kl: np.ndarray) -> np.ndarray:
    """d = sqrt(KL), with the sample estimate's small negative values read as 0."""
    return np.sqrt(np.maximum(np.asarray(kl, np.float64), 0.0))


def overoptimisation_by_seed(
    gold: np.ndarray,
    proxy: np.ndarray,
    kl: np.ndarray,
    pretrained_gold: float,
    *,
    window: int,
    min_rise: float,
    min_fall: float,
    proxy_tolerance: float,
) -> dict[str, np.ndarray]:
    """Gao et al.'s over-optimisation, seed by seed, on smoothed training curves.

    Args:
        gold, proxy, kl: `[S, T]` per-iteration means over each iteration's samples.
        pretrained_gold: the pretrained policy's mean gold score.
        window: the moving average's width (odd).
        min_rise, min_fall: gold units.
        proxy_tolerance: how far the proxy may fall from its value at the gold peak.

    Returns:
        `[S]` arrays: "peak_iteration" (index into the smoothed curve), "peak_d" (sqrt KL at
        the gold peak), "rise" (peak gold less the pretrained gold), "fall" (peak gold less the
        last point's), "proxy_gain_after_peak" (last proxy less the proxy at the peak),
        "overoptimised" (bool: rise >= min_rise, fall >= min_fall and proxy gain >=
        -proxy_tolerance) and "proxy_rose" (bool: the proxy gain is positive).
    """
    gold, proxy, d = (moving_average(np.asarray(x, np.float64), window) for x in (gold, proxy, kl))
    d = sqrt_kl(d)
    peak = np.argmax(gold, axis=1)
    rows = np.arange(gold.shape[0])
    rise = gold[rows, peak] - pretrained_gold
    fall = gold[rows, peak] - gold[:, -1]
    proxy_gain = proxy[:, -1] - proxy[rows, peak]
    return {
        "peak_iteration": peak,
        "peak_d": d[rows, peak],
        "rise": rise,
        "fall": fall,
        "proxy_gain_after_peak": proxy_gain,
        "overoptimised": (rise >= min_rise) & (fall >= min_fall) & (proxy_gain >= -proxy_tolerance),
        "proxy_rose": proxy_gain > 0,
    }


def fit_by_seed(kind: str, d: np.ndarray, gain: np.ndarray) -> scaling_laws.BootstrapFit | None:
    """`bootstrap_fit` of `[S, N]` points; None when the points hold fewer than two distinct
    d > 0 (a law cannot be fitted)."""
    try:
        return scaling_laws.bootstrap_fit(kind, list(d), list(gain))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Report and plots.


def report(config: FrontierConfig, result: dict[str, Any]) -> str:
    """report.md: the tables of a frontier run."""
    lines = [
        "## RLHF frontier",
        "",
        f"{config.num_seeds} seeds; a {config.model.num_layers}-layer d={config.model.d_model} "
        f"transformer; pretrained gold {result['pretrained_gold']:+.2f}; "
        f"{result['wall_s']:.0f} s in all, compile included.",
        "",
        "| reward model | labels | held-out accuracy (labels) | (gold order) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for budget, rm in result["reward_models"].items():
        lines.append(
            f"| {budget} | {rm['pairs']} | {rm['label_accuracy']:.1%} | {rm['gold_accuracy']:.1%} |"
        )
    lines += [
        "",
        "### Over-optimisation: PPO without a KL penalty",
        "",
        "| labels | over-optimised seeds | of which the proxy still rose | median peak sqrt(KL) "
        "| median rise | median fall | RL law R^2 | fitted peak sqrt(KL) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for budget, entry in result["overoptimisation"].items():
        by_seed = entry["by_seed"]
        lines.append(
            f"| {budget} ({result['reward_models'][budget]['pairs']}) | "
            f"{entry['num_overoptimised']}/{config.num_seeds} | "
            f"{entry['num_overoptimised_proxy_rose']} | {entry['median_peak_d']:.2f} | "
            f"{np.median(by_seed['rise']):+.2f} | {np.median(by_seed['fall']):.2f} | "
            f"{_cell(entry['fit'], 'r2')} | {_peak_cell(entry['fit'])} |"
        )
    lines += [
        "",
        "### Best-of-n by the proxy",
        "",
        f"| labels | gold at n=1 | best gold (n) | gold at n={config.max_n} | bon law R^2 "
        "| fitted peak sqrt(KL) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for budget, entry in result["best_of_n"].items():
        gold = np.mean(entry["gold"], axis=0)
        best = int(np.argmax(gold))
        lines.append(
            f"| {budget} | {gold[0]:+.2f} | {gold[best]:+.2f} ({best + 1}) | {gold[-1]:+.2f} | "
            f"{_cell(entry['fit'], 'r2')} | {_peak_cell(entry['fit'])} |"
        )
    lines += [
        "",
        '### Final policies (the "many" reward model; mean +- std over seeds)',
        "",
        "| method | setting | gold | proxy | KL (nats) | EOS |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for method, entry in result["methods"].items():
        evaluation = entry["evaluation"]
        for index, value in enumerate(entry["values"]):
            gold = np.asarray(evaluation["gold"][index])
            lines.append(
                f"| {method} | {entry['grid']} {value:g} | {gold.mean():+.2f} +- {gold.std():.2f}"
                f" | {np.mean(evaluation['proxy'][index]):+.2f} | "
                f"{np.mean(evaluation['kl'][index]):.2f} | "
                f"{np.mean(evaluation['eos_rate'][index]):.0%} |"
            )
    lines += [
        "",
        "Stage times (s, compile included): "
        + ", ".join(f"{name} {seconds:.0f}" for name, seconds in result["timings_s"].items()),
        "",
    ]
    return "\n".join(lines)


def _cell(fit: dict[str, Any] | None, name: str) -> str:
    return "-" if fit is None or fit[name] is None else f"{fit[name]:.2f}"


def _peak_cell(fit: dict[str, Any] | None) -> str:
    if fit is None or fit["peak_d"] is None:
        return "-"
    text = f"{fit['peak_d']:.2f}"
    if fit["peak_d_interval"] is not None:
        low, high = fit["peak_d_interval"]
        text += f" ({low:.2f}-{high:.2f})"
    return text


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    temporary = path.with_name(path.name + ".tmp.png")
    fig.savefig(temporary, dpi=110)
    plt.close(fig)
    temporary.replace(path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


BUDGET_COLOURS = {"few": "tab:red", "many": "tab:blue"}


def plot_overoptimisation(path: Path, config: FrontierConfig, result: dict[str, Any]) -> None:
    """Gold and proxy against sqrt(KL): PPO without a KL penalty (left) and best-of-n (right),
    for both reward models, seed means with +-1 std bands, and the fitted laws."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    pretrained = result["pretrained_gold"]
    for budget, entry in result["overoptimisation"].items():
        colour, pairs = BUDGET_COLOURS[budget], result["reward_models"][budget]["pairs"]
        curves = {k: np.asarray(v) for k, v in entry["curves"].items()}
        d = sqrt_kl(moving_average(curves["kl"], config.smoothing))
        for name, style in (("gold", "-"), ("proxy", ":")):
            values = moving_average(curves[name], config.smoothing)
            values = values - pretrained if name == "gold" else values
            centres, mean, std = binned_by_seed(d, values)
            left.plot(centres, mean, style, color=colour, label=f"{name}, {pairs} labels")
            left.fill_between(centres, mean - std, mean + std, color=colour, alpha=0.12)
        _plot_law(left, entry["fit"], centres.max(), colour)
    left.axhline(0, color="grey", lw=0.8)
    left.set_xlabel("sqrt(KL(policy || pretrained)), sqrt(nats)")
    left.set_ylabel("gold gain over the pretrained policy; proxy (normalised)")
    left.set_title("PPO without a KL penalty (seed mean +- std per bin; RL law dashed)")
    left.legend(fontsize=7)
    for budget, entry in result["best_of_n"].items():
        colour, pairs = BUDGET_COLOURS[budget], result["reward_models"][budget]["pairs"]
        d = np.asarray(entry["d"])
        gold = np.asarray(entry["gold"]) - pretrained
        proxy = np.asarray(entry["proxy"])
        for values, style, name in ((gold, "-", "gold"), (proxy, ":", "proxy")):
            mean, std = values.mean(0), values.std(0)
            right.plot(d, mean, style, color=colour, label=f"{name}, {pairs} labels")
            right.fill_between(d, mean - std, mean + std, color=colour, alpha=0.12)
        _plot_law(right, entry["fit"], d.max(), colour)
    right.axhline(0, color="grey", lw=0.8)
    right.set_xlabel("sqrt(KL(best-of-n || pretrained)), sqrt(nats)")
    right.set_title(f"best-of-n, n = 1..{config.max_n} (fitted law dashed)")
    right.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def binned_by_seed(
    d: np.ndarray, values: np.ndarray, num_bins: int = 24
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed mean and std of `values` in bins of `d`, for trajectories whose d is not monotone.

    Each seed's points `[S, T]` are averaged within each of `num_bins` equal bins of d; the mean
    and std are then taken over the seeds that reach the bin, for bins reached by at least half
    of them.

    Returns:
        The bins' centres, the means and the stds, `[B]` each, B <= num_bins.
    """
    edges = np.linspace(0.0, d.max(), num_bins + 1)
    index = np.clip(np.digitize(d, edges) - 1, 0, num_bins - 1)
    per_seed = np.full((d.shape[0], num_bins), np.nan)
    for seed in range(d.shape[0]):
        for b in np.unique(index[seed]):
            per_seed[seed, b] = values[seed][index[seed] == b].mean()
    reached = np.sum(~np.isnan(per_seed), axis=0) >= max(1, d.shape[0] / 2)
    centres = (edges[:-1] + edges[1:]) / 2
    return (
        centres[reached],
        np.nanmean(per_seed[:, reached], axis=0),
        np.nanstd(per_seed[:, reached], axis=0),
    )


def _plot_law(axis, fit: dict[str, Any] | None, d_max: float, colour: str) -> None:
    if fit is None:
        return
    d = np.linspace(1e-3, max(d_max, 1e-2), 200)
    axis.plot(
        d, scaling_laws.law(fit["kind"], d, fit["alpha"], fit["beta"]), "--", color=colour, lw=1
    )


METHOD_STYLES = {
    "ppo": ("tab:blue", "o"),
    "rloo": ("tab:orange", "s"),
    "grpo": ("tab:green", "^"),
    "dpo_sigmoid": ("tab:purple", "D"),
    "dpo_ipo": ("tab:brown", "v"),
    "dpo_conservative": ("tab:pink", "P"),
}


def plot_frontier(path: Path, config: FrontierConfig, result: dict[str, Any]) -> None:
    """Gold gain against KL, spaced as d = sqrt(KL), for every method's final policies (one
    point per setting: the seed mean, with +-1 std bars), and best-of-n by the same ("many")
    reward model as a curve."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(7.5, 5))
    pretrained = result["pretrained_gold"]
    bon = result["best_of_n"]["many"]
    d = np.asarray(bon["d"])
    gain = np.asarray(bon["gold"]) - pretrained
    axis.plot(d, gain.mean(0), "-", color="black", lw=1.2, label="best-of-n, n = 1..")
    axis.fill_between(
        d, gain.mean(0) - gain.std(0), gain.mean(0) + gain.std(0), color="black", alpha=0.08
    )
    for method, entry in result["methods"].items():
        colour, marker = METHOD_STYLES[method]
        evaluation = {k: np.asarray(v) for k, v in entry["evaluation"].items()}
        d, gold = sqrt_kl(evaluation["kl"]), evaluation["gold"] - pretrained  # [C, S]
        order = np.argsort(d.mean(1))
        axis.errorbar(
            d.mean(1)[order],
            gold.mean(1)[order],
            xerr=d.std(1)[order],
            yerr=gold.std(1)[order],
            fmt=marker + "-",
            color=colour,
            ms=5,
            lw=1,
            capsize=2,
            label=f"{method} ({entry['grid']} {', '.join(f'{v:g}' for v in entry['values'])})",
        )
    axis.axhline(0, color="grey", lw=0.8)
    kl_ticks = [kl for kl in (0, 0.25, 1, 2, 4, 8, 16, 32) if np.sqrt(kl) <= axis.get_xlim()[1]]
    axis.set_xticks(np.sqrt(kl_ticks), [f"{kl:g}" for kl in kl_ticks])
    axis.set_xlabel("KL(policy || pretrained), nats per sequence (spaced as sqrt(KL))")
    axis.set_ylabel("gold gain over the pretrained policy")
    axis.set_title(
        f"The gold-KL frontier: {config.num_seeds} seeds per point, "
        f"{result['reward_models']['many']['pairs']} labels"
    )
    axis.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
