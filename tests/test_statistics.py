"""Fit statistics against independent computations: numpy's lstsq and polyfit, scipy, mpmath, t tables.

The fits are built here from numpy.linalg.lstsq, not by fitbp's trainer, so
that the statistics are checked on their own (one test runs them on a
trainer's fit too).
"""

import json
import math
from statistics import NormalDist

import numpy as np
import pytest

from fitbp.sources.data import Points
from fitbp.fitting.model import Polynomial, design_matrix, scaling
from fitbp.fitting.statistics import confidence_band, fit_statistics, t_quantile
from fitbp.fitting.trainer import fit_points

RTOL = 1e-8

T_TABLE = [  # (probability, dof, quantile): published t tables, checked with mpmath at 30 digits
    (0.975, 1, 12.706204736),
    (0.975, 2, 4.302652730),
    (0.975, 5, 2.570581836),
    (0.975, 10, 2.228138852),
    (0.975, 30, 2.042272456),
    (0.975, 1000, 1.962339081),
    (0.995, 3, 5.840909310),
    (0.95, 7, 1.894578605),
    (0.9, 20, 1.325340707),
    (0.999, 4, 7.173182220),
]


def lstsq_fit(x, y, degree):
    """The least-squares Taylor polynomial, by numpy, with fitbp's center and scale."""
    center, scale = scaling(x)
    design = design_matrix((x - center) / scale, degree)
    a = np.linalg.lstsq(design, y, rcond=None)[0]
    return Polynomial(tuple(float(v) for v in a), center, scale)


def noisy(rng, n, lo, hi, curve=np.sin, noise=0.1):
    x = np.sort(rng.uniform(lo, hi, n))
    return x, curve(x) + rng.normal(0.0, noise, n)


def assert_json_clean(stats):
    json.dumps(stats, allow_nan=False)  # raises on NaN or inf anywhere


@pytest.mark.parametrize("degree", [0, 1, 3, 6])
def test_taylor_stderr_and_covariance_match_the_textbook_formula(degree, rng):
    x, y = noisy(rng, 80, -2.0, 5.0)
    p = lstsq_fit(x, y, degree)
    stats = fit_statistics(p, x, y)

    design = design_matrix(p.scaled(x), degree)
    a, ssr, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = x.size - (degree + 1)
    sigma2 = float(ssr[0]) / dof
    covariance = sigma2 * np.linalg.inv(design.T @ design)  # fine here: V is well conditioned

    assert stats["dof"] == dof
    assert stats["reduced_chi2"] == pytest.approx(sigma2, rel=RTOL)
    np.testing.assert_allclose(stats["taylor_stderr"], np.sqrt(np.diag(covariance)), rtol=RTOL)
    np.testing.assert_allclose(stats["covariance"], covariance, rtol=RTOL, atol=RTOL * np.abs(covariance).max())
    assert stats["stderr_note"] is None
    assert_json_clean(stats)


@pytest.mark.parametrize("degree, lo, hi", [(1, -1.0, 3.0), (3, -2.0, 2.5), (5, 0.0, 2 * math.pi)])
def test_raw_stderr_matches_polyfit(degree, lo, hi, rng):
    x, y = noisy(rng, 120, lo, hi)
    stats = fit_statistics(lstsq_fit(x, y, degree), x, y)

    coefficients, unscaled = np.polyfit(x, y, degree, cov="unscaled")  # (XᵀX)⁻¹, highest power first
    residual = y - np.polyval(coefficients, x)
    sigma2 = residual @ residual / (x.size - degree - 1)  # cov=True's own factor differs between versions
    expected = np.sqrt(sigma2 * np.diag(unscaled))[::-1]
    np.testing.assert_allclose(stats["stderr"], expected, rtol=RTOL)


def test_stderr_matches_scipy_curve_fit(rng):
    optimize = pytest.importorskip("scipy.optimize")
    x, y = noisy(rng, 60, 0.0, 3.0)
    p = lstsq_fit(x, y, 3)
    stats = fit_statistics(p, x, y)

    def model(x, a0, a1, a2, a3):
        t = (x - p.center) / p.scale
        return a0 + t * (a1 + t * (a2 + t * a3))

    def jacobian(x, *a):
        return design_matrix((x - p.center) / p.scale, 3)

    # absolute_sigma=False (the default) scales by χ²/dof; an exact Jacobian, not finite differences
    _, pcov = optimize.curve_fit(model, x, y, p0=np.zeros(4), jac=jacobian)
    np.testing.assert_allclose(stats["taylor_stderr"], np.sqrt(np.diag(pcov)), rtol=RTOL)


