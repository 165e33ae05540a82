"""Automatic degree choice: the turning-point count, the rule, the scores and the choice.

Scores are checked against independent numpy computations (lstsq refits on the same folds); the
choice against noisy polynomials of known degree, smooth curves whose noise floor is known, and
gross outliers.
"""

import json
import math

import numpy as np
import pytest
from helpers import ROOT

from fitbp import selection
from fitbp.errors import FitbpError
from fitbp.sources.files import load_points
from fitbp.sources.data import Points
from fitbp.engines import first, moments
from fitbp.selection import (count_turning_points, fit_auto, gross_outliers, rule_degree, score_degrees,
                             select_degree, select_table)


def noisy(f, lo, hi, sd, n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, n)
    return x, f(x) + rng.normal(0.0, sd, n)


def points(x, y):
    return Points(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))


def cubic(x):
    return x**3 - 2 * x**2 - x + 2  # turning points at x ≈ -0.22 and 1.55


# Polynomials of known degree, each with all its turning points inside the range.
KNOWN = {
    0: (lambda x: 3.0 + 0 * x, -1.0, 2.0, 0.5),
    1: (lambda x: 2.0 + 3.0 * x, 0.0, 5.0, 1.0),
    2: (lambda x: (x - 1.0) ** 2, -1.0, 3.0, 0.3),
    3: (cubic, -2.0, 3.0, 0.5),
    4: (lambda x: (x**2 - 1) * (x**2 - 4), -2.5, 2.5, 0.5),
    5: (lambda x: x * (x**2 - 1) * (x**2 - 4), -2.3, 2.3, 0.5),
}


# ---------------------------------------------------------------- turning points

@pytest.mark.parametrize("seed", range(5))
def test_sine_over_one_period_has_a_peak_and_a_valley(seed):
    assert count_turning_points(*noisy(np.sin, 0, 2 * np.pi, 0.1, seed=seed)) == 2


@pytest.mark.parametrize("seed", range(5))
def test_sine_over_three_periods_has_six(seed):
    assert count_turning_points(*noisy(np.sin, 0, 6 * np.pi, 0.1, seed=seed)) == 6


@pytest.mark.parametrize("seed", range(5))
def test_cubic_with_two_turning_points_in_range(seed):
    assert count_turning_points(*noisy(cubic, -2, 3, 0.5, seed=seed)) == 2


def test_cubic_only_counts_what_is_in_range():
    assert count_turning_points(*noisy(cubic, 2, 4, 0.5)) == 0  # monotone there
    assert count_turning_points(*noisy(cubic, 0, 3, 0.5)) == 1  # only the valley near 1.55


@pytest.mark.parametrize("seed", range(5))
def test_noisy_straight_line_has_none(seed):
    assert count_turning_points(*noisy(lambda x: 2 + 3 * x, 0, 1, 0.5, seed=seed)) == 0


@pytest.mark.parametrize("n", [20, 100, 300, 1000, 5000, 20000])
def test_pure_noise_cannot_fool_it(n):
    for seed in range(20):
        x, y = noisy(lambda x: 0 * x, 0, 1, 1.0, n=n, seed=seed)
        assert count_turning_points(x, y) == 0, (n, seed)


def test_quantised_noise_cannot_fool_it():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 2000)
    assert count_turning_points(x, np.round(rng.normal(0, 0.6, x.size))) == 0


def test_exact_data_and_endpoints():
    x = np.linspace(-1, 1, 200)
    assert count_turning_points(x, x**2) == 1
    assert count_turning_points(x, np.zeros_like(x)) == 0
    assert count_turning_points(x, np.exp(3 * x)) == 0  # steep at one end: no extremum
    assert count_turning_points(x[:10], x[:10] ** 2) == 0  # the few points themselves, one side of the valley
    few = np.linspace(0, 2 * np.pi, 12)
    assert count_turning_points(few, np.sin(few)) == 2  # under 16 points: the points themselves, unbinned
    assert count_turning_points([0, 1, 2, 3, 4], [0, 1, 0, 1, 0]) == 0  # alternation is what noise looks like


