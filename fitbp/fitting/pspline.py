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
At a point in the knot interval j, f(x) = p₀g_j + p₁g_{j+1} + p₂γ_j + p₃γ_{j+1} (spline.parts), so the
points enter only through sums over each interval: one pass gives G = SᵀWS and SᵀWy (assembled with a
few K×K products), a second the residuals' sums about the unpenalised spline g₀, from which every λ's
residual sums follow without cancellation (the residuals r₀ are the noise, and f_λ − f₀ is small).
So the points may be held or streamed (fitbp.sources.data.Data: two passes over a file, or over a
dask cluster's partitions).  For every λ the same Demmler–Reinsch basis serves: G = LLᵀ,
L⁻¹ΩL⁻ᵀ = UΛUᵀ, (G + λΩ)⁻¹ = L⁻ᵀU(I + λΛ)⁻¹UᵀL⁻¹ and tr H = Σ 1/(1 + λΛᵢ), K² a λ.  The band needs
Cov(g_j, g_{j+1}, γ_j, γ_{j+1}) of each interval over σ², a 4×4 block from the same factors, kept with the
spline.  Weights enter scaled to mean 1, as every fitbp pass has them; λ is reported on the scale of the
weights as given (scipy's), λ = λ' · their mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fitbp.fitting import spline as splines

KNOTS = 1_000
"""Knots of the reduced spline, at quantiles of the distinct x (fewer where there are fewer x)."""


@dataclass(frozen=True, eq=False)
class _Setup:
    """What every λ shares: the knots, Γ, the Demmler–Reinsch factors, and the sums of both passes."""

    knots: np.ndarray
    gamma: np.ndarray  # Γ, K × K: the second derivatives at the knots of the spline with values g
    back: np.ndarray  # L⁻ᵀU: g = back @ (z / (1 + λΛ))
    eigen: np.ndarray  # Λ
    z: np.ndarray  # UᵀL⁻¹SᵀWy
    unpenalised: np.ndarray  # g₀ = G⁻¹SᵀWy
    plain_gram: np.ndarray  # Σ (per interval) p pᵀ, unweighted: (4, 4, K − 1)
    weight_parts: np.ndarray  # Σ w p per interval: (4, K − 1)
    plain_residual_parts: np.ndarray  # Σ r₀ p per interval, unweighted: (4, K − 1)
    squares: float  # Σ w r₀²
    plain_squares: float  # Σ r₀²
    residual_sum: float  # Σ w r₀
    weight_sum: float  # Σ w (n: the weights have mean 1)
    spread: float  # Σ w (y − ȳ_w)²
    n: int
    scale: float  # the raw weights' mean: λ as given = λ' · scale


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


def _placed(per_interval, gamma):
    """Σ_j (value parts at j, j+1 and second parts at j, j+1) of a (4, K − 1) array, as a K vector in g:
    the values' directly, the second derivatives' through Γ."""
    k = gamma.shape[0]
    by_value, by_second = np.zeros(k), np.zeros(k)
    by_value[:-1] += per_interval[0]
    by_value[1:] += per_interval[1]
    by_second[:-1] += per_interval[2]
    by_second[1:] += per_interval[3]
    return by_value + gamma.T @ by_second


def _ends(values, gamma):
    """(K − 1, 4): g_j, g_{j+1}, γ_j, γ_{j+1} of each interval, for the spline with values g."""
    second = gamma @ values
    return np.stack((values[:-1], values[1:], second[:-1], second[1:]), axis=1)


# ---------------------------------------------------------------- the two passes (module functions: dask sends them)

def _first(blocks, knots):
    """Per-interval Σ w pₐp_b, Σ pₐp_b, Σ w y pₐ, Σ w pₐ, and Σ w, Σ w y, the count."""
    k = knots.size
    weighted, plain = np.zeros((4, 4, k - 1)), np.zeros((4, 4, k - 1))
    wy, wp = np.zeros((4, k - 1)), np.zeros((4, k - 1))
    totals = np.zeros(3)
    for x, y, *roots in blocks:
        w = roots[0] ** 2 if roots else np.ones_like(x)
        j, p = splines.parts(knots, x)
        for a in range(4):
            wy[a] += np.bincount(j, weights=w * y * p[:, a], minlength=k - 1)
            wp[a] += np.bincount(j, weights=w * p[:, a], minlength=k - 1)
            for b in range(a, 4):
                weighted[a, b] += np.bincount(j, weights=w * p[:, a] * p[:, b], minlength=k - 1)
                plain[a, b] += np.bincount(j, weights=p[:, a] * p[:, b], minlength=k - 1)
        totals += (float(np.sum(w)), float(np.dot(w, y)), float(x.size))
    return weighted, plain, wy, wp, totals


def _second(blocks, knots, ends, level):
    """About the unpenalised spline (its interval ends ``ends``): Σ w r₀², Σ r₀², Σ w r₀, Σ w (y − level)²,
    and per-interval Σ r₀ pₐ."""
    k = knots.size
    parts_sum = np.zeros((4, k - 1))
    totals = np.zeros(4)
    for x, y, *roots in blocks:
        w = roots[0] ** 2 if roots else np.ones_like(x)
        j, p = splines.parts(knots, x)
        r = y - np.einsum("na,na->n", p, ends[j])
        for a in range(4):
            parts_sum[a] += np.bincount(j, weights=r * p[:, a], minlength=k - 1)
        totals += (float(np.dot(w, r * r)), float(np.dot(r, r)), float(np.dot(w, r)),
                   float(np.dot(w, (y - level) ** 2)))
    return parts_sum, totals


def _symmetric(sums):
    for a in range(4):
        for b in range(a):
            sums[a, b] = sums[b, a]
    return sums


def prepare(data, count=KNOTS, scale=1.0) -> _Setup:
    """The setup over every point of ``data`` (fitbp.sources.data.Data, held or streamed): knots at
    ``count`` quantiles of the distinct x of its sample (every point when held), then two passes."""
    from fitbp.engines import passes

    sample = np.asarray(data.sample().x, dtype=np.float64)
    distinct = np.unique(sample)
    knots = np.unique(np.quantile(distinct, np.linspace(0.0, 1.0, min(count, distinct.size))))
    if knots.size < 3:
        raise ValueError(f"a smoothing spline needs at least 3 distinct x, not {knots.size}.")
    knots[0], knots[-1] = min(knots[0], data.x_range[0]), max(knots[-1], data.x_range[1])  # the sample's ends
    k = knots.size
    gamma, omega = _natural(knots)
    weighted, plain, wy, wp, (weight_sum, weighted_y, n) = data.reduce(_first, passes.added, knots)
    weighted, plain = _symmetric(weighted), _symmetric(plain)
    values, seconds = (0, 1), (2, 3)
    mixed = _tridiagonal(weighted, values, seconds, k) @ gamma  # Σ w (value parts)(second parts)ᵀ Γ
    gram = (_tridiagonal(weighted, values, values, k) + mixed + mixed.T
            + gamma.T @ _tridiagonal(weighted, seconds, seconds, k) @ gamma)
    rhs = _placed(wy, gamma)
    try:
        lower = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        raise ValueError("the points do not determine a spline on these knots (too few distinct x between "
                         "some of them).") from None
    inverse = np.linalg.solve(lower, np.eye(k))  # L⁻¹
    eigen, u = np.linalg.eigh(inverse @ omega @ inverse.T)
    eigen = np.maximum(eigen, 0.0)  # Ω is positive semi-definite: its two zero directions are the lines
    back, z = inverse.T @ u, u.T @ (inverse @ rhs)
    unpenalised = back @ z
    level = weighted_y / weight_sum
    residual_parts, (squares, plain_squares, residual_sum, spread) = data.reduce(
        _second, passes.added, knots, _ends(unpenalised, gamma), level)
    return _Setup(knots, gamma, back, eigen, z, unpenalised, plain, wp, residual_parts, squares, plain_squares,
                  residual_sum, weight_sum, spread, int(n), float(scale))


@dataclass(frozen=True)
class Totals:
    """The sums a fit's statistics come from, over every point (weights of mean 1): Σ w r², Σ w r, Σ w,
    Σ w (y − ȳ_w)², n."""

    squares: float
    residual_sum: float
    weight_sum: float
    spread: float
    n: int


def _fit(setup: _Setup, lam: float):
    """The spline of λ' (the weights of mean 1) on the setup's knots, with its statistics (spline._Fit),
    every residual sum from the passes' sums about the unpenalised spline."""
    shrink = 1.0 / (1.0 + lam * setup.eigen)
    values = setup.back @ (setup.z * shrink)
    moved = _ends(values - setup.unpenalised, setup.gamma)  # f_λ − f₀ at each interval's ends, (K − 1, 4)
    edf = float(np.sum(shrink))
    squares = setup.squares + float(np.sum((setup.z * (1.0 - shrink)) ** 2))  # Demmler–Reinsch
    plain = (setup.plain_squares - 2.0 * float(np.einsum("aj,ja->", setup.plain_residual_parts, moved))
             + float(np.einsum("ja,abj,jb->", moved, setup.plain_gram, moved)))
    with np.errstate(invalid="ignore", divide="ignore"):
        gcv = float(np.float64(setup.n * plain) / np.float64(setup.n - edf) ** 2)
    return splines._Fit(float(lam), values, setup.gamma @ values, edf, squares, gcv)


def blocks(setup: _Setup, lam: float) -> np.ndarray:
    """(K − 1, 4, 4): Cov(g_j, g_{j+1}, γ_j, γ_{j+1}) over σ² in each interval j, from the posterior precision
    G + λΩ = (BBᵀ)⁻¹, B = L⁻ᵀU(I + λΛ)^(−1/2); on the scale of the weights as given."""
    b = setup.back * np.sqrt(1.0 / (1.0 + lam * setup.eigen))
    gb = setup.gamma @ b
    rows = np.stack((b[:-1], b[1:], gb[:-1], gb[1:]), axis=1)  # (K − 1, 4, K)
    return np.einsum("jak,jbk->jab", rows, rows) / setup.scale


def fit_data(data, lam="auto", count=KNOTS, scale=1.0):
    """(the smoothing spline of ``data``'s points on ``count`` knots, its Totals): λ on the scale of the
    weights as given, whose mean is ``scale`` (1 without weights), or "auto" (the least GCV, searched as
    fit_spline searches it).  Its ``blocks`` give its band."""
    auto = isinstance(lam, str) and lam == "auto"
    given = None if auto else splines._check_lam(lam) / scale
    setup = prepare(data, count, scale)
    if auto:
        low, high = data.x_range
        spacing = (high - low) / max(setup.n - 1, 1)
        chosen = splines.least_gcv(lambda value: _fit(setup, value), spacing ** 3, setup.knots.size)
    else:
        chosen = _fit(setup, given)
    moved = _ends(chosen.values - setup.unpenalised, setup.gamma)
    residual_sum = setup.residual_sum - float(np.einsum("aj,ja->", setup.weight_parts, moved))
    spline = splines.Spline(setup.knots, chosen.values, chosen.second, chosen.lam * scale, chosen.edf,
                            chosen.rss * scale, setup.n, chosen.gcv, blocks=blocks(setup, chosen.lam))
    return spline, Totals(chosen.rss, residual_sum, setup.weight_sum, setup.spread, setup.n)


def fit(x, y, weights=None, lam="auto", count=KNOTS):
    """fit_data for arrays: the spline of the points (x, y) with scipy's weights ``weights``."""
    from fitbp.sources.data import Points

    x, y, w = splines.checked(x, y, weights)
    points = Points(x, y, weights=None if weights is None else w)
    return fit_data(points, lam, count, float(np.mean(w)) if weights is not None else 1.0)[0]


def richardson(spline, data, scale=1.0) -> float:
    """How far ``spline`` (on K knots) is from the every-x spline of its λ, estimated: the curve on K/2 knots
    is about 16 times as far (the error falls as K⁻⁴), so |f_K − f_{K/2}|/15, at most over 2,001 points of
    the range; relative to the range of y (of ``data``'s sample)."""
    half, _ = fit_data(data, spline.lam, max(spline.knots.size // 2, 3), scale)
    grid = np.linspace(spline.knots[0], spline.knots[-1], 2001)
    span = float(np.ptp(np.asarray(data.sample().y, dtype=np.float64))) or 1.0
    return float(np.max(np.abs(spline(grid) - half(grid)))) / 15.0 / span
