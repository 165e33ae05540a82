"""The smoothing spline as a fitbp model: what a fit, the table, the model file, predict, plot and the
exports need of it.

fitbp.fitting.spline holds the mathematics (Reinsch's equations, GCV, the fitted pieces); this module
gives the result the shape every other fitbp model has.  A spline is not a sum of a few basis functions
with coefficients to test: its parameters are its values at every distinct x, shrunk together by λ.  So
its table has no coefficients but λ, the effective number of parameters (the trace of the hat matrix)
and the GCV score; its band is Wahba's Bayesian one, σ²·bᵀ(W + λΩ)⁻¹b (``Spline.variance``), the band
mgcv draws for a penalised smooth, which unlike the frequentist one allows for the smoothing's bias;
its σ² is the residual variance on n − edf degrees of freedom.  It is solved, not trained: there is no
loss curve, no film and no graph to show, and the command line says so rather than draw an empty one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from fitbp import __version__
from fitbp.errors import FitbpError, on_command_line, option, printable
from fitbp.fitting import bases
from fitbp.fitting.spline import Spline, fit_spline

AGREEMENT = 1e-2
"""How closely (relatively) Reinsch's two formulas for the effective parameters must agree before a fit is
reported.  The one used is the better conditioned and far closer than this (200 points of the cubic
sample: 2e-9 against a 40-digit reckoning, where the other is 2e-5 off); where close x make the matrix
ill-conditioned they part by whole parameters (10⁴ random x: 18.4 against 1.0), and λ's choice is then
noise."""


class Smoothing(bases.Basis):
    """The basis word of a smoothing spline's model: its name, titles, and the fitted spline itself
    (``spline``), whose knots and values are its parameters."""

    name, title, symbol, polynomial = "spline", "Smoothing spline", "g", False

    def __init__(self, spline, smooth="auto"):
        self.spline, self.smooth = spline, smooth

    def curve(self, degree=None):
        return f"smoothing spline (λ {self.spline.lam:.4g}, {self.spline.edf:.4g} effective parameters)"

    def to_dict(self):
        """The spline's part of a model: every number exact in JSON (Python writes the shortest digits
        that read back to the same float64)."""
        s = self.spline
        kept = ({"weight": s.weight.tolist()} if s.weight is not None else
                {"blocks": s.blocks.reshape(-1, 16).tolist()})  # knots at every x, or fewer (pspline)
        return {"smooth": self.smooth, "lam": s.lam, "edf": s.edf, "gcv": s.gcv if math.isfinite(s.gcv) else None,
                "pieces": int(s.knots.size - 1), "knots_at": "every x" if s.weight is not None else "quantiles",
                "knots": s.knots.tolist(), "values": s.values.tolist(), "second": s.second.tolist(), **kept}

    def __reduce__(self):
        return Smoothing, (self.spline, self.smooth)

    def __repr__(self):
        return f"<basis spline: λ {self.spline.lam:g}, {self.spline.knots.size} knots>"


def of_document(document, damaged=None):
    """The Smoothing basis of a model file's or --json document's 'spline' part, checked: a FitbpError
    (through ``damaged(key, why)`` when given) for a part that is not a spline."""
    part = document.get("spline")
    fail = damaged or (lambda key, why: FitbpError(f"a spline model whose '{key}' {why}"))
    if not isinstance(part, dict):
        raise fail("spline", "is missing or not an object")
    arrays = {}
    for key in ("knots", "values", "second", "weight" if "blocks" not in part else "blocks"):
        values = part.get(key)
        if key == "blocks" and isinstance(values, list):  # a 4×4 covariance an interval, as rows of 16
            values = [v for row in values for v in (row if isinstance(row, list) and len(row) == 16 else [None])]
        if not (isinstance(values, list) and len(values) >= 3 and all(_real(v) for v in values)):
            raise fail("spline", f"has no list '{key}' of 3 or more numbers")
        arrays[key] = np.array(values, dtype=np.float64)
    if "blocks" in arrays:
        if arrays["blocks"].size != 16 * (arrays["knots"].size - 1):
            raise fail("spline", "has not one 4×4 block of 'blocks' for each interval between its knots")
        arrays["blocks"] = arrays["blocks"].reshape(-1, 4, 4)
    for key in ("lam", "edf"):
        if not (_real(part.get(key)) and part[key] >= 0):
            raise fail("spline", f"has no number '{key}' of 0 or more")
    gcv = part.get("gcv")
    try:
        spline = Spline(arrays["knots"], arrays["values"], arrays["second"], float(part["lam"]), float(part["edf"]),
                        float(document.get("rss", math.nan) or math.nan), int(document.get("weighted_points") or 0),
                        float(gcv) if _real(gcv) else math.nan, arrays.get("weight"), arrays.get("blocks"))
    except ValueError:
        raise fail("spline", "does not hold increasing knots with a value, second derivative and positive "
                             "weight each") from None
    return Smoothing(spline, part.get("smooth") if part.get("smooth") in ("auto", "given") else "given")


def _real(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Curve:
    """A fitted smoothing spline as predict, plot, the inverse and the exports use a curve: called at x,
    its slope, where it crosses a y, and its Bayesian band."""

    degree = 3

    def __init__(self, basis, center, scale):
        self.basis, self.center, self.scale = basis, float(center), float(scale)
        self.spline = basis.spline

    def __call__(self, x):
        return np.asarray(self.spline(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    def slope(self, x):
        return np.asarray(self.spline.derivative(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    @property
    def flat(self):
        """Whether the curve is one constant: every value the same, no curvature."""
        values = self.spline.values
        return bool(np.all(values == values[0]) and not np.any(self.spline.second))

    def crossings(self, y, low, high):
        """The x in [low, high] where the curve equals y, in increasing order: the real roots of each
        piece's cubic a + b·u + c·u² + d·u³ − y within its interval (u = x − its knot), from the eigenvalues
        of the pieces' companion matrices all at once, then one Newton step on the piece."""
        table = self.spline.pieces()
        knots = self.spline.knots
        ends = np.append(knots[1:-1], np.inf)
        starts = np.concatenate(([-np.inf], knots[1:-1]))  # the first and last pieces carry on beyond the knots
        keep = (np.minimum(ends, high) >= np.maximum(starts, low))
        rows, start, end = table[keep], np.maximum(starts[keep], low), np.minimum(ends[keep], high)
        found = []
        a, b, c, d = rows[:, 1] - y, rows[:, 2], rows[:, 3], rows[:, 4]
        roots = _cubic_roots(a, b, c, d)
        for j in range(roots.shape[1]):
            r = roots[:, j]
            ok = np.isfinite(r)
            x = rows[:, 0] + np.where(ok, r, 0.0)
            slack = 1e-12 * np.maximum(1.0, np.maximum(np.abs(start), np.abs(end)))
            inside = ok & (x >= start - slack) & (x <= end + slack)
            found.append(np.clip(x[inside], start[inside], end[inside]))
        found = np.sort(np.concatenate(found)) if found else np.array([])
        tolerance = 1e-12 * max(1.0, abs(y), float(np.max(np.abs(self.spline.values))))
        kept = []
        for x in found.tolist():
            if kept and abs(x - kept[-1]) <= 1e-9 * max(1.0, abs(x)):
                continue
            if abs(float(self(x)) - y) <= 1e3 * tolerance or _polish(self, y, x) is not None:
                kept.append(_polish(self, y, x) or x)
        return [x for x in kept if low <= x <= high]

    def variance(self, x):
        """bᵀ(W + λΩ)⁻¹b at x: the curve's variance over σ² (``Spline.variance``)."""
        return self.spline.variance(x)


