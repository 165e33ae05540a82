"""Every option on every engine: the same fit whether the points are held, streamed past --memory, or
reduced on a dask cluster.

One data set (a cubic with 5 % gross outliers, σ of each point, a few σ = inf rows that are in the data
and out of the fit, x also written as ISO date-times) is read three ways, and each option's fit is
compared with the held one: the coefficients to 1e-12 of the largest, the statistics to 1e-9.  The held
fit is itself checked against numpy's lstsq elsewhere (test_trainer, test_weights, test_fixed,
test_robust, test_dates); here the question is only whether the engines agree.
"""

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from fitbp import selection
from fitbp.engines import local
from fitbp.fitting import trainer
from helpers import run

ROWS = 70_000
"""Enough rows that --memory 1MB (65536 points) streams them."""
STREAMED = 1 << 20
PARTITION = 1 << 20
"""Three dask partitions of the 2.8 MB file."""

OPTIONS = {
    "plain": ({}, {}),
    "sigma": ({"sigma": "s"}, {}),
    "absolute sigma": ({"sigma": "s"}, {"absolute_sigma": True}),
    "weights": ({"weights": "w"}, {}),
    "fix": ({}, {"fixed": {0: 2.0, 3: 1.0}}),
    "huber": ({}, {"loss": "huber"}),
    "mae": ({}, {"loss": "mae"}),
    "dates": ({"x": "t"}, {}),
    "auto": ({}, {"degree": None}),
    "auto with sigma and fix": ({"sigma": "s"}, {"degree": None, "fixed": {0: 2.0}}),
}
ENGINES = ["streamed", "dask"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    rng = np.random.default_rng(2026)
    x = rng.uniform(-2, 2, ROWS)
    sigma = rng.uniform(0.1, 0.5, ROWS)
    y = x ** 3 - 2 * x ** 2 - x + 2 + rng.normal(0, 1, ROWS) * sigma
    far = rng.random(ROWS) < 0.05
    y[far] += rng.normal(0, 20, far.sum())
    sigma[::1009] = np.inf  # in the data, out of the fit
    start = datetime(2026, 3, 28)  # a change to summer time is nothing to naive wall-clock times
    stamps = [(start + timedelta(seconds=round((v + 2) * 86400))).isoformat() for v in x.tolist()]
    path = tmp_path_factory.mktemp("engines") / "cubic.csv"
    lines = [f"{a!r},{b!r},{s!r},{1 / (s * s)!r},{t}" for a, b, s, t in
             zip(x.tolist(), y.tolist(), sigma.tolist(), stamps)]
    path.write_text("x,y,s,w,t\n" + "\n".join(lines) + "\n")
    return str(path)


def fitted(points, training):
    training = dict(training)
    degree = training.pop("degree", 3)
    return selection.fit_auto(points, **training) if degree is None else trainer.fit_points(points, degree, **training)


def load(engine, path, reading, client=None):
    if engine == "held":
        points = local.load([path], memory=1 << 30, **reading)
        assert points.held
        return points
    if engine == "streamed":
        points = local.load([path], memory=STREAMED, **reading)
        assert not points.held
        return points
    from fitbp.engines import cluster

    return cluster.load(client, [path], None, PARTITION, **reading)


@pytest.fixture(scope="module")
def held(data_file):
    """The held fit of each option: the reference."""
    return {name: fitted(load("held", data_file, reading), training)
            for name, (reading, training) in OPTIONS.items()}


def relative(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_option_gives_the_held_answer_on_every_engine(request, data_file, held, engine, name):
    reading, training = OPTIONS[name]
    client = request.getfixturevalue("client") if engine == "dask" else None
    points = load(engine, data_file, reading, client)
    found, reference = fitted(points, training), held[name]
    ours, theirs = found.summary(), reference.summary()
    assert ours["degree"] == theirs["degree"]
    assert relative(ours["coefficients"], theirs["coefficients"]) <= 1e-12
    assert relative(found.polynomial.coefficients, reference.polynomial.coefficients) <= 1e-12
    for key in ("mse", "r2", "loss_value", "chi2", "reduced_chi2", "huber_delta", "median_abs_residual",
                "residual_mean", "residual_std"):
        expected = theirs.get(key)
        assert ours.get(key) == (expected if expected is None else pytest.approx(expected, rel=1e-9, abs=1e-12)), key
    for key in ("stderr", "p_values"):
        for a, b in zip(ours.get(key) or [], theirs.get(key) or [], strict=True):
            assert a == (b if b is None else pytest.approx(b, rel=1e-9, abs=1e-300)), key
    for key in ("n_points", "weighted_points", "dof", "x_range", "x_origin", "x_unit", "errors", "weights",
                "fixed", "converged", "basis", "loss"):
        assert ours.get(key) == theirs.get(key), key
    assert found.engine["passes"] >= 1 and found.engine["name"] == ("dask" if engine == "dask" else "local")


def test_weighted_standard_input_past_memory_is_spooled_with_its_weights(data_file, held, tmp_path):
    """Standard input cannot be read twice: its numbers, σ included, go to an unnamed file for the passes."""
    done = run("fit", "-", "-d", "3", "--sigma", "s", "--memory", "1MB", "--json", "--no-save", cwd=tmp_path,
               stdin=Path(data_file).read_text())
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["engine"] == {"name": "local", "streamed": True, "passes": 2, "spooled": True}
    assert relative(found["coefficients"], held["sigma"].summary()["coefficients"]) <= 1e-12
    assert found["weighted_points"] == held["sigma"].weighted_points < found["n_points"] == ROWS


@pytest.fixture(scope="module")
def seasonal_file(tmp_path_factory):
    """A seasonal series of ROWS points with a σ each: for the Fourier series on every engine."""
    from fitbp.sources import samples

    x, y = samples.generate("seasonal", n=ROWS, seed=8)
    sigma = np.random.default_rng(9).uniform(0.1, 0.4, ROWS)
    path = tmp_path_factory.mktemp("engines") / "seasonal.csv"
    path.write_text("x,y,s\n" + "".join(f"{a!r},{b!r},{s!r}\n" for a, b, s in
                                         zip(x.tolist(), y.tolist(), sigma.tolist())))
    return str(path)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("period", ["auto", 1.0])
def test_a_fourier_series_gives_the_held_answer_on_every_engine(request, seasonal_file, engine, period):
    """Every step of a Fourier fit is a pass (the periodogram looks at the even sample), so streamed and
    on dask it is the held fit: to 1e-12 for a given period; a learned one is the same optimum, reached by
    Gauss–Newton from the sample's periodogram, to 1e-10 (the coefficients to 1e-9 of the largest)."""
    from fitbp.fitting import fourier

    client = request.getfixturevalue("client") if engine == "dask" else None
    options = {"period": period, "trend": 2}
    reference = fourier.fit(load("held", seasonal_file, {"sigma": "s"}), **options)
    found = fourier.fit(load(engine, seasonal_file, {"sigma": "s"}, client), **options)
    tolerance = 1e-12 if period != "auto" else 1e-10
    assert found.fourier["harmonics"] == reference.fourier["harmonics"]
    assert found.fourier["period"] == pytest.approx(reference.fourier["period"], rel=tolerance)
    assert relative(found.polynomial.coefficients, reference.polynomial.coefficients) <= 100 * tolerance
    if period == "auto":
        assert found.fourier["period_stderr"] == pytest.approx(reference.fourier["period_stderr"], rel=1e-6)
    for key in ("mse", "reduced_chi2"):
        assert found.summary()[key] == pytest.approx(reference.summary()[key], rel=1e-9)
    assert found.engine["passes"] >= 2 and found.engine["name"] == ("dask" if engine == "dask" else "local")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_smoothing_spline_gives_the_held_answer_on_every_engine(request, seasonal_file, engine):
    """Past FULL distinct x the spline has 1,000 knots and its points enter through two passes of sums
    (fitbp.fitting.pspline): streamed and on dask it is the held spline, λ found by the same GCV search
    (to its tolerance, 1e-7 in ln λ), the curve to 1e-8 of the y range, the statistics to 1e-6."""
    from fitbp.fitting import smoothing

    client = request.getfixturevalue("client") if engine == "dask" else None
    reference = smoothing.fit(load("held", seasonal_file, {"sigma": "s"}))
    found = smoothing.fit(load(engine, seasonal_file, {"sigma": "s"}, client))
    assert reference.spline.weight is None and reference.spline.knots.size == 1_000
    assert found.spline.lam == pytest.approx(reference.spline.lam, rel=1e-6)
    grid = np.linspace(*reference.points.x_range, 2001)
    span = float(np.ptp(reference.points.y))
    assert np.max(np.abs(found.polynomial(grid) - reference.polynomial(grid))) <= 1e-8 * span
    ours, theirs = found.summary(), reference.summary()
    for key in ("mse", "r2", "reduced_chi2", "dof", "residual_std"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6), key
    assert ours["weighted_points"] == theirs["weighted_points"] and ours["engine"]["name"] == found.engine["name"]