def test_raw_stderr_is_exact_where_raw_powers_cancel(rng):
    """Years 1950–2020, degree 6: against the textbook formula in raw powers of x at 100 digits."""
    mp = pytest.importorskip("mpmath")
    x = np.arange(1950.0, 2021.0)
    y = 310 + 0.8 * (x - 1950) + 0.012 * (x - 1950) ** 2 + rng.normal(0.0, 1.0, x.size)
    degree = 6
    stats = fit_statistics(lstsq_fit(x, y, degree), x, y)

    with mp.workdps(100):
        raw = mp.matrix([[mp.mpf(float(v)) ** j for j in range(degree + 1)] for v in x])
        gram_inverse = mp.inverse(raw.T * raw)
        k = gram_inverse * (raw.T * mp.matrix([mp.mpf(float(v)) for v in y]))
        residual = mp.matrix([mp.mpf(float(v)) for v in y]) - raw * k
        sigma2 = sum(r * r for r in residual) / (x.size - degree - 1)
        expected = [float(mp.sqrt(sigma2 * gram_inverse[j, j])) for j in range(degree + 1)]
    np.testing.assert_allclose(stats["stderr"], expected, rtol=1e-9)


def test_residual_mean_and_std_match_numpy(rng):
    x, y = noisy(rng, 200, -1.0, 4.0)
    fitted = lstsq_fit(x, y, 4)
    off = Polynomial(tuple(a + 0.05 for a in fitted.coefficients), fitted.center, fitted.scale)
    for p in (fitted, off):
        residual = y - p(x)
        stats = fit_statistics(p, x, y)
        assert stats["residual_mean"] == pytest.approx(np.mean(residual), rel=RTOL, abs=1e-15)
        assert stats["residual_std"] == pytest.approx(np.std(residual), rel=RTOL)  # population, ddof=0
        assert stats["reduced_chi2"] == pytest.approx(residual @ residual / (200 - 5), rel=RTOL)


def test_statistics_of_a_trained_fit(rng):
    x, y = noisy(rng, 150, 0.0, 2 * math.pi)
    trained = fit_points(Points(x, y), 5).polynomial
    reference = fit_statistics(lstsq_fit(x, y, 5), x, y)
    stats = fit_statistics(trained, x, y)
    np.testing.assert_allclose(stats["taylor_stderr"], reference["taylor_stderr"], rtol=1e-7)
    np.testing.assert_allclose(stats["stderr"], reference["stderr"], rtol=1e-7)


def test_no_degrees_of_freedom_gives_none_with_a_reason(rng):
    x, y = noisy(rng, 4, 0.0, 1.0)
    stats = fit_statistics(lstsq_fit(x, y, 3), x, y)
    assert stats["dof"] == 0
    for key in ("reduced_chi2", "taylor_stderr", "stderr", "covariance"):
        assert stats[key] is None, key
    assert "no degrees of freedom" in stats["stderr_note"]
    assert stats["residual_std"] == pytest.approx(0.0, abs=1e-12)
    assert_json_clean(stats)
    with pytest.raises(ValueError, match="covariance"):
        confidence_band(lstsq_fit(x, y, 3), stats["covariance"], stats["dof"], x)


def test_fewer_points_than_coefficients_and_repeated_x():
    p = Polynomial((1.0, 2.0, 3.0), 0.0, 1.0)
    stats = fit_statistics(p, [0.0, 1.0], [1.0, 6.0])
    assert stats["dof"] == -1 and stats["stderr"] is None and "fewer points" in stats["stderr_note"]
    assert_json_clean(stats)

    x = np.array([0.0, 0.0, 1.0, 1.0, 1.0])  # five points, two distinct x, three coefficients
    stats = fit_statistics(p, x, p(x) + np.array([0.1, -0.1, 0.1, 0.0, -0.1]))
    assert stats["dof"] == 2 and stats["reduced_chi2"] is not None
    assert stats["stderr"] is None and "2 distinct x values" in stats["stderr_note"]
    assert_json_clean(stats)


def test_exact_data_has_zero_errors():
    x = np.linspace(-1.0, 1.0, 9)
    p = Polynomial((1.0, -0.5, 0.25), 0.0, 1.0)
    stats = fit_statistics(p, x, p(x))
    assert stats["taylor_stderr"] == [0.0, 0.0, 0.0] and stats["stderr"] == [0.0, 0.0, 0.0]
    assert stats["stderr_note"] is None


