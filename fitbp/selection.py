"""Choosing the polynomial degree: every degree scored from one pass, BIC decides.

Least squares in a basis whose columns are nested has every lower degree inside
the highest one's triangle [[R, z], [0, ρ]]: degree d's residual sum of squares
is ρ² + Σ_{i>d} z_i², and its coefficients solve R's leading block.  fitbp
gathers that triangle in the Chebyshev basis (well conditioned on [-1, 1] at
any degree, where powers of t are not) from sums over one pass of the data,
and, in the same pass, one set of sums per cross-validation fold: a fold's
training triangle is the others' sums added, its validation error comes
exactly from its own.  No degree and no fold is ever refitted.

The degree chosen is the lowest whose BIC, n·ln(RSS/n) + (d+1)·ln n, is within
2 of the least: a term stays when it explains more than ln n noise variances,
so smooth curves get the degree that reaches the noise (Runge's function, 18
to 22 at 200 points) and noisy polynomials their own degree, and a difference
too small to mean anything goes to the simpler curve.  Cross-validation, AIC and AICc are
reported beside it.  The search widens while the best degree lies near the
top of the range searched, up to a cap set by n, the distinct x and float64.

The article's rule of thumb, peaks + valleys + 2 (docs/learning.md), is still
counted and shown, as the hint it is: a curve's turning points bound its degree from below.
Counting them in noisy data is the delicate part: every wiggle of the noise
is a local extremum, so the points are averaged in bins along x and a
direction change counts only once the binned curve has moved back by several
noise units.

With a robust loss the degree is chosen on the points that a bisquare fit at
that degree does not reject, again and again until the choice settles, so that
a few gross outliers cannot buy themselves extra degrees.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from fitbp.fitting import bases, constraints, losses, model
from fitbp.engines import moments
from fitbp.errors import DegreeTooHigh, FitbpError, on_command_line, option
from fitbp.sources.data import Points
from fitbp.fitting.trainer import check_distinct, fit_points, power_of_two_near, weight_roots, with_weight

EVIDENCE = 2.0
"""BIC differences below this are 'not worth more than a bare mention' (Kass and Raftery, 1995):
the lowest degree within it of the least BIC is chosen, so that a few points cannot buy a degree."""
SEARCH_FROM = 10
"""The first range searched is 0 … 10; it doubles while the best degree is near its top."""
NEAR_THE_TOP = 3
MOST_DEGREE = 60
FOLDS = 5
POINTS_PER_BIN = 10
TURNS_MOST_POINTS = 100_000
"""Bins are clip(n // POINTS_PER_BIN, 8, 60): enough to see a peak, few enough to average noise out."""
NOISE_UNITS = 5.0
"""How many standard deviations of a bin mean a swing must exceed to count."""
RANGE_SHARE = 0.02
"""...and at least this share of the binned curve's range (noise-free data)."""
EXACT_SHARE = 1e-28
"""A residual sum of squares below this share of Σy² is float64's rounding: an exact fit."""
OUTLIER_UNITS = 5.0
"""A residual more than this many robust standard deviations from the curve is a gross outlier..."""
OUTLIER_SPREAD = 1.5
"""...and they matter when they make the residuals' sd this many times their robust sd."""
BISQUARE = 4.685
"""Tukey's bisquare: residuals beyond this many robust sd get no weight (95 % efficiency)."""


@dataclass
class Selection:
    """The degree chosen, and everything that went into the choice."""

    chosen: int
    turning_points: int
    rule_degree: int
    candidates: list
    """One dict per degree searched: see score_degrees."""
    reason: str
    folds: int | None = FOLDS
    """Folds of the cross-validation beside BIC; None where it was not run (fit --degree auto)."""
    notes: list = field(default_factory=list)
    outliers: int = 0
    """Residuals of the chosen fit beyond OUTLIER_UNITS robust sd, when they distort it; 0 otherwise."""
    searched: int = 0
    """The highest degree searched."""
    warnings: list = field(default_factory=list)
    """What a fit at this degree should warn of (also shown by select, as notes)."""

    def to_dict(self):
        """Every field, the notes and warnings in the command line's words (errors.on_command_line)."""
        return {**asdict(self), "notes": [on_command_line(n) for n in self.notes],
                "warnings": [on_command_line(w) for w in self.warnings]}


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
    """The article's rule of thumb (docs/learning.md): lowest sufficient highest power = peaks + valleys + 2.

    One more than the d - 1 turning points a degree-d polynomial can have, on
    purpose: it errs high.  fitbp shows it beside the choice, which BIC makes.
    """
    if turning_points < 0:
        raise FitbpError(f"turning points must be 0 or more, not {turning_points}")
    return int(turning_points) + 2


def random_sample(n, most, seed=0):
    """Indices of all n points, or of a random sample of ``most`` of them, in order."""
    if n <= most:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, most, replace=False))


