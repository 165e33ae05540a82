"""fitbp compare: the family that made the data ranks first; its figures are the ones an independent
computation gives; the command line writes its table, JSON, picture and model."""

import json
import math
import subprocess

import numpy as np
import pytest
from scipy.interpolate import make_smoothing_spline

import fitbp
from fitbp import comparison
from fitbp.sources import samples
from fitbp.sources.data import Points
from helpers import FITBP, ROOT, environment

SAMPLES = ROOT / "sample_data"


def run(*args, cwd):
    return subprocess.run([*FITBP, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=environment())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("sample, family", [("cubic", "taylor"), ("seasonal", "fourier"), ("kink", "spline")])
def test_the_family_that_made_the_data_ranks_first(sample, family, seed):
    """A polynomial, a periodic signal on a trend, a curve with a kink: each family wins its own."""
    x, y = samples.generate(sample, seed=seed + 20)
    assert comparison.compare(Points(x, y), seed=seed).winner == family


def test_a_periodic_signal_without_trend_is_the_fourier_series():
    rng = np.random.default_rng(7)
    x = np.sort(rng.uniform(0.0, 12.0, 250))
    y = 1.5 * np.sin(2 * np.pi * x / 1.7) + 0.5 * np.cos(4 * np.pi * x / 1.7) + rng.normal(0.0, 0.2, x.size)
    assert fitbp.compare(x, y).winner == "fourier"


def test_cross_validation_and_bic_as_computed_independently():
    """The polynomial row's CV MSE by numpy.polyfit on each fold (the folds drawn as compare draws them),
    and the spline row's BIC by scipy's smoothing spline at the same λ."""
    x, y = samples.generate("cubic", seed=3)
    found = comparison.compare(Points(x, y), folds=4, seed=9)
    rows = {row.family: row for row in found.rows}
    degree = int(rows["taylor"].detail.split()[-1])
    fold = np.random.default_rng(9).permutation(x.size) % 4
    squares, means = np.empty_like(y), []
    for k in range(4):
        out = fold == k
        coefficients = np.polyfit(x[~out], y[~out], degree)
        squares[out] = (np.polyval(coefficients, x[out]) - y[out]) ** 2
        means.append(squares[out].mean())
    assert rows["taylor"].cv_mse == pytest.approx(squares.mean(), rel=1e-9)
    assert rows["taylor"].cv_se == pytest.approx(np.std(means, ddof=1) / 2.0, rel=1e-7)
    spline = found.candidates["spline"].curve.spline
    order = np.argsort(x)
    reference = make_smoothing_spline(x[order], y[order], lam=spline.lam)
    rss = float(np.sum((reference(x) - y) ** 2))
    assert rows["spline"].bic == pytest.approx(x.size * math.log(rss / x.size) + spline.edf * math.log(x.size),
                                               rel=1e-9)
    assert rows["spline"].parameters == pytest.approx(spline.edf)


def test_the_ranking_rule():
    """Within one standard error of the best CV MSE, the least BIC first; the rest by CV MSE."""
    rows = [comparison.Ranked("a", "", 3, 1.00, 0.10, -50.0, ""), comparison.Ranked("b", "", 9, 0.95, 0.10, -40.0, ""),
            comparison.Ranked("c", "", 2, 1.30, 0.10, -90.0, ""), comparison.Ranked("d", "", 2, 1.10, 0.1, -60.0, "")]
    assert [row.family for row in comparison._ranked(rows)] == ["a", "b", "d", "c"]


def test_command_line_table_json_plot_and_save(tmp_path):
    done = run("compare", SAMPLES / "seasonal.csv", "--json", "--plot", "c.png", "--save", "m.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["winner"] == "fourier" and [row["rank"] for row in document["families"]] == [1, 2, 3, 4]
    assert {row["family"] for row in document["families"]} == set(comparison.FAMILIES)
    assert document["saved"]["family"] == "fourier"
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "wrote c.png" in done.stderr and "saved m.json: fourier, rank 1" in done.stderr
    data = np.loadtxt(SAMPLES / "seasonal.csv", delimiter=",", skiprows=1)
    assert fitbp.load(tmp_path / "m.json")([2.5]).tolist() == fitbp.fit(data[:, 0], data[:, 1], basis="fourier",
                                                                          trend=2)([2.5]).tolist()
    table = run("compare", SAMPLES / "kink.csv", "--save", "k.json", cwd=tmp_path)
    assert table.returncode == 0 and table.stdout.splitlines()[1].split()[:2] == ["1", "spline"]
    assert "saved k.json: spline, rank 1" in table.stderr
    data = np.loadtxt(SAMPLES / "kink.csv", delimiter=",", skiprows=1)
    saved = fitbp.load(tmp_path / "k.json")
    assert saved.basis == "spline"
    assert saved([0.5, 1.7]).tolist() == fitbp.fit(data[:, 0], data[:, 1], basis="spline")([0.5, 1.7]).tolist()


def test_command_line_refusals(tmp_path):
    (tmp_path / "w.csv").write_text("x,y,s\n" + "".join(f"{i},{i * i},1\n" for i in range(30)))
    fixed = run("compare", SAMPLES / "cubic.csv", "--fix", "0=0", cwd=tmp_path)
    assert fixed.returncode == 2 and "--fix" in fixed.stderr
    short = tmp_path / "short.csv"
    short.write_text("x,y\n1,2\n2,3\n3,5\n")
    too_few = run("compare", short, cwd=tmp_path)
    assert too_few.returncode == 1 and "needs at least 10 points" in too_few.stderr


def test_weights_enter_every_fit_error_and_bic(tmp_path):
    """With σ: the polynomial row's CV MSE is numpy.polyfit's weighted fit per fold (w = √(1/σ²) on the
    residuals), each squared error times 1/σ² scaled to mean 1; its BIC that of the weighted residuals."""
    x, y = samples.generate("cubic", seed=5)
    sigma = np.random.default_rng(2).uniform(0.05, 0.5, x.size)
    y = y + np.random.default_rng(3).normal(0.0, 1.0, x.size) * sigma
    found = comparison.compare(Points(x, y, weights=1 / sigma ** 2, weighting="sigma"), folds=4, seed=9)
    assert found.weighted and found.to_dict()["weighted"]
    rows = {row.family: row for row in found.rows}
    degree = int(rows["taylor"].detail.split()[-1])
    w = (1 / sigma ** 2) / np.mean(1 / sigma ** 2)
    fold = np.random.default_rng(9).permutation(x.size) % 4
    squares = np.empty_like(y)
    for k in range(4):
        out = fold == k
        coefficients = np.polyfit(x[~out], y[~out], degree, w=1 / sigma[~out])
        squares[out] = w[out] * (np.polyval(coefficients, x[out]) - y[out]) ** 2
    assert rows["taylor"].cv_mse == pytest.approx(squares.mean(), rel=1e-8)
    whole = np.polyfit(x, y, degree, w=1 / sigma)
    rss = float(np.sum(w * (np.polyval(whole, x) - y) ** 2))
    assert rows["taylor"].bic == pytest.approx(x.size * math.log(rss / x.size) + (degree + 1) * math.log(x.size),
                                               rel=1e-9)
    (tmp_path / "w.csv").write_text("x,y,s\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in
                                                       zip(x.tolist(), y.tolist(), sigma.tolist())))
    done = run("compare", "w.csv", "--sigma", "s", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "CV weighted MSE" in done.stdout and "each squared error times its weight" in done.stdout
