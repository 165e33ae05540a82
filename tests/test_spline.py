"""The smoothing spline against scipy's make_smoothing_spline and against independent computations.

scipy is only the reference here: fitbp.fitting.spline imports numpy alone.  No expected number is
written down; each is computed, by scipy or by dense linear algebra built in the test itself.
"""

import json
import math

import numpy as np
import pytest

from fitbp.fitting.spline import Spline, fit_spline, gcv_score

interpolate = pytest.importorskip("scipy.interpolate")
optimize = pytest.importorskip("scipy.optimize")

SEEDS = [0, 1, 2]


def data(seed, n=120, span=10.0, weighted=False):
    """Unsorted noisy points of a smooth curve (no ties: random reals)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, span, n)
    y = np.sin(2.0 * math.pi * x / span) + 0.3 * x / span + 0.2 * rng.standard_normal(n)
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    return x, y, w


def scipy_spline(x, y, w, lam):
    """scipy's smoothing spline of the same points (scipy wants them sorted)."""
    order = np.argsort(x)
    return interpolate.make_smoothing_spline(x[order], y[order], None if w is None else w[order], lam=lam)


def natural(x, w):
    """A natural scale for λ: the mean weight times the mean spacing cubed, where the curvature of
    one interval costs about as much as the residual of one point."""
    return (1.0 if w is None else float(np.mean(w))) * (np.ptp(x) / (len(x) - 1)) ** 3


def probe(x):
    """At the points, between them, and beyond both ends."""
    lo, hi = x.min(), x.max()
    width = hi - lo
    return np.concatenate((x, np.linspace(lo - 0.1 * width, hi + 0.1 * width, 777)))


def dense_reinsch(x, y, w, lam):
    """The smoothing spline at sorted distinct x by dense linear algebra: g = (W + λ Q R⁻¹ Qᵀ)⁻¹ W y."""
    n = len(x)
    h = np.diff(x)
    q = np.zeros((n, n - 2))
    r = np.zeros((n - 2, n - 2))
    for k in range(n - 2):
        q[k, k], q[k + 1, k], q[k + 2, k] = 1 / h[k], -1 / h[k] - 1 / h[k + 1], 1 / h[k + 1]
        r[k, k] = (h[k] + h[k + 1]) / 3
        if k + 1 < n - 2:
            r[k, k + 1] = r[k + 1, k] = h[k + 1] / 6
    weights = np.diag(w)
    hat = np.linalg.solve(weights + lam * q @ np.linalg.solve(r, q.T), weights)
    return hat @ y, hat


