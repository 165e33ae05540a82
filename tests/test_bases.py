"""The Basis protocol (fitbp.fitting.bases), proven by Chebyshev's: each basis checked against numpy's
own polynomial classes, and a Chebyshev fit against numpy's Chebyshev.fit, the Taylor fit of the same
points and the textbook formulas, through the library a notebook user calls."""

import json
import math

import numpy as np
import pytest

import fitbp
from fitbp.errors import DegreeTooHigh
from fitbp.fitting import bases, modelfile
from fitbp.fitting.model import Polynomial
from tests.helpers import ROOT

SINE = ROOT / "sample_data" / "sine.csv"
CHEBYSHEV = bases.named("chebyshev")


@pytest.fixture(scope="module")
def sine():
    data = np.loadtxt(SINE, delimiter=",", skiprows=1)
    return data[:, 0], data[:, 1]


@pytest.mark.parametrize("degree", [0, 1, 2, 7, 30])
def test_each_basis_is_numpys_own(degree):
    """Columns, evaluation, derivative and the exact change into powers, against numpy.polynomial."""
    rng = np.random.default_rng(degree)
    t, c = rng.uniform(-1, 1, 50), rng.normal(size=degree + 1)
    np.testing.assert_array_equal(bases.TAYLOR.columns(t, degree), np.vander(t, degree + 1, increasing=True))
    np.testing.assert_allclose(CHEBYSHEV.columns(t, degree), np.polynomial.chebyshev.chebvander(t, degree),
                               rtol=0, atol=1e-13)
    np.testing.assert_allclose(CHEBYSHEV.evaluate(tuple(c), t), np.polynomial.chebyshev.chebval(t, c), atol=1e-13)
    np.testing.assert_allclose(bases.TAYLOR.evaluate(tuple(c), t), np.polynomial.polynomial.polyval(t, c),
                               atol=1e-13)
    np.testing.assert_allclose(CHEBYSHEV.derivative(c), np.polynomial.chebyshev.chebder(c))
    for i in range(degree + 1):  # column i of P: T_i in powers of t, in integers
        unit = np.eye(degree + 1)[i]
        assert [p[i] for p in CHEBYSHEV.powers(degree)] == [
            int(v) for v in np.pad(np.polynomial.chebyshev.cheb2poly(unit), (0, degree + 1 - i - 1))]
    # the design matrix is chebyshev_matrix · M in either basis
    for basis in bases.BASES.values():
        np.testing.assert_allclose(CHEBYSHEV.columns(t, degree) @ basis.in_chebyshev(degree),
                                   basis.columns(t, degree), atol=1e-12)


def test_roots_are_where_the_curve_is_zero():
    c = (0.3, -1.2, 0.5, 0.8)
    for basis in bases.BASES.values():
        for root in basis.roots(c):
            if abs(root.imag) < 1e-12:
                assert abs(basis.evaluate(c, np.array(root.real))) < 1e-12


def test_an_unknown_basis_names_the_choices(sine):
    choices = "'taylor', 'chebyshev', 'fourier', 'spline'"
    with pytest.raises(ValueError, match=f"basis= must be one of {choices}, not 'legendre'"):
        fitbp.fit(*sine, degree=3, basis="legendre")


def test_degree_100_on_sine_reaches_the_optimum_where_the_taylor_form_stops_at_38(sine):
    """The issue's proof of the design: numpy's Chebyshev.fit (SVD) is the independent answer."""
    x, y = sine
    fit = fitbp.fit(x, y, degree=100, basis="chebyshev")
    theirs = np.polynomial.Chebyshev.fit(x, y, 100)
    their_mse = float(np.mean((theirs(x) - y) ** 2))
    assert fit.mse <= their_mse * (1 + 1e-9)  # no worse than numpy's to 1e-9 (here: 4e-6 lower)
    assert abs(fit.mse - their_mse) <= 1e-5 * their_mse  # and the same optimum, to float64's resolution of it
    assert fit.mse == pytest.approx(float(np.mean((fit(x) - y) ** 2)), rel=1e-12)
    with pytest.raises(DegreeTooHigh, match="every degree up to 38 reaches its optimum"):
        fitbp.fit(x, y, degree=100)


@pytest.fixture(scope="module")
def pair(sine):
    """The same points fitted at degree 6 in both bases, with σ: one curve, two sets of coefficients."""
    x, y = sine
    sigma = 0.05 + 0.1 * np.abs(np.sin(3 * x))
    return (fitbp.fit(x, y, degree=6, sigma=sigma), fitbp.fit(x, y, degree=6, sigma=sigma, basis="chebyshev"),
            x, y, sigma)


def test_a_chebyshev_fit_is_the_taylor_fits_curve_with_numpys_coefficients(pair):
    taylor, chebyshev, x, y, sigma = pair
    assert chebyshev.basis == "chebyshev" and taylor.basis == "taylor"
    np.testing.assert_allclose(chebyshev(x), taylor(x), rtol=0, atol=1e-13)
    lo, hi = x.min(), x.max()
    theirs = np.polynomial.Chebyshev.fit(x, y, 6, w=1 / sigma, domain=[lo, hi])
    np.testing.assert_allclose(chebyshev.coef, theirs.coef, rtol=0, atol=1e-12)
    # the raw coefficients of x do not depend on the basis the fit was made in
    np.testing.assert_allclose(chebyshev._document["coefficients"], taylor.coef, rtol=1e-11)
    np.testing.assert_allclose(chebyshev.taylor.coefficients, taylor.taylor.coefficients, rtol=0, atol=1e-12)
    assert chebyshev.mse == pytest.approx(taylor.mse, rel=1e-12)


