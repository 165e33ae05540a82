"""The Fourier series, the article's other smooth curve: a trend plus K harmonics of a period P.

    y = Σ_{i≤D} a_i t^i + Σ_{k=1..K} [α_k cos(2πkx/P) + β_k sin(2πkx/P)],  t = (x − c)/s

A seasonal series (the Keeling curve: a quadratic trend and annual harmonics) needs a handful of these
terms where the Taylor form spends dozens of powers.  The trend is in t, as every fitbp polynomial is,
to keep its digits; the harmonics are in x itself, phase counted from x = 0, as a scientist writes
them (cos 2πx for an annual cycle in years), so α_k and β_k mean what they say.  Their angle carries
float64's relative rounding of x/P, 1e-16 · x/P radians: nothing until x/P nears 1e10.

Given P the curve is linear in its coefficients: the same triangle, Newton step, statistics and
intervals as a polynomial's (fitbp.fitting.trainer with this basis).  P itself enters nonlinearly,
through cos(2πk(x − c)/P): ``learned_period`` starts from a periodogram that tolerates uneven sampling
(least squares over a grid of frequencies) and then learns P by Gauss–Newton on the whole model,
the loss's gradient with respect to P and to every coefficient coming from the backprop graph
(``loss_graph``: cosine and sine nodes under a parameter ω = 2π/P).  P's standard error comes from the
Jacobian of the curve in (coefficients, P) at the optimum, scaled by the residual variance, as for any
nonlinear least-squares parameter.  ``harmonics="auto"`` chooses K by BIC as the degree is chosen.
"""

from __future__ import annotations

import math

import numpy as np

from fitbp.errors import FitbpError, option
from fitbp.fitting import bases

MOST_HARMONICS = 12
"""The largest K that harmonics='auto' tries."""
GRID_POINTS = 2_000
"""The periodogram looks at an even sample of at most this many points."""
OVERSAMPLING = 4
"""Grid frequencies per 1/span: fine enough that the true peak is never between two."""
MOST_FREQUENCIES = 40_000
GAUSS_NEWTON_STEPS = 50
PERIOD_DIGITS = 1e-12
"""Gauss–Newton stops at a step this small relative to P: past it the gradient is rounding, and the steps
wander by 1e-13 of P without lowering the loss (each of them a pass over points not held)."""


