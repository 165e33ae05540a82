"""The Fourier series: its coefficients are numpy's least squares on the same columns, its learned period
is the nonlinear least-squares optimum scipy finds, and it goes where a polynomial goes (the model file,
predict and its intervals, the command line)."""

import json
import math
import re
import subprocess

import numpy as np
import pytest
from scipy import optimize, stats

import fitbp
from fitbp.backprop import graph
from fitbp.fitting import fourier
from fitbp.sources import samples
from fitbp.sources.data import Points
from helpers import FITBP, ROOT, environment

SEASONAL = ROOT / "sample_data" / "seasonal.csv"


def columns(x, center, scale, period, harmonics, trend):
    """The design written out again from the formula, not by the basis."""
    t = (x - center) / scale
    out = [t ** i for i in range(trend + 1)]
    for k in range(1, harmonics + 1):
        out += [np.cos(2 * np.pi * k * x / period), np.sin(2 * np.pi * k * x / period)]
    return np.column_stack(out)


def seasonal(seed, n=300):
    x, y = samples.generate("seasonal", n=n, seed=seed)
    return x, y


def scaling(x):
    return 0.5 * (x.max() + x.min()), 0.5 * (x.max() - x.min())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_coefficients_equal_least_squares_on_the_same_columns(seed, weighted):
    x, y = seasonal(seed)
    w = np.random.default_rng(seed).uniform(0.5, 2.0, x.size) if weighted else None
    fit = fitbp.fit(x, y, basis="fourier", period=1.0, harmonics=3, trend=2, weights=w)
    center, scale = scaling(x)
    v = columns(x, center, scale, 1.0, 3, 2)
    roots = np.ones_like(x) if w is None else np.sqrt(w)
    expected = np.linalg.lstsq(v * roots[:, None], y * roots, rcond=None)[0]
    assert np.max(np.abs(fit.coef - expected)) <= 1e-10 * np.max(np.abs(expected))


