"""fitbp update and Fit.update: a saved fit merged with new points is the fit of all the points.

Each case fits file A, updates the model with file B (real processes), and compares every number of the
JSON with `fitbp fit A B` of the two files together: the coefficients to 1e-12 of the largest, every
statistic to 1e-12 relative (1e-12 of y's scale for the residuals' mean, which is 0 up to rounding).
"""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

import fitbp
from helpers import run

STATISTICS = ("mse", "rmse", "r2", "residual_std", "reduced_chi2", "chi2", "dof", "n_points", "weighted_points")


def write(path, x, y, third=None, header="x,y"):
    rows = zip(x, y) if third is None else zip(x, y, third)
    path.write_text(header + "\n" + "".join(",".join(v if isinstance(v, str) else repr(float(v)) for v in row) + "\n"
                                            for row in rows))
    return path


def pair(tmp_path, lows=(0.0, 2.0), highs=(3.0, 6.0), sigma=False, offset=0.0, seed=0):
    """Files A and B of a noisy cosine (x from lows to highs), with a σ column when asked."""
    rng = np.random.default_rng(seed)
    files = []
    for name, low, high, n in (("A.csv", lows[0], highs[0], 400), ("B.csv", lows[1], highs[1], 300)):
        x = rng.uniform(low, high, n)
        s = rng.uniform(0.05, 0.3, n)
        y = np.cos(x) + rng.normal(0.0, 1.0, n) * (s if sigma else 0.1)
        files.append(write(tmp_path / name, x + offset, y, s if sigma else None, "x,y,s" if sigma else "x,y"))
    return files


def same(found, expected):
    """Every number of the update's JSON as the fit of both files has it."""
    k, reference = np.array(found["coefficients"]), np.array(expected["coefficients"])
    assert np.max(np.abs(k - reference)) <= 1e-12 * np.max(np.abs(reference))
    own = found["basis"] + "_coefficients"
    assert np.max(np.abs(np.array(found[own]) - expected[own])) <= 1e-12 * np.max(np.abs(expected[own]))
    for key in STATISTICS:
        if expected.get(key) is not None:
            assert found[key] == pytest.approx(expected[key], rel=1e-12), key
    assert found["residual_mean"] == pytest.approx(expected["residual_mean"], abs=1e-12 * expected["rmse"])
    for key in ("stderr", "t_values"):
        if expected.get(key):
            np.testing.assert_allclose(np.array(found[key], dtype=float), np.array(expected[key], dtype=float),
                                       rtol=1e-11, err_msg=key)  # a fixed term's None as NaN, on both sides
    for key in ("x_range", "degree", "basis", "errors", "weights", "fixed", "x_origin", "x_unit"):
        assert found.get(key) == expected.get(key), key