class Fourier(bases.Basis):
    """Powers of t up to ``trend``, then cos and sin of 2πkx/P for k = 1 … ``harmonics`` (``period`` is
    P in x's units; ``center`` and ``scale`` the c and s of t = (x − c)/s, from which x = c + s·t)."""

    name, title, symbol, polynomial = "fourier", "Fourier", "f", False

    def __init__(self, period, harmonics, trend=0, scale=1.0, center=0.0, period_stderr=None):
        self.period, self.harmonics, self.trend = float(period), int(harmonics), int(trend)
        self.scale, self.center, self.period_stderr = float(scale), float(center), period_stderr

    @property
    def omega(self):
        """d(2πx/P)/dt = 2πs/P: how fast the first harmonic's angle turns in t."""
        return 2.0 * math.pi * self.scale / self.period

    @property
    def size(self):
        return self.trend + 1 + 2 * self.harmonics

    def labels(self):
        """Each coefficient's function, as tables and exports name it."""
        powers = ["1", "t"] + [f"t^{i}" for i in range(2, self.trend + 1)]
        return powers[:self.trend + 1] + [f"{f}(2π·{k}x/P)" for k in range(1, self.harmonics + 1)
                                          for f in ("cos", "sin")]

    def columns(self, t, degree=None):
        t = np.asarray(t, dtype=np.float64)
        out = np.empty((t.size, self.size))
        out[:, 0] = 1.0
        for i in range(1, self.trend + 1):
            out[:, i] = out[:, i - 1] * t
        angle = (2.0 * math.pi / self.period) * (self.center + self.scale * t)
        for k in range(1, self.harmonics + 1):
            out[:, self.trend + 2 * k - 1] = np.cos(k * angle)
            out[:, self.trend + 2 * k] = np.sin(k * angle)
        return out

    def evaluate(self, coefficients, t):
        t = np.asarray(t, dtype=np.float64)
        return (self.columns(t.ravel()) @ np.asarray(coefficients, dtype=np.float64)).reshape(t.shape)

    def derivative(self, coefficients):
        """d/dt, in this same basis: the trend's powers step down, each harmonic turns a quarter."""
        c = np.asarray(coefficients, dtype=np.float64)
        out = np.zeros_like(c)
        out[:self.trend] = c[1:self.trend + 1] * np.arange(1, self.trend + 1)
        for k in range(1, self.harmonics + 1):
            cos_at, sin_at = self.trend + 2 * k - 1, self.trend + 2 * k
            out[cos_at], out[sin_at] = k * self.omega * c[sin_at], -k * self.omega * c[cos_at]
        return out

    def roots(self, coefficients):
        """The real t in [−1, 1] where the curve is 0 (the fitted range: fitbp.fitting.inverse looks nowhere
        else): sign changes on a grid of 64 points a cycle of the highest harmonic, each narrowed by
        bisection to the last bit.  A zero the curve only touches, without crossing, is not found."""
        cycles = 2.0 * self.scale / self.period * max(self.harmonics, 1)
        t = np.linspace(-1.0, 1.0, int(min(max(4001, 64 * cycles), 4_000_001)))
        v = self.evaluate(coefficients, t)
        found = list(t[v == 0.0])
        for i in np.flatnonzero(v[:-1] * v[1:] < 0.0):
            low, high, at_low = t[i], t[i + 1], v[i]
            for _ in range(80):
                middle = 0.5 * (low + high)
                if middle in (low, high):
                    break
                value = self.evaluate(coefficients, np.array([middle]))[0]
                if value == 0.0:
                    low = high = middle
                    break
                if (value < 0.0) == (at_low < 0.0):
                    low, at_low = middle, value
                else:
                    high = middle
            found.append(0.5 * (low + high))
        return np.array(sorted(found), dtype=np.complex128)

    def curve(self, degree=None):
        return f"Fourier series (P {self.period:.6g}, {self.harmonics} harmonics, trend {self.trend})"

    def to_dict(self):
        return {"period": self.period, "period_stderr": self.period_stderr, "harmonics": self.harmonics,
                "trend": self.trend}

    def __reduce__(self):
        return Fourier, (self.period, self.harmonics, self.trend, self.scale, self.center, self.period_stderr)

    def __repr__(self):
        return f"<basis fourier: period {self.period:g}, {self.harmonics} harmonics, trend {self.trend}>"


def of_document(document):
    """The Fourier basis a model file or --json document describes."""
    found = document.get("fourier")
    if not isinstance(found, dict):
        raise FitbpError("a Fourier model without its 'fourier' part (period, harmonics, trend)")
    return Fourier(found["period"], found["harmonics"], found.get("trend", 0), document["scale"], document["center"],
                   found.get("period_stderr"))


# ---------------------------------------------------------------- fitting

def fit(points, period="auto", harmonics="auto", trend=0, cycles=1, **training):
    """A least-squares Fourier fit of ``points`` (fitbp.fitting.trainer.fit_points with this basis): the
    period given (in x's units) or learned, starting from periods that fit at least ``cycles`` times in
    the data's range, the harmonics given or chosen by BIC.  Points held or streamed alike: the
    periodogram looks at their even sample, every other step is a pass over them (Data.reduce)."""
    from fitbp.engines import moments
    from fitbp.fitting import trainer

    _check(period, harmonics, trend)
    fitted = trainer.with_weight(points)
    center, scale = moments.scaling_of(*fitted.x_range)
    n = int(fitted.count)
    learn = period == "auto"
    if learn:
        sample = fitted.sample()
        period = strongest_period(np.asarray(sample.x, dtype=np.float64), np.asarray(sample.y, dtype=np.float64),
                                  trend, cycles)
    if harmonics == "auto":
        harmonics, scores = chosen_harmonics(fitted, center, scale, period, trend, n)
    else:
        scores = None
    if learn:
        period = learned_period(fitted, center, scale, period, harmonics, trend, n)
    basis = Fourier(period, harmonics, trend, scale, center)
    result = trainer.fit_points(points, basis.size - 1, basis=basis, **training)
    mean = trainer.weight_mean(fitted)  # of every point, held or streamed (not the sample's)
    known = 1.0 / mean if training.get("absolute_sigma") and mean else None  # σ² of a point of mean weight
    basis.period_stderr = period_stderr(result, fitted, n, known) if learn else None
    result.fourier = {**basis.to_dict(), "learned": learn, **({"bic": scores} if scores else {})}
    return result


