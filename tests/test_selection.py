"""Automatic degree choice: the turning-point count, the rule, the scores and the choice.

Scores are checked against independent numpy computations (lstsq, the same fold
split); the choice against noisy samples of polynomials of known degree.
"""

import json
import math

import numpy as np
import pytest

from fitbp import selection
from fitbp.errors import FitbpError
from fitbp.loader import Points
from fitbp.selection import (count_turning_points, fold_assignment, rule_degree, score_degrees, select_degree,
                             select_table)


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

@pytest.mark.parametrize("degree", sorted(KNOWN))
@pytest.mark.parametrize("seed", range(3))
def test_select_degree_finds_the_generating_degree(degree, seed):
    f, lo, hi, sd = KNOWN[degree]
    chosen = select_degree(points(*noisy(f, lo, hi, sd, n=300, seed=seed)))
    assert chosen.chosen == degree, chosen.reason
    assert chosen.turning_points == max(degree - 1, 0)
    assert chosen.rule_degree == chosen.turning_points + 2
    assert [c["degree"] for c in chosen.candidates] == list(range(max(0, chosen.rule_degree - 2),
                                                                  chosen.rule_degree + 3))
    assert f"chose {degree}" in chosen.reason and "peaks+valleys+2" in chosen.reason


def test_the_one_standard_error_rule():
    f, lo, hi, sd = KNOWN[4]
    chosen = select_degree(points(*noisy(f, lo, hi, sd)))
    scored = chosen.candidates
    best = min(scored, key=lambda s: s["cv_mse"])
    within = [s["degree"] for s in scored if s["cv_mse"] <= best["cv_mse"] + best["cv_se"]]
    assert chosen.chosen == min(within)


def test_exact_data_picks_the_lowest_exact_degree():
    x = np.linspace(0, 2, 100)
    assert select_degree(points(x, 1 + 2 * x**3)).chosen == 3  # higher degrees tie at rounding level


# ---------------------------------------------------------------- scores against numpy

def lstsq_mse(x, y, degree):
    t = (x - (x.min() + x.max()) / 2) / ((x.max() - x.min()) / 2)
    design = np.vander(t, degree + 1, increasing=True)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return float(np.mean((design @ coef - y) ** 2)), coef


def test_train_mse_aic_and_bic_match_lstsq():
    x, y = noisy(np.sin, 0, 2 * np.pi, 0.1, n=250, seed=1)
    n = x.size
    for s in score_degrees(points(x, y), range(0, 8)):
        mse, _ = lstsq_mse(x, y, s["degree"])
        k = s["degree"] + 1
        assert s["train_mse"] == pytest.approx(mse, rel=1e-9)
        assert s["aic"] == pytest.approx(n * math.log(mse) + 2 * k, rel=1e-9, abs=1e-6)
        assert s["bic"] == pytest.approx(n * math.log(mse) + k * math.log(n), rel=1e-9, abs=1e-6)


def test_an_exact_fit_has_aic_and_bic_of_minus_infinity_and_says_why():
    """ln(MSE) of an exact fit is ln(rounding error): a number that would compare nothing."""
    exact = points(np.arange(12.0), np.arange(12.0) ** 2 - 3)
    scores = score_degrees(exact, [1, 2, 3])
    assert math.isfinite(scores[0]["aic"]) and math.isfinite(scores[0]["bic"])
    assert [s["aic"] for s in scores[1:]] == [-math.inf, -math.inf] == [s["bic"] for s in scores[1:]]
    table = select_table(exact, 3, folds=3)
    assert any("degree 2 and up fit the points exactly" in note and "-inf" in note for note in table.notes)


def test_fold_assignment_is_a_seeded_even_deal():
    fold = fold_assignment(103, 5, seed=4)
    assert sorted(np.bincount(fold)) == [20, 20, 21, 21, 21]
    expected = np.empty(103, dtype=int)
    expected[np.random.default_rng(4).permutation(103)] = np.arange(103) % 5
    assert np.array_equal(fold, expected)
    assert not np.array_equal(fold, fold_assignment(103, 5, seed=5))


@pytest.mark.parametrize("folds", [3, 5, 10])
def test_cv_mse_matches_numpy_kfold(folds):
    x, y = noisy(cubic, -2, 3, 0.5, n=200, seed=2)
    fold = fold_assignment(x.size, folds, seed=9)
    for s in score_degrees(points(x, y), range(0, 7), folds=folds, seed=9):
        errors = []
        for k in range(folds):
            train, held = fold != k, fold == k
            coef = np.polynomial.Polynomial.fit(x[train], y[train], s["degree"])
            errors.append(np.mean((coef(x[held]) - y[held]) ** 2))
        assert s["cv_mse"] == pytest.approx(np.mean(errors), rel=1e-8)
        assert s["cv_se"] == pytest.approx(np.std(errors, ddof=1) / math.sqrt(folds), rel=1e-6)
        assert s["cv_points"] == x.size


