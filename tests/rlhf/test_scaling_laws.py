"""The overoptimization laws and their fits: hand-worked values, exact recovery from noise-free
curves, the peak against its closed form and a dense search, d = 0, the seed bootstrap against
a loop of fits and against the truth, and the one-line errors."""

import math
import warnings

import numpy as np
import pytest

from jaxrl.rlhf.scaling_laws import KINDS, bon_law, bootstrap_fit, fit_law, law, rl_law

# Peaks inside the sampled range: bon at d = 2, gain 1; rl at d = e, gain e / 2.
TRUE = {"bon": (1.0, 0.25), "rl": (1.0, 0.5)}
D = np.linspace(0.1, 4.0, 40)


def _seed_curves(kind, num_seeds, rng, points=15, seed_spread=0.05, point_noise=0.05):
    """Per-seed curves of the true law: each seed its own (alpha, beta) and point noise.

    Lengths differ between seeds, and every curve starts at the initial policy, d = 0, gain 0.
    """
    alpha, beta = TRUE[kind]
    d_by_seed, gain_by_seed = [], []
    for index in range(num_seeds):
        d = np.concatenate([[0.0], np.sort(rng.uniform(0.1, 4.0, points + index % 3))])
        seed_alpha = alpha + seed_spread * rng.standard_normal()
        seed_beta = beta * (1.0 + seed_spread * rng.standard_normal())
        gain = law(kind, d, seed_alpha, seed_beta) + point_noise * rng.standard_normal(d.shape)
        gain[0] = 0.0
        d_by_seed.append(d)
        gain_by_seed.append(gain)
    return d_by_seed, gain_by_seed


def test_laws_hand_worked_values():
    assert bon_law(2.0, 1.5, 0.25) == pytest.approx(2.0 * (1.5 - 0.25 * 2.0))
    assert rl_law(math.e, 1.0, 0.5) == pytest.approx(math.e * 0.5)
    assert rl_law(1.0, 0.7, 3.0) == pytest.approx(0.7)  # log 1 = 0
    np.testing.assert_allclose(bon_law([0.0, 1.0, 3.0], 1.0, 0.5), [0.0, 0.5, -1.5])