def _check(period, harmonics, trend):
    if period != "auto" and not (isinstance(period, (int, float)) and math.isfinite(period) and period > 0):
        raise FitbpError(f"{option('period', period)} must be a positive number or 'auto'")
    if harmonics != "auto" and not (isinstance(harmonics, int) and harmonics >= 1):
        raise FitbpError(f"{option('harmonics', harmonics)} must be a whole number of 1 or more, or 'auto'")
    if not (isinstance(trend, int) and 0 <= trend <= 10):
        raise FitbpError(f"{option('trend', trend)} must be a whole number from 0 to 10")


def _design(x, center, scale, period, harmonics, trend):
    return Fourier(period, harmonics, trend, scale, center).columns((x - center) / scale)


def _rows(x, y, center, scale, basis):
    """[V y] of a chunk: the series's columns, then y."""
    return np.column_stack([basis.columns((x - center) / scale), y])


def _triangle(data, center, scale, basis):
    """The triangle of [V y] over every point by Householder QR a chunk at a time (fitbp.engines.passes):
    R, z = Qᵀy and ρ = ‖y − Vc‖, without an n-row Q; one pass over points not held."""
    from fitbp.engines import passes

    return passes.stacked_rows(data, _rows, center, scale, basis)


def strongest_period(x, y, trend=0, cycles=1):
    """The period of the largest single harmonic over a trend of degree ``trend``: least squares of
    [trend, cos 2πfx, sin 2πfx] over a grid of frequencies f from one cycle in the span to the
    points' density allows (the Lomb–Scargle periodogram, generalised to a trend; uneven x is fine)."""
    sample = np.unique(np.linspace(0, x.size - 1, min(x.size, GRID_POINTS)).astype(np.int64))
    xs, ys = x[sample], y[sample]
    span = float(xs.max() - xs.min())
    if not span > 0:
        raise FitbpError("a period needs x values that differ")
    center, scale = 0.5 * (xs.max() + xs.min()), 0.5 * span
    trend_columns = Fourier(1.0, 0, trend, scale).columns((xs - center) / scale)
    base_q, _ = np.linalg.qr(trend_columns)
    rest = ys - base_q @ (base_q.T @ ys)  # y with the trend taken out: the periodogram of what is left
    highest = 0.5 * (xs.size - 1) / span  # the mean Nyquist frequency of the sampling
    if not highest > cycles / span:
        raise FitbpError(f"{xs.size} points cannot show a period that fits {cycles} times in their range")
    frequencies = np.linspace(cycles / span, highest, min(MOST_FREQUENCIES, int(OVERSAMPLING * highest * span) + 1))
    power = _explained(xs, rest, frequencies, base_q)
    best = int(np.argmax(power))
    lo, hi = frequencies[max(best - 1, 0)], frequencies[min(best + 1, frequencies.size - 1)]
    return 1.0 / _golden(lambda f: -_explained(xs, rest, np.array([f]), base_q)[0], lo, hi)


def _explained(u, rest, frequencies, base_q, block=256):
    """For each f, how much of ``rest`` one cosine and sine of frequency f explain once the trend is
    projected out of them: vᵀG⁻¹v with G the pair's 2×2 Gram matrix and v their products with ``rest``,
    a block of frequencies at a time in matrix products."""
    out = np.empty(frequencies.size)
    for start in range(0, frequencies.size, block):
        angle = 2.0 * math.pi * np.outer(u, frequencies[start:start + block])
        c, s = np.cos(angle), np.sin(angle)
        c -= base_q @ (base_q.T @ c)
        s -= base_q @ (base_q.T @ s)
        cc, ss, cs = np.einsum("ij,ij->j", c, c), np.einsum("ij,ij->j", s, s), np.einsum("ij,ij->j", c, s)
        vc, vs = rest @ c, rest @ s
        determinant = cc * ss - cs * cs
        with np.errstate(all="ignore"):
            found = (ss * vc * vc - 2.0 * cs * vc * vs + cc * vs * vs) / determinant
        out[start:start + block] = np.where(determinant > 1e-12 * np.maximum(cc * ss, 1e-300), found, 0.0)
    return out