# ---------------------------------------------------------------- scoring

def score_degrees(points, most, folds=FOLDS):
    """Training MSE, cross-validated MSE (mean and standard error over folds), AIC, AICc and BIC
    of every degree 0 … ``most``, from one pass over the points.

    Each dict: degree, train_mse, cv_mse, cv_se, aic, aicc, bic, all in the data's units.  cv_mse
    and cv_se are None where a fold's training rows cannot determine the degree, and everywhere
    with ``folds`` None (no cross-validation: BIC alone chooses, at a fifth of the cost); the list stops
    early where float64 cannot tell the degree's basis functions apart on these points.
    """
    return _scored(points, most, folds)[0]


def _scored(points, most, folds):
    """score_degrees, and the sums they came from (fit_auto trains on them too)."""
    points = with_weight(points)  # n, the folds and the distinct x are those of the points in the fit
    x, y = _checked(points)
    if folds is not None and folds < 2:
        raise FitbpError(f"cross-validation needs 2 folds or more, not {folds}")
    center, scale = model.scaling(x)
    unit = power_of_two_near(y)
    roots = weight_roots(points)  # weighted points: weighted sums, so BIC and CV compare Σ w r²
    sums = moments.chebyshev_sums(x, y, center, scale, unit, most, folds or 1,
                                  None if roots is None else roots * roots)
    gram, moment, squares = sums.gram()
    r = _cholesky(gram)
    z = np.linalg.solve(r.T, moment[:len(r)]) if len(r) else np.zeros(0)
    rest = max(squares - float(z @ z), 0.0)
    if rest < moments.SUMS_RESOLVE * squares and len(z):  # near an exact fit: ρ without cancellation, by QR
        train = moments.optimal_squares(moments.pieces(x, y, roots), center, scale, unit, len(z) - 1).squares.tolist()
    else:  # RSS_d = ρ² + Σ_{i>d} z_i²
        train = (rest + np.append(np.cumsum((z * z)[::-1])[::-1][1:], 0.0)).tolist()
    floor = EXACT_SHARE * squares + x.size * 1e-300
    cv = _cross_validated(sums, len(z) - 1) if folds else [(None, None)] * len(z)
    n, square = x.size, unit * unit
    scores = []
    for d, rss in enumerate(train):
        exact = rss <= floor
        aic, aicc, bic = information_criteria(n, rss / n, d, unit) if not exact else (-math.inf,) * 3
        cv_mse, cv_se = cv[d]
        scores.append({"degree": d, "train_mse": 0.0 if exact else rss / n * square,
                       "cv_mse": None if cv_mse is None else cv_mse * square,
                       "cv_se": None if cv_se is None else cv_se * square, "aic": aic, "aicc": aicc, "bic": bic})
    return scores, sums


def _cholesky(gram):
    """R with RᵀR the largest leading block of ``gram`` that float64 factors well: no diagonal entry
    of R below 1e-7 of the largest, which bounds how far its columns can lean on each other."""
    size = len(gram)
    while size:
        try:
            r = np.linalg.cholesky(gram[:size, :size]).T
        except np.linalg.LinAlgError:
            size -= 1
            continue
        diagonal = np.abs(np.diag(r))
        good = np.flatnonzero(diagonal < 1e-7 * diagonal.max())
        if not good.size:
            return r
        size = int(good[0])
    return np.zeros((0, 0))