# ---------------------------------------------------------------------------------------------
# the curve for a given λ


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("decades", [-6, -3, 0, 3])
def test_equals_scipy(seed, weighted, decades):
    x, y, w = data(seed, weighted=weighted)
    lam = natural(x, w) * 10.0 ** decades
    ours = fit_spline(x, y, w, lam=lam)
    theirs = scipy_spline(x, y, w, lam)
    at = probe(x)
    assert np.max(np.abs(ours(at) - theirs(at))) <= 1e-8 * np.ptp(y)
    assert ours.lam == lam and ours.n == len(x)
    assert ours.second[0] == 0.0 and ours.second[-1] == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_ties_equal_scipy_on_merged_points(seed):
    rng = np.random.default_rng(seed)
    distinct = rng.uniform(0.0, 10.0, 40)
    x = np.concatenate((distinct, rng.choice(distinct, 60)))  # 60 repeats of some of the 40
    y = np.cos(x) + 0.2 * rng.standard_normal(len(x))
    w = rng.uniform(0.5, 2.0, len(x))
    lam = natural(distinct, None)
    ours = fit_spline(x, y, w, lam=lam)
    # merged independently: one point per distinct x, summed weight, weighted mean y
    merged_x = np.sort(distinct)
    merged_w = np.array([w[x == v].sum() for v in merged_x])
    merged_y = np.array([np.dot(w[x == v], y[x == v]) for v in merged_x]) / merged_w
    theirs = interpolate.make_smoothing_spline(merged_x, merged_y, merged_w, lam=lam)
    at = probe(x)
    assert np.max(np.abs(ours(at) - theirs(at))) <= 1e-8 * np.ptp(y)
    assert np.array_equal(ours.knots, merged_x) and ours.n == len(x)
    # rss over the original points, each with its own weight
    assert ours.rss == pytest.approx(float(np.sum(w * (y - theirs(x)) ** 2)), rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_lambda_zero_interpolates(seed):
    x, y, w = data(seed, n=60, weighted=True)
    s = fit_spline(x, y, w, lam=0)
    assert np.max(np.abs(s(x) - y)) <= 1e-12 * np.ptp(y)
    assert s.edf == pytest.approx(len(x), abs=1e-9) and s.rss <= 1e-20


@pytest.mark.parametrize("seed", SEEDS)
def test_huge_lambda_is_the_weighted_line(seed):
    x, y, w = data(seed, n=60, weighted=True)
    s = fit_spline(x, y, w, lam=1e10 * np.mean(w) * np.ptp(x) ** 3)
    slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(w))  # polyfit squares its weights
    at = probe(x)
    assert np.max(np.abs(s(at) - (intercept + slope * at))) <= 1e-6 * np.ptp(y)
    assert s.edf == pytest.approx(2.0, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# the trace of the hat matrix, and GCV


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("decades", [-3, 0, 3])
def test_edf_is_the_trace_of_the_dense_hat_matrix(seed, decades):
    """Column j of the hat matrix is the fit of the j-th unit vector; ties included."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(0.0, 10.0, 40), 1)  # ties among 40 points on a 0.1 grid
    w = rng.uniform(0.5, 2.0, 40)
    lam = natural(np.unique(x), None) * 10.0 ** decades
    hat = np.column_stack([fit_spline(x, np.eye(40)[j], w, lam=lam)(x) for j in range(40)])
    y = rng.standard_normal(40)
    s = fit_spline(x, y, w, lam=lam)
    assert s.edf == pytest.approx(np.trace(hat), abs=1e-8)
    assert np.allclose(s(x), hat @ y, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_gcv_minimum_by_dense_linear_algebra(seed):
    """An independent GCV: the dense hat matrix, scipy's formula, scipy's bounded Brent on log λ
    with a tight tolerance.  The two minimisers agree to 1e-4 in λ (GCV is flat at its minimum:
    λ 1e-4 off changes it by about 1e-10 relatively, the rounding noise of either computation)."""
    x, y, w = data(seed, n=50, weighted=True)
    order = np.argsort(x)
    xs, ys, ws = x[order], y[order], w[order]
    n = len(x)

    def gcv(u):
        fitted, hat = dense_reinsch(xs, ys, ws, math.exp(u))
        return n * np.sum((ys - fitted) ** 2) / (n - np.trace(hat)) ** 2

    ours = fit_spline(x, y, w)
    u0 = math.log(ours.lam)
    best = optimize.minimize_scalar(gcv, bounds=(u0 - 3.0, u0 + 3.0), method="bounded",
                                    options={"xatol": 1e-9})
    assert ours.lam == pytest.approx(math.exp(best.x), rel=1e-4)
    assert ours.gcv == pytest.approx(best.fun, rel=1e-9)
    assert ours.gcv == pytest.approx(gcv(u0), rel=1e-9)
    at = probe(x)
    reference = scipy_spline(x, y, w, math.exp(best.x))
    assert np.max(np.abs(ours(at) - reference(at))) <= 1e-5 * np.ptp(y)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_gcv_choice_equals_scipys(seed, weighted):
    """scipy's lam=None searches λ ∈ (0, n) with absolute tolerance 1e-5 on flat GCV; with x spanning
    0…40 its minimum (λ ≈ 10…50) is inside and resolved, and the two λ agree to 2e-3 (measured on these
    data: 3e-6 to 3e-4), the curves to 3e-4 of the y range (measured 6e-8 to 2e-5), and ours is never the
    worse minimum of scipy's own criterion (the unweighted residuals, see gcv_score)."""
    x, y, w = data(seed, n=150, span=40.0, weighted=weighted)
    theirs = scipy_spline(x, y, w, None)
    ours = fit_spline(x, y, w)
    at = probe(x)
    assert np.max(np.abs(ours(at) - theirs(at))) <= 3e-4 * np.ptp(y)
    # scipy's λ, read back from its curve: the λ whose fit is its fit
    scipys_lam = optimize.minimize_scalar(
        lambda u: float(np.sum((scipy_spline(x, y, w, math.exp(u))(x) - theirs(x)) ** 2)),
        bounds=(math.log(ours.lam) - 1.0, math.log(ours.lam) + 1.0), method="bounded",
        options={"xatol": 1e-10}).x
    assert ours.lam == pytest.approx(math.exp(scipys_lam), rel=2e-3)
    assert ours.gcv <= gcv_score(x, y, w, math.exp(scipys_lam)) * (1 + 1e-9)


def test_gcv_weights_enter_as_scipy_has_them():
    """scipy's GCV numerator is the unweighted sum of squared residuals; a weighted numerator would
    pick another λ for these weights (the test would then fail), the unweighted one picks scipy's."""
    x, y, _ = data(7, n=150, span=40.0)
    w = np.where(x < 20.0, 0.2, 5.0)
    ours = fit_spline(x, y, w)
    theirs = scipy_spline(x, y, w, None)
    assert np.max(np.abs(ours(x) - theirs(x))) <= 3e-4 * np.ptp(y)
    fitted = ours(x)
    plain = len(x) * np.sum((y - fitted) ** 2) / (len(x) - ours.edf) ** 2
    assert ours.gcv == pytest.approx(plain, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# derivative, pieces, round trip


@pytest.mark.parametrize("seed", SEEDS)
def test_derivative(seed):
    x, y, w = data(seed, weighted=True)
    lam = natural(x, w)
    s = fit_spline(x, y, w, lam=lam)
    at = probe(x)
    step = 1e-6 * np.ptp(x)
    central = (s(at + step) - s(at - step)) / (2 * step)
    slope_range = np.ptp(s.derivative(at))
    # a step across a knot sees two cubics: the first derivative is continuous, so only O(step)
    assert np.max(np.abs(s.derivative(at) - central)) <= 1e-4 * slope_range
    theirs = scipy_spline(x, y, w, lam).derivative()
    assert np.max(np.abs(s.derivative(at) - theirs(at))) <= 1e-8 * slope_range
    assert isinstance(s.derivative(float(x[0])), float)


@pytest.mark.parametrize("seed", SEEDS)
def test_pieces_reproduce_the_curve(seed):
    x, y, w = data(seed, weighted=True)
    s = fit_spline(x, y, w, lam=natural(x, w))
    table = s.pieces()
    assert table.shape == (len(s.knots) - 1, 5)
    at = probe(x)
    # the row whose x_i is the last at or below the point; the first row below the knots
    row = np.maximum(np.searchsorted(table[:, 0], at, side="right") - 1, 0)
    x0, a, b, c, d = table[row].T
    t = at - x0
    printed = a + b * t + c * t ** 2 + d * t ** 3
    assert np.max(np.abs(printed - s(at))) <= 1e-12 * np.max(np.abs(s(at)))


@pytest.mark.parametrize("seed", SEEDS)
def test_round_trip_bit_for_bit(seed):
    x, y, w = data(seed, weighted=True)
    s = fit_spline(x, y, w)
    back = Spline.from_dict(json.loads(json.dumps(s.to_dict())))
    for name in ("knots", "values", "second"):
        assert getattr(back, name).tobytes() == getattr(s, name).tobytes()
    for name in ("lam", "edf", "rss", "gcv", "n"):
        assert getattr(back, name) == getattr(s, name)
    at = probe(x)
    assert back(at).tobytes() == s(at).tobytes()
    assert back.pieces().tobytes() == s.pieces().tobytes()


def test_scalar_in_scalar_out():
    x, y, _ = data(0)
    s = fit_spline(x, y, lam=1.0)
    assert isinstance(s(5.0), float)
    assert s(np.array([[1.0, 2.0], [3.0, 4.0]])).shape == (2, 2)


# ---------------------------------------------------------------------------------------------
# scale and refusals


@pytest.mark.slow  # about 10 s on 2 slow cores (two fits of a million points)
def test_a_million_points():
    rng = np.random.default_rng(3)
    n = 1_000_000
    x = np.linspace(0.0, 10.0, n) + rng.uniform(-0.25, 0.25, n) * 10.0 / n  # spacing within 2:1
    y = np.sin(x) + 0.3 * rng.standard_normal(n)
    s = fit_spline(x, y)  # no bound on the time: a test must not depend on the machine (bench/ measures)
    assert 2.0 < s.edf < 1000.0 and math.isfinite(s.gcv)
    # the fit of the chosen λ is that λ's fit (a second, direct fit agrees)
    again = fit_spline(x, y, lam=s.lam)
    assert np.array_equal(again.values, s.values)
    # it finds the curve under the noise
    grid = np.linspace(0.5, 9.5, 1001)
    assert np.max(np.abs(s(grid) - np.sin(grid))) < 0.02


@pytest.mark.parametrize("x, y, w, lam, words", [
    ([0.0, 1.0, 1.0, 0.0], [1.0, 2.0, 3.0, 4.0], None, 1.0, "at least 3 distinct x"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 0.0, 1.0], 1.0, "at least 3 distinct x"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, -1.0, 1.0], 1.0, "negative"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, np.inf, 1.0], 1.0, "not finite"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 1.0], 1.0, "one per point"),
    ([0.0, np.nan, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], None, 1.0, "x holds"),
    ([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, np.nan, 4.0], None, 1.0, "y holds"),
    ([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0], None, 1.0, "same length"),
    ([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], None, -1.0, "≥ 0"),
    ([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], None, "gcv", "auto"),
])
def test_refusals(x, y, w, lam, words):
    with pytest.raises(ValueError, match=words):
        fit_spline(x, y, w, lam=lam)


def test_three_points_suffice():
    x = np.array([2.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 3.0])
    s = fit_spline(x, y, lam=0.5)
    theirs_points = dense_reinsch(np.sort(x), y[np.argsort(x)], np.ones(3), 0.5)[0]
    assert np.allclose(s.values, theirs_points, rtol=0, atol=1e-13)
