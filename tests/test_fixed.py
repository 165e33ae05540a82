"""Raw coefficients fixed in advance (--fix POWER=VALUE), against statsmodels' OLS of the free terms.

Fixing k_j = v is ordinary least squares of y − v·x^j on the other powers, so
statsmodels on that problem is an independent answer: coefficients, standard
errors, degrees of freedom, t and p, and for a curve through the origin R's
uncentred R².
"""

import json

import numpy as np
import pytest

from helpers import run

sm = pytest.importorskip("statsmodels.api")


def fitted(folder, *args):
    done = run("fit", "d.csv", *args, "--json", "--no-save", cwd=folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(21)
    x = rng.uniform(10, 20, 80)  # away from 0: the raw basis is far from orthogonal, the constraint is not trivial
    y = 3 + 0.8 * x - 0.05 * x ** 2 + 0.001 * x ** 3 + rng.normal(0, 0.1, x.size)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    return tmp_path, x, y


@pytest.mark.parametrize("fixed", [{0: 0.0}, {0: 3.0}, {2: -0.05}, {1: 0.8, 3: 0.001}])
def test_fixed_terms_agree_with_ols_of_the_free_ones(folder, fixed):
    path, x, y = folder
    ours = fitted(path, "-d", "3", *[f"--fix={p}={v!r}" for p, v in fixed.items()])
    free = [j for j in range(4) if j not in fixed]
    target = y - sum(v * x ** p for p, v in fixed.items())
    ols = sm.OLS(target, np.column_stack([x ** j for j in free])).fit()
    assert [ours["coefficients"][p] for p in fixed] == list(fixed.values())  # exactly as given
    assert np.allclose([ours["coefficients"][j] for j in free], ols.params, rtol=1e-8, atol=0)
    assert np.allclose([ours["stderr"][j] for j in free], ols.bse, rtol=1e-7, atol=0)
    assert [ours["stderr"][p] for p in fixed] == [0.0] * len(fixed)
    assert np.allclose([ours["t_values"][j] for j in free], ols.tvalues, rtol=1e-7)
    assert np.allclose([ours["p_values"][j] for j in free], ols.pvalues, rtol=1e-6, atol=1e-300)
    assert ours["dof"] == x.size - len(free) == ols.df_resid
    assert ours["fixed"] == {str(p): v for p, v in fixed.items()}
    assert ours["mse"] == pytest.approx(ols.ssr / x.size, rel=1e-9)
    if 0 in fixed:  # R² about the fixed intercept: uncentred, as statsmodels gives it without a constant
        assert ours["r2_kind"] == "uncentred"
        assert ours["r2"] == pytest.approx(sm.OLS(target, np.column_stack([x ** j for j in free])).fit().rsquared,
                                           rel=1e-9)
    else:
        assert ours["r2_kind"] == "centred"


def test_fixed_terms_with_degree_auto_and_other_optimizers(folder):
    path, _, _ = folder
    auto = fitted(path, "--fix", "0=3")
    assert auto["coefficients"][0] == 3.0 and auto["degree"] >= 1 and auto["fixed"] == {"0": 3.0}
    lowest = fitted(path, "--fix", "4=0", "--fix", "0=3")  # a fixed power above the chosen degree raises it
    assert lowest["degree"] >= 4 and lowest["coefficients"][4] == 0.0
    newton = fitted(path, "-d", "3", "--fix", "1=0.8")
    cg = fitted(path, "-d", "3", "--fix", "1=0.8", "--optimizer", "cg")
    assert np.allclose(cg["coefficients"], newton["coefficients"], rtol=1e-9)


@pytest.mark.parametrize("args, status, said", [
    (["-d", "3", "--fix", "0=abc"], 2, "must be POWER=VALUE"),
    (["-d", "3", "--fix", "x=1"], 2, "must be POWER=VALUE"),
    (["-d", "3", "--fix", "0=1", "--fix", "0=2"], 2, "x^0 is fixed twice"),
    (["-d", "3", "--fix", "5=1"], 2, "--fix: x^5 is beyond degree 3"),
    (["-d", "1", "--fix", "0=1", "--fix", "1=1"], 2, "--fix: fixing 2 terms fixes all 2 coefficients of degree 1"),
    (["-d", "2", "--fix", "0=1", "--loss", "huber"], 2, "are for --loss mse, not huber"),
])
def test_fixed_terms_that_cannot_be_kept_say_why(folder, args, status, said):
    path, _, _ = folder
    (path / "fitbp.json").write_text("previous model")
    done = run("fit", "d.csv", *args, cwd=path)
    assert done.returncode == status and said in done.stderr, done.stderr
    assert (path / "fitbp.json").read_text() == "previous model"


def test_fixed_terms_on_weighted_points_agree_with_wls(folder):
    path, x, y = folder
    s = 0.05 + 0.01 * (x - 10)
    (path / "d.csv").write_text("x,y,s\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(x.tolist(), y.tolist(),
                                                                                         s.tolist())))
    ours = fitted(path, "-d", "3", "--sigma", "s", "--fix", "0=3")
    free = np.column_stack([x, x ** 2, x ** 3])
    wls = sm.WLS(y - 3.0, free, weights=1 / s ** 2).fit()
    assert ours["coefficients"][0] == 3.0
    assert np.allclose(ours["coefficients"][1:], wls.params, rtol=1e-8)
    assert np.allclose(ours["stderr"][1:], wls.bse, rtol=1e-7) and ours["dof"] == x.size - 3