def _cross_validated(sums, most):
    """(mean, standard error) over folds of the held-out MSE for each degree 0 … most."""
    folds = len(sums.counts)
    errors = np.full((folds, most + 1), np.nan)
    for k in range(folds):
        if not sums.counts[k]:
            continue
        others = np.arange(folds) != k
        gram, moment, _ = sums.gram(others)
        r = _cholesky(gram[:most + 1, :most + 1])
        held_gram, held_moment, held_squares = sums.gram(slice(k, k + 1))
        for d in range(min(len(r), int(sums.counts[others].sum()) - 1)):
            block = r[:d + 1, :d + 1]
            b = np.linalg.solve(block, np.linalg.solve(block.T, moment[:d + 1]))
            sse = b @ held_gram[:d + 1, :d + 1] @ b - 2.0 * b @ held_moment[:d + 1] + held_squares
            errors[k, d] = max(float(sse), 0.0) / sums.counts[k]
    result = []
    for d in range(most + 1):
        column = errors[:, d]
        if np.isnan(column).any():
            result.append((None, None))
        else:
            result.append((float(np.average(column, weights=sums.counts)),
                           float(column.std(ddof=1) / math.sqrt(folds))))
    return result


def information_criteria(n, mse, degree, unit=1.0):
    """AIC, AICc and BIC of a least-squares fit with degree + 1 coefficients and Gaussian errors of
    unknown variance, constants dropped.  ``mse`` is in units of ``unit`` squared: ln of the true MSE
    is ln mse + 2 ln unit, finite where the MSE itself would not be."""
    k = degree + 1
    log_mse = math.log(mse) + 2.0 * math.log(unit)
    aic = n * log_mse + 2 * k
    aicc = aic + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf)
    return aic, aicc, n * log_mse + k * math.log(n)


def _checked(points):
    """x and y of the points that carry weight (a point of weight 0 is not in the fit), checked."""
    points = with_weight(points)
    if points is None or np.asarray(points.x).size == 0:
        raise FitbpError("no points to choose a degree for")
    x = np.asarray(points.x, dtype=np.float64)
    y = np.asarray(points.y, dtype=np.float64)
    if x.shape != y.shape:
        raise FitbpError("x and y must be of the same length")
    return x, y


# ---------------------------------------------------------------- choosing

def search_cap(n, distinct):
    """The highest degree worth searching: one coefficient per point at most, 1.5·√n (least squares
    tames Runge's oscillation only when the points far outnumber the degree), and MOST_DEGREE."""
    return max(0, min(distinct - 1, n - 2 if n > 2 else 0, int(1.5 * math.sqrt(n)), MOST_DEGREE))


def choose(points, most=None, folds=FOLDS):
    """(chosen degree, scores, sums of the last pass, capped): the lowest degree within EVIDENCE of the
    least BIC, over a range that widens from 0 … SEARCH_FROM while the least BIC is within NEAR_THE_TOP
    of its top; ``capped`` when the least BIC sits on the automatic search's cap, where the curve may
    deserve more."""
    x, _ = _checked(points)
    if most is None:
        cap = search_cap(x.size, moments.distinct_up_to(x, MOST_DEGREE + 2))
    else:  # the user's range, as far as the distinct x allow
        cap = max(0, min(most, moments.distinct_up_to(x, most + 1) - 1))
    top = cap if most is not None else min(SEARCH_FROM, cap)
    while True:
        scores, sums = _scored(points, top, folds)
        least = min(scores, key=lambda s: (s["bic"], s["degree"]))
        chosen = min(s["degree"] for s in scores if s["bic"] <= least["bic"] + EVIDENCE)
        searched = scores[-1]["degree"]
        if searched < top or least["degree"] <= top - NEAR_THE_TOP or top >= cap:
            capped = most is None and top == cap and least["degree"] == searched == cap > SEARCH_FROM
            return chosen, scores, sums, capped
        top = min(2 * top, cap)


def select_degree(points, most=None, folds=FOLDS, loss="mse", seed=0):
    """The Selection for these points: BIC, on the points a robust fit keeps when ``loss`` is mae or
    huber, with the peaks+valleys+2 rule beside it."""
    return _select(points, most, folds, loss, seed)[0]