def updated(tmp_path, fit_args, a, b, update_args=()):
    first = run("fit", a, *fit_args, "-q", "--save", "m.json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    done = run("update", "-m", "m.json", b, "--json", *update_args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    both = run("fit", a, b, *fit_args, "--no-save", "--json", cwd=tmp_path)
    assert both.returncode == 0, both.stderr
    return json.loads(done.stdout), json.loads(both.stdout)


@pytest.mark.parametrize("name, fit_args", [
    ("fixed degree", ["-d", "5"]),
    ("chebyshev", ["-d", "9", "--basis", "chebyshev"]),
    ("sigma", ["-d", "4", "--sigma", "s"]),
    ("absolute sigma", ["-d", "4", "--sigma", "s", "--absolute-sigma"]),
    ("weights", ["-d", "4", "--weights", "s"]),
    ("fix", ["-d", "4", "--fix", "0=1"]),
])
def test_fit_then_update_is_the_fit_of_both(tmp_path, name, fit_args):
    a, b = pair(tmp_path, sigma="--sigma" in fit_args or "--weights" in fit_args)
    found, expected = updated(tmp_path, fit_args, a, b)
    same(found, expected)
    assert found["engine"] == {"name": "update", "updates": 1}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_degree_bic_chose_is_chosen_again_on_every_point(tmp_path, seed):
    """fit A (--degree auto); update B = fit A B (--degree auto): the model keeps its summary at the degrees
    its search looked at, and the update chooses among them by the same rule, on every point, and says so
    when the degree changed."""
    a, b = pair(tmp_path, lows=(0.0, 3.0), highs=(3.0, 9.0), seed=seed)  # B's longer range asks for more terms
    assert run("fit", a, "-q", "--save", "m.json", cwd=tmp_path).returncode == 0
    first = json.loads((tmp_path / "m.json").read_text())["degree"]
    done = run("update", "-m", "m.json", b, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    expected = json.loads(run("fit", a, b, "--no-save", "--json", cwd=tmp_path).stdout)
    assert found["degree"] == expected["degree"]
    same(found, expected)
    assert found["degree_selection"]["chosen"] == found["degree"]
    changed = f"the degree is now {found['degree']}, as BIC chooses it on every point, old and new (it was {first})"
    assert (changed in done.stderr) == (found["degree"] != first)


def test_x_ranges_that_do_not_overlap(tmp_path):
    a, b = pair(tmp_path, lows=(0.0, 10.0), highs=(3.0, 12.0))
    same(*updated(tmp_path, ["-d", "3"], a, b))


def test_years_as_x(tmp_path):
    """x near 2000 with a spread of a few years: the triangles are in t = (x − c)/s, merged exactly."""
    a, b = pair(tmp_path, lows=(0.0, 2.0), highs=(3.0, 5.0), offset=2019.0)
    same(*updated(tmp_path, ["-d", "4"], a, b))


def dated(tmp_path, start, spans, n, seed):
    """Files dA.csv and dB.csv of ISO date-times over the day ``spans`` from ``start``, a slow wave of y."""
    rng = np.random.default_rng(seed)
    for name, (low, high) in zip(("dA.csv", "dB.csv"), spans):
        days = np.sort(rng.uniform(low, high, n))
        stamps = [(start + timedelta(days=float(d))).isoformat() for d in days]
        write(tmp_path / name, stamps, np.sin(days / 20) + rng.normal(0, 0.05, days.size), header="t,y")
    return tmp_path / "dA.csv", tmp_path / "dB.csv"


def test_dates_as_x(tmp_path):
    """ISO dates: the new file's days are counted from the model's origin, not its own first date."""
    found, expected = updated(tmp_path, ["-d", "4"], *dated(tmp_path, datetime(2026, 1, 1), ((0, 60), (40, 120)),
                                                             200, 5))
    same(found, expected)
    assert found["x_origin"] == "2026-01-01T00:00:00"


def test_updates_chain_and_save_elsewhere(tmp_path):
    a, b = pair(tmp_path)
    rng = np.random.default_rng(9)
    c = write(tmp_path / "C.csv", rng.uniform(5, 9, 200), rng.normal(0, 1, 200))
    assert run("fit", a, "-d", "4", "-q", "--save", "m.json", cwd=tmp_path).returncode == 0
    before = (tmp_path / "m.json").read_bytes()
    kept = run("update", "-m", "m.json", b, "--save", "m2.json", cwd=tmp_path)
    assert kept.returncode == 0 and (tmp_path / "m.json").read_bytes() == before
    assert "saved m2.json: 700 points, 300 of them new" in kept.stderr
    done = run("update", "-m", "m2.json", c, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    same(found, json.loads(run("fit", a, b, c, "-d", "4", "--no-save", "--json", cwd=tmp_path).stdout))
    assert found["engine"]["updates"] == 2
    predicted = run("predict", "-m", "m2.json", "1.5", cwd=tmp_path)
    assert predicted.returncode == 0 and float(predicted.stdout.split(",")[1]) == pytest.approx(
        np.polyval(found["coefficients"][::-1], 1.5), rel=1e-9)


def test_new_points_past_memory(tmp_path):
    a, b = pair(tmp_path)
    found, expected = updated(tmp_path, ["-d", "5"], a, b, ["--memory", "1k"])
    same(found, expected)


def test_what_cannot_be_updated_says_why_and_leaves_the_model(tmp_path):
    a, b = pair(tmp_path)
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n2,oops\n")
    for fit_args, data, words in [(["--loss", "huber", "-d", "3"], b, "a huber fit cannot be updated"),
                                  (["--basis", "spline"], b, "a spline model cannot be updated"),
                                  (["-d", "3"], tmp_path / "bad.csv", "bad.csv:3")]:
        assert run("fit", a, *fit_args, "-q", "--save", "m.json", cwd=tmp_path).returncode == 0
        before = (tmp_path / "m.json").read_bytes()
        done = run("update", "-m", "m.json", data, cwd=tmp_path)
        assert done.returncode == 1 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
        assert words in done.stderr, done.stderr
        assert (tmp_path / "m.json").read_bytes() == before
    document = json.loads((tmp_path / "m.json").read_text())
    del document["summary"]  # a model from before the summary was kept
    (tmp_path / "old.json").write_text(json.dumps(document))
    old = run("update", "-m", "old.json", b, cwd=tmp_path)
    assert old.returncode == 1 and "keeps no summary of its data" in old.stderr
    assert run("predict", "-m", "old.json", "1", cwd=tmp_path).returncode == 0  # and still loads
    weighted = run("fit", a, "-d", "3", "-q", "--save", "w.json", "--weights", "y", cwd=tmp_path)
    assert weighted.returncode == 1  # y holds negative values: not weights (the data's own refusal)


def test_python_update_equals_the_fit_of_every_point():
    rng = np.random.default_rng(3)
    xa, xb = rng.uniform(0, 3, 300), rng.uniform(2, 7, 200)
    ya, yb = np.cos(xa) + rng.normal(0, 0.1, 300), np.cos(xb) + rng.normal(0, 0.1, 200)
    sa, sb = rng.uniform(0.1, 0.3, 300), rng.uniform(0.1, 0.3, 200)
    first = fitbp.fit(xa, ya, degree=5, sigma=sa)
    both = first.update(xb, yb, sigma=sb)
    reference = fitbp.fit(np.concatenate([xa, xb]), np.concatenate([ya, yb]), degree=5, sigma=np.concatenate([sa, sb]))
    np.testing.assert_allclose(both.coef, reference.coef, rtol=0, atol=1e-12 * np.max(np.abs(reference.coef)))
    np.testing.assert_allclose(both.stderr, reference.stderr, rtol=1e-11)
    assert both.n == 500 and first.n == 300 and both.mse == pytest.approx(reference.mse, rel=1e-12)
    days = np.datetime64("2026-03-01") + np.arange(40).astype("timedelta64[D]")
    dated = fitbp.fit(days[:25], np.arange(25.0) ** 1.5, degree=2)
    later = dated.update(days[25:], np.arange(25.0, 40.0) ** 1.5)
    whole = fitbp.fit(days, np.arange(40.0) ** 1.5, degree=2)
    np.testing.assert_allclose(later.coef, whole.coef, rtol=1e-12)
    with pytest.raises(fitbp.FitbpError, match="keeps no summary|robust loss needs"):
        fitbp.fit(xa, ya, degree=3, loss="huber").update(xb, yb)


def test_a_model_with_a_half_life_ages_its_points_by_the_new_ones(tmp_path):
    """fit A --half-life 150; update B = fit A B --half-life 150: the old points weigh 2^(−300/150) less
    after B's 300 rows, in rows; in time, by how far the newest date moved (--half-life 10d on dates)."""
    a, b = pair(tmp_path)
    same(*updated(tmp_path, ["-d", "3", "--half-life", "150"], a, b))
    older, newer = dated(tmp_path, datetime(2026, 5, 1), ((0, 40), (30, 70)), 150, 13)
    same(*updated(tmp_path, ["-d", "3", "--half-life", "10d"], older, newer))
