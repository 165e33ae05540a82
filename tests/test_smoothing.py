"""The smoothing spline as a model: fit, band, model file, predict, inverse, exports, plot and refusals,
each against an answer computed here another way (scipy's spline, a dense natural-spline basis, a grid)."""

import json
import subprocess

import numpy as np
import pytest
from scipy import stats
from scipy.interpolate import CubicSpline, make_smoothing_spline

import fitbp
from fitbp.fitting import smoothing
from fitbp.fitting.spline import fit_spline
from fitbp.sources import samples
from helpers import FITBP, ROOT, environment, run

KINK = ROOT / "sample_data" / "kink.csv"


def natural(knots):
    """(the cardinal functions of the natural cubic splines on these knots, Ω_ij = ∫ b_i'' b_j''): scipy's
    CubicSpline through each unit vector, Ω exact for second derivatives linear on each interval."""
    n = knots.size
    cardinal = [CubicSpline(knots, row, bc_type="natural") for row in np.eye(n)]
    second = np.array([c(knots, 2) for c in cardinal])
    h = np.diff(knots)
    omega = np.zeros((n, n))
    for k in range(n - 1):
        p, q = second[:, k], second[:, k + 1]
        omega += h[k] / 6 * (2 * np.outer(p, p) + np.outer(p, q) + np.outer(q, p) + 2 * np.outer(q, q))
    return cardinal, omega


def dense(x, w, lam):
    """(cardinal functions on the knots x, A = W + λΩ): the every-x spline's posterior precision over σ²."""
    cardinal, omega = natural(x)
    return cardinal, np.diag(w) + lam * omega


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.05, 2.0])
def test_the_variance_is_the_dense_posteriors(lam):
    """bᵀ(W + λΩ)⁻¹b at knots, between them and beyond the ends, against the dense matrices; the values
    (W + λΩ)⁻¹Wy against the spline's."""
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0.0, 5.0, 40))
    y, w = np.sin(x) + rng.normal(0.0, 0.1, x.size), rng.uniform(0.5, 2.0, x.size)
    spline = fit_spline(x, y, w, lam)
    cardinal, a = dense(x, w, lam)
    np.testing.assert_allclose(spline.values, np.linalg.solve(a, w * y), atol=1e-8)
    at = np.concatenate([x[:5], rng.uniform(-0.5, 5.5, 50)])
    b = np.array([c(at) for c in cardinal])
    expected = np.einsum("im,ij,jm->m", b, np.linalg.inv(a), b)
    np.testing.assert_allclose(spline.variance(at), expected, rtol=1e-7)
    assert np.array_equal(spline.variance(at, block=3), spline.variance(at))


def test_fit_equals_scipys_spline_for_a_given_and_a_chosen_lambda():
    x, y = samples.generate("kink", seed=4)
    given = fitbp.fit(x, y, basis="spline", smooth=0.01)
    order = np.argsort(x)
    grid = np.linspace(x.min(), x.max(), 501)
    reference = make_smoothing_spline(x[order], y[order], lam=0.01)
    span = float(np.ptp(y))
    assert np.max(np.abs(given(grid) - reference(grid))) <= 1e-8 * span
    chosen = fitbp.fit(x, y, basis="spline")
    part = chosen.to_dict()["spline"]
    assert part["smooth"] == "auto" and part["lam"] == fit_spline(x, y).lam
    assert part["pieces"] == x.size - 1 and chosen.coef.size == 0
    residual = y - chosen(x)
    assert chosen.mse == pytest.approx(np.mean(residual ** 2), rel=1e-12)
    assert chosen.dof == pytest.approx(x.size - part["edf"], rel=1e-12)


