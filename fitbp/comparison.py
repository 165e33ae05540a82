"""``fitbp compare``: the article's research stage, every family of curves fitted to the same points and
ranked by statistics.

Each family chooses its own shape first, on all the points, as ``fitbp fit`` would: the Taylor and
Chebyshev polynomials their degree by BIC (one least-squares curve, two bases: they differ only past the
degrees the Taylor form can carry), the Fourier series its trend (degree 0 to 2, by BIC), period and
harmonics, the smoothing spline its λ by generalised cross-validation.  Then two measures, side by side:

- **cross-validated MSE**: the points split at random into ``folds`` folds (the same for every family);
  each fold predicted by the family's shape refitted on the others (the degree, period, harmonics or λ
  kept; for the spline, its λ), the squared errors averaged over every point, with the standard error
  of the folds' means.  The shapes were chosen on all the points, so the figures flatter the families
  that chose more, a little: the usual shortcut, and why BIC stands beside it.
- **BIC** = n ln(RSS/n) + p ln n, p the parameters (the spline's effective degrees of freedom, tr H;
  the Fourier series's coefficients and its learned period).

The ranking: every family whose CV MSE is within one standard error of the best is as good as the best
can be told apart from it (Breiman's one-standard-error rule), and among those the least BIC (the
fewest parameters for the fit) ranks first; the others follow by CV MSE.  Neither measure says anything
beyond the data: a polynomial runs off as its highest power, a Fourier series repeats its period, the
spline continues its end cubics; the table says so in its last column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fitbp.errors import FitbpError
from fitbp.sources.data import roots_of

FAMILIES = ("taylor", "chebyshev", "fourier", "spline")
BEYOND = {
    "taylor": "runs off as its highest power",
    "chebyshev": "runs off as its highest power",
    "fourier": "repeats its period, trend added",
    "spline": "continues its end cubics",
}
MOST_TREND = 2
LEAST_CYCLES = 3
"""A Fourier candidate's period must fit this many times in the data's range: a period seen once or twice
is no evidence of one, and a series with a free period that long is only one more smoother, which
then extrapolates as if the data repeated."""


@dataclass
class Candidate:
    """One family's curve on all the points, and how to refit its shape on part of them."""

    family: str
    curve: object
    """y at x: a fitbp Polynomial (with its basis) or a smoothing spline's Curve."""
    parameters: float
    detail: str
    refit: object = field(repr=False)
    """refit(x, y, w) → a function of x: the same shape trained on (x, y), weighted by w, alone."""
    result: object = field(default=None, repr=False)
    """What fitbp fit would return for this family: what --save saves."""


@dataclass
class Ranked:
    family: str
    detail: str
    parameters: float
    cv_mse: float
    cv_se: float
    bic: float
    beyond: str
    rank: int = 0

    def to_dict(self):
        return {"rank": self.rank, "family": self.family, "curve": self.detail, "parameters": self.parameters,
                "cv_mse": self.cv_mse, "cv_se": self.cv_se, "bic": self.bic, "beyond_the_data": self.beyond}


@dataclass
class Comparison:
    rows: list
    candidates: dict = field(repr=False)
    folds: int = 5
    n: int = 0
    seed: int = 0
    skipped: dict = field(default_factory=dict)
    """{family: why} for the families these points could not be fitted by."""
    weighted: bool = False

    @property
    def winner(self):
        return self.rows[0].family

    def to_dict(self):
        return {"winner": self.winner, "n_points": self.n, "folds": self.folds, "seed": self.seed,
                "ranked_by": "CV MSE within one standard error of the best, then BIC", "weighted": self.weighted,
                "families": [row.to_dict() for row in self.rows], "skipped": dict(self.skipped)}


def compare(points, families=FAMILIES, folds=5, seed=0):
    """Every family of ``families`` fitted to ``points`` (held) and ranked (see the module).  With weights
    (w = 1/σ²), every fit, cross-validated error and BIC is the weighted one: squared errors times w scaled
    to mean 1, so that the figures stay in y's units squared; points of weight 0 are left out."""
    if not points.held:
        raise FitbpError(f"{points.source}: compare needs the {points.count} points in memory, for now")
    fitted = points.with_weight() if getattr(points, "weights", None) is not None else points
    x, y = np.asarray(fitted.x, dtype=np.float64), np.asarray(fitted.y, dtype=np.float64)
    raw = getattr(fitted, "weights", None)
    roots = roots_of(raw)
    w = np.ones_like(x) if roots is None else roots * roots
    raw = w if raw is None else np.asarray(raw, dtype=np.float64)  # the refits' (the spline's λ is on their scale)
    if x.size < 2 * folds:
        raise FitbpError(f"{points.source}: {folds}-fold cross-validation needs at least {2 * folds} points, "
                         f"the data has {x.size}")
    fold = np.random.default_rng(seed).permutation(x.size) % folds
    candidates, skipped = {}, {}
    for name in families:
        try:
            candidates[name] = BUILDERS[name](points, x, y, w)
        except FitbpError as e:  # a family these points cannot carry: said, not ranked
            skipped[name] = str(e).removeprefix(f"{points.source}: ")
    if not candidates:
        raise FitbpError(f"{points.source}: no family of curves fits these points ({'; '.join(skipped.values())})")
    rows = [_measured(candidate, x, y, w, raw, fold, folds) for candidate in candidates.values()]
    return Comparison(_ranked(rows), candidates, folds, int(x.size), seed, skipped, roots is not None)