def test_degrees_too_high_for_the_folds_get_no_cv():
    x, y = noisy(cubic, -2, 3, 0.5, n=12)
    scores = score_degrees(points(x, y), range(0, 10))
    # 5 folds of 12 points: each training set keeps 9, enough for degree 7 (9 >= 7 + 2), not 8
    assert [s["cv_mse"] is None for s in scores] == [False] * 8 + [True] * 2
    assert all(s["train_mse"] is not None and s["cv_se"] is None for s in scores[8:])


def test_large_data_is_cross_validated_on_a_sample(monkeypatch):
    monkeypatch.setattr(selection, "CV_MOST_POINTS", 500)
    x, y = noisy(np.sin, 0, 2 * np.pi, 0.1, n=2000)
    chosen = select_degree(points(x, y))
    assert chosen.cv_points == 500 and all(c["cv_points"] == 500 for c in chosen.candidates)
    assert any("sample of 500 of the 2000 points" in note for note in chosen.notes)
    full = score_degrees(points(x, y), [3])[0]
    assert full["train_mse"] == pytest.approx(lstsq_mse(x, y, 3)[0], rel=1e-9)  # training uses all points


# ---------------------------------------------------------------- the table and the fallbacks

def test_select_table_scores_every_degree_up_to_max():
    x, y = noisy(KNOWN[3][0], -2, 3, 0.5)
    table = select_table(points(x, y), 8)
    assert [c["degree"] for c in table.candidates] == list(range(9))
    assert table.chosen == 3 and table.turning_points == 2 and table.rule_degree == 4
    assert "among 0–8 chose 3" in table.reason
    json.dumps(table.to_dict())  # JSON-ready


def test_select_table_leaves_out_degrees_the_data_cannot_carry():
    table = select_table(points(np.arange(5.0), np.arange(5.0) ** 2), 8)
    assert [c["degree"] for c in table.candidates] == [0, 1, 2, 3, 4]
    assert any("5 distinct x" in note for note in table.notes)


def test_too_few_points_fall_back_to_the_rule():
    x = np.arange(4.0)  # training sets of 3 points cannot check degree 2
    chosen = select_degree(points(x, x**2))
    assert chosen.chosen == 2 and chosen.cv_points is None
    assert "too few points" in chosen.reason and "rule's degree 2" in chosen.reason
    single = select_degree(points([1.0], [2.0]))
    assert single.chosen == 0 and "clipped to 0" in single.reason


def test_max_degree_caps_the_candidates():
    f, lo, hi, sd = KNOWN[5]
    chosen = select_degree(points(*noisy(f, lo, hi, sd)), max_degree=3)
    assert max(c["degree"] for c in chosen.candidates) == 3 and chosen.chosen <= 3


def test_to_dict_round_trips_through_json():
    chosen = select_degree(points(*noisy(np.sin, 0, 2 * np.pi, 0.1)))
    data = json.loads(json.dumps(chosen.to_dict()))
    assert data["chosen"] == chosen.chosen and data["reason"] == chosen.reason
    assert set(data["candidates"][0]) == {"degree", "train_mse", "cv_mse", "cv_se", "aic", "bic", "cv_points"}


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("call, message", [
    (lambda: select_degree(points([], [])), "no points"),
    (lambda: select_table(points([], []), 3), "no points"),
    (lambda: count_turning_points([], []), "no points"),
    (lambda: select_degree(points([1, 2, 3], [1, 2, 3]), max_degree=-1), "max degree must be 0 or more"),
    (lambda: select_table(points([1, 2, 3], [1, 2, 3]), -2), "max degree must be 0 or more"),
    (lambda: select_table(points([1, 2, 3], [1, 2, 3]), None), "needs a max degree"),
    (lambda: score_degrees(points([1, 2, 3], [1, 2, 3]), [1], folds=1), "2 folds or more"),
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
        n = x.size
        assert b["aic"] == pytest.approx(a["aic"] + 2 * n * math.log(scale), rel=1e-9)


def test_many_points_count_turns_on_a_sample(monkeypatch):
    """Beyond TURNS_MOST_POINTS the turning points come from a random sample, and the notes say so."""
    x, y = noisy(np.sin, 0, 4 * np.pi, 0.1, n=3000, seed=3)
    whole = count_turning_points(x, y)
    monkeypatch.setattr(selection, "TURNS_MOST_POINTS", 600)
    assert count_turning_points(x, y) == whole == 4
    chosen = select_degree(points(x, y))
    assert any("random sample of 600 of the 3000 points" in note for note in chosen.notes)