def _select(points, most, folds, loss, seed):
    """select_degree, and the sums of all the points when the choice was made on all of them."""
    robust = not losses.named(loss).least_squares
    x, y = _checked(points)
    if most is not None and most < 0:
        raise FitbpError(f"the max degree must be 0 or more, not {most}")
    turns = count_turning_points(x, y, seed)
    rule = rule_degree(turns)
    kept = np.ones(x.size, dtype=bool)
    chosen, scores, sums, capped = choose(points, most, folds)
    if robust:
        for _ in range(6):  # a robust fit at the degree chosen, then the choice on what it keeps
            keep = _bisquare_keeps(x, y, chosen, seed)
            if np.array_equal(keep, kept) or keep.sum() <= chosen + 2:
                break
            kept = keep
            chosen, scores, sums, capped = choose(Points(x[kept], y[kept]), most, folds)
    searched = scores[-1]["degree"]
    selection = Selection(chosen, turns, rule, scores, "", folds, searched=searched)
    if x.size > TURNS_MOST_POINTS:
        selection.notes.append(f"turning points were counted on a random sample of {TURNS_MOST_POINTS} of "
                               f"the {x.size} points")
    least = min(scores, key=lambda s: (s["bic"], s["degree"]))["degree"]
    if capped:
        selection.warnings.append(
            f"the least BIC is at {searched}, the top of the automatic search (at most 1.5·√n and "
            f"{MOST_DEGREE}: beyond, least squares starts to oscillate between the points): the curve may "
            f"deserve more; select with {option('max_degree', 2 * searched)} scores higher degrees")
    where = "" if kept.all() else f" on the {int(kept.sum())} of {x.size} points a bisquare fit keeps"
    why = "the least BIC" if chosen == least else f"within {EVIDENCE:g} of the least BIC (at {least}), and simpler"
    selection.reason = (f"BIC among degrees 0–{searched}{where}: {chosen}, {why} ({_plural(turns, 'turning point')}; "
                        f"the article's rule of thumb, peaks + valleys + 2, says {rule})")
    return selection, sums if kept.all() else None


def gross_outliers(residual):
    """How many residuals lie beyond OUTLIER_UNITS robust sd, when they are enough to spread the
    residuals OUTLIER_SPREAD times wider than their robust sd; 0 otherwise (Gaussian noise, however
    much of it, has its sd at its robust sd, and a few far points then do not matter)."""
    spread = _robust_sd(residual)
    if not spread > 0:
        return 0
    far = int(np.count_nonzero(np.abs(residual - np.median(residual)) > OUTLIER_UNITS * spread))
    return far if far and float(np.std(residual)) > OUTLIER_SPREAD * spread else 0


def _robust_sd(values):
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def _bisquare_keeps(x, y, degree, seed, iterations=30):
    """The points that Tukey's bisquare fit at ``degree`` gives weight, from least squares on
    (residuals scaled by their median absolute deviation, as robust regression does).  The weights
    are found on a random sample of at most TURNS_MOST_POINTS points, then every point is judged
    by the curve they give, a chunk at a time."""
    sample = random_sample(x.size, TURNS_MOST_POINTS, seed)
    center, scale = model.scaling(x)
    basis = model.chebyshev_matrix((x[sample] - center) / scale, degree)
    weights, coefficients, spread = np.ones(sample.size), None, 0.0
    for _ in range(iterations):
        root = np.sqrt(weights)
        coefficients = np.linalg.lstsq(basis * root[:, None], y[sample] * root, rcond=None)[0]
        residual = basis @ coefficients - y[sample]
        spread = _robust_sd(residual)
        if not spread > 0:
            return np.ones(x.size, dtype=bool)
        u = residual / (BISQUARE * spread)
        new = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if np.allclose(new, weights, atol=1e-6):
            break
        weights = new
    keep = np.empty(x.size, dtype=bool)
    for part in moments.spans(x.size):
        fitted = model.chebyshev_matrix((x[part] - center) / scale, degree) @ coefficients
        keep[part] = np.abs(fitted - y[part]) < BISQUARE * spread
    return keep


