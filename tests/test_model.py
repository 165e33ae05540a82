"""The Taylor polynomial against numpy.polynomial, an independent implementation."""

import numpy as np
import pytest
from numpy.polynomial import Polynomial as NumpyPolynomial

from fitbp.fitting import model
from fitbp.engines import moments
from fitbp.fitting.model import Polynomial, design_matrix, scaling


@pytest.mark.parametrize("lo, hi", [(-3, 3), (1950, 2020), (1e6, 1e6 + 1), (0, 1e-3), (-1e300, 1e300)])
def test_scaling_maps_the_range_onto_unit_interval(lo, hi):
    x = np.linspace(lo, hi, 101)
    c, s = scaling(x)
    t = (x - c) / s
    assert t.min() == pytest.approx(-1, abs=1e-12)
    assert t.max() == pytest.approx(1, abs=1e-12)


def test_scaling_of_a_single_x_is_not_zero():
    assert scaling(np.array([5.0, 5.0])) == (5.0, 1.0)


def test_design_matrix_columns_are_ascending_powers():
    t = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(design_matrix(t, 3), np.array([t ** 0, t, t ** 2, t ** 3]).T)


def reference(p):
    """The same polynomial built by numpy: in t, then mapped back to x by numpy's own convert()."""
    in_t = NumpyPolynomial(p.coefficients, domain=[p.center - p.scale, p.center + p.scale], window=[-1, 1])
    return in_t, in_t.convert()


@pytest.mark.parametrize("center, scale", [(0.0, 1.0), (2.0, 0.5), (-3.0, 4.0), (0.5, 1e-3)])
def test_evaluation_and_raw_coefficients_agree_with_numpy(center, scale, rng):
    a = tuple(rng.normal(size=6))
    p = Polynomial(a, center, scale)
    in_t, in_x = reference(p)
    x = np.linspace(center - scale, center + scale, 50)
    np.testing.assert_allclose(p(x), in_t(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.raw_coefficients(), in_x.coef, rtol=1e-9, atol=1e-12 * np.abs(in_x.coef).max())


def test_raw_coefficients_are_exact_for_exactly_representable_inputs():
    # (x - 1)^2 / 4 = 0.25 - 0.5 x + 0.25 x^2
    p = Polynomial((0.0, 0.0, 1.0), center=1.0, scale=2.0)
    assert p.raw_coefficients() == [0.25, -0.5, 0.25]


def test_raw_coefficients_beyond_float_range_become_infinite():
    p = Polynomial((0.0, 0.0, 0.0, 0.0, 1.0), center=0.0, scale=1e-100)
    assert p.raw_coefficients()[4] == float("inf")


def test_digits_lost_is_small_near_zero_and_large_for_years(rng):
    a = tuple(rng.normal(size=6))
    assert Polynomial(a, 0.0, 1.0).raw_digits_lost(np.linspace(-1, 1, 9)) < 2
    years = np.arange(1950, 2021.0)
    lost = Polynomial(a, 1985.0, 35.0).raw_digits_lost(years)
    assert lost > 8
    # The claim matches reality: evaluating the raw form really does lose that many digits.
    p = Polynomial(a, 1985.0, 35.0)
    raw = np.polynomial.polynomial.polyval(years, p.raw_coefficients())
    actual = np.log10(np.max(np.abs(raw - p(years))) / np.max(np.abs(p(years))) / 2.2e-16)
    assert abs(actual - lost) < 2.5


def whole_and_triangle(x, y, degree):
    center, scale = model.scaling(x)
    t = (x - center) / scale
    return model.design_matrix(t, degree), moments.triangle(x, y, center, scale, 1.0, degree)


@pytest.mark.parametrize("chunk", [7, 64, moments.CHUNK])
@pytest.mark.parametrize("spread", ["uniform", "clustered"])
def test_the_triangle_graph_is_the_whole_data_graph(chunk, spread, rng, monkeypatch):
    """(‖Ra − z‖² + ρ²)/n and its backprop gradient equal mean((Va − y)²) and 2/n Vᵀ(Va − y), for
    power sums and (clustered x: cond(V) > 1e5) for Householder QR, cut into chunks anywhere."""
    monkeypatch.setattr(moments, "CHUNK", chunk)
    x = rng.uniform(-3, 5, 500) if spread == "uniform" else np.r_[rng.normal(0, 1e-4, 495), [-1, -.5, 0.5, 1, 2]]
    y = np.cos(x) + rng.normal(0, 0.1, x.size)
    design, triangle = whole_and_triangle(x, y, 6)
    assert (triangle.condition < moments.GRAM_CONDITION) == (spread == "uniform")
    for k in (rng.normal(size=7), np.linalg.lstsq(design, y, rcond=None)[0]):
        loss, grad = model.triangle_loss_and_gradient(triangle, k)
        residual = design @ k - y
        assert loss == pytest.approx(np.mean(residual ** 2), rel=1e-9)
        np.testing.assert_allclose(grad, 2 / x.size * design.T @ residual, rtol=1e-7,
                                   atol=1e-9 * np.abs(design.T @ y).max() / x.size)
        assert model.loss_and_gradient(design, y, k)[0] == pytest.approx(loss, rel=1e-9)


def test_residual_sums_merge_chunks_without_cancelling(rng, monkeypatch):
    monkeypatch.setattr(moments, "CHUNK", 33)
    x = rng.uniform(0, 1, 1000)
    y = 1e8 + x + rng.normal(0, 1e-3, x.size)  # a mean far larger than the spread
    p = model.Polynomial((1e8,), 0.0, 1.0)
    sums = moments.residuals(p, x, y, 0)
    r = y - 1e8
    assert sums.count == 1000 and sums.finite
    assert sums.squares == pytest.approx(r @ r, rel=1e-12)
    assert sums.mean == pytest.approx(r.mean(), rel=1e-12)
    assert sums.spread == pytest.approx(np.sum((r - r.mean()) ** 2), rel=1e-9)
    assert sums.y_spread == pytest.approx(np.sum((y - y.mean()) ** 2), rel=1e-6)


def test_distinct_values_are_counted_up_to_a_limit(monkeypatch):
    monkeypatch.setattr(moments, "CHUNK", 4)
    x = np.array([3.0, 3.0, 1.0, 3.0, 1.0, -0.0, 0.0, 3.0, 2.0])
    assert moments.distinct_up_to(x, 10) == 4
    assert moments.distinct_up_to(x, 3) == 3
