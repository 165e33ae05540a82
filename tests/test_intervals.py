"""Intervals and extrapolation in predict and plot, against statsmodels' OLS.

statsmodels' get_prediction().summary_frame() gives the confidence interval of
the mean (mean_ci_*) and the prediction interval of a new observation (obs_ci_*)
for the same least-squares fit; fitbp's come from its model file alone.
"""

import json

import numpy as np
import pytest

from helpers import run


@pytest.fixture
def fitted(tmp_path):
    rng = np.random.default_rng(11)
    x = rng.uniform(1990, 2020, 60)  # years: the raw powers are ill-conditioned, the model is not
    y = 3.0 + 0.2 * (x - 2005) - 0.01 * (x - 2005) ** 2 + rng.normal(0, 0.4, x.size)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    assert run("fit", "d.csv", "-d", "2", "-q", cwd=tmp_path).returncode == 0
    return x, y, tmp_path


@pytest.mark.parametrize("interval, prefix", [("confidence", "mean_ci"), ("prediction", "obs_ci")])
@pytest.mark.parametrize("level", [0.95, 0.8])
def test_predict_intervals_agree_with_statsmodels(fitted, interval, prefix, level):
    sm = pytest.importorskip("statsmodels.api")
    x, y, folder = fitted
    at = np.array([1991.0, 1997.25, 2005.0, 2019.5])
    done = run("predict", *map(repr, at.tolist()), "--interval", interval, "--level", str(level), cwd=folder)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    rows = np.array([[float(v) for v in line.split(",")] for line in done.stdout.splitlines()])
    center = 2005.0  # the design in x − 2005 is the same least-squares problem, well conditioned for OLS
    design = np.vander(x - center, 3, increasing=True)
    frame = sm.OLS(y, design).fit().get_prediction(np.vander(at - center, 3, increasing=True)).summary_frame(
        alpha=1 - level)
    assert np.array_equal(rows[:, 0], at)
    assert np.allclose(rows[:, 1], frame["mean"], rtol=1e-8, atol=0)
    assert np.allclose(rows[:, 2], frame[f"{prefix}_lower"], rtol=1e-8, atol=0)
    assert np.allclose(rows[:, 3], frame[f"{prefix}_upper"], rtol=1e-8, atol=0)


def test_extrapolation_is_answered_with_one_warning_and_marked_in_json(fitted):
    x, _, folder = fitted
    done = run("predict", "1980", "2000", "2030", "2031", cwd=folder)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 4
    low, high = float(x.min()), float(x.max())
    assert done.stderr == (f"warning: x outside the fitted range [{low!r}, {high!r}] (3 of 4 values): the "
                           "polynomial is extrapolated there, and nothing in the data vouches for it\n")
    document = json.loads(run("predict", "1980", "2000", "--json", "--interval", "prediction", cwd=folder).stdout)
    assert document["x_range"] == [low, high] and document["interval"] == "prediction"
    assert [p["extrapolated"] for p in document["points"]] == [True, False]
    assert all(p["lower"] < p["y"] < p["upper"] for p in document["points"])
    inside = run("predict", repr(float(low)), repr(float(high)), cwd=folder)
    assert inside.stderr == ""  # the ends of the range are inside it


def test_bad_levels_are_usage_errors(fitted):
    _, _, folder = fitted
    for level in ("1.5", "0", "1", "nan"):
        done = run("predict", "2000", "--interval", "confidence", "--level", level, cwd=folder)
        assert done.returncode == 2 and "--level" in done.stderr