@pytest.mark.parametrize("seed", [0, 3])
def test_the_learned_period_is_the_least_squares_optimum(seed):
    """scipy's trust-region least squares over (coefficients, P), from the same start, ends where
    fitbp's Gauss–Newton on the graph's gradient does; P's standard error is that of s²(JᵀJ)⁻¹ with
    scipy's Jacobian."""
    x, y = seasonal(seed)
    fit = fitbp.fit(x, y, basis="fourier", harmonics=2, trend=2)
    part = fit.to_dict()["fourier"]
    center, scale = scaling(x)

    def residuals(theta):
        return columns(x, center, scale, theta[-1], 2, 2) @ theta[:-1] - y

    start = fourier.strongest_period(x, y, 2)
    c0 = np.linalg.lstsq(columns(x, center, scale, start, 2, 2), y, rcond=None)[0]
    found = optimize.least_squares(residuals, np.append(c0, start), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert abs(part["period"] - found.x[-1]) <= 1e-9 * found.x[-1]
    assert np.max(np.abs(fit.coef - found.x[:-1])) <= 1e-7 * np.max(np.abs(found.x[:-1]))
    dof = x.size - found.x.size
    covariance = (found.fun @ found.fun / dof) * np.linalg.inv(found.jac.T @ found.jac)
    assert part["period_stderr"] == pytest.approx(math.sqrt(covariance[-1, -1]), rel=1e-5)


@pytest.mark.parametrize("absolute", [False, True])
def test_the_periods_error_with_sigma(absolute):
    """With σ, P's standard error is that of (JᵀWJ)⁻¹ from scipy's Jacobian of the residuals over σ: scaled
    by their reduced χ², or with --absolute-sigma not (the σ are the errors)."""
    x, y = seasonal(3)
    sigma = np.random.default_rng(4).uniform(0.1, 0.4, x.size)
    fit = fitbp.fit(x, y, sigma=sigma, absolute_sigma=absolute, basis="fourier", harmonics=2, trend=2)
    part = fit.to_dict()["fourier"]
    center, scale = scaling(x)

    def residuals(theta):
        return (columns(x, center, scale, theta[-1], 2, 2) @ theta[:-1] - y) / sigma

    found = optimize.least_squares(residuals, np.append(fit.coef, part["period"]), xtol=1e-15, ftol=1e-15,
                                   gtol=1e-15)
    chi2 = 1.0 if absolute else found.fun @ found.fun / (x.size - found.x.size)
    covariance = chi2 * np.linalg.inv(found.jac.T @ found.jac)
    assert part["period_stderr"] == pytest.approx(math.sqrt(covariance[-1, -1]), rel=1e-5)


def test_seasonal_sample_finds_its_period_with_few_terms():
    """The issue's test: on seasonal.csv, --period auto --trend 2 finds P within its standard error
    of the truth (1 year), with a residual RMSE within 5 % of the noise (0.2) and fewer than 12
    parameters."""
    data = np.loadtxt(SEASONAL, delimiter=",", skiprows=1)
    fit = fitbp.fit(data[:, 0], data[:, 1], basis="fourier", trend=2)
    document = fit.to_dict()
    part = document["fourier"]
    assert abs(part["period"] - 1.0) <= part["period_stderr"]
    assert abs(document["rmse"] - samples.CURVES["seasonal"].noise) <= 0.05 * samples.CURVES["seasonal"].noise
    assert fit.coef.size + 1 < 12  # the coefficients and the period


@pytest.mark.parametrize("seed", range(5))
def test_the_period_is_found_on_other_draws(seed):
    x, y = seasonal(seed + 10)
    part = fitbp.fit(x, y, basis="fourier", trend=2).to_dict()["fourier"]
    assert part["harmonics"] == 2
    assert abs(part["period"] - 1.0) <= 4 * part["period_stderr"]


def test_harmonics_by_bic_as_computed_independently():
    x, y = seasonal(4)
    part = fitbp.fit(x, y, basis="fourier", period=1.0, trend=2).to_dict()["fourier"]
    center, scale = scaling(x)
    n, bic = x.size, {}
    for k in range(1, fourier.MOST_HARMONICS + 1):
        v = columns(x, center, scale, 1.0, k, 2)
        r = y - v @ np.linalg.lstsq(v, y, rcond=None)[0]
        bic[k] = n * math.log(r @ r / n) + v.shape[1] * math.log(n)
    assert part["harmonics"] == min(bic, key=bic.get)
    assert {int(k): v for k, v in part["bic"].items()} == pytest.approx(bic, rel=1e-9)


def test_the_graph_gives_the_periods_gradient():
    """∂L/∂c and ∂L/∂P from one backward pass through cosine and sine nodes, against central differences."""
    x, y = seasonal(1, n=80)
    center, scale = scaling(x)
    c = np.random.default_rng(2).normal(size=3 + 4)
    period = 1.01

    def loss(c, period):
        r = columns(x, center, scale, period, 2, 2) @ c - y
        return float(np.mean(r * r))

    value, gradient = fourier.loss_and_gradient(x, y, center, scale, 2, 2, c, period)
    assert value == pytest.approx(loss(c, period), rel=1e-12)
    h = 1e-6
    numeric = [(loss(c + h * e, period) - loss(c - h * e, period)) / (2 * h) for e in np.eye(c.size)]
    numeric.append((loss(c, period + h) - loss(c, period - h)) / (2 * h))
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-6)


def test_the_loss_graph_holds_cosine_and_sine_nodes():
    x, y = seasonal(1, n=20)
    omega = graph.parameter(np.array(2 * np.pi))
    pieces = [graph.parameter(np.zeros(1)), graph.parameter(np.ones(2)), graph.parameter(np.ones(2))]
    loss = fourier.loss_graph(x, y, pieces, omega, np.ones((x.size, 1)), 2)
    ops = {node.op for node in graph.topological_order(loss)}
    assert {"cos", "sin", "matmul", "mean"} <= ops


def test_derivative_in_the_same_basis():
    x, y = seasonal(2)
    fit = fitbp.fit(x, y, basis="fourier", period=1.0, harmonics=2, trend=2)
    curve = fit.curve
    grid = np.linspace(1.0, 9.0, 17)
    h = 1e-6
    numeric = (curve(grid + h) - curve(grid - h)) / (2 * h)
    np.testing.assert_allclose(curve.slope(grid), numeric, rtol=1e-6, atol=1e-6)


