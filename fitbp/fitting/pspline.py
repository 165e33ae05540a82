"""The smoothing spline on fewer knots, for many x: the same criterion, Σ wᵢ(yᵢ − f(xᵢ))² + λ∫f''²,
minimised over the natural cubic splines with K knots at quantiles of the distinct x instead of one at
every x.

With a knot at every x (fitbp.fitting.spline) the spline is exact, but its equations carry 1/h² for
each gap h between neighbouring x, and random x have gaps a millionth of the mean: at tens of thousands
of points float64 can no longer count the effective parameters, and GCV's λ is noise.  Knots at
quantiles have gaps of one K-th of the points each, and the problem is K unknowns however many points
there are.  This is what R's smooth.spline does past 49 points (about 200 knots for a million); here
K = 1,000 by default, and the curve is that of the every-x spline to about 1e-7 of the y range for
curves of up to some 60 effective parameters (tests/test_pspline.py measures it; the error falls as
K⁻⁴, and ``richardson`` estimates it from the spline on K/2 knots).

Method.  f is parametrised by its values g at the knots; its second derivatives are γ = Γg, Γ = R⁻¹Qᵀ
padded with the natural ends' zeros (Reinsch's R and Q of the knots), and its penalty is gᵀΩg, Ω = QR⁻¹Qᵀ.
At a point in the knot interval j, f(x) = p₀g_j + p₁g_{j+1} + p₂γ_j + p₃γ_{j+1}, so the points enter only
through sums over each interval of w·pₐp_b and w·pₐy: one pass of bincounts, then G = SᵀWS and SᵀWy are
assembled from them with a few K×K products.  For every λ the same Demmler–Reinsch basis serves:
G = LLᵀ, L⁻¹ΩL⁻ᵀ = UΛUᵀ, so (G + λΩ)⁻¹ = L⁻ᵀU(I + λΛ)⁻¹UᵀL⁻¹ and tr H = Σ 1/(1 + λΛᵢ): each λ of the GCV
search costs K² and one pass over the points for the residuals.  The band needs Cov(g_j, g_{j+1}, γ_j,
γ_{j+1}) of each interval over σ², a 4×4 block from the same factors, kept with the spline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fitbp.fitting import spline as splines

KNOTS = 1_000
"""Knots of the reduced spline, at quantiles of the distinct x (fewer where there are fewer x)."""


@dataclass(frozen=True, eq=False)
class _Setup:
    """What every λ shares: the knots, Γ, the points' intervals and parts, the Demmler–Reinsch factors."""

    knots: np.ndarray
    gamma: np.ndarray  # Γ, K × K: the second derivatives at the knots of the spline with values g
    interval: np.ndarray
    parts: np.ndarray  # (n, 4): p₀, p₁, p₂, p₃ of each point
    y: np.ndarray
    w: np.ndarray
    back: np.ndarray  # L⁻ᵀU: g = back @ (z / (1 + λΛ))
    eigen: np.ndarray  # Λ
    z: np.ndarray  # UᵀL⁻¹SᵀWy
    n: int


def _natural(knots):
    """(Γ, Ω) of the natural cubic splines with these knots (see the module docstring)."""
    q0, q1, q2, r0, r1, *_ = splines._reinsch(knots, np.ones(knots.size))
    k = knots.size
    qt = np.zeros((k - 2, k))
    rows = np.arange(k - 2)
    qt[rows, rows], qt[rows, rows + 1], qt[rows, rows + 2] = q0, q1, q2
    r = np.diag(r0) + np.diag(r1, 1) + np.diag(r1, -1)
    inner = np.linalg.solve(r, qt)
    gamma = np.zeros((k, k))
    gamma[1:-1] = inner
    return gamma, qt.T @ inner


def _tridiagonal(sums, a, b, k):
    """The K×K matrix Σ_j [[sums[a,a], sums[a,b]], [sums[b,a], sums[b,b]]] placed at rows and columns j, j+1
    (a, b: which two of the four parts), from the per-interval sums (4, 4, K − 1)."""
    out = np.zeros((k, k))
    j = np.arange(k - 1)
    out[j, j] += sums[a[0], b[0]]
    out[j, j + 1] += sums[a[0], b[1]]
    out[j + 1, j] += sums[a[1], b[0]]
    out[j + 1, j + 1] += sums[a[1], b[1]]
    return out


