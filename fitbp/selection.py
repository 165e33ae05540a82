"""Choosing the polynomial degree: a rule from the data's shape, confirmed by cross-validation.

A polynomial of degree d has at most d - 1 turning points, so the curve's peaks
and valleys give a lower bound on the degree it needs.  The seed article's rule,
"lowest sufficient highest power = peaks + valleys + 2", adds one degree more
than that bound, to leave room for a bend that is not a turning point (an
inflection, an asymmetric flank).  That is deliberately generous: it proposes,
and k-fold cross-validation among the neighbouring degrees decides, with the
one-standard-error rule (the lowest degree whose validation error is within one
standard error of the best), which trims a degree that only fits noise.

Counting peaks and valleys in noisy data is the delicate part: every wiggle of
the noise is a local extremum.  So the points are sorted by x and averaged in
equal-count bins, the noise of one bin mean is estimated robustly from the
data itself, and a direction change counts only once the binned curve has moved
back by several noise units ("zigzag" hysteresis).  Noise therefore cannot
create extrema; a real one smaller than that threshold is missed, and the
cross-validation is there to catch what the count gets wrong.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field

import numpy as np

from fitbp.errors import DegreeTooHigh, FitbpError
from fitbp.loader import Points
from fitbp.moments import distinct_up_to
from fitbp.trainer import fit_points, power_of_two_near

MAX_RULE_DEGREE = 10
"""select_degree never proposes more than this unless max_degree says so."""
CV_MOST_POINTS = 50_000
"""Beyond this, cross-validation runs on an even random sample of this many points."""
POINTS_PER_BIN = 10
TURNS_MOST_POINTS = 1_000_000
"""Bins are clip(n // POINTS_PER_BIN, 8, 60): enough to see a peak, few enough to average noise out."""
NOISE_UNITS = 5.0
"""How many standard deviations of a bin mean a swing must exceed to count."""
RANGE_SHARE = 0.02
"""...and at least this share of the binned curve's range (noise-free data)."""
TIE_TOLERANCE = 1e-10
"""Validation errors closer than this, relative to the data's mean square, are ties (exact data)."""


@dataclass
class Selection:
    """The degree chosen, and everything that went into the choice."""

    chosen: int
    turning_points: int
    rule_degree: int
    candidates: list
    """One dict per degree tried: see score_degrees."""
    reason: str
    folds: int = 5
    cv_points: int | None = None
    """How many points the cross-validation used (fewer than n beyond CV_MOST_POINTS); None if it did not run."""
    notes: list = field(default_factory=list)

    def to_dict(self):
        return asdict(self)


# ---------------------------------------------------------------- turning points

def _sorted_xy(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise FitbpError("x and y must be one-dimensional and of the same length")
    if x.size == 0:
        raise FitbpError("no points to choose a degree for")
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def point_noise(x_sorted, y_sorted):
    """Robust standard deviation of single points' noise, from each point's neighbours.

    Each inner point is compared with the straight line through its two
    neighbours, which cancels the smooth signal (its slope exactly, even on
    uneven x) and leaves noise of known variance; the median absolute deviation
    of those residuals ignores the few large ones the signal's bends make.
    Quantised data can have a MAD of 0, so then the mean absolute deviation is used.
    """
    if y_sorted.size < 3:
        return 0.0
    left, right = np.diff(x_sorted)[:-1], np.diff(x_sorted)[1:]
    width = left + right
    with np.errstate(all="ignore"):
        w = np.where(width > 0, right / width, 0.5)  # weight of the left neighbour
    residual = y_sorted[1:-1] - (w * y_sorted[:-2] + (1 - w) * y_sorted[2:])
    residual = residual / np.sqrt(1 + w * w + (1 - w) * (1 - w))
    deviation = np.abs(residual - np.median(residual))
    sd = 1.4826 * float(np.median(deviation))
    if sd == 0.0:
        sd = math.sqrt(math.pi / 2) * float(np.mean(deviation))
    return sd


def binned_means(y_sorted):
    """Means of y in equal-count bins along x, and the size of the smallest bin.

    clip(n // POINTS_PER_BIN, 8, 60) bins; fewer than 16 points are used as they are.
    """
    n = y_sorted.size
    if n < 16:
        return y_sorted.copy(), 1
    bins = int(np.clip(n // POINTS_PER_BIN, 8, 60))
    parts = np.array_split(y_sorted, bins)
    return np.array([part.mean() for part in parts]), min(part.size for part in parts)


def zigzag_turns(values, threshold):
    """Direction changes of ``values`` that reverse by more than ``threshold``.

    The first move beyond the threshold sets a direction (the start is not a
    turning point); each later reversal by more than the threshold from the
    running extreme is one peak or valley.
    """
    trend, turns = 0, 0
    high = low = values[0]
    for value in values[1:]:
        if trend == 0:
            high, low = max(high, value), min(low, value)
            if value - low > threshold:
                trend, high = 1, value
            elif high - value > threshold:
                trend, low = -1, value
        elif trend > 0:
            if value > high:
                high = value
            elif high - value > threshold:
                turns, trend, low = turns + 1, -1, value
        else:
            if value < low:
                low = value
            elif value - low > threshold:
                turns, trend, high = turns + 1, 1, value
    return turns


def count_turning_points(x, y, seed=0):
    """Peaks plus valleys of the data, counted so that noise cannot make one.

    Beyond TURNS_MOST_POINTS points they are counted on a random sample of that
    many: 60 bins of them already average the noise away, while sorting ten
    million points would cost seconds and a gigabyte.
    """
    keep = random_sample(np.asarray(x).size, TURNS_MOST_POINTS, seed)
    xs, ys = _sorted_xy(np.asarray(x)[keep], np.asarray(y)[keep])
    ys = ys / power_of_two_near(ys)  # exact, and keeps differences of y near 1e308 finite
    means, bin_size = binned_means(ys)
    spread = float(means.max() - means.min())
    if not spread > 0:
        return 0
    noise = point_noise(xs, ys) / math.sqrt(bin_size)
    threshold = max(noise_units(means.size) * noise, RANGE_SHARE * spread)
    return zigzag_turns(means, threshold)


def noise_units(bins):
    """How many standard deviations of a bin mean a swing must exceed to count as real.

    NOISE_UNITS at least, and more with more bins: the widest swing pure noise
    makes among m bin means grows like 2·sqrt(2 ln m).
    """
    return max(NOISE_UNITS, 2.0 * math.sqrt(2.0 * math.log(max(bins, 2))) + 1.0)


def rule_degree(turning_points):
    """The seed article's rule: lowest sufficient highest power = peaks + valleys + 2.

    One more than the d - 1 turning points a degree-d polynomial can have, on
    purpose: it errs high, and cross-validation trims it.
    """
    if turning_points < 0:
        raise FitbpError(f"turning points must be 0 or more, not {turning_points}")
    return int(turning_points) + 2


# ---------------------------------------------------------------- scoring

def fold_assignment(n, folds, seed=0):
    """The fold (0 … folds-1) of each of n points: a shuffle, then dealt round-robin."""
    order = np.random.default_rng(seed).permutation(n)
    fold = np.empty(n, dtype=np.int64)
    fold[order] = np.arange(n) % folds
    return fold


def cv_sample(n, seed=0):
    """Indices of the points cross-validation uses: all, or an even random sample of CV_MOST_POINTS."""
    return random_sample(n, CV_MOST_POINTS, seed)


def random_sample(n, most, seed=0):
    """Indices of all n points, or of a random sample of ``most`` of them, in order."""
    if n <= most:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, most, replace=False))


def cv_can_run(n, degree, folds):
    """Whether n points are enough for k-fold CV of this degree.

    Every fold must hold a point out, and every training set (all but the
    largest fold) must keep at least degree + 2 points, one more than the
    coefficients, so that its fit is not a mere interpolation.
    """
    return folds <= n and n - math.ceil(n / folds) >= degree + 2


def _cross_validate(x, y, degree, fold):
    """Mean and standard error over folds of the held-out MSE, or (None, None)."""
    folds = int(fold.max()) + 1
    if not cv_can_run(x.size, degree, folds):
        return None, None
    errors = []
    for k in range(folds):
        train, held = fold != k, fold == k
        if distinct_up_to(x[train], degree + 1) < degree + 1:
            return None, None
        fit = fit_points(Points(x[train], y[train]), degree)
        residual = fit.polynomial(x[held]) - y[held]
        errors.append(float(np.mean(residual * residual)))
    errors = np.array(errors)
    return float(errors.mean()), float(errors.std(ddof=1) / math.sqrt(folds))


def information_criteria(n, mse, degree, unit=1.0):
    """AIC and BIC of a least-squares fit with degree + 1 coefficients (Gaussian errors).

    ``mse`` is in units of ``unit`` squared (ln of the true MSE = ln mse + 2 ln unit, which
    stays finite where the MSE itself would not); an exact fit's 0 is floored at the smallest float.
    """
    log_mse = math.log(max(mse, sys.float_info.min)) + 2.0 * math.log(unit)
    k = degree + 1
    return n * log_mse + 2 * k, n * log_mse + k * math.log(n)


def score_degrees(points, degrees, folds=5, seed=0):
    """Training MSE, k-fold validation MSE (mean and standard error), AIC and BIC per degree.

    Each dict: degree, train_mse, cv_mse, cv_se, aic, bic, cv_points.  cv_mse
    and cv_se are None where the points are too few for the degree.
    """
    x, y = _checked(points)
    unit = power_of_two_near(y)
    return _in_units(_scores(points, x, y / unit, degrees, folds, seed), unit)


def _scores(points, x, y, degrees, folds, seed):
    """The scores with y already divided by a power of two near max |y|, so that no square overflows."""
    if folds < 2:
        raise FitbpError(f"cross-validation needs 2 folds or more, not {folds}")
    scaled = Points(x, y, points.source)
    sample = cv_sample(x.size, seed)
    cx, cy = x[sample], y[sample]
    fold = fold_assignment(cx.size, folds, seed)
    scores = []
    for d in degrees:
        try:
            train_mse = fit_points(scaled, d).mse
            cv_mse, cv_se = _cross_validate(cx, cy, d, fold) if cx.size >= folds else (None, None)
        except DegreeTooHigh:
            break  # the degrees from here up cannot be fitted in float64's Taylor form: the caller says so
        scores.append({"degree": int(d), "train_mse": train_mse, "cv_mse": cv_mse, "cv_se": cv_se,
                       "cv_points": int(cx.size), "n": int(x.size)})
    return scores


EXACT_MSE = 1e-24
"""A training MSE this small, with y in units near max |y|, is float64's rounding: an exact fit."""


def _in_units(scores, unit):
    """Scores back in the data's own y units (an MSE beyond float range is inf, as fit reports it).

    An exact fit's AIC and BIC are -inf: its likelihood is unbounded, and the number ln(MSE) would
    give is ln(rounding error), which compares nothing.
    """
    square = unit * unit
    shown = []
    for s in scores:
        aic, bic = information_criteria(s["n"], s["train_mse"], s["degree"], unit) \
            if s["train_mse"] > EXACT_MSE else (-math.inf, -math.inf)
        shown.append({"degree": s["degree"], "train_mse": s["train_mse"] * square,
                      "cv_mse": None if s["cv_mse"] is None else s["cv_mse"] * square,
                      "cv_se": None if s["cv_se"] is None else s["cv_se"] * square,
                      "aic": aic, "bic": bic, "cv_points": s["cv_points"]})
    return shown


def _checked(points):
    if points is None or np.asarray(points.x).size == 0:
        raise FitbpError("no points to choose a degree for")
    x = np.asarray(points.x, dtype=np.float64)
    y = np.asarray(points.y, dtype=np.float64)
    if x.shape != y.shape:
        raise FitbpError("x and y must be of the same length")
    return x, y


# ---------------------------------------------------------------- choosing

def one_standard_error(scores, tie=0.0):
    """The lowest degree whose cv_mse is within one standard error of the best, and the best.

    (None, None) when no degree could be cross-validated.
    """
    scored = [s for s in scores if s["cv_mse"] is not None]
    if not scored:
        return None, None
    best = min(scored, key=lambda s: s["cv_mse"])
    limit = best["cv_mse"] + best["cv_se"] + tie
    chosen = min(s["degree"] for s in scored if s["cv_mse"] <= limit)
    return chosen, best["degree"]


def select_degree(points, max_degree=None, folds=5, seed=0):
    """The degree for these points: the peaks+valleys+2 rule, confirmed among its neighbours by CV."""
    x, y = _checked(points)
    _check_max(max_degree)
    turns = count_turning_points(x, y, seed)
    rule = rule_degree(turns)
    most = MAX_RULE_DEGREE if max_degree is None else max_degree
    top = min(most, distinct_up_to(x, most + 1) - 1)
    low, high = max(0, min(rule - 2, top)), max(0, min(rule + 2, top))
    selection = _choose(points, range(low, high + 1), folds, seed, turns, rule, top)
    selection.reason = f"{_plural(turns, 'turning point')} {'gives' if turns == 1 else 'give'} " \
                       f"degree {rule} by the peaks+valleys+2 rule; {selection.reason}"
    return selection


def select_table(points, max_degree, folds=5, seed=0):
    """Every degree 0 … max_degree scored (for ``fitbp select``), chosen by the same 1-SE rule."""
    x, y = _checked(points)
    _check_max(max_degree)
    if max_degree is None:
        raise FitbpError("select_table needs a max degree")
    turns = count_turning_points(x, y, seed)
    rule = rule_degree(turns)
    top = min(max_degree, distinct_up_to(x, max_degree + 1) - 1)
    selection = _choose(points, range(0, top + 1), folds, seed, turns, rule, top)
    fitted = selection.candidates[-1]["degree"]
    if fitted < top:
        selection.notes.append(f"degrees above {fitted} are more than the Taylor form can carry in float64 "
                               "over these data (or the folds' parts of them), so they are left out")
    elif top < max_degree:
        selection.notes.append(f"degrees above {top} need more than the {top + 1} distinct x values "
                               "the data has, so they are left out")
    selection.reason = f"{_plural(turns, 'turning point')} (the peaks+valleys+2 rule says degree {rule}); " \
                       f"{selection.reason}"
    return selection


def _choose(points, degrees, folds, seed, turns, rule, top):
    degrees = list(degrees)
    x, y = _checked(points)
    unit = power_of_two_near(y)
    scaled = _scores(points, x, y / unit, degrees, folds, seed)
    degrees = degrees[:len(scaled)]  # those float64 could carry
    tie = TIE_TOLERANCE * float(np.mean((y / unit) ** 2))
    fallback = max(0, min(rule, top, degrees[-1]))
    # The rule's degree must itself be cross-validated; otherwise CV among lower degrees alone
    # would pick too low a degree for data too few to judge, and the rule is the better guess.
    rule_scored = next(s for s in scaled if s["degree"] == fallback)["cv_mse"] is not None
    chosen, best = one_standard_error(scaled, tie) if rule_scored else (None, None)
    scores = _in_units(scaled, unit)
    span = f"{degrees[0]}–{degrees[-1]}" if len(degrees) > 1 else f"{degrees[0]}"
    cv_points = scores[0]["cv_points"]
    notes = []
    if x.size > TURNS_MOST_POINTS:
        notes.append(f"turning points were counted on a random sample of {TURNS_MOST_POINTS} of the {x.size} points")
    if cv_points < np.asarray(points.x).size:
        notes.append(f"cross-validation used an even random sample of {cv_points} of the "
                     f"{np.asarray(points.x).size} points")
    if chosen is None:
        clipped = "" if fallback == rule else f", clipped to {fallback},"
        reason = (f"too few points ({y.size}) for {folds}-fold cross-validation of degree "
                  f"{fallback}, so the rule's degree {rule}{clipped} is used")
        return Selection(fallback, turns, rule, scores, reason, folds, None, notes)
    exact = [s["degree"] for s in scores if s["aic"] == -math.inf]
    if exact:
        notes.append(f"degree {exact[0]}{' and up' if len(exact) > 1 else ''} fit{'' if len(exact) > 1 else 's'} "
                     "the points exactly (MSE at float64's rounding), so AIC and BIC are -inf (null in JSON): "
                     "there is no noise left to weigh the coefficients against")
    skipped = [s["degree"] for s in scores if s["cv_mse"] is None]
    if skipped:
        notes.append(f"degrees {', '.join(map(str, skipped))} had too few points for {folds}-fold "
                     "cross-validation and were not candidates")
    if chosen == best:
        why = "the one with the lowest validation error"
    else:
        why = f"the lowest degree within one standard error of the best ({best})"
    reason = f"{folds}-fold cross-validation among {span} chose {chosen}, {why}"
    return Selection(chosen, turns, rule, scores, reason, folds, cv_points, notes)


def _check_max(max_degree):
    if max_degree is not None and max_degree < 0:
        raise FitbpError(f"the max degree must be 0 or more, not {max_degree}")


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"