def test_model_file_round_trip_and_prediction_intervals(tmp_path):
    """Saved and loaded, the same predictions to the bit; the prediction interval is
    ŷ ± t·s·√(1 + vᵀ(VᵀV)⁻¹v), computed here from the columns."""
    x, y = seasonal(5)
    fit = fitbp.fit(x, y, basis="fourier", trend=1)
    again = fitbp.load(fit.save(tmp_path / "m.json"))
    new = np.array([0.5, 4.25, 9.9])
    first, second = fit.predict(new, interval="prediction"), again.predict(new, interval="prediction")
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    part = fit.to_dict()["fourier"]
    center, scale = scaling(x)
    v = columns(x, center, scale, part["period"], part["harmonics"], 1)
    coef, *_ = np.linalg.lstsq(v, y, rcond=None)
    dof = x.size - v.shape[1]
    s2 = np.sum((y - v @ coef) ** 2) / dof
    rows = columns(new, center, scale, part["period"], part["harmonics"], 1)
    spread = np.sqrt(s2 * (1 + np.einsum("ij,jk,ik->i", rows, np.linalg.inv(v.T @ v), rows)))
    half = stats.t.ppf(0.975, dof) * spread
    np.testing.assert_allclose(first.y, rows @ coef, rtol=1e-10)
    np.testing.assert_allclose(first.upper - first.y, half, rtol=1e-8)


def test_options_that_mean_nothing_are_refused():
    x, y = seasonal(0)
    with pytest.raises(ValueError, match="period=: is for basis='fourier'"):
        fitbp.fit(x, y, period=1.0)
    with pytest.raises(ValueError, match="degree=: is a polynomial's"):
        fitbp.fit(x, y, basis="fourier", degree=3)
    with pytest.raises(ValueError, match="harmonics"):
        fitbp.fit(x, y, basis="fourier", harmonics=0)
    with pytest.raises(ValueError, match="not huber"):
        fitbp.fit(x, y, basis="fourier", loss="huber")
    with pytest.raises(ValueError, match="raw coefficients"):
        fitbp.fit(x, y, basis="fourier", fix={0: 1.0})