def test_order_of_the_points_does_not_matter():
    x, y = noisy(np.sin, 0, 6 * np.pi, 0.1, seed=7)
    order = np.argsort(x)
    assert count_turning_points(x[order], y[order]) == count_turning_points(x, y) == 6


def test_rule_degree_is_turning_points_plus_two():
    assert [rule_degree(t) for t in range(5)] == [2, 3, 4, 5, 6]


# ---------------------------------------------------------------- the acceptance test

# ---------------------------------------------------------------- scores: one pass equals refits

def lstsq_sse(x, y, degree, rows, held=None):
    """Σ r² of numpy's least-squares fit on ``rows``, over ``held`` (default: the same rows)."""
    t = np.polynomial.polyutils.mapdomain(x, [x.min(), x.max()], [-1, 1])
    basis = np.polynomial.legendre.legvander(t, degree)
    coefficients = np.linalg.lstsq(basis[rows], y[rows], rcond=None)[0]
    held = rows if held is None else held
    return float(np.sum((basis[held] @ coefficients - y[held]) ** 2))


@pytest.mark.parametrize("folds", [2, 5, 10])
def test_every_degree_and_fold_from_one_pass_equals_explicit_refits(folds, rng):
    x = rng.uniform(-3, 5, 1500)
    y = np.exp(-x * x / 4) * 3 + x + rng.normal(0, 0.05, x.size)
    scores = score_degrees(points(x, y), 14, folds=folds)
    fold = moments.fold_of(0, x.size, folds)
    everything = np.ones(x.size, dtype=bool)
    for s in scores:
        d = s["degree"]
        assert s["train_mse"] == pytest.approx(lstsq_sse(x, y, d, everything) / x.size, rel=1e-10)
        held_out = [lstsq_sse(x, y, d, fold != k, fold == k) for k in range(folds)]
        assert s["cv_mse"] == pytest.approx(sum(held_out) / x.size, rel=1e-10)
        per_fold = [e / np.count_nonzero(fold == k) for k, e in enumerate(held_out)]
        assert s["cv_se"] == pytest.approx(np.std(per_fold, ddof=1) / math.sqrt(folds), rel=1e-8)
        rss = s["train_mse"] * x.size
        assert s["bic"] == pytest.approx(x.size * math.log(rss / x.size) + (d + 1) * math.log(x.size), rel=1e-10)
        assert s["aic"] == pytest.approx(x.size * math.log(rss / x.size) + 2 * (d + 1), rel=1e-10)


def test_folds_depend_on_the_row_not_on_the_blocks():
    whole = moments.fold_of(0, 100_000, 5)
    pieces = np.concatenate([moments.fold_of(start, min(7919, 100_000 - start), 5)
                             for start in range(0, 100_000, 7919)])
    assert np.array_equal(whole, pieces)
    assert sorted(np.bincount(whole)) == pytest.approx([20_000] * 5, rel=0.02)


def test_an_exact_fit_has_aic_and_bic_of_minus_infinity_and_says_why():
    """ln(MSE) of an exact fit is ln(rounding error): a number that would compare nothing."""
    exact = points(np.arange(12.0), np.arange(12.0) ** 2 - 3)
    scores = score_degrees(exact, 3, folds=3)
    assert math.isfinite(scores[1]["aic"]) and math.isfinite(scores[1]["bic"])
    assert [s["bic"] for s in scores[2:]] == [-math.inf, -math.inf] == [s["aic"] for s in scores[2:]]
    table = select_table(exact, 3, folds=3)
    assert table.chosen == 2
    assert any("degree 2 and up fit the points exactly" in note and "-inf" in note for note in table.notes)


# ---------------------------------------------------------------- the choice

def chebyshev_series(degree):
    """A polynomial of exactly ``degree`` on [-1, 1] whose every coefficient stands far above the noise."""
    return lambda x: np.polynomial.chebyshev.chebval(x, np.ones(degree + 1))


@pytest.mark.parametrize("degree", range(10))
def test_noisy_polynomials_get_their_own_degree_and_never_less(degree):
    chosen = [select_degree(points(*noisy(chebyshev_series(degree), -1, 1, 0.02, n=200, seed=seed))).chosen
              for seed in range(10)]
    assert min(chosen) >= degree, chosen
    assert chosen.count(degree) >= 8, chosen