def test_fixed_powers_beyond_the_automatic_search_raise_the_degree(tmp_path):
    """Five points: the search stops at degree 3, and --fix 4=0 asks for degree 4 (found by a review)."""
    (tmp_path / "d.csv").write_text("x,y\n0,1\n1,2.1\n2,2.9\n3,4.2\n4,4.9\n")
    done = fitted(tmp_path, "--fix", "4=0")
    assert done["degree"] == 4 and done["coefficients"][4] == 0.0 and done["dof"] == 1


@pytest.mark.parametrize("fix", ["3=1e300", "0=-1e200"])
@pytest.mark.parametrize("optimizer", ["newton", "adam"])
def test_a_fixed_value_beyond_float64_is_named(folder, fix, optimizer):
    """Not 'check the data' nor 'a smaller --lr': the data are fine, the fixed coefficient is what leaves
    float64."""
    done = run("fit", "d.csv", "-d", "3", "--fix", fix, "--optimizer", optimizer, "--no-save", cwd=folder[0])
    power, value = fix.split("=")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert f"k{power} = {float(value)!r}" in done.stderr and "beyond float64" in done.stderr


@pytest.mark.parametrize("k0", [0.0, 2.5, -1e-3])
def test_a_fixed_intercept_is_the_curve_at_zero_exactly(tmp_path, k0):
    """ŷ(0) = k₀ to the bit, and near 0 the curve keeps its relative accuracy: k₀ + k₁x + k₂x² + …, not
    k₀ plus the rounding of a Taylor sum centred far away."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0.2, 9, 60)  # a calibration's range, from near 0
    y = k0 + 0.7 * x - 0.02 * x ** 2 + rng.normal(0, 0.01, x.size)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    fitted = run("fit", "d.csv", "-d", "3", "--fix", f"0={k0!r}", "--json", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    k = json.loads(fitted.stdout)["coefficients"]
    small = [0.0, 1e-12, -3e-9, 1e-5]
    done = run("predict", "--", *map(repr, small), cwd=tmp_path)
    predicted = [float(line.split(",")[1]) for line in done.stdout.splitlines()]
    assert predicted[0] == k0
    exact = [sum(kj * v ** j for j, kj in enumerate(k)) for v in small]  # the raw form is exact near 0
    assert predicted == pytest.approx(exact, rel=1e-12, abs=1e-15 * max(abs(k0), 1e-300))
    inside = run("predict", "--", *map(repr, x[:5].tolist()), cwd=tmp_path)
    assert [float(line.split(",")[1]) for line in inside.stdout.splitlines()] == pytest.approx(
        [sum(kj * v ** j for j, kj in enumerate(k)) for v in x[:5].tolist()], rel=1e-12)


def test_far_from_zero_a_fixed_intercept_does_not_move_the_curve_where_the_data_are(tmp_path):
    """x near 1e6 through k₀ = 5: the rounded Taylor coefficients miss k₀ at 0 by 1e-5 or so, far more
    than their rounding over the data; predict keeps the fitted curve there, equal to the exact
    constrained least squares (50 digits, mpmath) to 1e-13, rather than honour k₀ at a point 1e5 ranges away."""
    mpmath = pytest.importorskip("mpmath")
    x = np.linspace(1e6, 1e6 + 10, 25)
    y = 5 + 3e-6 * x + 1e-12 * x ** 2 + 1e-3 * np.sin(x)
    (tmp_path / "far.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    assert run("fit", "far.csv", "-d", "2", "--fix", "0=5", "-q", cwd=tmp_path).returncode == 0
    done = run("predict", *map(repr, x[::6].tolist()), cwd=tmp_path)
    predicted = np.array([float(line.split(",")[1]) for line in done.stdout.splitlines()])
    with mpmath.workdps(50):  # y − 5 = k1 x + k2 x², least squares on the two free powers
        design = mpmath.matrix([[mpmath.mpf(v), mpmath.mpf(v) ** 2] for v in x.tolist()])
        target = mpmath.matrix([mpmath.mpf(v) - 5 for v in y.tolist()])
        k = mpmath.lu_solve(design.T * design, design.T * target)
        exact = [float(5 + k[0] * mpmath.mpf(v) + k[1] * mpmath.mpf(v) ** 2) for v in x[::6].tolist()]
    assert predicted == pytest.approx(exact, rel=1e-13)