def test_plot_draws_the_prediction_interval_and_shades_the_extrapolation(fitted, monkeypatch):
    """The picture's file signature from the command, and what the renderer was handed: the interval of
    --band prediction is the band widened by the residual variance, and --xlim's reach beyond the data
    is shaded."""
    _, _, folder = fitted
    for args in (["--band"], ["--band", "prediction", "--level", "0.9"], ["--band", "--xlim", "1980", "2030"],
                 ["--xlim", "1980", "2030", "--band", "prediction"]):
        done = run("plot", *args, "-o", "p.png", cwd=folder)
        assert done.returncode == 0 and done.stderr == "wrote p.png\n", (args, done.stderr)
        assert (folder / "p.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    for bad in (["--xlim", "2030", "1980"], ["--xlim", "1", "nan"], ["--band", "nope"]):
        assert run("plot", *bad, cwd=folder).returncode == 2

    from fitbp import cli
    from fitbp.views import renderer

    handed = {}
    real = renderer.figure
    monkeypatch.setattr(renderer, "figure", lambda *a, **k: handed.update(k) or real(*a, **k))
    monkeypatch.chdir(folder)
    for kind in ("confidence", "prediction"):
        with pytest.raises(SystemExit) as ended:
            cli.app(["plot", "--band", kind, "--xlim", "1980", "2030", "-o", f"{kind}.png", "-q"])
        assert ended.value.code in (0, None)
        handed[kind] = handed["band"](np.array([2005.0]))
    document = json.loads((folder / "fitbp.json").read_text())
    confidence, prediction = (np.array(handed[k]).ravel() for k in ("confidence", "prediction"))
    assert prediction[0] < confidence[0] < confidence[1] < prediction[1]
    assert handed["xlim"] == (1980.0, 2030.0) and handed["fitted_range"] == tuple(document["x_range"])


def _lines(text):
    return [[float(v) for v in line.split(",")] for line in text.splitlines()]


def test_inverse_finds_every_x_where_the_curve_equals_y(tmp_path):
    """Noise-free data of (x + 1.5)(x − 1)(x − 2): y = 0 at exactly those x, y = 4 once, y = 50 nowhere."""
    x = np.linspace(-2, 3, 101)
    y = (x + 1.5) * (x - 1) * (x - 2)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    assert run("fit", "d.csv", "-d", "3", "-q", cwd=tmp_path).returncode == 0
    done = run("predict", "--inverse", "0", "4", "50", cwd=tmp_path)
    rows = _lines(done.stdout)
    assert [r[0] for r in rows] == [0.0, 0.0, 0.0, 4.0]
    assert np.allclose([r[1] for r in rows[:3]], [-1.5, 1.0, 2.0], rtol=0, atol=1e-12)
    lone = np.roots([1, -1.5, -2.5, 3 - 4])  # x³ − 1.5x² − 2.5x + 3 = 4
    real = sorted(r.real for r in lone if abs(r.imag) < 1e-9 and -2 <= r.real <= 3)
    assert rows[3][1] == pytest.approx(real[0], abs=1e-12) and len(real) == 1
    assert done.stderr == ("warning: no x in the fitted range [-2.0, 3.0] gives y = 50.0 (1 of 3 values): the "
                           "curve does not reach them there\n")
    typed = run("predict", "--inverse", cwd=tmp_path, stdin="y\n0\n")  # values from stdin, a header first
    assert len(_lines(typed.stdout)) == 3


@pytest.mark.parametrize("interval, prefix", [("confidence", "mean_ci"), ("prediction", "obs_ci")])
def test_inverse_intervals_invert_statsmodels_bands(fitted, interval, prefix):
    """The x interval of a measured y is where statsmodels' band edges cross y, found here by scipy's brentq."""
    sm = pytest.importorskip("statsmodels.api")
    optimize = pytest.importorskip("scipy.optimize")
    x, y, folder = fitted
    ols = sm.OLS(y, np.vander(x - 2005, 3, increasing=True)).fit()

    def edge(side):
        return lambda at: float(ols.get_prediction(np.vander([at - 2005], 3, increasing=True)).summary_frame(
            alpha=0.05)[f"{prefix}_{side}"].iloc[0])

    measured = 2.0
    rows = _lines(run("predict", "--inverse", repr(measured), "--interval", interval, cwd=folder).stdout)
    assert len(rows) == 1
    _, root, lower, upper = rows[0]
    assert float(ols.predict(np.vander([root - 2005], 3, increasing=True))[0]) == pytest.approx(measured, rel=1e-10)
    # y = 2 meets the upper edge at the lower x and the lower edge at the upper x (the curve rises here)
    expected_lower = optimize.brentq(lambda at: edge("upper")(at) - measured, root - 10, root, xtol=1e-12)
    expected_upper = optimize.brentq(lambda at: edge("lower")(at) - measured, root, root + 10, xtol=1e-12)
    assert lower == pytest.approx(expected_lower, abs=1e-8) and upper == pytest.approx(expected_upper, abs=1e-8)


def test_inverse_near_a_peak_finds_the_peak_or_nothing(tmp_path):
    """Just above a maximum the roots are a complex pair: their real part is no answer (found by a review:
    x = 0.475, where the curve is 3.7, for y a hair above the peak 4.0005)."""
    rng = np.random.default_rng(2)
    x = np.linspace(-1, 3, 41)
    y = 4 - (x - 1) ** 2 + rng.normal(0, 0.01, x.size)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    assert run("fit", "d.csv", "-d", "2", "-q", cwd=tmp_path).returncode == 0
    a = json.loads((tmp_path / "fitbp.json").read_text())["taylor_coefficients"]
    peak = a[0] - a[1] ** 2 / (4 * a[2])  # the parabola's top, in closed form
    for above in (1e-13, 1e-9, 1e-3):
        done = run("predict", "--inverse", repr(peak * (1 + above)), cwd=tmp_path)
        assert done.stdout == "" and "no x in the fitted range" in done.stderr, (above, done.stdout)
    done = run("predict", "--inverse", repr(peak * (1 - 1e-6)), cwd=tmp_path)
    found = [float(line.split(",")[1]) for line in done.stdout.splitlines()]
    model_x = [v for v in found]
    assert len(found) == 2 and all(abs(v - 1) < 0.01 for v in model_x)
    flat = run("fit", "d.csv", "-d", "0", "-q", cwd=tmp_path)
    assert flat.returncode == 0
    level = json.loads((tmp_path / "fitbp.json").read_text())["coefficients"][0]
    assert "the curve is flat" in run("predict", "--inverse", repr(level), cwd=tmp_path).stderr


def test_inverse_finds_the_ends_of_the_range_and_absolute_models_with_no_dof_give_intervals(tmp_path):
    x = np.linspace(0.0, 1.0, 21)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), (3 * x).tolist())))
    assert run("fit", "d.csv", "-d", "1", "-q", cwd=tmp_path).returncode == 0
    ends = [float(v) for v in run("predict", "0", "1", cwd=tmp_path).stdout.replace("\n", ",").split(",")[1::2]]
    for y, expected in zip(ends, (0.0, 1.0)):
        back = run("predict", "--inverse", repr(y), cwd=tmp_path)
        assert back.stderr == "" and float(back.stdout.split(",")[1]) == pytest.approx(expected, abs=1e-12)
    (tmp_path / "two.csv").write_text("x,y,s\n0,1,0.1\n1,3,0.1\n")
    assert run("fit", "two.csv", "-d", "1", "--sigma", "s", "--absolute-sigma", "-q", cwd=tmp_path).returncode == 0
    done = run("predict", "0.5", "--interval", "confidence", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lower, upper = (float(v) for v in done.stdout.split(",")[2:])
    assert lower < 2.0 < upper  # dof 0, yet absolute σ carry the errors


def _write(folder, x, y, name="d.csv"):
    """x (numbers, or dates as text) and y as a CSV file."""
    cells = [a if isinstance(a, str) else repr(a) for a in x]
    (folder / name).write_text("x,y\n" + "".join(f"{a},{b!r}\n" for a, b in zip(cells, y.tolist())))


class _Band:
    """statsmodels' OLS fit of the data and its band, to check fitbp's inverse intervals independently."""

    def __init__(self, x, y, degree, prefix="mean_ci", alpha=0.05):
        sm = pytest.importorskip("statsmodels.api")
        self.center, self.degree, self.prefix, self.alpha = float(np.mean(x)), degree, prefix, alpha
        self.ols, self.range = sm.OLS(y, self.design(x)).fit(), (float(x.min()), float(x.max()))

    def design(self, at):
        return np.vander(np.atleast_1d(at) - self.center, self.degree + 1, increasing=True)

    def frame(self, at):
        return self.ols.get_prediction(self.design(at)).summary_frame(alpha=self.alpha)

    def outside(self, at, y):
        """How far y is outside the band at x: ≤ 0 where the band holds it, and continuous."""
        frame = self.frame(at)
        return np.maximum(frame[f"{self.prefix}_lower"] - y, y - frame[f"{self.prefix}_upper"]).to_numpy()

    def pieces(self, y):
        """(lower, upper, lower_cut, upper_cut) of each piece of the range where the band holds y: the band on
        a fine grid, each end inside the range refined by brentq; a cut end is one where the band holds y at
        the end of the range."""
        optimize = pytest.importorskip("scipy.optimize")
        grid = np.linspace(*self.range, 20001)
        inside = np.concatenate(([False], self.outside(grid, y) <= 0, [False]))
        changes = np.flatnonzero(np.diff(inside.astype(np.int8)))  # i: grid[i - 1] and grid[i] differ
        found = []
        for start, stop in zip(changes[0::2], changes[1::2]):
            ends = [None if i in (0, grid.size) else
                    optimize.brentq(lambda at: self.outside(at, y)[0], grid[i - 1], grid[i], xtol=1e-13)
                    for i in (start, stop)]
            found.append((grid[0] if ends[0] is None else ends[0], grid[-1] if ends[1] is None else ends[1],
                          ends[0] is None, ends[1] is None))
        return found


def _calibration(folder):
    """A straight calibration line: three replicates at each of 0..5, a blank (x = 0) among them."""
    rng = np.random.default_rng(3)
    x = np.repeat(np.arange(0.0, 6.0), 3)
    y = 0.02 + 0.5 * x + rng.normal(0, 0.05, x.size)
    _write(folder, x.tolist(), y)
    assert run("fit", "d.csv", "-d", "1", "-q", cwd=folder).returncode == 0
    return x, y


def test_inverse_of_a_blank_below_the_line_is_where_the_band_holds_it_cut_at_the_range(tmp_path):
    """The calibration-blank case: y a little below the line's value at the lowest standard, x = 0, is
    never reached by the line on [0, 5], yet the band holds it from 0 up to some x. Its lower end is the
    range's start, where the band still holds y (statsmodels' own band runs on below 0): cut, not a bound.
    A y the line does reach near 0 keeps its x and has its lower end cut too."""
    x, y = _calibration(tmp_path)
    band = _Band(x, y, 1)
    at_zero = band.frame(0.0)
    blank = float(at_zero["mean"].iloc[0] - 0.5 * (at_zero["mean"].iloc[0] - at_zero["mean_ci_lower"].iloc[0]))
    reached = float(band.frame(0.05)["mean"].iloc[0])
    done = run("predict", "--inverse", repr(blank), repr(reached), "--interval", "confidence", "--json", cwd=tmp_path)
    assert done.returncode == 0
    document = json.loads(done.stdout)
    assert document["unmatched"] == [] and [p["y"] for p in document["points"]] == [blank, reached]
    lone = document["points"][0]
    assert set(lone) == {"y", "x", "lower", "upper", "lower_cut", "upper_cut"} and lone["x"] is None
    pieces = band.pieces(blank)
    assert len(pieces) == 1 and pieces[0][2:] == (True, False)  # statsmodels: cut at 0, a bound above
    assert (lone["lower"], lone["lower_cut"], lone["upper_cut"]) == (0.0, True, False)
    assert lone["upper"] == pytest.approx(pieces[0][1], abs=1e-9)
    near = document["points"][1]
    pieces = band.pieces(reached)
    assert near["x"] == pytest.approx(0.05, abs=1e-12) and (near["lower_cut"], near["upper_cut"]) == (True, False)
    assert near["lower"] == 0.0 and near["upper"] == pytest.approx(pieces[0][1], abs=1e-9)
    assert "does not reach y = " + repr(blank) in done.stderr and "their x is null" in done.stderr
    assert "cut, not a bound (marked lower_cut or upper_cut)" in done.stderr

    csv = run("predict", "--inverse", repr(blank), repr(reached), "--interval", "confidence", cwd=tmp_path)
    assert csv.returncode == 0
    assert csv.stdout == (f"{blank!r},,,{lone['upper']!r}\n"  # x and the cut lower end: empty fields
                          f"{reached!r},{near['x']!r},,{near['upper']!r}\n")
    assert csv.stderr.count("warning: ") == 2 and "their lines leave x empty" in csv.stderr
    assert "(left empty)" in csv.stderr
    bare = run("predict", "--inverse", repr(blank), cwd=tmp_path)  # no band: nothing changes
    assert bare.stdout == "" and "the curve does not reach them there\n" in bare.stderr


@pytest.mark.parametrize("interval, prefix", [("confidence", "mean_ci"), ("prediction", "obs_ci")])
@pytest.mark.parametrize("degree, below", [(2, 1), (4, 2)])
def test_inverse_just_below_a_minimum_gives_the_pieces_of_statsmodels_band(tmp_path, interval, prefix, degree,
                                                                             below):
    """y just below the curve's lowest point inside the range: a parabola's band holds it on one piece,
    both ends bounds; a W-shaped quartic's on two, one line each, as statsmodels' band on a fine grid says."""
    x = np.linspace(-2.0, 2.0, 41)
    noise = np.random.default_rng(5).normal(0, 0.05, 21)
    truth = x ** 2 if degree == 2 else (x ** 2 - 1) ** 2
    y = 1.0 + truth + np.concatenate((noise, noise[-2::-1]))  # even: the quartic's two minima are one level
    _write(tmp_path, x.tolist(), y)
    assert run("fit", "d.csv", "-d", str(degree), "-q", cwd=tmp_path).returncode == 0
    band = _Band(x, y, degree, prefix)
    measured = float(band.frame(np.linspace(-2, 2, 20001))["mean"].min()) - 0.01
    pieces = band.pieces(measured)
    assert len(pieces) == below
    done = run("predict", "--inverse", repr(measured), "--interval", interval, "--json", cwd=tmp_path)
    points = json.loads(done.stdout)["points"]
    assert len(points) == below and all(p["x"] is None and not p["lower_cut"] and not p["upper_cut"] for p in points)
    for point, (lower, upper, _, _) in zip(points, pieces):
        assert point["lower"] == pytest.approx(lower, abs=1e-8) and point["upper"] == pytest.approx(upper, abs=1e-8)
    csv = run("predict", "--inverse", repr(measured), "--interval", interval, cwd=tmp_path).stdout
    assert csv == "".join(f"{measured!r},,{p['lower']!r},{p['upper']!r}\n" for p in points)


def test_inverse_bounds_of_a_date_model_are_dates_and_cut_ends_stay_empty(tmp_path):
    """The same calibration with its x as days since 2024-01-01: the bounds are those of the numeric model,
    printed as dates."""
    x, y = _calibration(tmp_path)
    days = [str(np.datetime64("2024-01-01") + np.timedelta64(int(d), "D")) for d in x]
    _write(tmp_path, days, y, "dates.csv")
    assert run("fit", "dates.csv", "-d", "1", "-q", "--save", "dates.json", cwd=tmp_path).returncode == 0
    numbers = json.loads(run("predict", "--inverse", "-0.01", "0.9", "--interval", "confidence", "--json",
                             cwd=tmp_path).stdout)["points"]
    done = run("predict", "--inverse", "-0.01", "0.9", "--interval", "confidence", "--json", "-m", "dates.json",
               cwd=tmp_path)
    from fitbp.sources import dates

    axis = dates.Axis(dates.parse("2024-01-01"))
    points = json.loads(done.stdout)["points"]
    assert [p["lower_cut"] for p in points] == [True, False] and points[0]["x"] is None
    for point, number in zip(points, numbers):
        for key in ("x", "lower", "upper"):
            assert point[key] == (None if number[key] is None else axis.text(number[key])), key
    csv = run("predict", "--inverse", "-0.01", "--interval", "confidence", "-m", "dates.json", cwd=tmp_path).stdout
    assert csv == f"-0.01,,,{points[0]['upper']}\n"