def _polish(curve, y, x, steps=4):
    """x after a few Newton steps on the curve, if they bring it nearer y; None when they cannot."""
    best, miss = x, abs(float(curve(x)) - y)
    for _ in range(steps):
        slope = float(curve.slope(x))
        if slope == 0.0 or not math.isfinite(slope):
            break
        x = x - (float(curve(x)) - y) / slope
        if abs(float(curve(x)) - y) < miss:
            best, miss = x, abs(float(curve(x)) - y)
    return best if miss <= 1e-9 * max(1.0, abs(y)) else None


def _cubic_roots(a, b, c, d):
    """The real roots of a + b·u + c·u² + d·u³ for each row (NaN where a row has fewer), by the
    eigenvalues of the companion matrix of its highest non-zero power."""
    out = np.full((a.size, 3), np.nan)
    cubic = d != 0
    if np.any(cubic):
        m = np.zeros((int(cubic.sum()), 3, 3))
        m[:, 1, 0] = m[:, 2, 1] = 1.0
        m[:, 0, 2], m[:, 1, 2], m[:, 2, 2] = -a[cubic] / d[cubic], -b[cubic] / d[cubic], -c[cubic] / d[cubic]
        values = np.linalg.eigvals(m)
        real = np.abs(values.imag) <= 1e-9 * (1.0 + np.abs(values.real))
        out[cubic] = np.where(real, values.real, np.nan)
    rest = ~cubic
    if np.any(rest):
        aa, bb, cc = a[rest], b[rest], c[rest]
        with np.errstate(all="ignore"):
            disc = bb * bb - 4 * aa * cc
            root = np.sqrt(np.where(disc >= 0, disc, np.nan))
            quadratic = np.stack(((-bb + root) / (2 * cc), (-bb - root) / (2 * cc)), axis=1)
            linear = np.where(bb != 0, -aa / bb, np.nan)
        two = np.where((cc != 0)[:, None], quadratic, np.stack((linear, np.full_like(linear, np.nan)), axis=1))
        out[rest, :2] = two
    return out