def run(*args, cwd):
    return subprocess.run([*FITBP, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=environment())


def test_command_line_fit_predict_and_refusals(tmp_path):
    done = run("fit", SEASONAL, "--basis", "fourier", "--trend", "2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["basis"] == "fourier" and document["coefficients"] is None
    assert document["fourier"]["learned"] and document["fourier"]["harmonics"] == 2
    data = np.loadtxt(SEASONAL, delimiter=",", skiprows=1)
    library = fitbp.fit(data[:, 0], data[:, 1], basis="fourier", trend=2)
    assert document["fourier_coefficients"] == library.coef.tolist()
    predicted = run("predict", "2.5", "7.75", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    ys = [float(line.split(",")[1]) for line in predicted.stdout.splitlines()]
    assert ys == library([2.5, 7.75]).tolist()
    table = run("fit", SEASONAL, "--basis", "fourier", "--trend", "2", "--no-save", cwd=tmp_path)
    assert table.stdout.startswith("Fourier series (learned period") and "cos(2π·1x/P)" in table.stdout
    for args, status, words in [(["--period", "2"], 2, "--period: is for --basis fourier"),
                                (["--basis", "fourier", "-d", "3"], 2, "--degree: is a polynomial's"),
                                (["--basis", "fourier", "--harmonics", "0"], 2, "--harmonics"),
                                (["--basis", "fourier", "--period", "-1"], 2, "--period"),
                                (["--basis", "fourier", "--loss", "huber"], 1, "error: ")]:
        refused = run("fit", SEASONAL, "--no-save", *args, cwd=tmp_path)
        assert refused.returncode == status and words in refused.stderr, (args, refused.stderr)


def test_points_past_memory_give_the_held_fit(tmp_path):
    """The command line past --memory: every step a pass over the file read again (tests/test_engines.py
    holds the streamed and dask fits of a larger series to the held one)."""
    held = json.loads(run("fit", SEASONAL, "--basis", "fourier", "--trend", "2", "--json", "--no-save",
                          cwd=tmp_path).stdout)
    done = run("fit", SEASONAL, "--basis", "fourier", "--trend", "2", "--memory", "1k", "--json", "--no-save",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    streamed = json.loads(done.stdout)
    assert streamed["engine"]["streamed"] and streamed["engine"]["passes"] > 3
    assert streamed["fourier"]["period"] == pytest.approx(held["fourier"]["period"], rel=1e-12)
    np.testing.assert_allclose(streamed["fourier_coefficients"], held["fourier_coefficients"], rtol=1e-10)


def test_a_basis_is_rebuilt_from_its_document():
    x, y = seasonal(0)
    points = Points(x, y)
    result = fourier.fit(points, period=1.0, harmonics=2, trend=1)
    rebuilt = fourier.of_document(result.summary())
    t = np.linspace(-1, 1, 9)
    assert np.array_equal(rebuilt.columns(t), result.polynomial.basis.columns(t))


@pytest.fixture(scope="module")
def series_model(tmp_path_factory):
    """(folder with a Fourier model, 200 x over its range, predict's y there)."""
    folder = tmp_path_factory.mktemp("fourier-export")
    done = run("fit", SEASONAL, "--basis", "fourier", "--trend", "2", "-q", cwd=folder)
    assert done.returncode == 0, done.stderr
    document = json.loads((folder / "fitbp.json").read_text())
    x = np.linspace(document["center"] - document["scale"], document["center"] + document["scale"], 200)
    predicted = subprocess.run([*FITBP, "predict"], cwd=folder, input="".join(f"{v!r}\n" for v in x.tolist()),
                               capture_output=True, text=True, env=environment())
    y = np.array([float(line.split(",")[1]) for line in predicted.stdout.splitlines()])
    return folder, x, y


def exported(folder, language):
    from test_export import exported as written

    return written(folder, language, "--name", "curve")


def agree(values, y):
    """The issue's bound: each export evaluates as predict does to 1e-12."""
    np.testing.assert_allclose(values, y, rtol=1e-12, atol=1e-12 * float(np.max(np.abs(y))))


@pytest.mark.parametrize("language", ["python", "numpy", "c", "rust", "javascript"])
def test_exports_evaluate_as_predict(series_model, language, tmp_path):
    from test_export import evaluated

    folder, x, y = series_model
    code = exported(folder, language)
    assert language != "c" or "link with -lm" in code
    agree(evaluated(code, language, x, tmp_path, ["-lm"]), y)


def test_the_spreadsheet_cell_evaluates_as_predict(series_model):
    """The formula read with COS and SIN as Python's, the cell as each x: nothing else in it."""
    folder, x, y = series_model
    formula = exported(folder, "excel").splitlines()[-1]
    assert formula.startswith("=") and set(re.findall(r"[A-Z]+", formula)) <= {"A", "COS", "SIN"}
    python = formula[1:].replace("COS", "math.cos").replace("SIN", "math.sin")
    agree(np.array([eval(python.replace("A2", f"({v!r})"), {"math": math}) for v in x.tolist()]), y)


def test_latex_and_the_pictures_label_name_every_term(series_model):
    folder, _, _ = series_model
    latex = exported(folder, "latex")
    document = json.loads((folder / "fitbp.json").read_text())
    for value in document["fourier_coefficients"]:
        assert repr(abs(value)) in latex
    assert "\\cos\\frac{4\\pi x}{P}" in latex and repr(document["fourier"]["period"]) in latex
    from fitbp.views import exporter

    lines, _, full = exporter.equation(document)
    assert "cos(2π·2x/P)" in " ".join(lines) and any(line.startswith("P = ") for line in lines)
    assert "T₁" not in " ".join(lines) and repr(document["fourier"]["period"]) in full


def test_plot_names_the_series_and_draws_it(series_model):
    folder, _, _ = series_model
    terminal = run("plot", "--terminal", cwd=folder)
    assert terminal.returncode == 0 and terminal.stdout.startswith("Fourier series (P 1.0000")
    picture = run("plot", "-o", "f.png", cwd=folder)
    assert picture.returncode == 0 and (folder / "f.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_inverse_finds_every_crossing_in_the_fitted_range():
    """Each x the inverse gives is on the curve at y, and there are as many as sign changes of
    curve − y on a grid a hundred times finer, counted here."""
    x, y = seasonal(6)
    fit = fitbp.fit(x, y, basis="fourier", period=1.0, harmonics=2, trend=2)
    grid = np.linspace(x.min(), x.max(), 400_001)
    for level in (3.0, 7.5, 12.0):
        found, = fit.inverse(level)
        np.testing.assert_allclose(fit(found), level, rtol=0, atol=1e-9)
        values = fit(grid) - level
        assert found.size == np.count_nonzero(values[:-1] * values[1:] < 0)


def test_the_scikit_learn_estimator_takes_the_series():
    pytest.importorskip("sklearn")
    from sklearn.base import clone

    from fitbp.sklearn import PolynomialRegressor

    x, y = seasonal(8)
    model = clone(PolynomialRegressor(basis="fourier", trend=2)).fit(x.reshape(-1, 1), y)
    direct = fitbp.fit(x, y, basis="fourier", trend=2)
    assert model.predict([[3.3], [7.1]]).tolist() == direct([3.3, 7.1]).tolist()
    assert model.get_params()["trend"] == 2


def test_graph_shows_the_period_as_a_parameter_and_its_gradient(tmp_path):
    """fitbp graph --period: ω = 2π/P a parameter under cosine and sine nodes; the dL/dP it prints is
    the central difference of the loss in P at the trained coefficients (P held at 1)."""
    done = run("graph", SEASONAL, "--period", "1", "--harmonics", "2", "--trend", "2", "--fitted", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "param ω" in done.stdout and "cos" in done.stdout and "sin" in done.stdout
    printed = float(done.stdout.split("dL/dP = dL/dω · (−2π/P²) = ")[1].split()[0])
    data = np.loadtxt(SEASONAL, delimiter=",", skiprows=1)
    x, y = data[:, 0], data[:, 1]
    coef = fitbp.fit(x, y, basis="fourier", period=1.0, harmonics=2, trend=2).coef
    center, scale = scaling(x)

    def loss(period):
        return float(np.mean((columns(x, center, scale, period, 2, 2) @ coef - y) ** 2))

    h = 1e-6
    assert printed == pytest.approx((loss(1 + h) - loss(1 - h)) / (2 * h), rel=1e-5, abs=1e-8)
    refused = run("graph", SEASONAL, "--period", "1", "--triangle", cwd=tmp_path)
    assert refused.returncode == 2 and "--period" in refused.stderr


def test_predict_beyond_the_data_names_the_series(series_model):
    folder, _, _ = series_model
    done = run("predict", "12", cwd=folder)
    assert done.returncode == 0 and "the Fourier series is extrapolated there" in done.stderr


def test_gradcheck_checks_the_periods_gradient_too(tmp_path):
    """gradcheck --period: one row a coefficient and one for P, backprop against central differences
    computed here again from the loss alone (mean squared residual of the series written out)."""
    done = run("gradcheck", SEASONAL, "--period", "1.02", "--harmonics", "2", "--trend", "1", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = report["rows"]
    assert report["passed"] and [row["coefficient"] for row in rows][-1] == "P" and len(rows) == 7
    data = np.loadtxt(SEASONAL, delimiter=",", skiprows=1)
    x, y = data[:, 0], data[:, 1]
    center, scale = scaling(x)

    def loss(k):
        return float(np.mean((columns(x, center, scale, k[-1], 2, 1) @ k[:-1] - y) ** 2))

    k = np.array([row["value"] for row in rows])
    for i, row in enumerate(rows):
        h = 1e-6 * max(1.0, abs(k[i]))
        step = np.eye(k.size)[i] * h
        assert row["backprop"] == pytest.approx((loss(k + step) - loss(k - step)) / (2 * h), rel=1e-6)
    table = run("gradcheck", SEASONAL, "--period", "auto", cwd=tmp_path)
    assert table.returncode == 0 and "cos(2π·1x/P)" in table.stdout and table.stdout.rstrip().endswith("within 1e-06")
    for args in (["-d", "3", "--period", "1"], [], ["--period", "1", "--loss", "huber"]):
        refused = run("gradcheck", SEASONAL, *args, cwd=tmp_path)
        assert refused.returncode == 2, args


def test_the_film_shows_the_series_learning(tmp_path):
    """A Fourier model trained by adam films its coefficients epoch by epoch, as the Taylor form's."""
    done = run("fit", SEASONAL, "--basis", "fourier", "--trend", "2", "--optimizer", "adam", "--epochs", "400", "-q",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    film = run("plot", "--animate", "f.gif", cwd=tmp_path)
    assert film.returncode == 0 and (tmp_path / "f.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    frames = int(film.stderr.split("(")[1].split()[0])
    assert frames > 10