@pytest.mark.parametrize("degree, f, lo, hi, sd", [(d, *KNOWN[d]) for d in sorted(KNOWN)])
def test_the_polynomials_of_known_degree(degree, f, lo, hi, sd):
    assert [select_degree(points(*noisy(f, lo, hi, sd, seed=seed))).chosen for seed in range(3)] == [degree] * 3


SMOOTH = {
    "runge": (lambda x: 1 / (1 + 25 * x * x), -1, 1),
    "tanh": (lambda x: np.tanh(4 * x), -1, 1),
    "bump": (lambda x: np.exp(-8 * x * x), -1, 1),
    "two sine periods": (np.sin, 0, 4 * np.pi),
    "exp": (np.exp, 0, 3),
}


@pytest.mark.parametrize("name", list(SMOOTH))
@pytest.mark.parametrize("n", [400, 5000])
def test_smooth_curves_reach_the_noise(name, n):
    """The fit's RMSE within 15 % of the noise's sd: the degree is high enough to leave only noise."""
    f, lo, hi = SMOOTH[name]
    x, y = noisy(f, lo, hi, 0.02, n=n, seed=1)
    result = fit_auto(points(x, y))
    assert result.rmse <= 1.15 * 0.02, (result.polynomial.degree, result.rmse)
    assert not any("outliers" in w for w in result.warnings)


def test_the_search_widens_while_the_best_degree_is_near_its_top():
    chosen = select_degree(points(*noisy(SMOOTH["runge"][0], -1, 1, 0.002, n=5000, seed=2)))
    assert chosen.searched > 10 and chosen.chosen > 10
    assert len(chosen.candidates) == chosen.searched + 1


def with_outliers(f, lo, hi, sd, count, seed):
    x, y = noisy(f, lo, hi, sd, n=300, seed=seed)
    rng = np.random.default_rng(100 + seed)
    far = rng.choice(x.size, count, replace=False)
    y[far] += rng.choice([-1, 1], count) * rng.uniform(15, 40, count) * np.std(y)
    return x, y


@pytest.mark.parametrize("case", ["cubic", "sine", "exp"])
@pytest.mark.parametrize("loss", ["huber", "mae"])
def test_gross_outliers_do_not_raise_the_degree_of_a_robust_fit(case, loss):
    f, lo, hi, sd = {"cubic": (cubic, -2, 3, 0.5), "sine": (np.sin, 0, 2 * np.pi, 0.1),
                     "exp": (np.exp, 0, 3, 0.3)}[case]
    for seed in range(3):
        clean = select_degree(points(*noisy(f, lo, hi, sd, n=300, seed=seed))).chosen
        dirty = select_degree(points(*with_outliers(f, lo, hi, sd, 15 + 2 * seed, seed)), loss=loss).chosen
        assert abs(dirty - clean) <= 1, (seed, clean, dirty)


def test_the_outliers_sample_chooses_3_under_huber_and_warns_under_mse():
    outliers = load_points(ROOT / "sample_data" / "outliers.csv")
    assert select_degree(outliers, loss="huber").chosen == 3
    result = fit_auto(outliers)
    assert result.selection["outliers"] == 15
    assert any("--loss huber resists them" in w for w in result.summary()["warnings"])  # the command line's words
    import fitbp

    assert any("loss='huber' resists them" in w for w in fitbp.fit(ROOT / "sample_data" / "outliers.csv").warnings)


@pytest.mark.parametrize("seed", range(5))
def test_clean_data_is_not_flagged(seed):
    rng = np.random.default_rng(seed)
    for residual in (rng.normal(size=300), rng.normal(size=100_000), rng.uniform(-1, 1, 5000)):
        assert gross_outliers(residual) == 0
    spiked = rng.normal(size=300)
    spiked[:15] += 40
    assert gross_outliers(spiked) == 15