def test_the_band_and_the_prediction_interval():
    """ŷ ± t(n − edf)·√(s²·bᵀA⁻¹b) and, for a new point, √(s²·(bᵀA⁻¹b + 1)); s² = RSS/(n − edf)."""
    x, y = samples.generate("kink", n=60, seed=2)
    fit = fitbp.fit(x, y, basis="spline")
    part = fit.to_dict()["spline"]
    knots = np.array(part["knots"])
    cardinal, a = dense(knots, np.array(part["weight"]), part["lam"])
    new = np.array([-1.5, 0.0, 0.33, 2.5, 3.2])
    b = np.array([c(new) for c in cardinal])
    v = np.einsum("im,ij,jm->m", b, np.linalg.inv(a), b)
    dof = x.size - part["edf"]
    s2 = float(np.sum((y - fit(x)) ** 2)) / dof
    quantile = stats.t.ppf(0.975, dof)
    confidence, prediction = fit.predict(new, "confidence"), fit.predict(new, "prediction")
    np.testing.assert_allclose(confidence.upper - confidence.y, quantile * np.sqrt(s2 * v), rtol=1e-7)
    np.testing.assert_allclose(prediction.y - prediction.lower, quantile * np.sqrt(s2 * (v + 1)), rtol=1e-7)


def test_weights_enter_as_scipys_w():
    rng = np.random.default_rng(8)
    x = np.sort(rng.uniform(0.0, 4.0, 80))
    sigma = rng.uniform(0.05, 0.3, x.size)
    y = np.cos(x) + rng.normal(0.0, 1.0, x.size) * sigma
    fit = fitbp.fit(x, y, sigma=sigma, basis="spline", smooth=0.02)
    reference = make_smoothing_spline(x, y, w=1.0 / sigma ** 2, lam=0.02)
    assert np.max(np.abs(fit(x) - reference(x))) <= 1e-8 * float(np.ptp(y))
    with pytest.raises(ValueError, match="sigma_new"):
        fit.predict([1.0], "prediction")


def test_model_file_round_trip_to_the_bit(tmp_path):
    x, y = samples.generate("kink", seed=1)
    fit = fitbp.fit(x, y, basis="spline")
    again = fitbp.load(fit.save(tmp_path / "s.json"))
    new = np.linspace(-2.5, 3.5, 97)
    for first, second in zip(fit.predict(new, "prediction"), again.predict(new, "prediction")):
        assert np.array_equal(first, second)
    assert str(again).startswith("smoothing spline (λ")


def test_the_inverse_finds_every_crossing():
    """As many x as sign changes of curve − y on a fine grid, each on the curve at y."""
    x, y = samples.generate("kink", seed=0)
    fit = fitbp.fit(x, y, basis="spline")
    low, high = fit.x_range
    grid = np.linspace(low, high, 400_001)
    values = fit(grid)
    for level in (-0.5, 0.0, 0.25, float(values.max()) - 1e-3):
        found = fit.inverse([level])[0]
        changes = np.count_nonzero(np.diff(np.sign(values - level)))
        assert found.size == changes, level
        np.testing.assert_allclose(fit(found), level, atol=1e-10)


@pytest.fixture(scope="module")
def spline_model(tmp_path_factory):
    """(folder with a spline model of kink.csv, 300 x over and beyond its range, predict's y there)."""
    folder = tmp_path_factory.mktemp("spline-model")
    done = run("fit", KINK, "--basis", "spline", "-q", cwd=folder)
    assert done.returncode == 0, done.stderr
    x = np.concatenate([np.linspace(-2.5, 3.5, 297), [-1.9984965494653855, 0.0, 2.9860496789460553]])
    predicted = subprocess.run([*FITBP, "predict"], cwd=folder, input="".join(f"{v!r}\n" for v in x.tolist()),
                               capture_output=True, text=True, env=environment())
    y = np.array([float(line.split(",")[1]) for line in predicted.stdout.splitlines()])
    return folder, x, y


def agree(values, y):
    np.testing.assert_allclose(values, y, rtol=1e-12, atol=1e-12 * float(np.max(np.abs(y))))


@pytest.mark.parametrize("language", ["python", "numpy", "c", "rust", "javascript"])
def test_exports_evaluate_as_predict(spline_model, language, tmp_path):
    """The tables and the few lines that search them give predict's y, beyond the ends too."""
    from test_export import evaluated, exported

    folder, x, y = spline_model
    agree(evaluated(exported(folder, language, "--name", "curve"), language, x, tmp_path), y)