@pytest.mark.parametrize("power", [-1000, -500, 500, 1000])
def test_huge_and_tiny_y_scale_exactly_and_never_give_nan(power, rng):
    """y times 2**power: every statistic times 2**power (or its square), or None with a reason."""
    x, y = noisy(rng, 50, 0.0, 3.0)
    p = lstsq_fit(x, y, 3)
    base = fit_statistics(p, x, y)
    scaled = Polynomial(tuple(math.ldexp(a, power) for a in p.coefficients), p.center, p.scale)
    stats = fit_statistics(scaled, x, np.ldexp(y, power))
    assert_json_clean(stats)
    for key in ("taylor_stderr", "stderr"):
        np.testing.assert_allclose(stats[key], np.ldexp(base[key], power), rtol=1e-12)
    assert stats["residual_std"] == pytest.approx(math.ldexp(base["residual_std"], power), rel=1e-12)
    if abs(power) <= 500:
        assert stats["reduced_chi2"] == pytest.approx(math.ldexp(base["reduced_chi2"], 2 * power), rel=1e-12)
    elif power > 0:  # σ² ≈ 2**2000 is beyond float64
        assert stats["reduced_chi2"] is None and stats["covariance"] is None
        assert "beyond the range of float64" in stats["stderr_note"]


def test_raw_errors_beyond_float_range_are_none_with_a_note(rng):
    x = np.linspace(-1e-100, 1e-100, 40)  # k_j = a_j / s**j: beyond float64 from j = 4 on
    y = rng.normal(0.0, 1.0, x.size)
    stats = fit_statistics(lstsq_fit(x, y, 5), x, y)
    assert_json_clean(stats)
    assert stats["stderr"][4:] == [None, None] and None not in stats["stderr"][:4]
    assert None not in stats["taylor_stderr"]
    assert "null" in stats["stderr_note"]


def test_raw_errors_are_exact_where_the_expansion_passes_through_overflow(rng):
    """c = 0, s = 1e-100: k_j = a_j / s**j, so the errors divide the same way, though 1/s**4 = 1e400."""
    x = np.linspace(-1e-100, 1e-100, 40)
    y = 1e-200 * rng.normal(0.0, 1.0, x.size)
    p = lstsq_fit(x, y, 4)
    assert p.center == 0.0
    stats = fit_statistics(p, x, y)
    expected = []
    for j, value in enumerate(stats["taylor_stderr"]):
        for _ in range(j):
            value /= p.scale
        expected.append(value)
    np.testing.assert_allclose(stats["stderr"], expected, rtol=1e-13)
    assert 1e150 < stats["stderr"][4] < 1e250 and stats["stderr_note"] is None


def test_t_quantile_against_tables():
    for probability, dof, expected in T_TABLE:
        assert t_quantile(probability, dof) == pytest.approx(expected, rel=1e-9), (probability, dof)
        assert t_quantile(1 - probability, dof) == pytest.approx(-expected, rel=1e-9)
    assert t_quantile(0.5, 7) == 0.0


@pytest.mark.parametrize("probability", [1e-12, 0.001, 0.3, 0.975, 0.999999])
def test_t_quantile_tends_to_the_normal(probability):
    z = NormalDist().inv_cdf(probability)  # the standard library's, independent of fitbp's
    assert t_quantile(probability, 1e15) == pytest.approx(z, rel=1e-12)


def test_t_quantile_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for dof in (1, 2, 3, 4, 6, 9, 15, 40, 120, 999, 9999, 10000, 123456):
        for probability in (1e-10, 0.01, 0.2, 0.45, 0.6, 0.9, 0.975, 0.995, 1 - 1e-8):
            expected = stats.t.ppf(probability, dof)
            assert t_quantile(probability, dof) == pytest.approx(expected, rel=1e-9), (probability, dof)


@pytest.mark.parametrize("probability, dof", [(0.0, 5), (1.0, 5), (float("nan"), 5), (0.9, 0.5), (0.9, math.inf)])
def test_t_quantile_refuses_what_has_no_answer(probability, dof):
    with pytest.raises(ValueError):
        t_quantile(probability, dof)