def test_to_dict_round_trips_through_json():
    chosen = select_degree(points(*noisy(np.sin, 0, 2 * np.pi, 0.1)))
    data = json.loads(json.dumps(chosen.to_dict()))
    assert data["chosen"] == chosen.chosen and data["reason"] == chosen.reason
    assert set(data["candidates"][0]) == {"degree", "train_mse", "cv_mse", "cv_se", "aic", "aicc", "bic"}
    assert "the article's rule of thumb, peaks + valleys + 2, says 4" in data["reason"]
    assert ", the least BIC (" in data["reason"]


def test_max_degree_fixes_the_range():
    table = select_table(points(*noisy(cubic, -2, 3, 0.5)), 6)
    assert [c["degree"] for c in table.candidates] == list(range(7)) and table.chosen == 3
    few = select_table(points(np.arange(5.0), np.arange(5.0) ** 2 + np.r_[0, 0.1, 0, -0.1, 0]), 8)
    assert len(few.candidates) == 5 and any("degrees above 4 need more than the 5 distinct x" in note
                                            for note in few.notes)
    assert few.chosen == 3  # the noise happens to be a cubic: degree 3 fits the five points exactly


def test_max_degree_looks_past_the_automatic_cap_and_the_cap_says_so():
    """A narrow bump at 300 points: the automatic search stops at 1.5·√n = 25 and says the curve may
    deserve more; --max-degree goes further and finds the least BIC above 25."""
    x, y = noisy(lambda t: np.exp(-60 * t * t), -1, 1, 0.01, n=300, seed=2)
    auto = select_degree(points(x, y))
    assert auto.searched == 25 and auto.chosen == 25
    assert any("the top of the automatic search" in w for w in auto.warnings)
    wider = select_table(points(x, y), 40)
    assert wider.searched == 40 and wider.chosen > 25 and not any("left out" in n for n in wider.notes)
    result = fit_auto(points(x, y))
    assert any("the least BIC is at 25, the top of the automatic search" in w for w in result.warnings)