def test_formulas_and_the_film_say_why_not(spline_model):
    folder, _, _ = spline_model
    for args, words in [(["export", "--to", "excel"], "no formula for one cell"),
                        (["export", "--to", "latex"], "no equation to typeset"),
                        (["plot", "--animate", "f.gif"], "solved, not trained")]:
        done = run(*args, cwd=folder)
        assert done.returncode == 1 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, args
        assert words in done.stderr
    assert not (folder / "f.gif").exists()


def test_table_json_plot_and_the_picture(spline_model):
    folder, _, _ = spline_model
    table = run("fit", KINK, "--basis", "spline", "--no-save", cwd=folder)
    assert table.returncode == 0 and table.stdout.startswith("smoothing spline fit of y")
    assert "effective parameters" in table.stdout and "epochs" not in table.stdout
    document = json.loads(run("fit", KINK, "--basis", "spline", "--smooth", "0.5", "--json", "--no-save",
                              cwd=folder).stdout)
    assert document["basis"] == "spline" and document["spline"]["lam"] == 0.5
    assert document["spline"]["smooth"] == "given" and document["coefficients"] is None
    terminal = run("plot", "--terminal", cwd=folder)
    assert terminal.returncode == 0 and terminal.stdout.startswith("smoothing spline (λ")
    picture = run("plot", "-o", "s.png", "--band", "confidence", cwd=folder)
    assert picture.returncode == 0 and (folder / "s.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    beyond = run("predict", "5", cwd=folder)
    assert "the smoothing spline (its end cubics carried on) is extrapolated" in beyond.stderr


def test_options_that_mean_nothing_are_refused(tmp_path):
    x, y = samples.generate("kink", seed=0)
    for options, words in [({"smooth": 1.0}, "smooth=: is for basis='spline'"),
                           ({"basis": "spline", "degree": 3}, "degree=: is a polynomial's"),
                           ({"basis": "spline", "fix": {0: 0.0}}, "fix=: "),
                           ({"basis": "spline", "loss": "huber"}, "loss=: "),
                           ({"basis": "spline", "smooth": -1.0}, "smooth=: must be")]:
        with pytest.raises(ValueError, match=words.replace("(", r"\(")):
            fitbp.fit(x, y, **options)
    for args, status, words in [(["--smooth", "1"], 2, "--smooth: is for --basis spline"),
                                (["--basis", "spline", "-d", "3"], 2, "--degree: is a polynomial's"),
                                (["--basis", "spline", "--fix", "0=0"], 2, "--fix"),
                                (["--basis", "spline", "--loss", "mae"], 2, "--loss"),
                                (["--basis", "spline", "--smooth", "-1"], 2, "--smooth")]:
        refused = run("fit", KINK, "--no-save", *args, cwd=tmp_path)
        assert refused.returncode == status and words in refused.stderr, (args, refused.stderr)


def test_many_random_x_get_a_spline_on_fewer_knots(tmp_path):
    """Twenty thousand random x: knots at a thousand quantiles (fitbp.fitting.pspline), saved, predicted
    with a band and exported like the every-x spline."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 10.0, 20_000)
    y = np.sin(x) + rng.normal(0, 0.1, x.size)
    (tmp_path / "many.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    done = run("fit", "many.csv", "--basis", "spline", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    part = json.loads(done.stdout)["spline"]
    assert part["knots_at"] == "quantiles" and part["pieces"] == 999 and part["distance"] < 1e-6
    assert "weight" not in part and len(part["blocks"]) == 999
    band = run("predict", "2.5", "--interval", "confidence", cwd=tmp_path)
    lower, upper = map(float, band.stdout.strip().split(",")[2:])
    fit = fitbp.fit(x, y, basis="spline")  # in this process, BLAS on more threads: the same to its last digits
    assert float(band.stdout.split(",")[1]) == pytest.approx(float(fit(2.5)), rel=1e-9) and lower < fit(2.5) < upper
    from test_export import evaluated, exported

    grid = np.linspace(-1.0, 11.0, 50)
    saved = fitbp.load(tmp_path / "fitbp.json")
    agree(evaluated(exported(tmp_path, "python", "--name", "curve"), "python", grid, tmp_path), saved(grid))


def test_a_damaged_spline_part_is_named(tmp_path, spline_model):
    folder, _, _ = spline_model
    document = json.loads((folder / "fitbp.json").read_text())
    document["spline"]["knots"][3] = document["spline"]["knots"][2]
    (tmp_path / "bad.json").write_text(json.dumps(document))
    done = run("predict", "-m", "bad.json", "1", cwd=tmp_path)
    assert done.returncode == 1 and "not a fitbp model ('spline'" in done.stderr


def test_the_scikit_learn_estimator_takes_the_spline():
    pytest.importorskip("sklearn")
    from sklearn.base import clone

    from fitbp.sklearn import PolynomialRegressor

    x, y = samples.generate("kink", seed=5)
    model = clone(PolynomialRegressor(basis="spline", smooth=0.01)).fit(x.reshape(-1, 1), y)
    assert np.array_equal(model.predict(x[:7].reshape(-1, 1)), fitbp.fit(x, y, basis="spline", smooth=0.01)(x[:7]))


def test_the_curves_name_and_extrapolation_follow_the_spline():
    x, y = samples.generate("kink", seed=6)
    result = smoothing.fit(fitbp.library._points(x, y, None, None, None, None, "raise", "d", 1 << 20, None, {}))
    curve = result.polynomial
    spline = fit_spline(x, y)
    beyond = np.array([-3.0, 4.0])
    assert np.array_equal(curve(beyond), spline(beyond))
    assert curve.basis.curve().startswith("smoothing spline (λ")


def test_the_criterion_graph_is_the_criterion_and_flat_at_the_fit():
    """The graph's value is (Σ (y − f)² + λ∫f''²)/n, ∫f''² summed here from the pieces' second derivatives
    (linear on each interval); its gradient is (2/n)(W(g − ȳ) + λΩg), Ω from scipy's natural splines; at the
    fitted values it is 0."""
    x, y = samples.generate("kink", n=80, seed=3)
    fit = fit_spline(x, y, lam=0.02)
    root, g = smoothing.criterion_graph(x, y, None, 0.02, fit.values)
    root.backward()
    h, s = np.diff(fit.knots), fit.second
    roughness = float(np.sum(h / 3 * (s[:-1] ** 2 + s[:-1] * s[1:] + s[1:] ** 2)))
    assert float(root.value) == pytest.approx((np.sum((y - fit(x)) ** 2) + 0.02 * roughness) / x.size, rel=1e-9)
    assert np.max(np.abs(g.grad)) <= 1e-9 * np.max(np.abs(y))
    values = np.random.default_rng(1).normal(size=fit.knots.size)
    root, g = smoothing.criterion_graph(x, y, None, 0.02, values)
    root.backward()
    _, omega = natural(fit.knots)
    order = np.argsort(x)
    expected = 2 / x.size * ((values - y[order]) + 0.02 * omega @ values)
    np.testing.assert_allclose(g.grad, expected, rtol=1e-7, atol=1e-9 * np.max(np.abs(expected)))


def test_graph_and_gradcheck_take_the_spline(tmp_path):
    shown = run("graph", KINK, "--smooth", "0.01", "--fitted", cwd=tmp_path)
    assert shown.returncode == 0 and "the criterion of a smoothing spline (λ 0.01)" in shown.stdout
    assert "const R⁻¹Qᵀ" in shown.stdout and "param g" in shown.stdout
    checked = run("gradcheck", KINK, "--smooth", "auto", "--json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["passed"] and len(report["rows"]) == 300 and report["step"] == 1e-3
    for args in (["--smooth", "1", "--degree", "2"], ["--smooth", "1", "--loss", "mae"]):
        assert run("gradcheck", KINK, *args, cwd=tmp_path).returncode == 2
    assert run("graph", KINK, "--smooth", "1", "--triangle", cwd=tmp_path).returncode == 2


def test_the_picture_of_a_solved_curve_has_no_loss_panel():
    """A spline has no training to draw: its figure is the fit alone (and its residuals), not an empty plot."""
    from fitbp.sources.data import Points
    from fitbp.views import renderer

    x, y = samples.generate("kink", seed=2)
    result = smoothing.fit(Points(x, y))
    assert len(renderer.figure(result.polynomial, result.points, result.loss_history, "t").axes) == 1
    assert len(renderer.figure(result.polynomial, result.points, [], "t", residuals=True).axes) == 2