def select_table(points, most=None, folds=FOLDS, loss="mse", seed=0, fixed=None):
    """Every degree searched, scored, and the choice (for ``fitbp select``): the same search, scores
    and choice as fit_auto with the same points and ``fixed`` terms, unless ``most`` fixes the range
    to 0 … most."""
    selection, _ = _chosen(points, most, folds, loss, seed, fixed)
    x, y = _checked(points)
    top = selection.searched
    if most is not None and top < most:
        distinct = moments.distinct_up_to(x, most + 1)
        selection.notes.append(
            f"degrees above {distinct - 1} need more than the {distinct} distinct x the data has" if top == distinct - 1
            else f"degrees above {top} are left out: float64 cannot tell their basis functions apart on these points")
    selection.notes.extend(selection.warnings)
    if losses.named(loss).least_squares:  # what fit would warn of: least squares on a sample, chosen degree
        sample = random_sample(x.size, TURNS_MOST_POINTS, seed)
        roots = weight_roots(with_weight(points))  # of the points _checked gave
        root = np.ones(sample.size) if roots is None else roots[sample]  # weighted residuals: r/σ, up to a factor
        fitted = _least_squares(x[sample], y[sample], root, selection.chosen, fixed)
        selection.outliers = gross_outliers((fitted - y[sample]) * root)
        if selection.outliers:
            selection.notes.append(outliers_warning(selection.outliers))
    unscored = [s["degree"] for s in selection.candidates if s["cv_mse"] is None]
    if unscored and folds:
        few = f"{folds} folds of {x.size} points leave a fold empty" if folds > x.size else \
            f"a fold's training rows are too few to determine {'them' if len(unscored) > 1 else 'it'}"
        selection.notes.append(f"degree{'s' if len(unscored) > 1 else ''} {_span(unscored)} could not be "
                               f"cross-validated: {few}")
    exact = [s["degree"] for s in selection.candidates if s["bic"] == -math.inf]
    if exact:
        selection.notes.append(
            f"degree {exact[0]}{' and up' if len(exact) > 1 else ''} fit{'' if len(exact) > 1 else 's'} the points "
            "exactly (MSE at float64's rounding), so AIC and BIC are -inf (null in JSON): there is no noise left "
            "to weigh the coefficients against")
    return selection


def _chosen(points, most, folds, loss, seed, fixed):
    """(Selection, sums) as fit_auto and select_table both make it: chosen on the even sample that a
    stream keeps, and raised to the lowest degree that keeps the ``fixed`` terms ({power: value}).
    The sums are of every point, or None where the points were not all there to sum."""
    sample = points.sample()  # the points when held; a stream's even sample, fitted on all the points later
    selection, sums = _select(sample, most, folds, loss, seed)
    if sample.count < points.count:
        selection.notes.append(f"the degree was chosen on an even sample of {sample.count} of the "
                               f"{points.count} points{points.HELD}")
    if not points.held:
        sums = None
    if fixed and selection.chosen < lowest_keeping(fixed):
        x, _ = _checked(points)
        check_distinct(points, moments.distinct_up_to(x, lowest_keeping(fixed) + 1), lowest_keeping(fixed))
        selection.chosen = lowest_keeping(fixed)
        selection.notes.append(f"degree {selection.chosen} is the lowest that keeps the fixed terms and leaves "
                               "one to fit")
    return selection, sums


def lowest_keeping(fixed):
    """The lowest degree that keeps the ``fixed`` terms ({power: value}) and leaves one to fit."""
    return max(max(fixed), len(fixed))


def _least_squares(x, y, root, degree, fixed):
    """The least-squares curve of ``degree`` at x, the rows weighted by ``root`` (√w), keeping the
    ``fixed`` raw terms as fit does (fitbp.fitting.constraints)."""
    center, scale = model.scaling(x)
    if not fixed:  # in the Chebyshev basis, well conditioned at any degree
        basis = model.chebyshev_matrix((x - center) / scale, degree)
        return basis @ np.linalg.lstsq(basis * root[:, None], y * root, rcond=None)[0]
    unit = power_of_two_near(y)
    free, constraint = constraints.constrain(moments.triangle(x, y, center, scale, unit, degree, root), fixed,
                                             center, scale, unit, degree)
    taylor = constraint.lift(np.linalg.lstsq(free.r, free.z, rcond=None)[0])
    return model.design_matrix((x - center) / scale, degree) @ taylor * unit


