"""newton on the robust losses (fitbp.fitting.robust): the exact optimum, against independent solvers.

huber against statsmodels' RLM with its scale fixed and against IRLS iterated to convergence; mae
against the linear programme solved by scipy's HiGHS; the degenerate data that trip vertex methods
(ties, duplicates, interpolation, as many points as coefficients, a constant); and the command line.
"""

import json

import numpy as np
import pytest

from fitbp.engines import moments
from fitbp.fitting import robust
from fitbp.fitting.trainer import Points, fit_points

from helpers import ROOT, run

OUTLIERS = ROOT / "sample_data" / "outliers.csv"


def cubic_with_outliers(n, seed, share=0.05):
    """x³ − 2x² − x + 2 on [−2, 2] with normal noise and a share of gross outliers: a unique optimum."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    y = x ** 3 - 2 * x ** 2 - x + 2 + rng.normal(0, 0.3, n)
    far = rng.random(n) < share
    y[far] += rng.normal(0, 20, far.sum())
    return x, y


def design_of(result, x):
    """The fit's own design matrix: its basis's functions of its t."""
    p = result.polynomial
    return p.basis.columns((x - p.center) / p.scale, p.degree)


def relative(found, reference):
    return float(np.max(np.abs(np.asarray(found) - reference)) / np.max(np.abs(reference)))


def irls_huber(design, y, delta):
    """Huber's fit by iteratively reweighted least squares, weights min(1, δ/|r|), to a fixed point."""
    k = np.linalg.lstsq(design, y, rcond=None)[0]
    for _ in range(10_000):
        root = np.sqrt(np.minimum(1.0, delta / np.maximum(np.abs(design @ k - y), 1e-300)))
        new = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
        if np.max(np.abs(new - k)) <= 1e-15 * np.max(np.abs(new)):
            return new
        k = new
    raise AssertionError("IRLS did not converge")


def linprog_l1(design, y):
    """min Σ|y − V k| by HiGHS, through its dual max yᵀλ, Vᵀλ = 0, |λ| ≤ 1 (the primal's n + p
    variables take HiGHS 10 s at 2e4 rows, the dual's n a fraction of one): k is the dual's multipliers."""
    from scipy.optimize import linprog

    solved = linprog(-y, A_eq=design.T, b_eq=np.zeros(design.shape[1]), bounds=(-1, 1), method="highs")
    assert solved.status == 0, solved.message
    return -solved.eqlin.marginals


def mae_of(design, y, k):
    return float(np.mean(np.abs(design @ k - y)))


def test_huber_is_statsmodels_rlm_with_its_scale_fixed():
    import statsmodels.api as sm
    from statsmodels.robust.norms import HuberT

    x, y = cubic_with_outliers(3000, 1)
    result = fit_points(Points(x, y), 3, loss="huber")
    assert result.optimizer == "newton" and result.converged and result.epochs <= 6
    design = design_of(result, x)
    # δ: 1.345 robust sd (1.4826 MAD about the median) of the least-squares residuals, fixed before the steps
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    spread = 1.4826 * np.median(np.abs(residual - np.median(residual)))
    assert result.delta == pytest.approx(1.345 * spread, rel=1e-9)
    rlm = sm.RLM(y, design, M=HuberT(t=1.345)).fit(start_scale=result.delta / 1.345, update_scale=False,
                                                   conv="coefs", tol=1e-15, maxiter=1000)
    assert relative(result.polynomial.coefficients, rlm.params) < 1e-10
    assert relative(result.polynomial.coefficients, irls_huber(design, y, result.delta)) < 1e-10


@pytest.mark.parametrize("basis, degree, delta", [("chebyshev", 8, None), ("taylor", 5, 0.05), ("taylor", 2, 1e-3)])
def test_huber_is_irls_at_its_fixed_point(basis, degree, delta):
    """In another basis, and with a δ far below the noise, where few rows lie inside it (adam stalled
    there): newton's curvature of the rows inside δ, or IRLS's where they are too few."""
    x, y = cubic_with_outliers(2000, 2, share=0.2)
    result = fit_points(Points(x, y), degree, loss="huber", delta=delta, basis=basis)
    assert result.converged and result.warnings == []
    reference = irls_huber(design_of(result, x), y, result.delta)
    assert relative(result.polynomial.coefficients, reference) < 1e-10


