"""The smoothing spline on fewer knots: its reduced problem against dense algebra written here, and its
curve against the every-x spline and scipy's where those can be trusted (x on a jittered grid)."""

import numpy as np
import pytest
from scipy.interpolate import make_smoothing_spline

from fitbp.fitting import pspline, smoothing
from fitbp.fitting.spline import fit_spline
from fitbp.sources.data import Points
from test_smoothing import natural


@pytest.mark.parametrize("lam", [0.0, 3e-3, 0.4])
def test_the_reduced_problem_against_dense_algebra(lam):
    """g = (SᵀWS + λΩ)⁻¹SᵀWy with S the natural cardinal functions of the knots at the points (scipy's
    CubicSpline), tr H = tr((SᵀWS + λΩ)⁻¹SᵀWS), and the variance sᵀ(SᵀWS + λΩ)⁻¹s at new x."""
    rng = np.random.default_rng(11)
    x = rng.uniform(0.0, 6.0, 600)
    y, w = np.cos(x) + rng.normal(0.0, 0.2, x.size), rng.uniform(0.5, 2.0, x.size)
    fitted = pspline.fit(x, y, w, lam, count=40)
    cardinal, omega = natural(fitted.knots)
    s = np.array([c(x) for c in cardinal]).T
    gram = s.T @ (w[:, None] * s)
    precision = gram + lam * omega
    np.testing.assert_allclose(fitted.values, np.linalg.solve(precision, s.T @ (w * y)), atol=1e-9)
    assert fitted.edf == pytest.approx(np.trace(np.linalg.solve(precision, gram)), rel=1e-9)
    new = np.concatenate([fitted.knots[:3], rng.uniform(-0.5, 6.5, 40)])
    rows = np.array([c(new) for c in cardinal])
    expected = np.einsum("im,ij,jm->m", rows, np.linalg.inv(precision), rows)
    np.testing.assert_allclose(fitted.variance(new), expected, rtol=1e-7)


def grid_sample(n, seed):
    """x on a grid jittered by a fifth of its step (no gap far below the mean: the every-x spline keeps its
    digits), y a curve with some detail plus noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, n) + rng.uniform(0.0, 0.2 * 10.0 / n, n)
    return x, np.sin(x) + 0.3 * np.sin(5 * x) + rng.normal(0.0, 0.1, n)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_curve_of_the_every_x_spline_to_a_millionth_of_the_y_range(seed):
    """The issue's bound for a spline on fewer knots: the every-x spline's curve (ours, and scipy's, for the
    same λ) to 1e-6 of the y range; λ by GCV as the every-x one chooses it."""
    x, y = grid_sample(20_000, seed)
    every = fit_spline(x, y)
    fewer = pspline.fit(x, y)
    span = float(np.ptp(y))
    at = np.linspace(0.0, 10.0, 4001)
    same = pspline.fit(x, y, lam=every.lam)
    assert np.max(np.abs(same(at) - every(at))) <= 1e-6 * span
    assert np.max(np.abs(same(at) - make_smoothing_spline(x, y, lam=every.lam)(at))) <= 1e-6 * span
    assert fewer.lam == pytest.approx(every.lam, rel=1e-3) and fewer.edf == pytest.approx(every.edf, rel=1e-3)
    estimate = pspline.richardson(same, Points(x, y))
    assert np.max(np.abs(same(at) - every(at))) / span <= 3 * estimate


def test_the_model_takes_fewer_knots_past_its_limit_and_not_before():
    x, y = grid_sample(smoothing.FULL, 3)
    assert smoothing.spline_of(Points(x, y), "auto")[0].weight is not None  # every x a knot
    more_x, more_y = grid_sample(smoothing.FULL + 1, 3)
    fewer, _, distance = smoothing.spline_of(Points(more_x, more_y), "auto")
    assert fewer.weight is None and fewer.knots.size == pspline.KNOTS and distance < 1e-6


def test_close_x_below_the_limit_fall_back_to_fewer_knots():
    """Four thousand random x: Reinsch's two counts of tr H part (its matrix ill-conditioned by gaps a
    million times below the mean), so the knots go to quantiles rather than give a λ that is noise."""
    rng = np.random.default_rng(4)
    x = np.sort(rng.uniform(0.0, 10.0, 4_000))
    x[1::97] = x[0::97][:x[1::97].size] + 1e-9  # some pairs almost tied
    y = np.sin(x) + rng.normal(0.0, 0.1, x.size)
    spline, _, distance = smoothing.spline_of(Points(x, y), "auto")
    assert spline.weight is None and spline.knots.size == 1_000 and distance < 1e-5
