"""The overoptimization laws of Gao, Schulman & Hilton 2022 ("Scaling laws for reward model
overoptimization", eq. 2 and 3), their least-squares fits and a seed bootstrap.

With `d = sqrt(KL)` the square root of the KL (nats) from the initial policy, the gold reward
gained over the initial policy follows

    best-of-n:  R_bon(d) = d * (alpha - beta * d)
    RL:         R_rl(d)  = d * (alpha - beta * log d)     (R_rl(0) = 0, its limit)

Both laws pass through R(0) = 0: `gain` is the gold score minus the initial policy's gold score,
which the caller subtracts. Points at d = 0 are accepted everywhere; the laws pin their value,
so they carry no information about alpha and beta and every fit leaves them out.

Both laws are linear in (alpha, beta): `gain = alpha * d + beta * x(d)` with `x = -d^2` (bon) or
`x = -d log d` (rl). `fit_law` is the ordinary least squares of `gain` on those two regressors
with no intercept, so it minimises the squared error of the gain itself. (Regressing `gain / d`
on `(1, d)` or `(1, log d)` instead would weight each point by `1 / d^2` and let the noisy
points nearest the initial policy dominate.) The fit only needs five sums per point set, so the
bootstrap refits a thousand resamples of seeds with one matrix product.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

KINDS = ("bon", "rl")

# Below this squared sine of the angle between the two regressors the 2x2 normal equations are
# singular to float64 working precision: all the points share one d.
_COLLINEAR = 1e-12


@dataclasses.dataclass(frozen=True)
class LawFit:
    """A least-squares fit of one law, and the peak of the fitted curve.

    Attributes:
        kind: "bon" or "rl".
        alpha, beta: the fitted coefficients, gold units per unit of sqrt(nats) (and per nat).
        r2: the coefficient of determination of `gain` over the fitted points (d > 0),
            `1 - SS_res / SS_tot` with SS_tot around their mean gain; NaN when every fitted
            gain is equal. It can be negative: the laws have no intercept.
        peak_d: the d >= 0 that maximises the fitted curve; None when `beta <= 0` (the curve
            then has no maximum, or a flat or falling start) or the peak overflows float64.
            bon: `alpha / (2 beta)`, or 0 when `alpha <= 0`; rl: `exp(alpha / beta - 1)`.
        peak_gain: the fitted gain at `peak_d`; None with it. bon: `alpha^2 / (4 beta)` (0 when
            `alpha <= 0`); rl: `beta * peak_d`.
        n_points: the number of points fitted, those with d > 0.
    """

    kind: str
    alpha: float
    beta: float
    r2: float
    peak_d: float | None
    peak_gain: float | None
    n_points: int

    def predict(self, d: ArrayLike) -> np.ndarray:
        """The fitted law at `d` (sqrt nats, any shape), elementwise; float64."""
        return law(self.kind, d, self.alpha, self.beta)


@dataclasses.dataclass(frozen=True)
class BootstrapFit:
    """A fit on all seeds and percentile intervals from refitting resamples of the seeds.

    Attributes:
        fit: the `LawFit` on every seed's points pooled.
        level: the intervals' nominal coverage, e.g. 0.9 for the 5th to 95th percentiles.
        alpha_interval, beta_interval: `(low, high)` percentiles over the fitted resamples;
            None when none is fitted.
        peak_d_interval, peak_gain_interval: `(low, high)` percentiles over the fitted resamples
            whose peak is defined (`LawFit.peak_d` not None); None when none is.
        num_resamples: the resamples drawn.
        num_fitted: the resamples whose pooled points hold two distinct d > 0, which are refit;
            the others (possible only when some seeds hold a single distinct d > 0) are skipped.
        num_with_peak: the fitted resamples whose peak is defined.
    """

    fit: LawFit
    level: float
    alpha_interval: tuple[float, float] | None
    beta_interval: tuple[float, float] | None
    peak_d_interval: tuple[float, float] | None
    peak_gain_interval: tuple[float, float] | None
    num_resamples: int
    num_fitted: int
    num_with_peak: int


def bon_law(d: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> np.ndarray:
    """Best-of-n gold gain `d * (alpha - beta * d)`, elementwise with broadcasting.

    Args:
        d: sqrt of the KL from the initial policy, sqrt(nats), any shape.
        alpha, beta: coefficients, broadcastable against `d`.

    Returns:
        float64 gain over the initial policy, the broadcast shape.
    """
    return law("bon", d, alpha, beta)


def rl_law(d: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> np.ndarray:
    """RL gold gain `d * (alpha - beta * log d)`, elementwise with broadcasting; 0 at d = 0.

    Args:
        d: sqrt of the KL from the initial policy, sqrt(nats), any shape; NaN where `d < 0`.
        alpha, beta: coefficients, broadcastable against `d`.

    Returns:
        float64 gain over the initial policy, the broadcast shape.
    """
    return law("rl", d, alpha, beta)


def law(kind: str, d: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> np.ndarray:
    """The law of `kind` ("bon" or "rl") at `d`: `alpha * d + beta * x(d)`, float64."""
    _check_kind(kind)
    d = np.asarray(d, np.float64)
    return alpha * d + beta * _second_regressor(kind, d)


def fit_law(kind: str, d: ArrayLike, gain: ArrayLike) -> LawFit:
    """Least-squares fit of the `kind` law to points `(d, gain)`.

    Ordinary least squares of `gain` on the regressors `d` and `-d^2` (bon) or `-d log d` (rl),
    no intercept, over the points with d > 0: it minimises `sum (gain - R(d))^2`. Points at
    d = 0 are accepted and left out (the law fixes R(0) = 0, whatever their gain).

    Args:
        kind: "bon" (best-of-n) or "rl".
        d: `[...]` sqrt of the KL from the initial policy, sqrt(nats), >= 0.
        gain: `[...]` the same shape, gold score minus the initial policy's gold score.

    Returns:
        The `LawFit`.

    Raises:
        ValueError: an unknown kind, shapes that differ, negative or non-finite values, or
            fewer than two distinct d > 0.
    """
    _check_kind(kind)
    d, gain = _check_points(d, gain)
    distinct = np.unique(d[d > 0]).size
    if distinct < 2:
        raise ValueError(
            f"fitting the {kind!r} law needs at least 2 distinct d > 0, got {distinct}: "
            "add points measured away from the initial policy."
        )
    return _law_fit(kind, _sums(kind, d, gain))


def bootstrap_fit(
    kind: str,
    d_by_seed: Sequence[ArrayLike],
    gain_by_seed: Sequence[ArrayLike],
    *,
    num_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.9,
) -> BootstrapFit:
    """Fits the pooled seeds, then refits resamples of whole seeds for percentile intervals.

    Each resample draws as many seeds as there are, uniformly with replacement, pools their
    points and refits by `fit_law`'s least squares. Resampling seeds rather than points keeps
    the points of one run, which share its noise, together.

    Args:
        kind: "bon" (best-of-n) or "rl".
        d_by_seed: S >= 2 curves, `[N_s]` each (lengths may differ), d in sqrt(nats), >= 0.
        gain_by_seed: S curves of gold gain over the initial policy, shaped like `d_by_seed`.
        num_resamples: resamples to draw, >= 1.
        seed: seeds the resampling; the same seed gives the same intervals.
        level: the intervals' coverage, in (0, 1).

    Returns:
        The `BootstrapFit`.

    Raises:
        ValueError: anything `fit_law` rejects, fewer than two seeds, curve counts that differ,
            `num_resamples < 1` or `level` outside (0, 1).
    """
    _check_kind(kind)
    if len(d_by_seed) != len(gain_by_seed):
        raise ValueError(
            f"d_by_seed has {len(d_by_seed)} curves but gain_by_seed has {len(gain_by_seed)}: "
            "pass one gain curve per d curve."
        )
    if len(d_by_seed) < 2:
        raise ValueError(
            f"bootstrap_fit resamples seeds and got {len(d_by_seed)}: pass one curve per seed, "
            "at least 2, or call fit_law."
        )
    if isinstance(num_resamples, bool) or not isinstance(num_resamples, int) or num_resamples < 1:
        raise ValueError(f"num_resamples={num_resamples!r}: must be a positive integer, e.g. 1000.")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level!r}: must be in (0, 1), e.g. 0.9 for a 90% interval.")
    curves = [
        _check_points(d, gain, where=f"seed {index}: ")
        for index, (d, gain) in enumerate(zip(d_by_seed, gain_by_seed, strict=True))
    ]
    fit = fit_law(
        kind, np.concatenate([d for d, _ in curves]), np.concatenate([g for _, g in curves])
    )

    num_seeds = len(curves)
    sums_by_seed = np.stack([_sums(kind, d, gain) for d, gain in curves])
    counts = np.random.default_rng(seed).multinomial(
        num_seeds, np.full(num_seeds, 1.0 / num_seeds), size=num_resamples
    )
    sums = counts @ sums_by_seed
    fitted = ~_collinear(sums)
    alpha, beta, _ = _solve(sums[fitted])
    peak_d, peak_gain = _peaks(kind, alpha, beta)
    has_peak = np.isfinite(peak_d) & np.isfinite(peak_gain)

    tails = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]

    def interval(values: np.ndarray) -> tuple[float, float] | None:
        if values.size == 0:
            return None
        low, high = np.quantile(values, tails)
        return float(low), float(high)

    return BootstrapFit(
        fit=fit,
        level=float(level),
        alpha_interval=interval(alpha),
        beta_interval=interval(beta),
        peak_d_interval=interval(peak_d[has_peak]),
        peak_gain_interval=interval(peak_gain[has_peak]),
        num_resamples=num_resamples,
        num_fitted=int(fitted.sum()),
        num_with_peak=int(has_peak.sum()),
    )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r}: use 'bon' (best-of-n) or 'rl' (reinforcement learning).")


def _check_points(d: ArrayLike, gain: ArrayLike, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """`d` and `gain` as flat float64 arrays, after the checks every fit needs."""
    d, gain = np.asarray(d, np.float64), np.asarray(gain, np.float64)
    if d.shape != gain.shape:
        raise ValueError(
            f"{where}d has shape {d.shape} but gain has shape {gain.shape}: pass one gain per d."
        )
    bad = ~(np.isfinite(d) & np.isfinite(gain))
    if bad.any():
        raise ValueError(
            f"{where}{int(bad.sum())} points have a NaN or infinite d or gain: drop them first."
        )
    if (d < 0).any():
        raise ValueError(
            f"{where}d has {int((d < 0).sum())} negative values (min {d.min():.3g}): d is "
            "sqrt(KL), so clip negative KL estimates to 0 before the square root."
        )
    return d.ravel(), gain.ravel()


def _second_regressor(kind: str, d: np.ndarray) -> np.ndarray:
    """`-d^2` (bon) or `-d log d` (rl, 0 at d = 0, its limit): the regressor of beta."""
    if kind == "bon":
        return -(d * d)
    # log(1) keeps log(0) from warning; the where puts the limit 0 back.
    log_d = np.log(np.where(d == 0, 1.0, d))
    return np.where(d == 0, 0.0, -d * log_d)


def _sums(kind: str, d: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """The sufficient statistics of the least squares over the points with d > 0.

    Returns:
        `[8]` float64: `sum x1^2, sum x1 x2, sum x2^2, sum x1 y, sum x2 y, sum y^2, sum y, n`
        with `x1 = d`, `x2` the second regressor and `y = gain`. Sums of several point sets
        are the statistics of their union.
    """
    positive = d > 0
    d, y = d[positive], gain[positive]
    x1, x2 = d, _second_regressor(kind, d)
    return np.array(
        [x1 @ x1, x1 @ x2, x2 @ x2, x1 @ y, x2 @ y, y @ y, y.sum(), float(y.size)], np.float64
    )


def _collinear(sums: np.ndarray) -> np.ndarray:
    """`[B]` bool: the regressors are collinear (fewer than two distinct d > 0)."""
    a, b, c = sums[:, 0], sums[:, 1], sums[:, 2]
    return a * c - b * b <= _COLLINEAR * a * c


def _solve(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solves the 2x2 normal equations of each row of `[B, 8]` sums for alpha, beta and r2."""
    a, b, c, u, v, yy, y_sum, n = sums.T
    det = a * c - b * b
    alpha = (c * u - b * v) / det
    beta = (a * v - b * u) / det
    # At the least-squares solution SS_res = y.y - theta.(X^T y).
    ss_res = np.maximum(yy - alpha * u - beta * v, 0.0)
    ss_tot = np.maximum(yy - y_sum * y_sum / n, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    return alpha, beta, r2


def _peaks(kind: str, alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak d and peak gain of the fitted curves over d >= 0; NaN where undefined."""
    positive = beta > 0
    safe_beta = np.where(positive, beta, 1.0)
    if kind == "bon":
        peak_d = np.maximum(alpha / (2.0 * safe_beta), 0.0)
    else:
        # exp overflows to inf for a tiny positive beta; the finiteness check drops it.
        with np.errstate(over="ignore"):
            peak_d = np.exp(alpha / safe_beta - 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        peak_gain = law(kind, peak_d, alpha, safe_beta)
    return np.where(positive, peak_d, np.nan), np.where(positive, peak_gain, np.nan)


def _law_fit(kind: str, sums: np.ndarray) -> LawFit:
    """The `LawFit` of `[8]` sums (`_sums`) that are not collinear."""
    alpha, beta, r2 = (float(value[0]) for value in _solve(sums[None]))
    peak_d, peak_gain = (
        float(value[0]) for value in _peaks(kind, np.array([alpha]), np.array([beta]))
    )
    defined = np.isfinite(peak_d) and np.isfinite(peak_gain)
    return LawFit(
        kind=kind,
        alpha=alpha,
        beta=beta,
        r2=r2,
        peak_d=peak_d if defined else None,
        peak_gain=peak_gain if defined else None,
        n_points=int(sums[7]),
    )