def test_the_trainer_does_not_choose_degrees():
    """Selection sits above training: fit_points takes a degree, fit_auto chooses one."""
    import ast

    import fitbp.fitting.trainer

    tree = ast.parse(open(fitbp.fitting.trainer.__file__).read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "fitbp"
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "selection" not in imported and "fitbp.selection" not in imported
    with pytest.raises(FitbpError, match="fit_auto chooses one"):
        fitbp.fitting.trainer.fit_points(points([0, 1, 2], [0, 1, 4]), "auto")


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("call, message", [
    (lambda: select_degree(points([], [])), "no points"),
    (lambda: select_table(points([], []), 3), "no points"),
    (lambda: count_turning_points([], []), "no points"),
    (lambda: select_degree(points([1, 2, 3], [1, 2, 3]), most=-1), "max degree must be 0 or more"),
    (lambda: score_degrees(points([1, 2, 3], [1, 2, 3]), 1, folds=1), "2 folds or more"),
    (lambda: rule_degree(-1), "0 or more"),
])
def test_user_errors_are_one_line_fitbp_errors(call, message):
    with pytest.raises(FitbpError, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("scale", [1e-300, 1e150, 1e300])
def test_the_choice_does_not_depend_on_the_units_of_y(scale):
    x, y = noisy(cubic, -2, 3, 0.5)
    plain, scaled = select_degree(points(x, y)), select_degree(points(x, y * scale))
    assert (scaled.chosen, scaled.turning_points) == (plain.chosen, plain.turning_points) == (3, 2)
    for a, b in zip(plain.candidates, scaled.candidates):
        assert b["aic"] == pytest.approx(a["aic"] + 2 * x.size * math.log(scale), rel=1e-9)
        assert b["bic"] - a["bic"] == pytest.approx(2 * x.size * math.log(scale), rel=1e-9)


def test_many_points_count_turns_on_a_sample(monkeypatch):
    """Beyond TURNS_MOST_POINTS the turning points come from a random sample, and the notes say so."""
    x, y = noisy(np.sin, 0, 4 * np.pi, 0.1, n=3000, seed=3)
    whole = count_turning_points(x, y)
    monkeypatch.setattr(selection, "TURNS_MOST_POINTS", 600)
    assert count_turning_points(x, y) == whole == 4
    chosen = select_degree(points(x, y))
    assert any("random sample of 600 of the 3000 points" in note for note in chosen.notes)


def test_select_notes_outliers_and_folds_it_could_not_fill(tmp_path):
    x, y = with_outliers(cubic, -2, 3, 0.5, 15, seed=4)
    table = select_table(points(x, y))
    assert table.outliers >= 15 and any("--loss huber resists them" in n for n in table.to_dict()["notes"])
    import fitbp

    assert any("loss='huber' resists them" in n for n in fitbp.select(x, y).notes)  # Python's words
    assert select_table(points(*noisy(cubic, -2, 3, 0.5))).outliers == 0
    tiny = select_table(points([1.0, 2.0, 3.0], [1.0, 2.0, 2.5]), folds=5)
    assert any("5 folds of 3 points leave a fold empty" in n for n in tiny.notes)
    assert not any("top of the automatic search" in n for n in tiny.notes)


def test_the_cap_is_said_wherever_it_comes_from():
    """At 5,000 points the automatic search stops at 60 (MOST_DEGREE), not 1.5·√n: a bump that wants
    more than 60 is told so too."""
    x, y = noisy(lambda t: np.exp(-300 * t * t), -1, 1, 0.001, n=5000, seed=1)
    chosen = select_degree(points(x, y))
    assert chosen.searched == 60 and any("the top of the automatic search" in w for w in chosen.warnings)


def test_a_choice_the_taylor_form_cannot_carry_is_reported_as_what_was_fitted(monkeypatch):
    from fitbp.errors import DegreeTooHigh

    x, y = noisy(cubic, -2, 3, 0.5)
    real = selection.fit_points
    calls = []

    def refuse_the_first(points_, degree, **options):
        calls.append(degree)
        if len(calls) == 1:
            raise DegreeTooHigh("too high", carried=2)
        return real(points_, degree, **options)

    monkeypatch.setattr(selection, "fit_points", refuse_the_first)
    result = fit_auto(points(x, y))
    assert calls == [3, 2] and result.polynomial.degree == 2 and result.selection["chosen"] == 2
    assert "so 2, the highest degree that reaches its optimum, is fitted" in result.selection["reason"]
    assert any("BIC chose 3, more than the Taylor form can carry" in w for w in result.warnings)


def test_a_stream_is_chosen_on_its_sample_only_when_the_points_outnumber_it(monkeypatch):
    """Issue 19, item 8: a stream whose sample holds every point says nothing of a sample, and is
    chosen as the points held are; one whose points outnumber the sample says so."""
    from fitbp.engines import local

    sine = [str(ROOT / "sample_data" / "sine.csv")]
    held = fit_auto(local.load(sine))
    streamed = local.load(sine, memory=1024)
    assert isinstance(streamed, local.Streamed) and streamed.x.size == streamed.count == 200
    whole = fit_auto(streamed)
    assert whole.selection["notes"] == held.selection["notes"] == []
    assert whole.selection["candidates"] == held.selection["candidates"]
    monkeypatch.setattr(first, "KEPT", 50)
    sampled = local.load(sine, memory=1024)
    assert fit_auto(sampled).selection["notes"] == [
        f"the degree was chosen on an even sample of {sampled.x.size} of the 200 points, more than --memory lets "
        "fitbp hold"]


def test_select_refuses_the_degree_fixed_terms_need_when_the_points_cannot_carry_it(tmp_path):
    """--fix 2=1 needs degree 2; two distinct x with weight cannot carry it: select says so as fit does,
    rather than mark a degree fit then refuses."""
    from helpers import run

    (tmp_path / "two.csv").write_text("x,y,w\n1,2,1\n2,3,0\n3,5,1\n4,4,0\n5,6,0\n")
    chosen = run("select", "two.csv", "--weights", "w", "--fix", "2=1", cwd=tmp_path)
    fitted = run("fit", "two.csv", "--weights", "w", "--fix", "2=1", "--no-save", cwd=tmp_path)
    assert chosen.returncode == fitted.returncode == 1 and chosen.stdout == ""
    assert chosen.stderr == fitted.stderr == (
        "error: two.csv: degree 2 needs at least 3 distinct x values, the points with weight have 2\n")