def fit_auto(points, loss="mse", seed=0, **training):
    """fitbp.fitting.trainer.fit_points at the degree select_degree chooses, with the choice in the result
    (``training``: the other options of fit_points).  BIC alone chooses, so the folds' sums are not
    gathered: ``fitbp select`` shows the cross-validation beside it."""
    least_squares = losses.named(loss).least_squares
    selection, sums = _chosen(points, None, None, loss, seed, training.get("fixed"))
    summed = sums is not None and selection.chosen <= sums.degree  # fixed terms may lift it beyond the sums
    basis = bases.named(training.get("basis", bases.TAYLOR.name))
    triangle = sums.triangle(selection.chosen, basis) if summed and least_squares else None
    try:
        result = fit_points(points, selection.chosen, loss=loss, seed=seed, triangle=triangle, **training)
    except DegreeTooHigh as e:  # the basis cannot carry the chosen degree: the highest it can
        carried = (f"BIC chose {selection.chosen}, more than the {basis.title} form can carry in float64 over these "
                   f"data, so {e.carried}, the highest degree that reaches its optimum, is fitted")
        selection.reason += f"; {carried}"
        selection.warnings.append(carried)
        selection.chosen = e.carried
        result = fit_points(points, e.carried, loss=loss, seed=seed, **training)
    if least_squares:
        fitted = with_weight(result.points)
        sample = random_sample(fitted.x.size, TURNS_MOST_POINTS, seed)
        x, y = fitted.x[sample], fitted.y[sample]
        roots = weight_roots(fitted)  # weighted residuals, r/σ up to a common factor
        selection.outliers = gross_outliers((result.polynomial(x) - y) * (1.0 if roots is None else roots[sample]))
    if selection.outliers:
        selection.warnings.append(outliers_warning(selection.outliers))
    result.warnings.extend(selection.warnings)
    result.selection = selection.to_dict()
    return result


def outliers_warning(count):
    return (f"{_plural(count, 'residual')} lie more than {OUTLIER_UNITS:g} robust sd from the least-squares curve: "
            f"gross outliers pull such a fit and can raise the degree chosen; {option('loss', 'huber')} resists them")


def _span(degrees):
    return f"{degrees[0]}–{degrees[-1]}" if len(degrees) > 1 else str(degrees[0])


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


# ---------------------------------------------------------------- an updated model

def updated(document, new, shown, **training):
    """The model ``document`` fitted again with the ``new`` points (fitbp.fitting.updates): at its degree,
    or, where BIC chose the degree, at the one the same rule chooses now among the degrees its summary
    keeps (the lowest within EVIDENCE of the least BIC of every point, old and new), saying so when it
    changed."""
    from fitbp.fitting import updates

    data = updates.merged(document, new, shown)
    old = int(document["degree"])
    if not document.get("degree_selection"):
        return updates.refit(document, data, old, **training)
    part, n = data.merged, data.count
    kept = part.degree
    top = min(kept, search_cap(n, kept + 2))
    unit = math.ldexp(1.0, part.exponent)
    squares = updates.residual_squares(part)
    scores = [{"degree": d, "bic": information_criteria(n, max(squares[d], 1e-300) / n, d, unit)[2]}
              for d in range(top + 1)]
    least = min(scores, key=lambda s: (s["bic"], s["degree"]))
    chosen = min(s["degree"] for s in scores if s["bic"] <= least["bic"] + EVIDENCE)
    fixed = document.get("fixed") or {}
    if fixed:
        chosen = max(chosen, lowest_keeping({int(p): v for p, v in fixed.items()}))
    result = updates.refit(document, data, chosen, **training)
    why = ("the least BIC" if chosen == least["degree"]
           else f"within {EVIDENCE:g} of the least BIC (at {least['degree']})")
    result.selection = {"chosen": chosen, "searched": top, "candidates": scores, "folds": None,
                        "reason": f"BIC among degrees 0–{top} of every point, from the model's summary and the new "
                                  f"points: {chosen}, {why}"}
    if chosen != old:
        result.warnings.append(f"the degree is now {chosen}, as BIC chooses it on every point, old and new (it "
                               f"was {old})")
    if least["degree"] == top == kept and top < search_cap(n, MOST_DEGREE + 2):
        result.warnings.append(f"the least BIC is at {top}, the highest degree the model's summary keeps: a fit "
                               "of every point may choose more")
    return result