@pytest.mark.parametrize("seed", range(6))
def test_huber_reaches_its_stationary_point_where_delta_is_far_below_the_noise(seed):
    """δ a fifth of the noise and two fifths of the points shifted one way: few rows inside δ, where a
    full Newton step overshoots and IRLS creeps (it crept and a Newton step undid it, for ever, until
    the line search along the step).  At the optimum the gradient Vᵀψ(r) vanishes."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 300)
    y = np.sin(3 * x) + rng.normal(0, 0.05, x.size)
    y[rng.random(x.size) < 0.4] += 5
    result = fit_points(Points(x, y), int(rng.integers(2, 7)), loss="huber", delta=0.01)
    assert result.converged and result.epochs < 50
    design = design_of(result, x)
    pull = np.clip(design @ np.array(result.polynomial.coefficients) - y, -0.01, 0.01)
    assert np.max(np.abs(design.T @ pull)) <= 1e-10 * np.max(np.abs(design).T @ np.abs(pull))


def test_mae_is_the_linear_programme_on_twenty_thousand_rows():
    x, y = cubic_with_outliers(20_000, 3)
    result = fit_points(Points(x, y), 3, loss="mae")
    assert result.optimizer == "newton" and result.converged and result.warnings == []
    design = design_of(result, x)
    reference = linprog_l1(design, y)
    assert result.final_loss == pytest.approx(mae_of(design, y, reference), rel=1e-9)
    assert relative(result.polynomial.coefficients, reference) < 1e-7
    assert result.final_loss == pytest.approx(mae_of(design, y, np.array(result.polynomial.coefficients)), rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_mae_converges_wherever_the_optimum_is_unique(seed):
    """Points in general position (continuous x and y, an odd count) have one L1 optimum: newton
    reports converged and finds it, at any size (past 2·SAMPLE through the sample and the band), degree
    and basis."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([51, 501, 5001, 50_001]))
    degree, basis = int(rng.integers(0, 7)), ["taylor", "chebyshev"][seed % 2]
    x, y = cubic_with_outliers(n, 100 + seed, share=float(rng.choice([0.0, 0.05, 0.3])))
    result = fit_points(Points(x, y), degree, loss="mae", basis=basis)
    assert result.converged and result.warnings == []
    design = design_of(result, x)
    reference = linprog_l1(design, y) if degree else np.array([np.median(y)])  # HiGHS takes 30 s on a median
    assert result.final_loss == pytest.approx(mae_of(design, y, reference), rel=1e-9)
    assert relative(result.polynomial.coefficients, reference) < 1e-7


@pytest.mark.parametrize("narrow", [False, True])
def test_mae_on_a_sample_then_a_band_is_the_optimum_of_all_the_rows(narrow, monkeypatch):
    """Past 2·SAMPLE rows the vertex is found on a sample, then on a band whose outside rows' signs are
    presumed: two passes; a band far too narrow is widened until no row outside it changes sides."""
    monkeypatch.setattr(robust, "SAMPLE", 1000)
    if narrow:
        monkeypatch.setattr(robust, "BAND", 0.02)
    x, y = cubic_with_outliers(30_000, 4)
    result = fit_points(Points(x, y), 4, loss="mae", basis="chebyshev")
    assert result.converged and (result.epochs > 2 if narrow else result.epochs == 2)
    design = design_of(result, x)
    reference = linprog_l1(design, y)
    assert result.final_loss == pytest.approx(mae_of(design, y, reference), rel=1e-9)
    assert relative(result.polynomial.coefficients, reference) < 1e-7


@pytest.mark.parametrize("loss", robust.FITTED)
def test_each_pass_is_the_same_a_chunk_at_a_time(loss, monkeypatch):
    """A pass reads the design rows a chunk at a time, so that a stream could feed it: the fit does not
    depend on the chunk's size."""
    x, y = cubic_with_outliers(5000, 5)
    whole = fit_points(Points(x, y), 3, loss=loss)
    monkeypatch.setattr(moments, "CHUNK", 333)
    chunked = fit_points(Points(x, y), 3, loss=loss)
    assert relative(chunked.polynomial.coefficients, np.array(whole.polynomial.coefficients)) < 1e-12
    assert chunked.epochs == whole.epochs and chunked.converged