def test_rl_law_is_zero_at_zero_and_continuous():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) must not warn
        at_zero = rl_law(np.array([0.0, 1e-300, 1e-12]), 1.0, 0.5)
    assert at_zero[0] == 0.0
    assert np.all(np.isfinite(at_zero))
    np.testing.assert_allclose(at_zero, 0.0, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_recovery_from_noise_free_curve(kind):
    alpha, beta = TRUE[kind]
    fit = fit_law(kind, D, law(kind, D, alpha, beta))
    assert fit.kind == kind
    assert fit.alpha == pytest.approx(alpha, abs=1e-9)
    assert fit.beta == pytest.approx(beta, abs=1e-9)
    assert fit.r2 == pytest.approx(1.0, abs=1e-9)
    assert fit.n_points == D.size


@pytest.mark.parametrize(
    ("kind", "alpha", "beta", "peak_d", "peak_gain"),
    [
        ("bon", 1.0, 0.25, 2.0, 1.0),  # alpha / (2 beta), alpha^2 / (4 beta)
        ("bon", 0.6, 0.1, 3.0, 0.9),
        ("rl", 1.0, 0.5, math.e, math.e / 2.0),  # exp(alpha / beta - 1), beta * d*
        ("rl", 0.3, 0.4, math.exp(-0.25), 0.4 * math.exp(-0.25)),
    ],
)
def test_peak_closed_form_and_dense_argmax(kind, alpha, beta, peak_d, peak_gain):
    d = np.linspace(0.05, 3.0 * peak_d, 25)
    fit = fit_law(kind, d, law(kind, d, alpha, beta))
    assert fit.peak_d == pytest.approx(peak_d, rel=1e-9)
    assert fit.peak_gain == pytest.approx(peak_gain, rel=1e-9)
    dense = np.linspace(0.0, 3.0 * peak_d, 300_001)
    curve = fit.predict(dense)
    step = dense[1] - dense[0]
    assert abs(dense[np.argmax(curve)] - fit.peak_d) <= step
    assert curve.max() <= fit.peak_gain + 1e-12
    assert curve.max() == pytest.approx(fit.peak_gain, rel=1e-9)


def test_bon_peak_is_the_start_when_alpha_is_not_positive():
    # The parabola peaks at a negative d; over d >= 0 the best is the initial policy itself.
    fit = fit_law("bon", D, bon_law(D, -0.5, 0.2))
    assert fit.peak_d == 0.0
    assert fit.peak_gain == 0.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("beta", [0.0, -0.3])
def test_no_peak_when_beta_is_not_positive(kind, beta):
    fit = fit_law(kind, D, law(kind, D, 1.0, beta))
    assert fit.beta == pytest.approx(beta, abs=1e-9)
    assert fit.peak_d is None
    assert fit.peak_gain is None


@pytest.mark.parametrize("kind", KINDS)
def test_recovery_from_noisy_curve(kind):
    alpha, beta = TRUE[kind]
    rng = np.random.default_rng(0)
    d = np.repeat(D, 5)
    gain = law(kind, d, alpha, beta) + 0.05 * rng.standard_normal(d.shape)
    fit = fit_law(kind, d, gain)
    assert fit.alpha == pytest.approx(alpha, abs=0.03)
    assert fit.beta == pytest.approx(beta, abs=0.02)
    assert 0.9 < fit.r2 < 1.0
    assert fit.peak_d == pytest.approx(math.e if kind == "rl" else 2.0, rel=0.05)


@pytest.mark.parametrize("kind", KINDS)
def test_fit_is_least_squares_of_the_gain(kind):
    # Against numpy's solver on the design matrix: the squared error of the gain itself, not of
    # gain / d (which would weight each point by 1 / d^2).
    rng = np.random.default_rng(9)
    d = rng.uniform(0.05, 4.0, 60)
    gain = law(kind, d, *TRUE[kind]) + 0.2 * rng.standard_normal(d.shape)
    second = -d * d if kind == "bon" else -d * np.log(d)
    (alpha, beta), *_ = np.linalg.lstsq(np.stack([d, second], axis=1), gain, rcond=None)
    fit = fit_law(kind, d, gain)
    assert fit.alpha == pytest.approx(alpha, rel=1e-9)
    assert fit.beta == pytest.approx(beta, rel=1e-9)
    residual = gain - (alpha * d + beta * second)
    r2 = 1.0 - np.sum(residual**2) / np.sum((gain - gain.mean()) ** 2)
    assert fit.r2 == pytest.approx(r2, rel=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_points_at_zero_are_left_out(kind):
    rng = np.random.default_rng(1)
    gain = law(kind, D, *TRUE[kind]) + 0.05 * rng.standard_normal(D.shape)
    without = fit_law(kind, D, gain)
    # d = 0 with a zero and a nonzero gain: the law fixes R(0) = 0, so neither moves the fit.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_zeros = fit_law(
            kind, np.concatenate([[0.0, 0.0], D]), np.concatenate([[0.0, 0.3], gain])
        )
    assert with_zeros.n_points == without.n_points == D.size
    for name in ("alpha", "beta", "r2", "peak_d", "peak_gain"):
        assert np.isfinite(getattr(with_zeros, name))
        assert getattr(with_zeros, name) == pytest.approx(getattr(without, name), rel=1e-12)


def test_fit_accepts_any_matching_shape():
    gain = bon_law(D, 1.0, 0.25)
    flat = fit_law("bon", D, gain)
    square = fit_law("bon", D.reshape(8, 5), gain.reshape(8, 5))
    assert square == flat


@pytest.mark.parametrize("kind", KINDS)
def test_bootstrap_fit_is_the_pooled_fit(kind):
    d_by_seed, gain_by_seed = _seed_curves(kind, 6, np.random.default_rng(2))
    result = bootstrap_fit(kind, d_by_seed, gain_by_seed, num_resamples=50)
    pooled = fit_law(kind, np.concatenate(d_by_seed), np.concatenate(gain_by_seed))
    assert result.fit == pooled
    assert result.num_resamples == result.num_fitted == 50


@pytest.mark.parametrize("kind", KINDS)
def test_bootstrap_matches_a_loop_of_fits(kind):
    d_by_seed, gain_by_seed = _seed_curves(kind, 5, np.random.default_rng(3))
    num_seeds, num_resamples, level = len(d_by_seed), 200, 0.8
    result = bootstrap_fit(
        kind, d_by_seed, gain_by_seed, num_resamples=num_resamples, seed=7, level=level
    )
    # The same draws as bootstrap_fit: how many times each seed is picked.
    counts = np.random.default_rng(7).multinomial(
        num_seeds, np.full(num_seeds, 1.0 / num_seeds), size=num_resamples
    )
    fits = [
        fit_law(
            kind,
            np.concatenate([np.tile(d, n) for d, n in zip(d_by_seed, row, strict=True)]),
            np.concatenate([np.tile(g, n) for g, n in zip(gain_by_seed, row, strict=True)]),
        )
        for row in counts
    ]
    tails = [(1 - level) / 2, (1 + level) / 2]
    with_peak = [fit for fit in fits if fit.peak_d is not None]
    expected = {
        "alpha_interval": np.quantile([fit.alpha for fit in fits], tails),
        "beta_interval": np.quantile([fit.beta for fit in fits], tails),
        "peak_d_interval": np.quantile([fit.peak_d for fit in with_peak], tails),
        "peak_gain_interval": np.quantile([fit.peak_gain for fit in with_peak], tails),
    }
    for name, interval in expected.items():
        np.testing.assert_allclose(getattr(result, name), interval, rtol=1e-9)
    assert result.num_with_peak == len(with_peak)


@pytest.mark.parametrize("kind", KINDS)
def test_bootstrap_intervals_contain_the_truth(kind):
    alpha, beta = TRUE[kind]
    d_by_seed, gain_by_seed = _seed_curves(kind, 20, np.random.default_rng(4))
    # Four intervals must hold at once, and a percentile bootstrap over 20 seeds covers a little
    # less than its level: at 0.98 all four hold for about 7 draws of the data in 8.
    result = bootstrap_fit(kind, d_by_seed, gain_by_seed, level=0.98)
    peak_d, peak_gain = (2.0, 1.0) if kind == "bon" else (math.e, math.e / 2.0)
    for interval, truth in (
        (result.alpha_interval, alpha),
        (result.beta_interval, beta),
        (result.peak_d_interval, peak_d),
        (result.peak_gain_interval, peak_gain),
    ):
        low, high = interval
        assert low < truth < high
        assert high - low < 0.5 * truth  # informative, not merely wide
    assert result.num_with_peak == result.num_fitted == result.num_resamples == 1000


@pytest.mark.parametrize("kind", KINDS)
def test_bootstrap_intervals_shrink_with_more_seeds(kind):
    rng = np.random.default_rng(5)
    few = bootstrap_fit(kind, *_seed_curves(kind, 5, rng))
    many = bootstrap_fit(kind, *_seed_curves(kind, 40, rng))
    for name in ("alpha_interval", "beta_interval", "peak_d_interval", "peak_gain_interval"):
        few_low, few_high = getattr(few, name)
        many_low, many_high = getattr(many, name)
        # Width goes as 1 / sqrt(seeds): sqrt(5 / 40) is about 0.35.
        assert many_high - many_low < 0.6 * (few_high - few_low), name


def test_bootstrap_is_deterministic_for_a_seed():
    curves = _seed_curves("rl", 6, np.random.default_rng(6))
    first = bootstrap_fit("rl", *curves, num_resamples=300, seed=11)
    assert bootstrap_fit("rl", *curves, num_resamples=300, seed=11) == first
    assert bootstrap_fit("rl", *curves, num_resamples=300, seed=12) != first


def test_bootstrap_of_identical_seeds_has_no_spread():
    # Every resample pools copies of one curve, which leave the least squares where it was.
    d = D[::3]
    gain = rl_law(d, 0.9, 0.4) + 0.03 * np.random.default_rng(8).standard_normal(d.shape)
    result = bootstrap_fit("rl", [d] * 4, [gain] * 4, num_resamples=100)
    single = fit_law("rl", d, gain)
    for name in ("alpha", "beta", "peak_d", "peak_gain"):
        np.testing.assert_allclose(
            getattr(result, f"{name}_interval"), [getattr(single, name)] * 2, rtol=1e-9
        )


def test_bootstrap_skips_resamples_with_a_single_d():
    # Each seed measured one point: a resample that draws one seed three times has one distinct
    # d, which fixes no line; 3 of the 27 equally likely draws do.
    d_by_seed = [[1.0], [2.0], [3.0]]
    gain_by_seed = [bon_law(np.asarray(d), 1.0, 0.25) for d in d_by_seed]
    result = bootstrap_fit("bon", d_by_seed, gain_by_seed, num_resamples=2000)
    skipped = result.num_resamples - result.num_fitted
    assert 0.06 * 2000 < skipped < 0.16 * 2000
    np.testing.assert_allclose(result.alpha_interval, [1.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(result.beta_interval, [0.25, 0.25], atol=1e-9)


_CURVE = [D, bon_law(D, 1.0, 0.25)]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: fit_law("ppo", *_CURVE), "use 'bon' .* or 'rl'"),
        (lambda: law("dpo", D, 1.0, 0.2), "use 'bon'"),
        (lambda: fit_law("bon", D, _CURVE[1][:-1]), "pass one gain per d"),
        (lambda: fit_law("rl", [0.0, 1.0, 1.0], [0.0, 0.5, 0.5]), "at least 2 distinct d > 0"),
        (lambda: fit_law("rl", [0.0, 0.0], [0.0, 0.0]), "add points measured away"),
        (lambda: fit_law("bon", [-0.1, 1.0, 2.0], [0.0, 0.5, 0.8]), "clip negative KL"),
        (lambda: fit_law("bon", [np.nan, 1.0, 2.0], [0.0, 0.5, 0.8]), "drop them first"),
        (lambda: bootstrap_fit("bon", [D], [_CURVE[1]]), "at least 2, or call fit_law"),
        (lambda: bootstrap_fit("bon", [D, D], [_CURVE[1]]), "one gain curve per d curve"),
        (lambda: bootstrap_fit("bon", [D, D], [_CURVE[1], _CURVE[1][1:]]), "seed 1: .*per d"),
        (lambda: bootstrap_fit("bon", [D, D], [_CURVE[1]] * 2, level=1.0), r"in \(0, 1\)"),
        (lambda: bootstrap_fit("bon", [D, D], [_CURVE[1]] * 2, level=0.0), "e.g. 0.9"),
        (lambda: bootstrap_fit("rl", [D, D], [_CURVE[1]] * 2, num_resamples=0), "e.g. 1000"),
        (lambda: bootstrap_fit("ppo", [D, D], [_CURVE[1]] * 2), "use 'bon'"),
    ],
)
def test_errors_are_one_line_and_name_the_fix(call, match):
    with pytest.raises(ValueError, match=match) as error:
        call()
    assert "\n" not in str(error.value)