def _measured(candidate, x, y, w, raw, fold, folds):
    """The candidate's CV MSE and its standard error, and its BIC, each of the squares times w (the weights
    scaled to mean 1); each fold refitted with the ``raw`` weights."""
    errors = np.empty_like(y)
    means = []
    for k in range(folds):
        held_out = fold == k
        predict = candidate.refit(x[~held_out], y[~held_out], raw[~held_out])
        errors[held_out] = w[held_out] * (predict(x[held_out]) - y[held_out]) ** 2
        means.append(float(np.mean(errors[held_out])))
    return Ranked(candidate.family, candidate.detail, candidate.parameters, float(np.mean(errors)),
                  float(np.std(means, ddof=1) / math.sqrt(folds)),
                  _bic(np.sqrt(w) * (candidate.curve(x) - y), candidate.parameters), BEYOND[candidate.family])


def _bic(residual, parameters):
    """n ln(RSS/n) + p ln n, as fitbp.selection scores a degree (an exact fit's RSS held above 0)."""
    from fitbp.selection import information_criteria

    mse = max(float(residual @ residual) / residual.size, 1e-300)
    return information_criteria(residual.size, mse, parameters - 1)[2]


def _ranked(rows):
    """Within one standard error of the best CV MSE, by BIC; then the rest, by CV MSE.  Figures equal to
    ten digits are equal (the Taylor and Chebyshev forms of one curve differ in their last bits), and
    equals keep the order of FAMILIES."""
    best = min(rows, key=lambda row: row.cv_mse)
    close = sorted((row for row in rows if row.cv_mse <= best.cv_mse + best.cv_se), key=lambda row: _ten(row.bic))
    rest = sorted((row for row in rows if row not in close), key=lambda row: _ten(row.cv_mse))
    for rank, row in enumerate(close + rest, start=1):
        row.rank = rank
    return close + rest


def _ten(value):
    return float(f"{value:.10g}")


# ---------------------------------------------------------------- the families

def _linear(curve, basis_of):
    """refit for a curve linear in its coefficients: least squares on the same columns (same t), each row
    times √w."""
    def refit(x, y, w):
        basis = basis_of()
        design = basis.columns(curve.scaled(x), curve.degree)
        root = np.sqrt(w)
        coefficients = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
        return lambda new: basis.columns(curve.scaled(new), curve.degree) @ coefficients
    return refit


def _polynomial(basis):
    def build(points, x, y, w):
        from fitbp import selection

        from fitbp.fitting import bases

        result = selection.fit_auto(points, basis=basis)
        curve = result.polynomial
        # each fold refitted in Chebyshev's columns, whatever the family's basis: the same curves, and at a
        # high degree powers of t lose the optimum (lstsq cuts their small singular values)
        return Candidate(basis, curve, curve.degree + 1, f"degree {curve.degree}",
                         _linear(curve, lambda: bases.named("chebyshev")), result)
    return build


def _fourier(points, x, y, w):
    """The trend of degree 0 to MOST_TREND with the least BIC, each with its period and harmonics."""
    from fitbp.fitting import fourier

    best = None
    for trend in range(MOST_TREND + 1):
        try:
            result = fourier.fit(points, trend=trend, cycles=LEAST_CYCLES)
        except FitbpError:
            continue
        bic = _bic(np.sqrt(w) * (result.polynomial(x) - y), len(result.polynomial.coefficients) + 1)
        if best is None or bic < best[0]:
            best = (bic, result)
    if best is None:
        raise FitbpError(f"{points.source}: too few points for a Fourier series")
    result = best[1]
    curve, basis = result.polynomial, result.polynomial.basis
    detail = f"P {basis.period:.6g}, {basis.harmonics} harmonics, trend {basis.trend}"
    return Candidate("fourier", curve, len(curve.coefficients) + 1, detail, _linear(curve, lambda: basis), result)


def _spline(points, x, y, w):
    from fitbp.fitting import smoothing

    result = smoothing.fit(points)
    curve = result.spline
    weighted = getattr(points, "weights", None) is not None
    knots = 0 if curve.weight is not None else curve.knots.size  # each fold's spline on as many knots

    def refit(xs, ys, ws):
        from fitbp.sources.data import Points

        return smoothing.spline_of(Points(xs, ys, weights=ws if weighted else None), curve.lam, knots)[0]
    return Candidate("spline", result.polynomial, float(curve.edf),
                     f"λ {curve.lam:.3g}, {curve.edf:.1f} effective parameters", refit, result)


BUILDERS = {"taylor": _polynomial("taylor"), "chebyshev": _polynomial("chebyshev"), "fourier": _fourier,
            "spline": _spline}
