"""Training against the least-squares optimum computed independently by numpy."""

from pathlib import Path

import numpy as np
import pytest

from fitbp.backprop import graph
from fitbp.errors import DegreeTooHigh, FitbpError
from fitbp.sources.files import load_points
from fitbp.sources.data import Points
from fitbp.fitting.trainer import fit_points


def lstsq_mse(x, y, degree):
    """The optimum MSE by numpy.linalg.lstsq on a Legendre basis of the mapped x (well conditioned)."""
    t = np.polynomial.polyutils.mapdomain(x, [x.min(), x.max()], [-1, 1])
    basis = np.polynomial.legendre.legvander(t, degree)
    coef = np.linalg.lstsq(basis, y, rcond=None)[0]
    return float(np.mean((basis @ coef - y) ** 2))


def datasets():
    rng = np.random.default_rng(7)
    uniform = rng.uniform(-3, 3, 2000)
    years = np.arange(1950, 2021, dtype=float)
    near_million = 1e6 + rng.uniform(0, 1, 800)
    tiny = rng.uniform(0, 1e-3, 800)
    skewed = rng.exponential(size=3000)
    clustered = np.r_[rng.normal(0, 0.01, 1000), rng.uniform(-1, 1, 30)]
    wide = rng.uniform(-1e6, 1e7, 1000)
    for name, x in [("uniform", uniform), ("years", years), ("near 1e6", near_million), ("tiny", tiny),
                    ("skewed", skewed), ("clustered", clustered), ("wide", wide)]:
        u = (x - x.min()) / np.ptp(x)
        y = np.sin(6 * u) * 40 + 3 + rng.normal(0, 0.5, x.size)
        yield name, x, y


@pytest.fixture
def passes(monkeypatch):
    """Counts the backward passes of the computing graph."""
    count = [0]
    backward = graph.Node.backward

    def counted(node, **options):
        count[0] += 1
        return backward(node, **options)

    monkeypatch.setattr(graph.Node, "backward", counted)
    return count


@pytest.mark.parametrize("name, x, y", list(datasets()), ids=lambda v: v if isinstance(v, str) else "")
def test_default_optimizer_reaches_the_least_squares_optimum_in_few_passes(name, x, y, passes):
    for degree in range(11):
        passes[0] = 0
        result = fit_points(Points(x, y), degree)
        best = lstsq_mse(x, y, degree)
        assert result.converged and result.optimizer == "newton"
        assert abs(result.mse - best) <= 1e-9 * best, (degree, result.mse, best)
        assert passes[0] <= 2 * (degree + 1), (degree, passes[0])


@pytest.mark.parametrize("name, x, y", list(datasets())[::3], ids=lambda v: v if isinstance(v, str) else "")
def test_conjugate_gradient_reaches_the_optimum_too(name, x, y):
    for degree in (0, 3, 7, 10):
        result = fit_points(Points(x, y), degree, optimizer="cg")
        best = lstsq_mse(x, y, degree)
        assert result.converged
        assert abs(result.mse - best) <= 1e-9 * best, (degree, result.mse, best)
        assert result.epochs <= 3 * (degree + 1) + 2


def test_fit_reproduces_an_exact_polynomial(rng):
    x = rng.uniform(1990, 2000, 300)
    y = 2.0 - 0.5 * (x - 1995) + 0.25 * (x - 1995) ** 3
    result = fit_points(Points(x, y), 3)
    np.testing.assert_allclose(result.polynomial(x), y, rtol=1e-10, atol=1e-9)
    assert result.r2 == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_first_order_optimizers_approach_the_optimum(optimizer, rng):
    x = rng.uniform(-2, 2, 500)
    y = 1 + 2 * x - x ** 2 + rng.normal(0, 0.1, x.size)
    result = fit_points(Points(x, y), 2, optimizer=optimizer, epochs=20000, tol=1e-14)
    best = lstsq_mse(x, y, 2)
    assert result.mse == pytest.approx(best, rel=1e-6)
    assert len(result.loss_history) == result.epochs
    assert result.loss_history[-1] < result.loss_history[0]