def degenerate():
    rng = np.random.default_rng(6)
    seven = np.linspace(0, 1, 7)
    return {
        "integer y on ten repeated x": (np.repeat(np.arange(10.0), 50), rng.integers(0, 4, 500).astype(float), 2),
        "exact duplicates": (np.repeat(seven, 30), np.repeat(seven ** 2, 30), 2),
        "duplicates, some off": (np.repeat(seven, 30), np.repeat(seven ** 2, 30) + np.tile([0, 0, 0, 0.1, -0.1], 42),
                                 2),
        "as many points as coefficients": (np.array([0.0, 1, 2, 3]), np.array([1.0, 5, 2, 8]), 3),
        "one point more": (np.array([0.0, 1, 2, 3, 4]), np.array([1.0, 5, 2, 8, 3]), 3),
        "constant y": (rng.uniform(size=100), np.full(100, 3.5), 2),
        "an even count's median": (np.arange(6.0), np.array([1.0, 9, 2, 8, 3, 7]), 0),
        "half the points on a line": (np.arange(40.0), np.where(np.arange(40) % 2 == 0, 2 * np.arange(40.0), 0.0), 1),
        "two fifths gross outliers": (np.linspace(-1, 1, 300), np.linspace(-1, 1, 300) ** 2
                                      + np.where(rng.random(300) < 0.4, 5.0, 0.0) + rng.normal(0, 0.05, 300), 2),
        "a hundred thousand ties": (np.repeat(np.arange(100.0), 1000), rng.integers(0, 5, 100_000).astype(float), 3),
    }


@pytest.mark.parametrize("case", list(degenerate()))
def test_degenerate_data_get_the_optimum(case):
    """Ties, duplicates, interpolation and constants: no traceback, converged, and the optimum (where it is
    not unique, as an even count's median, the optimal loss)."""
    x, y, degree = degenerate()[case]
    for loss in robust.FITTED:
        result = fit_points(Points(x, y), degree, loss=loss)
        assert result.converged and result.warnings == [], (loss, result.warnings)
        design = design_of(result, x)
        k = np.array(result.polynomial.coefficients)
        if loss == "mae":
            best = mae_of(design, y, linprog_l1(design, y))
            assert mae_of(design, y, k) <= best * (1 + 1e-9) + 1e-12 * np.max(np.abs(y))
        else:
            reference = irls_huber(design, y, result.delta)
            assert relative(design @ k, design @ reference) < 1e-9


def test_cg_stays_refused_and_newton_is_allowed_for_robust_losses():
    from fitbp.errors import FitbpError

    x, y = cubic_with_outliers(50, 7)
    with pytest.raises(FitbpError, match="for loss='huber' use optimizer='newton', adam, momentum or gd"):
        fit_points(Points(x, y), 2, optimizer="cg", loss="huber")
    assert fit_points(Points(x, y), 2, optimizer="newton", loss="mae").converged


@pytest.mark.parametrize("loss", robust.FITTED)
def test_the_command_line_fits_robust_losses_by_newton_and_adam_still_teaches(loss, tmp_path):
    done = run("fit", OUTLIERS, "-d", "3", "--loss", loss, "--no-save", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    rows = dict(line.split(None, 1) for line in done.stdout.splitlines()[-5:] if line.split())
    assert rows["optimizer"].strip() == "newton" and rows["converged"].strip() == "yes"
    exact = json.loads(run("fit", OUTLIERS, "-d", "3", "--loss", loss, "--json", "--no-save", cwd=tmp_path).stdout)
    assert exact["converged"] and exact["epochs"] <= 6
    taught = run("fit", OUTLIERS, "-d", "3", "--loss", loss, "--optimizer", "adam", "--epochs", "3000", "--json",
                 "--no-save", "-q", cwd=tmp_path)
    adam = json.loads(taught.stdout)
    assert taught.returncode == 0 and adam["optimizer"] == "adam" and adam["epochs"] > 100
    assert exact["loss_value"] <= adam["loss_value"]  # the optimum, which adam approaches