def test_band_width_matches_the_textbook_formula(rng):
    x, y = noisy(rng, 14, -1.0, 2.0)  # degree 3: 10 degrees of freedom
    p = lstsq_fit(x, y, 3)
    stats = fit_statistics(p, x, y)
    grid = np.linspace(-1.5, 2.5, 33)
    lower, upper = confidence_band(p, stats["covariance"], stats["dof"], grid)

    coefficients, unscaled = np.polyfit(x, y, 3, cov="unscaled")
    residual = y - np.polyval(coefficients, x)
    sigma2 = residual @ residual / 10
    powers = np.vander(grid, 4)  # highest power first, as polyfit
    half = 2.228138852 * np.sqrt(sigma2 * np.einsum("ni,ij,nj->n", powers, unscaled, powers))
    np.testing.assert_allclose((upper - lower) / 2, half, rtol=1e-8)
    np.testing.assert_allclose((upper + lower) / 2, p(grid), rtol=1e-12)


def test_band_covers_the_true_curve_at_the_nominal_rate():
    """1000 noisy samples of a quadratic, 6 points each (3 degrees of freedom, where t₀.₉₇₅ = 3.18
    and a normal quantile would cover only about 86 %)."""
    rng = np.random.default_rng(2024)
    truth = Polynomial((0.5, -1.0, 2.0))
    x = np.linspace(-1.0, 1.0, 6)
    probes = np.array([-0.9, -0.3, 0.2, 0.8])
    covered = []
    for _ in range(1000):
        y = truth(x) + rng.normal(0.0, 0.3, x.size)
        p = lstsq_fit(x, y, 2)
        stats = fit_statistics(p, x, y)
        lower, upper = confidence_band(p, stats["covariance"], stats["dof"], probes)
        covered.append((lower <= truth(probes)) & (truth(probes) <= upper))
    rate = np.mean(covered, axis=0)
    assert np.all((0.92 <= rate) & (rate <= 0.98)), rate


def test_band_level_and_shape():
    x = np.linspace(0.0, 1.0, 20)
    p = Polynomial((1.0, 1.0), 0.5, 0.5)
    y = p(x) + np.tile([0.1, -0.1], 10)
    stats = fit_statistics(p, x, y)
    grid = np.linspace(0.0, 1.0, 12).reshape(3, 4)
    narrow = confidence_band(p, stats["covariance"], stats["dof"], grid, level=0.5)
    wide = confidence_band(p, stats["covariance"], stats["dof"], grid, level=0.99)
    assert narrow[0].shape == grid.shape
    assert np.all(wide[0] < narrow[0]) and np.all(narrow[1] < wide[1])
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="level"):
            confidence_band(p, stats["covariance"], stats["dof"], grid, level=level)


@pytest.mark.parametrize("level", [0.95, 0.9, 0.99])
def test_coefficient_tests_agree_with_statsmodels(level):
    """t, p and intervals of the raw coefficients against statsmodels' OLS on the raw powers of x, and of
    the Taylor ones against OLS on the powers of t (R's summary(lm) gives the same)."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(7)
    x = rng.uniform(-1.5, 2.5, 80)
    y = 0.3 - 1.2 * x + 0.05 * x ** 2 + 0.4 * x ** 3 + rng.normal(0, 0.3, x.size)
    result = fit_points(Points(x, y), 3)
    result.level = level
    tests = result.tests()
    p = result.polynomial
    for prefix, design in (("", np.vander(x, 4, increasing=True)),
                           ("taylor_", np.vander((x - p.center) / p.scale, 4, increasing=True))):
        ols = sm.OLS(y, design).fit()
        assert np.allclose(tests[f"{prefix}t_values"], ols.tvalues, rtol=1e-8, atol=0)
        assert np.allclose(tests[f"{prefix}p_values"], ols.pvalues, rtol=1e-7, atol=1e-300)
        assert np.allclose(tests[f"{prefix}confidence_intervals"], ols.conf_int(alpha=1 - level), rtol=1e-8, atol=1e-12)
    assert tests["level"] == level


def test_coefficient_tests_are_null_where_no_error_can_be_given():
    from fitbp.fitting.statistics import coefficient_tests

    exact = fit_points(Points(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])), 2)  # dof 0
    assert exact.tests()["t_values"] == [None] * 3 and exact.tests()["confidence_intervals"] == [None] * 3
    some = coefficient_tests([1.0, 2.0, 3.0], [0.5, None, 0.0], 10)
    assert some["t_values"][0] == 2.0 and some["t_values"][1:] == [None, None]
    assert some["p_values"][0] == pytest.approx(0.073388034770740, rel=1e-9)  # scipy.stats.t.sf(2, 10) * 2
    huge = coefficient_tests([1e300], [1e-300], 5)
    assert huge["t_values"] == [None] and huge["p_values"] == [0.0]