def test_its_statistics_are_the_textbooks_in_its_basis(pair):
    taylor, chebyshev, x, y, sigma = pair
    curve = chebyshev.curve
    design = np.polynomial.chebyshev.chebvander(curve.scaled(x), 6) / sigma[:, None]
    scaled = y / sigma
    b = np.linalg.lstsq(design, scaled, rcond=None)[0]
    chi2 = float(np.sum((design @ b - scaled) ** 2)) / (x.size - 7)
    covariance = chi2 * np.linalg.inv(design.T @ design)
    np.testing.assert_allclose(chebyshev.stderr, np.sqrt(np.diag(covariance)), rtol=1e-9)
    np.testing.assert_allclose(chebyshev._document["stderr"], taylor.stderr, rtol=1e-9)
    np.testing.assert_allclose(chebyshev.conf_int()[:, 0], chebyshev.coef - chebyshev.stderr * 1.9722, rtol=1e-3)


def test_intervals_and_the_inverse_are_the_taylor_fits(pair):
    taylor, chebyshev, x, y, sigma = pair
    grid = np.linspace(x.min(), x.max(), 37)
    for interval, sigma_new in (("confidence", None), ("prediction", 0.1)):
        ours = chebyshev.predict(grid, interval=interval, sigma_new=sigma_new)
        theirs = taylor.predict(grid, interval=interval, sigma_new=sigma_new)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(chebyshev.inverse([0.5, -0.2]), taylor.inverse([0.5, -0.2])):
        np.testing.assert_allclose(a, b, rtol=1e-10)
        assert a.size


def test_the_model_file_keeps_the_basis_and_reads_back_exactly(pair, tmp_path):
    _, chebyshev, x, _, _ = pair
    path = chebyshev.save(tmp_path / "m.json")
    document = json.loads(open(path).read())
    assert document["basis"] == "chebyshev" and "chebyshev_coefficients" in document
    assert "taylor_coefficients" not in document and len(document["snapshots"][0]["chebyshev_coefficients"]) == 7
    loaded = fitbp.load(path)
    assert loaded(x).tolist() == chebyshev(x).tolist()
    np.testing.assert_array_equal(loaded.predict(x, interval="confidence").lower,
                                  chebyshev.predict(x, interval="confidence").lower)
    broken = {**document, "basis": "legendre"}
    (tmp_path / "b.json").write_text(json.dumps(broken))
    with pytest.raises(fitbp.FitbpError, match="'basis' is none of taylor, chebyshev, fourier, spline"):
        modelfile.load(tmp_path / "b.json")
    (tmp_path / "b.json").write_text(json.dumps({**document, "basis": "fourier"}))  # without its period
    with pytest.raises(fitbp.FitbpError, match="'fourier' is missing or not an object"):
        modelfile.load(tmp_path / "b.json")


def test_a_model_file_without_a_basis_is_the_taylor_form():
    document = {"format_version": 1, "degree": 1, "center": 0.0, "scale": 1.0, "taylor_coefficients": [1.0, 2.0]}
    assert modelfile.polynomial_of(document) == Polynomial((1.0, 2.0), 0.0, 1.0)


def test_fixed_terms_in_chebyshev_keep_the_raw_coefficient(sine):
    x, y = sine
    taylor = fitbp.fit(x, y, degree=5, fix={0: 0.25, 3: -0.5})
    chebyshev = fitbp.fit(x, y, degree=5, fix={0: 0.25, 3: -0.5}, basis="chebyshev")
    raw = chebyshev._document["coefficients"]
    assert raw[0] == 0.25 and raw[3] == -0.5
    np.testing.assert_allclose(raw, taylor.coef, rtol=1e-9)
    np.testing.assert_allclose(chebyshev(x), taylor(x), rtol=0, atol=1e-12)


def test_streamed_points_give_the_held_fit(tmp_path):
    """Past memory= the triangle comes in powers of t from the blocks' Parts and is turned into the basis."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 5, 20_000)
    y = np.cos(x) + rng.normal(0, 0.1, x.size)
    path = tmp_path / "big.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.17g")
    held = fitbp.fit(str(path), degree=8, basis="chebyshev")
    streamed = fitbp.fit(str(path), degree=8, basis="chebyshev", memory=1 << 16)
    assert streamed._document["engine"] != held._document["engine"]
    np.testing.assert_allclose(streamed.coef, held.coef, rtol=0, atol=1e-10 * np.max(np.abs(held.coef)))


def test_exports_evaluate_as_predict_does(sine):
    """Clenshaw's recurrence written out (Python run here; C, JavaScript and Rust in test_export) gives
    predict's bits; a spreadsheet cell, which cannot hold it, says so; LaTeX defines its T_i."""
    x, y = sine
    fit = fitbp.fit(x, y, degree=40, basis="chebyshev")
    namespace = {}
    exec(fit.export("python", name="curve"), namespace)
    assert [namespace["curve"](v) for v in x.tolist()] == fit(x).tolist()
    with pytest.raises(fitbp.FitbpError, match="a spreadsheet cell cannot hold Clenshaw's recurrence"):
        fit.export("excel")
    latex = fit.export("latex")
    assert "T_{40}(t)" in latex and "T_{i+1} = 2t" in latex
    numpy_code = {}
    exec(fit.export("numpy", name="curve"), numpy_code)
    np.testing.assert_allclose(numpy_code["curve"](x), fit(x), rtol=0, atol=1e-12)
    low = fitbp.fit(x, y, degree=3, basis="chebyshev")  # few digits lost in raw powers: the cell takes them
    assert low.export("excel").splitlines()[-1].startswith("=")


def test_the_table_names_the_basis(pair):
    _, chebyshev, _, _, _ = pair
    text = chebyshev.summary()
    assert "Chebyshev c_i [t = " in text and "Chebyshev t" in text and "Taylor" not in text
    assert math.isfinite(chebyshev.mse)