# ---------------------------------------------------------------- fitting

@dataclass
class Result:
    """A smoothing spline fitted to points: what fitbp.fitting.trainer.FitResult is to a polynomial, with
    the same ``summary()`` keys where they mean the same thing."""

    spline: Spline
    points: object
    smooth: str
    seconds: float
    center: float
    scale: float
    absolute_sigma: bool = False
    level: float = 0.95
    distance: float | None = None
    """For a spline on fewer knots than x, its estimated distance from the every-x one (pspline.richardson)."""
    totals: object = None
    """For a spline on fewer knots than x, the sums of its statistics (pspline.Totals): its points may not
    be held."""
    engine: dict = field(default_factory=lambda: {"name": "local"})
    warnings: list = field(default_factory=list)
    loss_history: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    statistics: dict = field(default_factory=dict)

    @property
    def polynomial(self):
        """The curve (named as a polynomial's is, for the code that draws and saves any fit)."""
        return Curve(Smoothing(self.spline, self.smooth), self.center, self.scale)

    def _sums(self):
        """(Σ w r², Σ w r, Σ w, Σ w (y − ȳ_w)²) with w as given (1 without): from the points where the
        spline has a knot at each (held), else from the passes of the spline on fewer knots (``totals``,
        whose weights have mean 1, times that mean)."""
        from fitbp.fitting import trainer

        if self.totals is not None:
            t, mean = self.totals, trainer.weight_mean(self.points) or 1.0
            return t.squares * mean, t.residual_sum * mean, t.weight_sum * mean, t.spread * mean
        fitted = trainer.with_weight(self.points)
        x, y = np.asarray(fitted.x, dtype=np.float64), np.asarray(fitted.y, dtype=np.float64)
        w = np.ones_like(x) if getattr(fitted, "weights", None) is None else np.asarray(fitted.weights, float)
        residual = y - self.spline(x)
        total = float(np.sum(w))
        level = float(np.dot(w, y)) / total
        return (float(np.dot(w, residual * residual)), float(np.dot(w, residual)), total,
                float(np.dot(w, (y - level) ** 2)))

    def summary(self):
        s, points = self.spline, self.points
        chi2, residual_sum, total, spread = self._sums()
        mean = residual_sum / total
        mse = chi2 / total
        dof = s.n - s.edf
        weighted = getattr(points, "weights", None) is not None
        return {
            "fitbp_version": __version__,
            "degree": 3,
            "coefficients": None,
            "center": self.center,
            "scale": self.scale,
            "basis": "spline",
            "spline": {**Smoothing(s, self.smooth).to_dict(), "distance": self.distance},
            "rss": chi2,
            "raw_digits_lost": 0.0,
            "stderr": None,
            "stderr_note": "a smoothing spline's parameters are its values at its knots, shrunk together by λ: "
                           "there are no coefficients to test (its band: predict --interval)",
            "level": self.level,
            "mse": mse,
            "rmse": math.sqrt(mse),
            "r2": 1.0 - chi2 / spread if spread > 0 else None,
            "r2_kind": "centred",
            "fixed": {},
            "loss_value": mse,
            "median_abs_residual": None,
            "residual_mean": mean,
            "residual_std": math.sqrt(max(mse - mean * mean, 0.0)),
            "reduced_chi2": chi2 / dof if dof > 0 else None,
            "errors": "absolute" if self.absolute_sigma else "scaled",
            **({"chi2": chi2, "chi2_p_value": None} if weighted else {}),
            "weights": ({"from": points.weighting, "column": points.weight_name}
                        if getattr(points, "weighting", None) else None),
            "dof": dof,
            "n_points": points.rows,
            "weighted_points": int(s.n),
            "x_range": [float(v) for v in points.x_range],
            **(points.x_axis.to_dict() if getattr(points, "x_axis", None) else {"x_origin": None, "x_unit": None}),
            "skipped_rows": points.skipped,
            "loss": "mse",
            "huber_delta": None,
            "optimizer": None,
            "lr": None,
            "tol": None,
            "epochs": None,
            "converged": True,
            "seconds": self.seconds,
            "source": points.source,
            **({"sources": points.sources} if points.sources else {}),
            "engine": self.engine,
            "x_column": points.x_name,
            "y_column": points.y_name,
            "warnings": [on_command_line(w) for w in self.warnings],
        }