def test_r2_and_rmse_come_from_the_residuals(rng):
    x = rng.uniform(0, 1, 100)
    y = x ** 2 + rng.normal(0, 0.05, x.size)
    result = fit_points(Points(x, y), 2)
    residual = y - result.polynomial(x)
    assert result.mse == pytest.approx(np.mean(residual ** 2), rel=1e-12)
    assert result.rmse == pytest.approx(np.sqrt(np.mean(residual ** 2)), rel=1e-12)
    assert result.r2 == pytest.approx(1 - np.sum(residual ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-12)


def test_divergence_is_an_error_that_suggests_a_smaller_lr(rng):
    x = rng.uniform(-1, 1, 100)
    y = x ** 3
    with pytest.raises(FitbpError, match=r"diverged.*smaller lr= than"):
        fit_points(Points(x, y), 8, optimizer="gd", lr=50.0)


def test_running_out_of_epochs_is_reported_not_hidden(rng):
    x = rng.uniform(-1, 1, 100)
    result = fit_points(Points(x, np.sin(3 * x)), 5, optimizer="gd", epochs=50)
    assert not result.converged
    assert result.epochs == 50
    assert any("without converging" in w for w in result.warnings)


def test_too_few_distinct_x_is_an_error():
    x = np.array([1.0, 1.0, 2.0, 2.0, 3.0])
    with pytest.raises(FitbpError, match="degree 3 needs at least 4 distinct x values, the data has 3"):
        fit_points(Points(x, x, source="d.csv"), 3)


@pytest.mark.parametrize("settings, message", [
    ({"degree": -1}, "degree"),
    ({"degree": 2, "optimizer": "lbfgs"}, "unknown optimizer"),
    ({"degree": 2, "optimizer": "gd", "lr": 0.0}, "learning rate"),
    ({"degree": 2, "optimizer": "gd", "lr": float("nan")}, "learning rate"),
    ({"degree": 2, "epochs": 0}, "epochs"),
    ({"degree": 2, "tol": -1.0}, "tolerance"),
])
def test_bad_settings_are_errors(settings, message, rng):
    x = rng.uniform(size=10)
    with pytest.raises(FitbpError, match=message):
        fit_points(Points(x, x), **settings)


def test_huge_y_values_give_finite_correct_fits(rng):
    x = rng.uniform(-1, 1, 200)
    y = 1e150 * (1 + x + rng.normal(0, 0.01, x.size))
    result = fit_points(Points(x, y), 1)
    assert np.isfinite(result.mse)
    assert result.mse == pytest.approx(lstsq_mse(x, y / 1e150, 1) * 1e300, rel=1e-9)


def test_raw_expansion_of_years_is_flagged(rng):
    x = np.arange(1950, 2021, dtype=float)
    y = np.sin(x / 7) + rng.normal(0, 0.1, x.size)
    result = fit_points(Points(x, y), 6)
    assert result.raw_digits_lost > 6
    assert any("lose about" in w for w in result.warnings)


def test_same_seed_same_fit(rng):
    x = rng.uniform(-1, 1, 100)
    y = np.cos(2 * x)
    first = fit_points(Points(x, y), 4, optimizer="adam", epochs=300, seed=3)
    again = fit_points(Points(x, y), 4, optimizer="adam", epochs=300, seed=3)
    assert first.polynomial == again.polynomial


def test_summary_has_the_documented_keys(rng):
    x = rng.uniform(-1, 1, 50)
    summary = fit_points(Points(x, x ** 2, source="s.csv"), 2).summary()
    for key in ["degree", "coefficients", "center", "scale", "taylor_coefficients", "mse", "rmse", "r2",
                "n_points", "optimizer", "epochs", "converged", "seconds", "source"]:
        assert key in summary
    assert summary["source"] == "s.csv"
    assert len(summary["coefficients"]) == 3


def test_a_degree_float64_cannot_carry_names_the_one_it_can(rng):
    """On data float64 cannot resolve (99.99 % of x within 1e-4 of 0), the Taylor form's coefficients
    cancel: degree 6 misses its optimum, and the error names the highest degree that reaches it."""
    x = np.r_[rng.normal(0, 1e-4, 20000), [-1.0, 1.0]]
    y = np.cos(x) + rng.normal(0, 0.1, x.size)
    with pytest.raises(DegreeTooHigh, match="degree 6 is more than the Taylor form can carry") as raised:
        fit_points(Points(x, y), 6)
    carried = fit_points(Points(x, y), raised.value.carried)
    assert raised.value.carried == 5
    assert carried.mse <= lstsq_mse(x, y, 5) * (1 + 1e-6)
    assert any("its curve is the least-squares optimum" in w for w in carried.warnings)
    assert not any("without converging" in w for w in carried.warnings)



SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.mark.parametrize("name", ["sine", "runge", "cubic", "outliers", "years"])
def test_every_degree_up_to_n_minus_1_reaches_its_optimum_or_names_one_that_does(name):
    """A fit is never worse than the best fit of a lower degree, nor more than 1e-6 above its optimum
    (numpy's lstsq in a Legendre basis); where the Taylor form cannot carry that, an error names the
    highest degree that does, and that degree's fit keeps the rule."""
    points = load_points(SAMPLES / f"{name}.csv")
    n = points.x.size
    optima = np.minimum.accumulate([lstsq_mse(points.x, points.y, d) for d in range(n)])
    carried = set()
    for degree in [*range(0, 50), *range(50, n - 1, 9), n - 1]:
        try:
            result = fit_points(points, degree)
        except DegreeTooHigh as e:
            assert e.carried < degree
            carried.add(e.carried)
            continue
        assert result.mse <= optima[degree] * (1 + 1e-6) + 1e-24, degree
    for degree in carried:
        assert fit_points(points, degree).mse <= optima[degree] * (1 + 1e-6) + 1e-24
    assert len(carried) <= 1  # one answer to "how high can I go", whichever degree asked


def test_a_textbook_optimiser_short_of_the_optimum_says_by_how_much():
    points = load_points(SAMPLES / "sine.csv")
    result = fit_points(points, 25, optimizer="gd", epochs=300)
    ratio = result.mse / lstsq_mse(points.x, points.y, 25)
    assert ratio > 1.01
    assert f"the fit's MSE is {ratio:.3g} times the least-squares optimum of its degree" in " ".join(result.warnings)


def arnoldi_optimum(x, y, degree):
    """The least-squares optimum's MSE by Vandermonde with Arnoldi (Brubeck, Nakatsukasa and Trefethen):
    an orthonormal basis of the polynomials on these x built column by column, stable at any degree."""
    t = (x - x.mean()) / np.ptp(x)
    basis = [np.ones_like(t) / np.sqrt(t.size)]
    for _ in range(degree):
        v = t * basis[-1]
        for _ in range(2):  # orthogonalise twice
            for q in basis:
                v = v - (q @ v) * q
        basis.append(v / np.linalg.norm(v))
    q = np.array(basis).T
    residual = y - q @ (q.T @ y)
    return float(residual @ residual) / x.size


def test_a_fit_that_seems_better_than_the_optimum_is_rounding_noise_and_refused():
    """Two tight clusters: at degree 20 float64's Horner sum is noise that fits the data's own noise,
    so the MSE it reports lies below the optimum: that is refused as much as one above it."""
    rng = np.random.default_rng(5)
    x = np.r_[rng.normal(0, 0.01, 100), rng.normal(1, 0.01, 100)]
    y = np.cos(3 * x) + rng.normal(0, 0.0085, x.size)
    for degree in range(8, 23):
        try:
            result = fit_points(Points(x, y), degree)
        except DegreeTooHigh as e:
            assert e.carried < degree
            kept = fit_points(Points(x, y), e.carried)
            assert abs(kept.mse / arnoldi_optimum(x, y, e.carried) - 1) <= 1e-6
            continue
        assert abs(result.mse / arnoldi_optimum(x, y, degree) - 1) <= 1e-6, degree


@pytest.mark.parametrize("degree", [7, 9, 10])
def test_newton_lands_on_the_optimum_to_the_rounding_of_the_triangle(degree):
    """Its last measured step is taken too (no pass needed): the coefficients agree with the least-squares
    solution in 40 digits to 1e-12, where stopping one step short left 3e-12 at degree 9."""
    import mpmath

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2 * np.pi, 3000)
    y = np.sin(x) + rng.normal(0, 0.1, x.size)
    result = fit_points(Points(x, y), degree)
    with mpmath.workdps(40):
        center, scale = mpmath.mpf(result.polynomial.center), mpmath.mpf(result.polynomial.scale)
        t = [(mpmath.mpf(a) - center) / scale for a in x.tolist()]
        v = mpmath.matrix([[u ** j for j in range(degree + 1)] for u in t])
        exact = mpmath.lu_solve(v.T * v, v.T * mpmath.matrix(y.tolist()))
        exact = np.array([float(a) for a in exact])
    assert np.max(np.abs(np.array(result.polynomial.coefficients) - exact)) <= 1e-12 * np.max(np.abs(exact))