def _golden(f, lo, hi, steps=80):
    """The minimum of f on [lo, hi] by golden-section search."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return 0.5 * (a + b)


def chosen_harmonics(data, center, scale, period, trend, n):
    """K from 1 to MOST_HARMONICS (fewer where the ``n`` points cannot carry more) with the least BIC,
    n ln(RSS/n) + p ln n, as the degree is chosen; the scores, for the JSON.  The designs of K harmonics
    are the first columns of the largest one's, so one QR of it gives every RSS: the rest after all its
    columns, plus the squares of Qᵀy beyond each K's."""
    most = min(MOST_HARMONICS, (n - trend - 2) // 2)
    if most < 1:
        raise FitbpError(f"a Fourier fit with a trend of degree {trend} needs at least {trend + 4} points")
    full = _triangle(data, center, scale, Fourier(period, most, trend, scale, center))
    z, rest = full[:-1, -1], float(full[-1, -1] ** 2)
    beyond = np.append(np.cumsum((z * z)[::-1])[::-1], 0.0)  # Σ z_j² for j ≥ p
    scores = {}
    for k in range(1, most + 1):
        p = trend + 1 + 2 * k
        rss = rest + float(beyond[p])
        scores[k] = n * math.log(max(rss, 1e-300) / n) + p * math.log(n)
    return min(scores, key=scores.get), scores


def loss_graph(x, y, coefficients, omega, trend_design, harmonics, roots=None):
    """The mean squared error of the Fourier curve as a graph in which ω = 2π/P is a parameter beside
    the coefficients: its backward pass gives ∂L/∂P (through ω) with ∂L/∂c, the first gradient of a
    parameter that is not linear."""
    from fitbp.backprop import graph

    u = graph.constant(x.reshape(-1, 1), "x")
    k = graph.constant(np.arange(1.0, harmonics + 1).reshape(1, -1), "k")
    angle = u * k * omega
    trend_part = graph.constant(trend_design, "T") @ coefficients[0]
    curve = trend_part + graph.cosine(angle) @ coefficients[1] + graph.sine(angle) @ coefficients[2]
    residual = curve - graph.constant(y, "y")
    return ((residual if roots is None else residual * graph.constant(roots, "√w")) ** 2).mean()


def period_graph(x, y, center, scale, trend, harmonics, c, period, roots=None):
    """loss_graph at the coefficients ``c`` and the period P: (its root, the node ω = 2π/P, the nodes of
    the trend's a, the cosines' α and the sines' β), for training and for ``fitbp graph --period``."""
    from fitbp.backprop import graph

    trend_design = Fourier(period, 0, trend, scale, center).columns((x - center) / scale)
    pieces = [graph.parameter(c[:trend + 1], "a"), graph.parameter(c[trend + 1::2], "α"),
              graph.parameter(c[trend + 2::2], "β")]
    omega = graph.parameter(np.array(2.0 * math.pi / period), "ω")
    return loss_graph(x, y, pieces, omega, trend_design, harmonics, roots), omega, pieces


def loss_and_gradient(x, y, center, scale, trend, harmonics, c, period, roots=None):
    """L and ∂L/∂(c, P) from one backward pass of period_graph."""
    loss, omega, pieces = period_graph(x, y, center, scale, trend, harmonics, c, period, roots)
    loss.backward(keep_values=False)
    gradient = np.empty(c.size + 1)
    gradient[:trend + 1], gradient[trend + 1:-1:2], gradient[trend + 2::2] = (p.grad for p in pieces)
    gradient[-1] = float(omega.grad) * (-2.0 * math.pi / period ** 2)  # dω/dP
    return float(loss.value), gradient


def jacobian(x, center, scale, period, harmonics, trend, c):
    """∂ŷ/∂(c, P) at each x: the design's columns, then the curve's derivative in P.  That derivative is
    Σ_k (−α_k sin θ_k + β_k cos θ_k)·(−2πk x/P²), θ_k = 2πkx/P; its part in c (x = c + u) is a sum of the
    harmonic columns themselves, so taking u for x changes the coefficients' coordinates only, not P's
    step nor its standard error, and spares the cancellation that x in years or seconds would bring."""
    return np.column_stack([_design(x, center, scale, period, harmonics, trend),
                            _period_column(x, center, period, harmonics, trend, c)])


def _period_column(x, center, period, harmonics, trend, c):
    """jacobian's last column, ∂ŷ/∂P with u = x − c for x (see jacobian), alone: what each Gauss–Newton
    step needs, without the design's columns."""
    column = np.zeros(x.size)
    for k in range(1, harmonics + 1):
        angle = 2.0 * math.pi * k * x / period
        column += (-c[trend + 2 * k - 1] * np.sin(angle) + c[trend + 2 * k] * np.cos(angle)) * k
    return column * (-2.0 * math.pi * (x - center) / period ** 2)


def _loss_terms(x, y, roots, center, scale, trend, harmonics, c, period):
    """[L, ∂L/∂(c, P)] of a chunk, times its size: summed over chunks, n times the whole's."""
    loss, gradient = loss_and_gradient(x, y, center, scale, trend, harmonics, c, period, roots)
    return np.append(loss, gradient) * x.size


def _rows_with_column(x, y, center, scale, basis, c):
    """[V ∂ŷ/∂P] of a chunk: the triangle of which holds ‖(I − H)∂ŷ/∂P‖² in its last corner."""
    column = _period_column(x, center, basis.period, basis.harmonics, basis.trend, c)
    return np.column_stack([basis.columns((x - center) / scale), column])


def learned_period(data, center, scale, period, harmonics, trend, n):
    """P learned with the coefficients by Gauss–Newton, the coefficients projected out (variable
    projection): at each P they are the least-squares ones, the graph's backward pass gives ∂L/∂P there
    (∂L/∂c is 0), and the step is −(n/2)·∂L/∂P / ‖(I − H)∂ŷ/∂P‖², halved until the loss falls.  It stops
    when a step is within PERIOD_DIGITS of P.  Each of these is a pass over ``data``'s ``n`` points."""
    from fitbp.engines import passes

    tiny = PERIOD_DIGITS

    def solved(p):
        full = _triangle(data, center, scale, Fourier(p, harmonics, trend, scale, center))
        return np.linalg.solve(full[:-1, :-1], full[:-1, -1]), float(full[-1, -1] ** 2) / n

    c, loss = solved(period)
    for _ in range(GAUSS_NEWTON_STEPS):
        gradient = passes.summed(data, _loss_terms, center, scale, trend, harmonics, c, period)[1:] / n
        basis = Fourier(period, harmonics, trend, scale, center)
        apart = float(passes.stacked_rows(data, _rows_with_column, center, scale, basis, c)[-1, -1] ** 2)
        step = -0.5 * n * gradient[-1] / apart
        while abs(step) > tiny * period:  # halved until the loss falls; a step within rounding of P ends it
            trial = period + step
            if trial > 0:
                found = solved(trial)
                if found[1] <= loss:
                    break
            step *= 0.5
        else:
            break
        period, (c, loss) = trial, found
    return period


def _jacobian_rows(x, y, curve):
    """[J  y − ŷ] of a chunk, J the Jacobian in (coefficients, P) at ``curve``."""
    basis = curve.basis
    j = jacobian(x, curve.center, basis.scale, basis.period, basis.harmonics, basis.trend,
                 np.asarray(curve.coefficients))
    return np.column_stack([j, y - curve(x)])


def period_stderr(result, data, n, variance=None):
    """P's standard error: √ of its diagonal entry of s²(JᵀJ)⁻¹, J the Jacobian in (coefficients, P) at
    the optimum and s² the residual variance on n − p − 1 degrees of freedom (P is a parameter too), or
    the ``variance`` known (absolute σ: that of a point of weight 1 in the rows' scale, √w of mean 1).
    One pass: the triangle of [J r] holds JᵀJ and the residuals' squares."""
    from fitbp.engines import passes

    curve = result.polynomial
    full = passes.stacked_rows(data, _jacobian_rows, curve)
    r, size = full[:-1, :-1], full.shape[0] - 1
    dof = n - size
    if dof <= 0:
        return None
    s2 = float(full[-1, -1] ** 2) / dof if variance is None else variance
    try:
        inverse = np.linalg.solve(r, np.eye(size))
    except np.linalg.LinAlgError:
        return None
    return float(math.sqrt(s2 * np.sum(inverse[-1] ** 2)))