def prepare(x, y, weights=None, count=KNOTS) -> _Setup:
    """The setup of the spline on ``count`` knots at quantiles of the distinct x (checked as fit_spline
    checks its points; points of weight 0 left out)."""
    x, y, w = splines.checked(x, y, weights)
    distinct = np.unique(x)
    knots = np.unique(np.quantile(distinct, np.linspace(0.0, 1.0, min(count, distinct.size))))
    if knots.size < 3:
        raise ValueError(f"a smoothing spline needs at least 3 distinct x, not {knots.size}.")
    k = knots.size
    gamma, omega = _natural(knots)
    interval, p = splines.parts(knots, x)
    sums = np.empty((4, 4, k - 1))
    for a in range(4):
        for b in range(a, 4):
            sums[a, b] = sums[b, a] = np.bincount(interval, weights=w * p[:, a] * p[:, b], minlength=k - 1)
    values, seconds = (0, 1), (2, 3)
    mixed = _tridiagonal(sums, values, seconds, k) @ gamma  # Σ w (value parts)(second parts)ᵀ Γ
    gram = (_tridiagonal(sums, values, values, k) + mixed + mixed.T
            + gamma.T @ _tridiagonal(sums, seconds, seconds, k) @ gamma)
    wy = [np.bincount(interval, weights=w * y * p[:, a], minlength=k - 1) for a in range(4)]
    by_value, by_second = np.zeros(k), np.zeros(k)
    by_value[:-1] += wy[0]
    by_value[1:] += wy[1]
    by_second[:-1] += wy[2]
    by_second[1:] += wy[3]
    rhs = by_value + gamma.T @ by_second
    try:
        lower = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        raise ValueError("the points do not determine a spline on these knots (too few distinct x between "
                         "some of them).") from None
    inverse = np.linalg.solve(lower, np.eye(k))  # L⁻¹
    eigen, u = np.linalg.eigh(inverse @ omega @ inverse.T)
    eigen = np.maximum(eigen, 0.0)  # Ω is positive semi-definite: its two zero directions are the lines
    return _Setup(knots, gamma, interval, p, y, w, inverse.T @ u, eigen, u.T @ (inverse @ rhs), int(x.size))


def _fit(setup: _Setup, lam: float):
    """The spline of this λ on the setup's knots, with its statistics (spline._Fit)."""
    shrink = 1.0 / (1.0 + lam * setup.eigen)
    values = setup.back @ (setup.z * shrink)
    second = setup.gamma @ values
    j, p = setup.interval, setup.parts
    fitted = p[:, 0] * values[j] + p[:, 1] * values[j + 1] + p[:, 2] * second[j] + p[:, 3] * second[j + 1]
    residual = setup.y - fitted
    edf = float(np.sum(shrink))
    plain = float(residual @ residual)
    with np.errstate(invalid="ignore", divide="ignore"):
        gcv = float(np.float64(setup.n * plain) / np.float64(setup.n - edf) ** 2)
    return splines._Fit(float(lam), values, second, edf, float(setup.w @ (residual * residual)), gcv)


def blocks(setup: _Setup, lam: float) -> np.ndarray:
    """(K − 1, 4, 4): Cov(g_j, g_{j+1}, γ_j, γ_{j+1}) over σ² in each interval j, from the posterior precision
    G + λΩ = (BBᵀ)⁻¹, B = L⁻ᵀU(I + λΛ)^(−1/2)."""
    b = setup.back * np.sqrt(1.0 / (1.0 + lam * setup.eigen))
    gb = setup.gamma @ b
    rows = np.stack((b[:-1], b[1:], gb[:-1], gb[1:]), axis=1)  # (K − 1, 4, K)
    return np.einsum("jak,jbk->jab", rows, rows)


def fit(x, y, weights=None, lam="auto", count=KNOTS) -> splines.Spline:
    """The smoothing spline on ``count`` knots (see the module): λ given on scipy's scale, or "auto" (the
    least GCV, searched as fit_spline searches it).  Its ``blocks`` give its band."""
    auto = isinstance(lam, str) and lam == "auto"
    lam = None if auto else splines._check_lam(lam)
    setup = prepare(x, y, weights, count)
    if auto:
        k = setup.knots.size
        spacing = float(np.ptp(np.unique(setup.knots))) / max(np.unique(np.asarray(x)).size - 1, 1)
        chosen = splines.least_gcv(lambda value: _fit(setup, value), float(np.mean(setup.w)) * spacing ** 3, k)
    else:
        chosen = _fit(setup, lam)
    return splines.Spline(setup.knots, chosen.values, chosen.second, chosen.lam, chosen.edf, chosen.rss, setup.n,
                          chosen.gcv, blocks=blocks(setup, chosen.lam))


def richardson(spline, x, y, weights=None) -> float:
    """How far ``spline`` (on K knots) is from the every-x spline of its λ, estimated: the curve on K/2 knots
    is about 16 times as far (the error falls as K⁻⁴), so |f_K − f_{K/2}|/15, at most over 2,001 points of
    the range; relative to the range of y."""
    half = fit(x, y, weights, spline.lam, max(spline.knots.size // 2, 3))
    grid = np.linspace(spline.knots[0], spline.knots[-1], 2001)
    span = float(np.ptp(np.asarray(y, dtype=np.float64))) or 1.0
    return float(np.max(np.abs(spline(grid) - half(grid)))) / 15.0 / span