def fit(points, smooth="auto", absolute_sigma=False, **ignored):
    """The cubic smoothing spline of ``points`` as a Result: λ by GCV or ``smooth``; knots at every
    distinct x where the points are held, there are at most FULL distinct x and float64 can count its
    effective parameters (``_counted``), else at pspline.KNOTS quantiles of them (fitbp.fitting.pspline:
    two passes over points held or streamed), how far that is from the every-x spline estimated and kept.
    Weights are used as scipy's w (w = 1/σ² from --sigma)."""
    from fitbp.engines import moments
    from fitbp.fitting import trainer

    started = time.perf_counter()
    fitted = trainer.with_weight(points)
    try:
        spline, totals, distance = spline_of(fitted, smooth)
    except ValueError as e:
        raise FitbpError(f"{printable(points.source)}: {e}") from None
    center, scale = moments.scaling_of(*fitted.x_range)
    result = Result(spline, points, "auto" if smooth == "auto" else "given", time.perf_counter() - started,
                    center, scale, absolute_sigma, distance=distance, totals=totals)
    if distance is not None and distance > CLOSE:
        result.warnings.append(f"the spline on {spline.knots.size} knots is about {distance:.1g} of the y range "
                               "from the spline with a knot at every x (estimated): a curve with this much "
                               "detail needs more knots than fitbp gives it, for now")
    result.engine = points.engine()
    return result


FULL = 5_000
"""Distinct x up to which every one is a knot (the exact smoothing spline, scipy's); beyond, the spline on
fewer knots (fitbp.fitting.pspline): past this the every-x spline costs more and, for random x, loses
its digits."""
CLOSE = 1e-6
"""How near (relative to the y range) the spline on fewer knots should come to the every-x spline."""


