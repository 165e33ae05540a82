"""Uncertainties per point: --sigma and --weights against numpy.polyfit(w=1/σ) and scipy's curve_fit.

numpy's w multiplies the residuals (w = 1/σ); fitbp's --weights are w = 1/σ², as
statisticians write them, and the tests pass each tool its own form.
"""

import json

import numpy as np
import pytest

from fitbp.fitting.statistics import chi2_upper_tail
from helpers import run

stats = pytest.importorskip("scipy.stats")
optimize = pytest.importorskip("scipy.optimize")


def write(path, x, y, s, header="x,y,s"):
    rows = "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(x.tolist(), y.tolist(), s.tolist()))
    path.write_text(header + "\n" + rows)


def fitted(folder, *args):
    done = run("fit", "d.csv", *args, "--json", "--no-save", cwd=folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


DATA = {
    "plain": lambda rng: rng.uniform(0, 10, 60),
    "years": lambda rng: np.sort(rng.uniform(2000, 2030, 60)),  # badly scaled x: raw powers near 1e13
}


@pytest.mark.parametrize("kind", DATA)
@pytest.mark.parametrize("absolute", [False, True])
def test_sigma_agrees_with_polyfit_and_curve_fit(tmp_path, kind, absolute):
    rng = np.random.default_rng(3)
    x = DATA[kind](rng)
    u = (x - x.min()) / (x.max() - x.min())
    s = 0.05 + 0.3 * u  # σ grows along x
    y = 1 + 2 * u - 3 * u ** 3 + rng.normal(0, s)
    write(tmp_path / "d.csv", x, y, s)
    ours = fitted(tmp_path, "-d", "3", "--sigma", "s", *(["--absolute-sigma"] if absolute else []))
    t = (x - ours["center"]) / ours["scale"]  # the same least-squares problem in a well-conditioned basis
    taylor, cov = np.polyfit(t, y, 3, w=1 / s, cov="unscaled" if absolute else True)
    assert np.allclose(ours["taylor_coefficients"], taylor[::-1], rtol=1e-9, atol=1e-12)
    assert np.allclose(ours["taylor_stderr"], np.sqrt(np.diag(cov))[::-1], rtol=1e-9, atol=0)
    cubic = lambda v, *k: k[0] + k[1] * v + k[2] * v ** 2 + k[3] * v ** 3  # noqa: E731
    found, pcov = optimize.curve_fit(cubic, t, y, p0=taylor[::-1], sigma=s, absolute_sigma=absolute,
                                     jac=lambda v, *k: np.vander(v, 4, increasing=True),  # exact, not differenced
                                     ftol=1e-15, xtol=1e-15, gtol=1e-15)
    assert np.allclose(ours["taylor_coefficients"], found, rtol=1e-9, atol=1e-12)
    assert np.allclose(ours["taylor_stderr"], np.sqrt(np.diag(pcov)), rtol=1e-9, atol=0)
    r = y - np.polyval(taylor, t)
    chi2 = float(np.sum((r / s) ** 2))
    assert ours["chi2"] == pytest.approx(chi2, rel=1e-9) and ours["dof"] == x.size - 4
    assert ours["reduced_chi2"] == pytest.approx(chi2 / (x.size - 4), rel=1e-9)
    assert ours["errors"] == ("absolute" if absolute else "scaled")
    assert ours["weights"] == {"from": "sigma", "column": "s"}
    if absolute:
        assert ours["chi2_p_value"] == pytest.approx(stats.chi2.sf(chi2, x.size - 4), rel=1e-9)
    else:
        assert ours["chi2_p_value"] is None
    if kind == "plain":  # raw coefficients against polyfit on x itself, well conditioned enough here
        raw = np.polyfit(x, y, 3, w=1 / s)
        assert np.allclose(ours["coefficients"], raw[::-1], rtol=1e-8, atol=1e-12)


def test_weights_are_w_one_over_sigma_squared(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, 40)
    s = rng.uniform(0.1, 1, x.size)
    y = x ** 2 + rng.normal(0, s)
    write(tmp_path / "d.csv", x, y, 1 / s ** 2, header="x,y,w")
    by_weight = fitted(tmp_path, "-d", "2", "--weights", "w")
    write(tmp_path / "d.csv", x, y, s)
    by_sigma = fitted(tmp_path, "-d", "2", "--sigma", "3")  # the column by number
    assert np.allclose(by_weight["coefficients"], by_sigma["coefficients"], rtol=1e-12, atol=1e-15)
    assert by_weight["stderr"] == pytest.approx(by_sigma["stderr"], rel=1e-12)
    unweighted = fitted(tmp_path, "-d", "2")
    assert "chi2" not in unweighted and unweighted["weights"] is None and unweighted["errors"] == "scaled"


def test_chi2_tail_agrees_with_scipy():
    for value, dof in [(0.5, 1), (1, 1), (10, 5), (3, 10), (100, 80), (1e-3, 3), (500, 400), (50, 2), (1e4, 9000)]:
        assert chi2_upper_tail(value, dof) == pytest.approx(stats.chi2.sf(value, dof), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("option, cell, said", [
    ("--sigma", "-0.5", "column 's': '-0.5' is not positive, and a σ must be; σ = inf gives a point no weight"),
    ("--sigma", "0", "column 's': '0' is not positive, and a σ must be; σ = inf gives a point no weight"),
    ("--sigma", "-inf", "column 's': '-inf' is not a finite number"),
    ("--sigma", "", "column 's': empty cell"),
    ("--sigma", "abc", "column 's': 'abc' is not a number"),
    ("--sigma", "nan", "column 's': 'nan' is not a finite number"),
    ("--weights", "-0.5", "column 's': '-0.5' is negative, and a weight must be 0 or more"),
    ("--weights", "inf", "column 's': 'inf' is not a finite number"),
    ("--weights", "nan", "column 's': 'nan' is not a finite number"),
    ("--weights", "", "column 's': empty cell"),
])
def test_a_bad_sigma_is_an_error_with_its_line_or_a_skipped_row(tmp_path, option, cell, said):
    x = np.arange(10.0)
    rows = [f"{a!r},{2 * a!r},0.5" for a in x.tolist()]
    rows[6] = f"6.0,12.0,{cell}"
    (tmp_path / "d.csv").write_text("x,y,s\n" + "\n".join(rows) + "\n")
    (tmp_path / "fitbp.json").write_text("previous model")
    done = run("fit", "d.csv", "-d", "1", option, "s", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == f"error: d.csv:8: {said} (--skip-invalid drops such rows)\n"
    assert (tmp_path / "fitbp.json").read_text() == "previous model"
    skipped = fitted(tmp_path, "-d", "1", option, "s", "--skip-invalid")
    assert skipped["n_points"] == skipped["weighted_points"] == 9 and skipped["skipped_rows"] == 1


def test_the_options_that_cannot_go_together_say_so(tmp_path):
    x = np.linspace(0, 1, 20)
    write(tmp_path / "d.csv", x, x, np.full(x.size, 0.1))
    for args, status, said in [
        (["--sigma", "s", "--weights", "s", "-d", "1"], 2, "--sigma and --weights say the same thing two ways"),
        (["--absolute-sigma", "-d", "1"], 2, "absolute errors need σ"),
        (["--sigma", "s", "-d", "1", "--loss", "huber"], 2, "are for --loss mse, not huber"),
        (["--sigma", "nope", "-d", "1"], 1, "--sigma 'nope': no such column (columns: x, y, s)"),
        (["--sigma", "", "-d", "1"], 2, "needs a column"),
        (["--weights", " ", "-d", "1", "--absolute-sigma"], 2, "needs a column"),
    ]:
        done = run("fit", "d.csv", *args, "--no-save", cwd=tmp_path)
        assert done.returncode == status and said in done.stderr, (args, done.stderr)
        assert status == 2 or done.stderr.count("\n") == 1


def test_weighted_intervals_agree_with_statsmodels_wls(tmp_path):
    """Scaled errors: statsmodels' WLS with weights 1/σ² and a new point's weight 1/σ_new²; absolute σ:
    the unscaled covariance of numpy.polyfit and the normal quantile (the variances are known)."""
    sm = pytest.importorskip("statsmodels.api")
    from statistics import NormalDist

    rng = np.random.default_rng(8)
    x = np.sort(rng.uniform(1990, 2020, 50))
    s = rng.uniform(0.2, 0.8, x.size)
    y = 0.1 * (x - 2005) - 0.004 * (x - 2005) ** 2 + rng.normal(0, s)
    write(tmp_path / "d.csv", x, y, s)
    at = np.array([1992.5, 2005.0, 2018.0])
    design, new = np.vander(x - 2005, 3, increasing=True), np.vander(at - 2005, 3, increasing=True)
    wls = sm.WLS(y, design, weights=1 / s ** 2).fit()
    assert run("fit", "d.csv", "-d", "2", "--sigma", "s", "-q", cwd=tmp_path).returncode == 0

    def interval(*args):
        done = run("predict", *map(repr, at.tolist()), *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return np.array([[float(v) for v in line.split(",")] for line in done.stdout.splitlines()])

    frame = wls.get_prediction(new, weights=1 / 0.3 ** 2).summary_frame(alpha=0.05)
    confidence = interval("--interval", "confidence")
    prediction = interval("--interval", "prediction", "--sigma-new", "0.3")
    assert np.allclose(confidence[:, 2:], frame[["mean_ci_lower", "mean_ci_upper"]], rtol=1e-8, atol=0)
    assert np.allclose(prediction[:, 2:], frame[["obs_ci_lower", "obs_ci_upper"]], rtol=1e-8, atol=0)
    refused = run("predict", "2000", "--interval", "prediction", cwd=tmp_path)
    assert refused.returncode == 1 and "pass --sigma-new" in refused.stderr

    assert run("fit", "d.csv", "-d", "2", "--sigma", "s", "--absolute-sigma", "-q", cwd=tmp_path).returncode == 0
    _, cov = np.polyfit(x - 2005, y, 2, w=1 / s, cov="unscaled")
    fitted_new = new @ wls.params
    z = NormalDist().inv_cdf(0.975)
    half = z * np.sqrt(np.einsum("ni,ij,nj->n", new, cov[::-1, ::-1], new) + 0.3 ** 2)
    absolute = interval("--interval", "prediction", "--sigma-new", "0.3")
    assert np.allclose(absolute[:, 2], fitted_new - half, rtol=1e-8)
    assert np.allclose(absolute[:, 3], fitted_new + half, rtol=1e-8)


def test_degree_auto_weighs_the_points(tmp_path):
    """BIC from weighted residual sums: n ln(Σ w r² / n) + (d + 1) ln n, each degree's Σ w r² from
    numpy.polyfit(w=1/σ), the lowest degree within 2 of the least chosen, as for unweighted data."""
    rng = np.random.default_rng(9)
    x = np.sort(rng.uniform(-1, 1, 300))
    s = np.where(x > 0, 0.02, 0.5)  # precise on the right, noisy on the left: the weights decide
    y = np.sin(3 * x) + rng.normal(0, s)
    write(tmp_path / "d.csv", x, y, s)
    ours = fitted(tmp_path, "--sigma", "s")
    bic = []
    for d in range(11):
        k = np.polyfit(x, y, d, w=1 / s)
        rss = float(np.sum(((y - np.polyval(k, x)) / s) ** 2))
        bic.append(x.size * np.log(rss / x.size) + (d + 1) * np.log(x.size))
    expected = min(d for d, b in enumerate(bic) if b <= min(bic) + 2)
    assert ours["degree"] == expected and ours["weights"] == {"from": "sigma", "column": "s"}
    fixed = fitted(tmp_path, "--sigma", "s", "-d", str(expected))
    assert np.allclose(ours["coefficients"], fixed["coefficients"], rtol=1e-9, atol=1e-12)


def test_plot_draws_the_prediction_band_of_a_weighted_model_with_the_new_points_sigma(tmp_path):
    x = np.linspace(0, 1, 30)
    write(tmp_path / "d.csv", x, 2 * x + 0.01 * np.sin(40 * x), np.full(x.size, 0.05))
    assert run("fit", "d.csv", "-d", "1", "--sigma", "s", "-q", cwd=tmp_path).returncode == 0
    refused = run("plot", "--band", "prediction", cwd=tmp_path)
    assert refused.returncode == 1 and "pass --sigma-new" in refused.stderr
    drawn = run("plot", "--band", "prediction", "--sigma-new", "0.05", "-o", "p.png", cwd=tmp_path)
    assert drawn.returncode == 0 and (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("cells, said", [
    (["1e-15", "0.5", "1", "0.2"], "the weights span 1.0e+30, more than float64 can weigh together (1e+16)"),
    (["5e-324", "0.5", "1", "0.2"], "σ = 4.94066e-324 makes the weight 1/σ² beyond float64"),
    (["1e200", "1e200", "1e200", "1e200"], "σ = 1e+200 makes the weight 1/σ² beyond float64"),
])
def test_weights_that_float64_cannot_weigh_together_are_refused(tmp_path, cells, said):
    """A row of weight 1e30 beside rows of weight 1 swamps their digits: a wrong fit that the optimum
    check cannot catch, so it is an error (found by a review: 1.1 % off, exit 0)."""
    x = np.arange(4.0)
    write(tmp_path / "d.csv", x, 2 * x, np.array([float(c) for c in cells]))
    done = run("fit", "d.csv", "-d", "1", "--sigma", "s", "--no-save", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == f"error: d.csv: --sigma s: {said}" + done.stderr.split(said)[1]
    assert done.stderr.count("\n") == 1


def test_every_weighted_mean_in_the_table_says_it_is_weighted(tmp_path):
    """MSE, RMSE and the residuals' mean and sd are all means over w = 1/σ²: each is labelled so, and
    each is the weighted formula computed here, not the plain one."""
    rng = np.random.default_rng(7)
    x = np.linspace(0, 1, 40)
    s = rng.uniform(0.1, 2, 40)
    y = 1 + x + rng.normal(0, s)
    (tmp_path / "w.csv").write_text("x,y,s\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in
                                                         zip(x.tolist(), y.tolist(), s.tolist())))
    done = run("fit", "w.csv", "-d", "1", "--sigma", "s", "--no-save", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in done.stdout.splitlines()
            if line.strip().startswith("weighted ")}
    k = np.polyfit(x, y, 1, w=1 / s)[::-1]
    w = 1 / s ** 2
    r = y - (k[0] + k[1] * x)
    mean = np.sum(w * r) / np.sum(w)
    expected = {"weighted MSE": np.sum(w * r * r) / np.sum(w), "weighted RMSE": np.sqrt(np.sum(w * r * r) / np.sum(w)),
                "weighted residual sd": np.sqrt(np.sum(w * (r - mean) ** 2) / np.sum(w))}
    for label, value in expected.items():
        assert float(rows[label]) == pytest.approx(value, rel=1e-3), label
    assert abs(float(rows["weighted residual mean"])) < 1e-9 * np.max(np.abs(y))  # weighted residuals sum to 0
ZEROS = {  # how a point is given no weight: w = 0, or σ = inf
    "weights": (lambda s: np.where(np.isinf(s), 0.0, 1 / s ** 2), "x,y,w", "--weights", "w"),
    "sigma": (lambda s: s, "x,y,s", "--sigma", "s"),
}


@pytest.mark.parametrize("how", ZEROS)
@pytest.mark.parametrize("absolute", [False, True])
def test_points_of_weight_zero_are_in_the_data_and_out_of_the_fit_as_in_r(tmp_path, how, absolute):
    """R's lm(weights = w) with some w = 0: the fit, its standard errors, t and p values, R², χ² and the
    intervals are those of statsmodels' WLS on the rows of positive weight, the residual degrees of freedom
    #(w > 0) − p; the JSON, the model file and the table say how many points carried weight."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(19)
    x = np.arange(12.0)
    s = rng.uniform(0.2, 0.6, x.size)
    y = 3 - 0.5 * x + 0.08 * x ** 2 + rng.normal(0, s)
    s[[0, 5, 11]] = np.inf  # an end and a middle point out of the fit: x_range is that of the weighted points
    y[[0, 5, 11]] += [40.0, -75.0, 1e3]  # far off, and still no pull on the curve
    third, header, option, column = ZEROS[how]
    write(tmp_path / "d.csv", x, y, third(s), header=header)
    keep = np.isfinite(s)
    wls = sm.WLS(y[keep], np.vander(x[keep], 3, increasing=True), weights=1 / s[keep] ** 2).fit()
    args = ("-d", "2", option, column, *(["--absolute-sigma"] if absolute else []))
    ours = fitted(tmp_path, *args)
    assert ours["n_points"] == 12 and ours["weighted_points"] == 9
    assert ours["dof"] == 9 - 3 == wls.df_resid
    assert ours["x_range"] == [1.0, 10.0]
    assert np.allclose(ours["coefficients"], wls.params, rtol=1e-10, atol=1e-12)
    chi2 = float(np.sum(wls.resid ** 2 / s[keep] ** 2))
    assert ours["chi2"] == pytest.approx(chi2, rel=1e-10)
    assert ours["reduced_chi2"] == pytest.approx(chi2 / wls.df_resid, rel=1e-10)
    assert ours["r2"] == pytest.approx(wls.rsquared, rel=1e-12)
    if absolute:  # the σ are the noise: the unscaled covariance, the normal distribution, χ²'s own p-value
        errors = np.sqrt(np.diag(wls.cov_params() / wls.scale))
        assert ours["chi2_p_value"] == pytest.approx(stats.chi2.sf(chi2, 6), rel=1e-9)
        assert ours["p_values"] == pytest.approx(2 * stats.norm.sf(np.abs(wls.params / errors)), rel=1e-8)
    else:
        errors = wls.bse
        assert ours["t_values"] == pytest.approx(wls.tvalues, rel=1e-9)
        assert ours["p_values"] == pytest.approx(wls.pvalues, rel=1e-8)
        assert np.allclose(ours["confidence_intervals"], wls.conf_int(0.05), rtol=1e-9, atol=0)
    assert ours["stderr"] == pytest.approx(errors, rel=1e-9)

    done = run("fit", "d.csv", *args, cwd=tmp_path)  # the table, and the model file
    assert done.returncode == 0, done.stderr
    assert [line.split()[1:] for line in done.stdout.splitlines() if line.split()[:1] == ["points"]] == \
        [["12", "(9", "with", "weight)"]]
    saved = json.loads((tmp_path / "fitbp.json").read_text())
    assert saved["n_points"] == 12 and saved["weighted_points"] == 9 and saved["dof"] == 6
    if not absolute:  # the confidence band from the model file, on statsmodels' 6 degrees of freedom
        at = np.array([2.5, 5.0, 9.0])
        band = run("predict", *map(repr, at.tolist()), "--interval", "confidence", cwd=tmp_path)
        assert band.returncode == 0, band.stderr
        found = np.array([[float(v) for v in line.split(",")] for line in band.stdout.splitlines()])
        frame = wls.get_prediction(np.vander(at, 3, increasing=True)).summary_frame(alpha=0.05)
        assert np.allclose(found[:, 2:], frame[["mean_ci_lower", "mean_ci_upper"]], rtol=1e-8, atol=0)
    drawn = run("plot", "--residuals", "-o", "p.png", cwd=tmp_path)  # the rows of no weight are drawn too
    assert drawn.returncode == 0 and (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_degree_auto_and_its_scores_count_only_the_points_with_weight(tmp_path):
    """BIC's n is #(w > 0): n ln(Σ w r² / n) + (d + 1) ln n from numpy.polyfit on the weighted rows; the
    scores, the folds and the choice are those of the same file without the rows of weight 0."""
    from fitbp.selection import score_degrees
    from fitbp.sources.data import Points

    rng = np.random.default_rng(21)
    x = np.sort(rng.uniform(-1, 1, 240))
    s = rng.uniform(0.05, 0.2, x.size)
    y = np.sin(3 * x) + rng.normal(0, s)
    w = 1 / s ** 2
    w[::3] = 0.0  # a third of the rows out of the fit, wild enough to buy degrees if they counted
    y[::3] += rng.normal(0, 5, y[::3].size)
    keep = w > 0
    write(tmp_path / "d.csv", x, y, w, header="x,y,w")
    write(tmp_path / "kept.csv", x[keep], y[keep], w[keep], header="x,y,w")
    ours = fitted(tmp_path, "--weights", "w")
    done = run("fit", "kept.csv", "--weights", "w", "--json", "--no-save", cwd=tmp_path)
    alone = json.loads(done.stdout)
    n = int(keep.sum())
    bic = []
    for d in range(11):
        k = np.polyfit(x[keep], y[keep], d, w=np.sqrt(w[keep]))
        rss = float(np.sum(w[keep] * (y[keep] - np.polyval(k, x[keep])) ** 2)) / float(np.mean(w[keep]))
        bic.append(n * np.log(rss / n) + (d + 1) * np.log(n))
    expected = min(d for d, b in enumerate(bic) if b <= min(bic) + 2)
    assert ours["degree"] == alone["degree"] == expected and ours["dof"] == n - expected - 1
    assert [c["bic"] for c in ours["degree_selection"]["candidates"][:11]] == pytest.approx(bic, rel=1e-9)
    assert ours["degree_selection"]["candidates"] == alone["degree_selection"]["candidates"]
    assert ours["coefficients"] == pytest.approx(alone["coefficients"], rel=1e-12)
    assert ours["weighted_points"] == n and ours["n_points"] == x.size
    # the cross-validation folds of fitbp select are made of the weighted points too
    both = score_degrees(Points(x, y, weights=w), 8), score_degrees(Points(x[keep], y[keep], weights=w[keep]), 8)
    assert both[0] == both[1] and all(row["cv_mse"] is not None for row in both[0])


def test_fixed_terms_count_the_points_with_weight(tmp_path):
    """--fix with rows of weight 0: the free coefficients and their errors as statsmodels' WLS of y − k₀
    on the weighted rows gives them, dof = #(w > 0) − the free coefficients."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(22)
    x = np.linspace(0, 4, 15)
    w = rng.uniform(0.5, 2, x.size)
    w[[2, 7, 8]] = 0.0
    y = 1.5 + 0.7 * x - 0.2 * x ** 2 + rng.normal(0, 0.1, x.size)
    write(tmp_path / "d.csv", x, y, w, header="x,y,w")
    keep = w > 0
    wls = sm.WLS(y[keep] - 1.5, np.column_stack([x, x ** 2])[keep], weights=w[keep]).fit()
    ours = fitted(tmp_path, "-d", "2", "--weights", "w", "--fix", "0=1.5")
    assert ours["dof"] == 12 - 2 == wls.df_resid and ours["weighted_points"] == 12
    assert ours["coefficients"][1:] == pytest.approx(wls.params, rel=1e-10)
    assert ours["stderr"][1:] == pytest.approx(wls.bse, rel=1e-9) and ours["stderr"][0] == 0.0


@pytest.mark.parametrize("option, cells, said", [
    ("--weights", ["0", "0", "0", "0"], "column 'w': every weight is 0, so no point is left to fit"),
    ("--sigma", ["inf", "inf", "inf", "inf"], "column 'w': every σ is inf, so no point is left to fit"),
    ("--weights", ["1", "0", "0", "0"], "degree 1 needs at least 2 distinct x values, the points with weight have 1"),
    ("--weights", ["0", "1e-17", "1", "0"], "--weights w: the weights span 1.0e+17, more than float64 can weigh"),
])
def test_too_few_points_with_weight_are_refused_in_words(tmp_path, option, cells, said):
    """Points of weight 0 do not count towards what the fit needs, nor towards the span of the weights."""
    x = np.arange(4.0)
    write(tmp_path / "d.csv", x, 2 * x, np.array([float(c) for c in cells]), header="x,y,w")
    done = run("fit", "d.csv", "-d", "1", option, "w", "--no-save", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(f"error: d.csv: {said}"), done.stderr
    assert done.stderr.count("\n") == 1


def test_the_weights_may_span_1e16_beside_zeros(tmp_path):
    x = np.arange(5.0)
    write(tmp_path / "d.csv", x, x * x, np.array([0.0, 1e-15, 1.0, 0.5, 1.0]), header="x,y,w")
    ours = fitted(tmp_path, "-d", "1", "--weights", "w")
    assert ours["weighted_points"] == 4 and ours["dof"] == 2
    k = np.polyfit(x[1:], (x * x)[1:], 1, w=np.sqrt([1e-15, 1.0, 0.5, 1.0]))
    assert ours["coefficients"] == pytest.approx(k[::-1], rel=1e-9)
    through = fitted(tmp_path, "-d", "3", "--weights", "w")  # 4 coefficients, 4 points with weight: none spare
    assert through["dof"] == 0 and through["stderr"] is None and through["reduced_chi2"] is None
    assert through["stderr_note"].startswith("no degrees of freedom left: as many coefficients as points (4)")