def spline_of(data, smooth, knots=None):
    """(the spline of ``data``'s points that carry weight, the sums of its statistics or None where they are
    the points', its estimated distance from the every-x spline or None where it is that spline), on
    ``knots`` knots when given (0: at every x, held points only), else as ``fit`` chooses."""
    from fitbp.fitting import pspline, trainer

    scale = trainer.weight_mean(data) or 1.0
    sample = data if data.held else data.sample()  # a stream's sample is every point where they are few
    x, y = np.asarray(sample.x, dtype=np.float64), np.asarray(sample.y, dtype=np.float64)
    distinct = np.unique(x).size
    if (data.held or x.size == data.count) and (knots == 0 or (knots is None and distinct <= FULL)):
        weights = None if getattr(sample, "weights", None) is None else np.asarray(sample.weights, dtype=np.float64)
        with np.errstate(all="ignore"):  # an ill-conditioned attempt is found out by _counted, not by numpy
            every = fit_spline(x, y, weights, smooth)
            counted = knots == 0 or _counted(every, x, y, weights)
        if counted:
            return every, None, None
    count = knots or min(pspline.KNOTS, max(distinct // 4, 3))
    reduced, totals = pspline.fit_data(data, smooth, count, scale)
    return reduced, totals, pspline.richardson(reduced, data, scale)


def _counted(spline, x, y, weights):
    """Whether float64 could count the every-x spline's effective parameters: the trace of the hat matrix,
    reckoned by Reinsch's two formulas, must agree and lie between 2 (the line) and the knots
    (interpolation).  Close x make his matrix ill-conditioned; then GCV, and λ with it, would be noise."""
    from fitbp.fitting import spline as splines

    knots = spline.knots.size
    counts = splines.effective_parameters(x, y, weights, spline.lam)
    return (all(math.isfinite(c) for c in counts) and abs(counts[0] - counts[1]) <= AGREEMENT * max(spline.edf, 1.0)
            and 2.0 * (1.0 - AGREEMENT) <= spline.edf <= knots * (1.0 + AGREEMENT))


# ---------------------------------------------------------------- the criterion as a graph

GRAPH_KNOTS = 2_000
"""The most knots whose criterion ``criterion_graph`` builds: its R⁻¹Qᵀ is a dense knots² matrix."""


def criterion_graph(x, y, weights, lam, values):
    """The spline's criterion as a computing graph of its values g at the knots (every distinct x), for
    ``fitbp graph --smooth`` and ``gradcheck --smooth``: (Σ W_k (g_k − ȳ_k)² + the scatter within tied x +
    λ·γᵀRγ) / n, with γ = R⁻¹Qᵀg the second derivatives at the inner knots and γᵀRγ = ∫f''² (Green and
    Silverman).  The spline itself is solved, not trained, but its gradient here is 0 at the fitted values,
    and backprop and central differences can be held against each other on it.  (root, the node g)."""
    from fitbp.backprop import graph
    from fitbp.fitting import spline as splines

    data = splines._prepare(x, y, weights)
    k = data.knots.size
    if k > GRAPH_KNOTS:
        raise FitbpError(f"a spline's graph is drawn for at most {GRAPH_KNOTS} distinct x (its matrices are dense), "
                         f"not {k}")
    rows = np.arange(k - 2)
    qt = np.zeros((k - 2, k))
    qt[rows, rows], qt[rows, rows + 1], qt[rows, rows + 2] = data.q0, data.q1, data.q2
    r = np.diag(data.r0) + np.diag(data.r1, 1) + np.diag(data.r1, -1)
    g = graph.parameter(np.asarray(values, dtype=np.float64), "g")
    misfit = ((g - graph.constant(data.mean, "ȳ")) ** 2 * graph.constant(data.weight, "W")).sum()
    gamma = graph.constant(np.linalg.solve(r, qt), "R⁻¹Qᵀ") @ g
    roughness = ((graph.constant(r, "R") @ gamma) * gamma).sum()
    total = misfit + graph.constant(data.scatter, "ties' scatter") + graph.constant(float(lam), "λ") * roughness
    return total * graph.constant(1.0 / data.n, "1/n"), g


def knot_values(x, y, weights=None):
    """The data at the knots, (distinct x, their weighted mean y): where criterion_graph starts."""
    from fitbp.fitting import spline as splines

    data = splines._prepare(x, y, weights)
    return data.knots, data.mean


# ---------------------------------------------------------------- the band

def band(document, curve, path, level=0.95, interval="confidence", sigma_new=None):
    """x -> (lower, upper): the spline's Bayesian ``level`` band at x (Wahba's), or with ``interval``
    "prediction" the interval of a new measurement, which adds the noise σ² (σ_new² for a model fitted
    with σ).  Quantiles of Student's t on n − edf degrees of freedom, the normal's for absolute σ."""
    from fitbp.fitting import statistics

    absolute = document.get("errors") == "absolute"
    dof = document.get("dof")
    s2 = 1.0 if absolute else document.get("reduced_chi2")
    if not (_real(s2) and s2 >= 0 and _real(dof) and (absolute or dof >= 1)):
        raise FitbpError(f"{printable(path)}: no band for this spline: it has no residual degrees of freedom "
                         "(it interpolates its points)")
    noise = 0.0
    if interval == "prediction":
        if document.get("weights") and sigma_new is None:
            raise FitbpError(f"{printable(path)}: this model was fitted with a σ for each point, so a prediction "
                             f"interval needs the new point's: pass {option('sigma_new')}")
        noise = 1.0 if sigma_new is None else sigma_new * sigma_new  # over σ², which scales both

    quantile = statistics._quantile((1.0 + level) / 2.0, None if absolute else dof)

    def edges(x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            half = quantile * np.sqrt(s2 * (curve.variance(x) + noise))
            fitted = curve(x)
        return fitted - half, fitted + half

    return edges
