"""The cubic smoothing spline: piecewise cubics joined smoothly, fitted by penalised least squares.

A polynomial is one formula for the whole range; a spline is a *piecewise function*: a separate
cubic on each interval between neighbouring knots, the pieces joined so that the value and the first
two derivatives are continuous.  The smoothing spline puts a knot at every distinct x and chooses
the curve f that minimises

    Σ wᵢ (yᵢ − f(xᵢ))²  +  λ ∫ f''(t)² dt

over all twice-differentiable functions.  The minimiser is a *natural* cubic spline (f'' = 0 at the
end knots) with knots at the distinct x, so it is found in that finite family.  λ trades the two
terms: λ = 0 gives the interpolating natural spline, λ → ∞ the weighted least-squares straight line
(the only curves with no curvature to pay for).

The scale of λ is exactly scipy's ``scipy.interpolate.make_smoothing_spline(x, y, w, lam)``: weights
multiply squared residuals (they are not squared, unlike ``splrep``), and the penalty is the plain
integral over [x₀, x_{n−1}].  λ therefore carries units (weight · x³): scaling x by s scales the
λ of the same curve by s³.

Method (Reinsch 1967, in the notation of Green & Silverman's book): with γ the second derivatives
at the interior knots, the fitted values g satisfy

    (R + λ Qᵀ W⁻¹ Q) γ = Qᵀ y,        g = y − λ W⁻¹ Q γ,

R tridiagonal ((h_{i−1}+h_i)/3 on the diagonal, h_i/6 beside it), Q the n×(n−2) second-difference
matrix of the knots.  The pentadiagonal, symmetric positive-definite system is solved by block
cyclic reduction on 2×2 blocks: O(n) work in O(log n) vectorised numpy steps, no Python loop over
the points, so a million points fit in seconds and no n×n matrix is ever formed.  The same
reduction run backwards gives the central bands of the inverse (the selected inversion behind
Hutchinson & de Hoog 1985), which give the trace of the hat matrix in O(n): tr H = n − λ tr(A⁻¹ QᵀW⁻¹Q).

Tied x (real data repeat them): the points of one x are merged into one knot with the summed weight
and the weighted mean y.  That is exact for the criterion: Σⱼ wⱼ (yⱼ − f)² over a tie equals
W (ȳ − f)² plus the within-tie scatter Σⱼ wⱼ (yⱼ − ȳ)², which does not depend on f.  Points of
weight 0 contribute nothing to the criterion and are left out (they are neither knots nor counted).

Accuracy: against scipy the curve agrees to about 1e-10 of the y range for λ up to 10³ w̄ h̄³ (h̄ the
mean spacing).  Both methods lose digits when some spacings are far below the mean (random x: the
smallest gap of n uniform points is about h̄/n) and λ is large: Reinsch's matrix then holds entries
1/h² for the short intervals, and its condition number grows with them.  Here that shows first in
tr H (and so in GCV), before the curve: for 150 uniform points with a smallest gap of 1e-5 of the
range, tr H is good to about 1e-5, for 10⁵ such points GCV is unreliable at large λ.  Evenly or
nearly evenly spaced x (a million on a jittered grid in the tests) are not affected.  A B-spline
basis (scipy's, de Boor's) is better conditioned there; it is what to try if that case matters.

λ = "auto" chooses λ by generalised cross-validation as scipy does (see ``gcv_score``), but searched
over log λ across the whole range in which the fit changes, not scipy's λ ∈ (0, n) (see
``fit_spline``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FORMAT = "fitbp.spline/1"
"""The ``kind`` written by ``Spline.to_dict`` and required by ``Spline.from_dict``."""

_LN10 = math.log(10.0)


# ---------------------------------------------------------------------------------------------
# 2×2 blocks, stored as arrays of shape (4, p): rows are the entries [0,0], [0,1], [1,0], [1,1].
# Written out by hand because numpy's stacked matmul is slow for 2×2 matrices.

def _mul(a, b):
    return np.stack((a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                     a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]))


def _t(a):
    return a[[0, 2, 1, 3]]


def _inv(a):
    det = a[0] * a[3] - a[1] * a[2]
    return np.stack((a[3], -a[1], -a[2], a[0])) / det


def _matvec(a, v):
    """a·v for each block; v of shape (2, p) or (2, p, k): k right-hand sides at once."""
    if v.ndim == 3:
        a = a[:, :, None]
    return np.stack((a[0] * v[0] + a[1] * v[1], a[2] * v[0] + a[3] * v[1]))


def _reduce(d, low, r):
    """Solve a symmetric positive-definite block-tridiagonal system, and invert its band.

    ``d`` (4, p) are the diagonal blocks, ``low`` (4, p−1) the blocks below them (``low[:, i]`` is the
    block at (i+1, i)), ``r`` (2, p) the right-hand side, or (2, p, k) for k of them.  Returns the
    solution (2, p) (or (2, p, k)), the diagonal blocks of the inverse (4, p) and the blocks below them
    (4, p−1).

    Odd-even (cyclic) reduction: the odd blocks are eliminated, each touching only its two even
    neighbours, which leaves a block-tridiagonal Schur complement on the even blocks, half the size;
    recursing takes log₂ p levels.  It is block Gaussian elimination in an odd-even order, so for a
    positive-definite matrix it needs no pivoting (every Schur complement is positive definite).
    On the way back the odd unknowns follow from their neighbours, and the band of the inverse from
    the band of the inverse of the Schur complement (the formulas of the block inverse
    A⁻¹_EE = A_EE⁻¹ + A_EE⁻¹ A_EK S⁻¹ A_KE A_EE⁻¹, A⁻¹_EK = −A_EE⁻¹ A_EK S⁻¹ with A_EE block diagonal).
    """
    p = d.shape[1]
    if p == 1:
        dinv = _inv(d)
        return _matvec(dinv, r), dinv, np.empty((4, 0))
    padded = p % 2 == 0
    if padded:  # an identity block coupled to nothing: the eliminated blocks then all have two neighbours
        d = np.concatenate((d, np.array([[1.0], [0.0], [0.0], [1.0]])), axis=1)
        low = np.concatenate((low, np.zeros((4, 1))), axis=1)
        r = np.concatenate((r, np.zeros((2, 1) + r.shape[2:])), axis=1)
    # the eliminated blocks i = 1, 3, …; their neighbours i − 1 and i + 1 are kept
    dinv = _inv(d[:, 1::2])
    before = low[:, 0::2]  # A[i, i−1]
    after = low[:, 1::2]  # A[i+1, i]; A[i, i+1] is its transpose
    u = _mul(dinv, before)  # D_i⁻¹ A[i, i−1]
    v = _mul(dinv, _t(after))  # D_i⁻¹ A[i, i+1]
    s_d = d[:, 0::2].copy()
    s_d[:, :-1] -= _mul(_t(before), u)
    s_d[:, 1:] -= _mul(after, v)
    s_low = -_mul(after, u)
    z = _matvec(dinv, r[:, 1::2])
    s_r = r[:, 0::2].copy()
    s_r[:, :-1] -= _matvec(_t(before), z)
    s_r[:, 1:] -= _matvec(after, z)

    if padded:  # the identity block stays decoupled: reduce without it, and put back its solution and inverse
        kept, inv_d, inv_low = _reduce(s_d[:, :-1], s_low[:, :-1], s_r[:, :-1])
        kept = np.concatenate((kept, np.zeros((2, 1) + kept.shape[2:])), axis=1)
        inv_d = np.concatenate((inv_d, np.array([[1.0], [0.0], [0.0], [1.0]])), axis=1)
        inv_low = np.concatenate((inv_low, np.zeros((4, 1))), axis=1)
    else:
        kept, inv_d, inv_low = _reduce(s_d, s_low, s_r)

    odd = z - _matvec(u, kept[:, :-1]) - _matvec(v, kept[:, 1:])
    left = -(_mul(u, inv_d[:, :-1]) + _mul(v, inv_low))  # A⁻¹[i, i−1]
    right = -(_mul(u, _t(inv_low)) + _mul(v, inv_d[:, 1:]))  # A⁻¹[i, i+1]
    middle = dinv - _mul(u, _t(left)) - _mul(v, _t(right))  # A⁻¹[i, i], from row i of A A⁻¹ = I

    x = np.empty((2, d.shape[1]) + r.shape[2:])
    x[:, 0::2] = kept
    x[:, 1::2] = odd
    band = np.empty((4, d.shape[1]))
    band[:, 0::2] = inv_d
    band[:, 1::2] = middle
    below = np.empty((4, d.shape[1] - 1))
    below[:, 0::2] = left
    below[:, 1::2] = _t(right)
    if padded:
        return x[:, :-1], band[:, :-1], below[:, :-1]
    return x, band, below


def _pentadiagonal(d0, d1, d2, rhs):
    """Solve A x = rhs for a symmetric positive-definite pentadiagonal A, and invert its band.

    ``d0``, ``d1``, ``d2`` are the diagonal and the first and second sub-diagonals (``d1[k]`` = A[k+1, k]);
    ``rhs`` of shape (m,), or (m, k) for k right-hand sides.  Returns x and the same three diagonals of
    A⁻¹.  The matrix is read as block tridiagonal with 2×2 blocks (an odd size gets one more row and
    column of the identity, coupled to nothing).
    """
    m = d0.shape[0]
    if m % 2:
        d0 = np.append(d0, 1.0)
        d1 = np.append(d1, 0.0)
        d2 = np.append(d2, np.zeros(m - 1 - d2.shape[0]))  # m − 1 entries: none when m = 1
        rhs = np.concatenate((rhs, np.zeros((1,) + rhs.shape[1:])))
    d = np.stack((d0[0::2], d1[0::2], d1[0::2], d0[1::2]))
    zero = np.zeros(d.shape[1] - 1)
    low = np.stack((d2[0::2], d1[1::2], zero, d2[1::2]))
    x, band, below = _reduce(d, low, np.stack((rhs[0::2], rhs[1::2])))
    i0 = np.empty(d0.shape[0])
    i0[0::2] = band[0]
    i0[1::2] = band[3]
    i1 = np.empty(d0.shape[0] - 1)
    i1[0::2] = band[2]
    i1[1::2] = below[1]
    i2 = np.empty(d0.shape[0] - 2)
    i2[0::2] = below[0]
    i2[1::2] = below[3]
    solution = np.empty((2 * x.shape[1],) + x.shape[2:])  # the two rows of x interleaved
    solution[0::2], solution[1::2] = x[0], x[1]
    return solution[:m], i0[:m], i1[:m - 1], i2[:m - 2]


# ---------------------------------------------------------------------------------------------
# the data, merged at ties, and one fit for a given λ

@dataclass(frozen=True, eq=False)
class _Data:
    """The points as the fit sees them: one knot per distinct x (weights > 0 only)."""

    knots: np.ndarray
    weight: np.ndarray  # summed weight at each knot
    mean: np.ndarray  # weighted mean y at each knot
    count: np.ndarray  # points merged into each knot
    plain_mean: np.ndarray  # unweighted mean y at each knot (for the GCV numerator, see gcv_score)
    scatter: float  # Σ w (y − weighted knot mean)² within ties: the part of the rss no curve can remove
    plain_scatter: float  # Σ (y − unweighted knot mean)² within ties
    n: int  # points with weight > 0
    # the Reinsch matrices: R (r0 diagonal, r1 beside it), M = Qᵀ W⁻¹ Q (m0, m1, m2)
    q0: np.ndarray  # the three non-zeros of each column of Q
    q1: np.ndarray
    q2: np.ndarray
    r0: np.ndarray
    r1: np.ndarray
    m0: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    qty: np.ndarray  # Qᵀ ȳ


def checked(x, y, weights):
    """x, y and the weights (ones without) as float64 arrays, checked, the points of weight 0 left out."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"x and y must be one-dimensional, not of shapes {x.shape} and {y.shape}.")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, not {x.shape[0]} and {y.shape[0]}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("x holds a value that is not finite (NaN or infinity).")
    if not np.all(np.isfinite(y)):
        raise ValueError("y holds a value that is not finite (NaN or infinity).")
    if weights is None:
        w = np.ones_like(x)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != x.shape:
            raise ValueError(f"weights must be one per point: {w.shape[0] if w.ndim == 1 else w.shape} "
                             f"weights for {x.shape[0]} points.")
        if not np.all(np.isfinite(w)):
            raise ValueError("weights hold a value that is not finite (NaN or infinity).")
        if np.any(w < 0):
            raise ValueError("weights must not be negative.")
        if np.any(w == 0):
            keep = w > 0
            x, y, w = x[keep], y[keep], w[keep]
    return x, y, w


def _prepare(x, y, weights) -> _Data:
    x, y, w = checked(x, y, weights)
    order = np.argsort(x, kind="stable")
    xs, ys, ws = x[order], y[order], w[order]
    if xs.shape[0] == 0:
        starts = np.zeros(0, dtype=np.intp)
    else:
        starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    if starts.shape[0] < 3:
        raise ValueError(f"a smoothing spline needs at least 3 distinct x (with weight > 0), "
                         f"not {starts.shape[0]}.")
    knots = xs[starts]
    if starts.shape[0] == xs.shape[0]:  # no ties: nothing to merge
        weight, mean, count, plain = ws, ys, np.ones(xs.shape[0]), ys
        scatter = plain_scatter = 0.0
    else:
        count = np.diff(np.append(starts, xs.shape[0])).astype(np.float64)
        weight = np.add.reduceat(ws, starts)
        mean = np.add.reduceat(ws * ys, starts) / weight
        plain = np.add.reduceat(ys, starts) / count
        group = np.repeat(np.arange(starts.shape[0]), np.diff(np.append(starts, xs.shape[0])))
        scatter = float(np.sum(ws * (ys - mean[group]) ** 2))
        plain_scatter = float(np.sum((ys - plain[group]) ** 2))
    q0, q1, q2, r0, r1, m0, m1, m2 = _reinsch(knots, weight)
    slope = np.diff(mean) / np.diff(knots)
    qty = np.diff(slope)
    return _Data(knots, weight, mean, count, plain, scatter, plain_scatter, int(xs.shape[0]),
                 q0, q1, q2, r0, r1, m0, m1, m2, qty)


def _reinsch(knots, weight):
    """Reinsch's matrices of the knots and their weights: Q's three non-zeros a column (q0, q1, q2), R's
    diagonal and the one beside it (r0, r1), and M = Qᵀ W⁻¹ Q's three diagonals (m0, m1, m2)."""
    h = np.diff(knots)
    inv_h = 1.0 / h
    inv_w = 1.0 / weight
    # column k of Q (interior knot k + 1): 1/h_k, −(1/h_k + 1/h_{k+1}), 1/h_{k+1} in rows k, k+1, k+2
    q0, q2 = inv_h[:-1], inv_h[1:]
    q1 = -(q0 + q2)
    m0 = q0 ** 2 * inv_w[:-2] + q1 ** 2 * inv_w[1:-1] + q2 ** 2 * inv_w[2:]
    # M[k+1, k] = Q[k+1, k] Q[k+1, k+1] / w_{k+1} + Q[k+2, k] Q[k+2, k+1] / w_{k+2}
    m1 = q1[:-1] * q0[1:] * inv_w[1:-2] + q2[:-1] * q1[1:] * inv_w[2:-1]
    # M[k+2, k] = Q[k+2, k] Q[k+2, k+2] / w_{k+2}
    m2 = q2[:-2] * q0[2:] * inv_w[2:-2]
    r0 = (h[:-1] + h[1:]) / 3.0
    r1 = h[1:-1] / 6.0
    return q0, q1, q2, r0, r1, m0, m1, m2


def _q_times(q0, q1, q2, z):
    """Q z, for z of n − 2 rows (and any columns): n rows."""
    out = np.zeros((z.shape[0] + 2,) + z.shape[1:])
    if z.ndim == 2:
        q0, q1, q2 = q0[:, None], q1[:, None], q2[:, None]
    out[:-2] += q0 * z
    out[1:-1] += q1 * z
    out[2:] += q2 * z
    return out


def _q_transposed_times(q0, q1, q2, v):
    """Qᵀ v, for v of n rows (and any columns): n − 2 rows."""
    if v.ndim == 2:
        q0, q1, q2 = q0[:, None], q1[:, None], q2[:, None]
    return q0 * v[:-2] + q1 * v[1:-1] + q2 * v[2:]


@dataclass(frozen=True, eq=False)
class _Fit:
    """The smoothing spline of the merged data for one λ, and its statistics."""

    lam: float
    values: np.ndarray  # g, the curve at the knots
    second: np.ndarray  # γ, the second derivatives at the knots (0 at both ends)
    edf: float
    rss: float
    gcv: float


def _fit(data: _Data, lam: float) -> _Fit:
    gamma, i0, i1, i2 = _pentadiagonal(data.r0 + lam * data.m0, data.r1 + lam * data.m1, lam * data.m2, data.qty)
    q_gamma = _q_times(data.q0, data.q1, data.q2, gamma)
    residual = lam * q_gamma / data.weight  # ȳ − g at the knots, without the cancellation of ȳ − g
    values = data.mean - residual
    # knots − tr H = λ tr(A⁻¹ M) = m − tr(A⁻¹ R), for A = R + λ M of size m = knots − 2.  The first form
    # for small λ (the second would subtract nearly equal numbers), the second for large λ, where
    # M's large entries (1/h² for a short interval h) make the first lose more digits.
    edf = _edf(data, lam, i0, i1, i2)
    rss = data.scatter + float(np.dot(data.weight, residual ** 2))
    plain = data.plain_scatter + float(np.dot(data.count, (data.plain_mean - values) ** 2))
    left = data.n - edf
    with np.errstate(invalid="ignore", divide="ignore"):
        gcv = float(np.float64(data.n * plain) / np.float64(left) ** 2)
    return _Fit(float(lam), values, np.concatenate(([0.0], gamma, [0.0])), float(edf), rss, gcv)


def _edf(data, lam, i0, i1, i2, both=False):
    """tr H from the band of A⁻¹ (see _fit); with ``both``, its two formulas, each computed."""
    smooth = float(np.dot(data.r0, i0) + 2.0 * np.dot(data.r1, i1))
    m = data.r0.shape[0]
    free = lam * float(np.dot(data.m0, i0) + 2.0 * np.dot(data.m1, i1) + 2.0 * np.dot(data.m2, i2))
    knots = data.knots.shape[0]
    if both:
        return knots - (m - smooth), knots - free
    return knots - (free if smooth > 0.5 * m else m - smooth)


def effective_parameters(x, y, weights=None, lam=1.0) -> tuple[float, float]:
    """tr H of the spline with this λ by Reinsch's two formulas, 2 + tr(A⁻¹R) and knots − λ tr(A⁻¹M):
    equal in exact arithmetic, so how far apart they come out says how many digits float64 kept."""
    data = _prepare(x, y, weights)
    lam = _check_lam(lam)
    _, i0, i1, i2 = _pentadiagonal(data.r0 + lam * data.m0, data.r1 + lam * data.m1, lam * data.m2, data.qty)
    return _edf(data, lam, i0, i1, i2, both=True)


def gcv_score(x, y, weights=None, lam=1.0) -> float:
    """scipy's generalised cross-validation score of the smoothing spline with this λ.

    GCV(λ) = n · Σᵢ (yᵢ − f(xᵢ))² / (n − tr H)², over the n points (weight > 0), which is scipy's
    (1/n) Σ (yᵢ − f(xᵢ))² / (1 − tr H / n)².  Note that scipy's numerator is the *unweighted* sum of
    squared residuals, even when weights are given: the weights enter through the fit and through
    tr H only.  That is followed here, so that "auto" picks scipy's λ.  (Wahba's weighted GCV and R's
    smooth.spline put the weights in the numerator too; the two agree when the weights are equal.)
    H is the hat matrix, f(x) = H y at the points, tr H the effective degrees of freedom.  At tied
    x the score is that of all the points, each with its own residual: scipy refuses ties, and this
    is what its formula says for them (the trace over the points equals the trace over the merged
    knots).  With λ = 0 and no ties it is 0/0, NaN.
    """
    return _fit(_prepare(x, y, weights), _check_lam(lam)).gcv


def _brent(f, a, b, x, fx, tol):
    """The minimum of f on [a, b], from a point x inside with f(x) = fx below f at the ends.

    Brent's method (Algorithm Minimize without derivatives, 1973): parabolic interpolation
    through the three best points when it lands well inside the bracket and shrinks it fast
    enough, a golden-section step otherwise; stops when the bracket is within 4·tol.
    """
    golden = 0.5 * (3.0 - math.sqrt(5.0))
    v = w = x
    fv = fw = fx
    d = e = 0.0
    while True:
        middle = 0.5 * (a + b)
        tol1 = tol + 1e-12 * abs(x)
        tol2 = 2.0 * tol1
        if abs(x - middle) <= tol2 - 0.5 * (b - a):
            return x, fx
        p = q = 0.0
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            else:
                q = -q
            r, e = e, d
        if q != 0.0 and abs(p) < abs(0.5 * q * r) and q * (a - x) < p < q * (b - x):
            d = p / q
            u = x + d
            if u - a < tol2 or b - u < tol2:
                d = tol1 if x < middle else -tol1
        else:
            e = (b - x) if x < middle else (a - x)
            d = golden * e
        u = x + (d if abs(d) >= tol1 else math.copysign(tol1, d))
        fu = f(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu


GRID_STEP = 2.0
"""Decades of λ between the points of the GCV grid that brackets the minimum (GCV is smooth in log λ
over decades; Brent's method then searches the two cells around the grid's best point)."""

FLAT = 0.01
"""The grid stops going up where the fit is within this many degrees of freedom of the straight
line (edf = 2), and down where it is within this fraction of interpolation (edf = knots): GCV
barely changes beyond."""

TOLERANCE = 1e-7
"""Brent's tolerance on ln λ: λ is located to about this relative precision (GCV itself, flat at its
minimum, rarely pins λ down better than to 1e-5 in double precision)."""


def _auto(data: _Data) -> _Fit:
    """The fit of least GCV: a grid over log λ, then Brent's method in the best grid cells.

    The grid starts at the natural scale λ₀ = w̄ h̄³ (mean weight, mean knot spacing), where the
    curvature of one interval costs about as much as the residual of one point, and walks up until
    the fit is the straight line (edf ≈ 2) and down until it nearly interpolates.  So every λ where
    the fit changes is looked at, and a GCV with more than one dip is minimised in the lowest dip
    the grid sees, not the one nearest a starting point.
    """
    knots = data.knots.shape[0]
    scale = float(np.mean(data.weight)) * float((data.knots[-1] - data.knots[0]) / (knots - 1)) ** 3
    return least_gcv(lambda lam: _fit(data, lam), scale, knots)


def least_gcv(fit_at, scale, knots):
    """The fit of least GCV among ``fit_at(λ)`` (each with .edf and .gcv), searched as ``_auto`` says from
    λ₀ = ``scale`` until the fit is the line or nearly interpolates its ``knots``."""
    cache: dict[float, _Fit] = {}

    def fit(u: float) -> _Fit:
        if u not in cache:
            cache[u] = fit_at(scale * math.exp(u))
        return cache[u]

    def score(u: float) -> float:
        g = fit(u).gcv
        return g if math.isfinite(g) else math.inf

    step = GRID_STEP * _LN10
    grid = [0.0]
    while fit(grid[-1]).edf > 2.0 + FLAT and len(grid) < 40:
        grid.append(grid[-1] + step)
    while fit(grid[0]).edf < (1.0 - FLAT) * knots and len(grid) < 80:
        grid.insert(0, grid[0] - step)
    scores = [score(u) for u in grid]
    best = int(np.argmin(scores))
    if 0 < best < len(grid) - 1:
        u, _ = _brent(score, grid[best - 1], grid[best + 1], grid[best], scores[best], TOLERANCE)
    else:  # the least GCV at an end of the grid: the straight line or interpolation, to within FLAT
        u = grid[best]
    return fit(u)


def _check_lam(lam) -> float:
    if isinstance(lam, (bool, str)) or not isinstance(lam, (int, float, np.integer, np.floating)):
        raise ValueError(f'lam must be "auto" or a number ≥ 0, not {lam!r}.')
    lam = float(lam)
    if not (math.isfinite(lam) and lam >= 0.0):
        raise ValueError(f"lam must be a finite number ≥ 0, not {lam!r}.")
    return lam


# ---------------------------------------------------------------------------------------------
# the fitted curve

def parts(knots, x):
    """(the interval of each x, its p₀ … p₃): f(x) = p₀g_j + p₁g_{j+1} + p₂γ_j + p₃γ_{j+1} for the natural
    cubic spline with values g and second derivatives γ at the knots, x in the interval j (the end
    intervals carried on beyond the knots)."""
    j = np.clip(np.searchsorted(knots, x, side="right") - 1, 0, knots.size - 2)
    h = knots[j + 1] - knots[j]
    u, v = x - knots[j], knots[j + 1] - x
    return j, np.stack((v / h, u / h, -u * v * (1.0 + v / h) / 6.0, -u * v * (1.0 + u / h) / 6.0), axis=1)


def _hex(a) -> list[str]:
    return [float.hex(float(v)) for v in np.asarray(a, dtype=np.float64)]


def _unhex(a) -> np.ndarray:
    return np.array([float.fromhex(v) for v in a], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Spline:
    """A fitted natural cubic smoothing spline.

    knots: the sorted distinct x; values: the curve there; second: its second derivatives there
    (0 at both ends: natural).  lam: λ on scipy's scale; edf: the effective degrees of freedom, the
    trace of the hat matrix (2 for the straight line, the number of knots for interpolation);
    rss: Σ wᵢ (yᵢ − f(xᵢ))² over the original points; n: the points (weight > 0); gcv: scipy's
    GCV score at λ (see ``gcv_score``; NaN when λ = 0 and there are no ties); weight: the summed weight
    of the points at each knot (what ``variance`` needs; None in a dictionary from before it).

    Between knots the curve is the cubic that the values and second derivatives determine.
    *Outside* [knots[0], knots[-1]] it continues the end piece's cubic, as scipy's
    ``make_smoothing_spline`` BSpline does (``extrapolate=True``, the polynomial of the end interval
    carried on).  That is not the mathematical minimiser, which is linear beyond the ends (f'' = 0
    there); the end cubic has f'' = 0 at the knot but not beyond, so the two part quadratically
    and then cubically with distance.  Matching scipy means the same numbers from both, and a
    reminder that an extrapolated spline is a guess: it is where splines and polynomials differ
    most, and where neither has data to go on.
    """

    knots: np.ndarray
    values: np.ndarray
    second: np.ndarray
    lam: float
    edf: float
    rss: float
    n: int
    gcv: float
    weight: np.ndarray | None = None
    blocks: np.ndarray | None = None

    def __post_init__(self):
        kept = tuple(name for name in ("weight", "blocks") if getattr(self, name) is not None)
        for name in ("knots", "values", "second") + kept:
            a = np.array(getattr(self, name), dtype=np.float64)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        if not (self.knots.ndim == 1 and self.knots.shape == self.values.shape == self.second.shape
                and self.knots.shape[0] >= 2 and np.all(np.diff(self.knots) > 0)
                and (self.weight is None or (self.weight.shape == self.knots.shape and np.all(self.weight > 0)))
                and (self.blocks is None or self.blocks.shape == (self.knots.shape[0] - 1, 4, 4))):
            raise ValueError("a Spline needs at least 2 increasing knots, with one value and one second "
                             "derivative each (and one positive weight, if any).")
        h = np.diff(self.knots)
        g, s = self.values, self.second
        b = (g[1:] - g[:-1]) / h - h * (2.0 * s[:-1] + s[1:]) / 6.0
        c = 0.5 * s[:-1]
        d = (s[1:] - s[:-1]) / (6.0 * h)
        table = np.stack((self.knots[:-1], g[:-1], b, c, d), axis=1)
        table.setflags(write=False)
        object.__setattr__(self, "_table", table)

    def _locate(self, x):
        x = np.asarray(x, dtype=np.float64)
        i = np.clip(np.searchsorted(self.knots, x, side="right") - 1, 0, self.knots.shape[0] - 2)
        return x, self._table[i], x - self.knots[i]

    def __call__(self, x):
        """The curve at x (a number or an array of any shape)."""
        x, row, t = self._locate(x)
        y = row[..., 1] + t * (row[..., 2] + t * (row[..., 3] + t * row[..., 4]))
        return float(y) if np.ndim(y) == 0 else y

    def derivative(self, x):
        """The first derivative f'(x), with the same pieces (and extrapolation) as ``__call__``."""
        x, row, t = self._locate(x)
        y = row[..., 2] + t * (2.0 * row[..., 3] + t * 3.0 * row[..., 4])
        return float(y) if np.ndim(y) == 0 else y

    def variance(self, x, block=None):
        """bᵀA⁻¹b at each x: the variance of f(x) over σ² in the Bayesian reading of the smoothing spline
        (Wahba 1983, the band mgcv draws), f(x) = bᵀg for g the values at the knots and A = W + λQR⁻¹Qᵀ
        the posterior precision of g over σ².  At a knot it is (A⁻¹)ᵢᵢ = Hᵢᵢ/wᵢ, the leverage; between
        knots and beyond them (the end cubics carried on, as ``__call__``) it is the same quadratic form.

        A⁻¹ is dense, so no entry of it is formed: f(x) = aᵀg + cᵀγ with a and c the two values and two
        second derivatives of x's piece, γ = R⁻¹Qᵀg, and Reinsch's identity R⁻¹QᵀA⁻¹ = B⁻¹QᵀW⁻¹ (B =
        R + λQᵀW⁻¹Q, the fit's own matrix) gives A⁻¹b = W⁻¹ℓ with ℓ = a + Q B⁻¹(c − λQᵀW⁻¹a), the
        smoother's weights of f̂(x).  Then bᵀA⁻¹b = aᵀW⁻¹ℓ + cᵀR⁻¹QᵀW⁻¹ℓ: two banded solves a point, O(n)
        each, ``block`` points at a time (by default as many as keep each array near 4 MB).  A spline on
        fewer knots than points (fitbp.fitting.pspline) keeps instead each interval's 4×4 covariance of
        (g_j, g_{j+1}, γ_j, γ_{j+1}), and its variance is that quadratic form."""
        x = np.asarray(x, dtype=np.float64)
        shape, x = x.shape, x.ravel()
        i, p = parts(self.knots, x)
        if self.blocks is not None:  # a spline on fewer knots than points keeps its 4×4 covariances (pspline)
            return np.maximum(np.einsum("ni,nij,nj->n", p, self.blocks[i], p), 0.0).reshape(shape)
        if self.weight is None:
            raise ValueError("this spline does not keep its knots' weights (written before they were kept)")
        knots, w, lam = self.knots, self.weight, self.lam
        n = knots.shape[0]
        if n < 3:
            raise ValueError("a spline of fewer than 3 knots is a line through them: it has no band")
        q0, q1, q2, r0, r1, m0, m1, m2 = _reinsch(knots, w)
        b0, b1, b2 = r0 + lam * m0, r1 + lam * m1, lam * m2
        zero = np.zeros(max(n - 4, 0))
        a, c = p[:, :2].T, p[:, 2:].T
        block = block or max(1, (4 << 20) // (8 * n))
        out = np.empty(x.shape[0])
        for start in range(0, x.shape[0], block):
            part = slice(start, start + block)
            columns = np.arange(x[part].shape[0])
            rows = np.stack((i[part], i[part] + 1))
            a_full = np.zeros((n, columns.shape[0]))
            a_full[rows, columns] = a[:, part]
            c_full = np.zeros((n, columns.shape[0]))
            c_full[rows, columns] = c[:, part]
            c_inner = c_full[1:-1]  # γ is 0 at the end knots
            z = _pentadiagonal(b0, b1, b2, c_inner - lam * _q_transposed_times(q0, q1, q2, a_full / w[:, None]))[0]
            ell = (a_full + _q_times(q0, q1, q2, z)) / w[:, None]  # W⁻¹ℓ
            gamma = _pentadiagonal(r0, r1, zero, _q_transposed_times(q0, q1, q2, ell))[0]  # R⁻¹QᵀW⁻¹ℓ
            out[part] = np.einsum("ij,ij->j", a_full, ell) + np.einsum("ij,ij->j", c_inner, gamma)
        return np.maximum(out, 0.0).reshape(shape)

    def pieces(self) -> np.ndarray:
        """The table of the pieces: one row (xᵢ, a, b, c, d) per interval [xᵢ, xᵢ₊₁], with

            f(x) = a + b·(x − xᵢ) + c·(x − xᵢ)² + d·(x − xᵢ)³.

        That is all an exporter needs for the whole real line: a row holds from its xᵢ up to the
        next row's; the first row also holds below knots[0], and the last beyond knots[-1] (the end
        cubics carried on, as scipy's BSpline does; see the class docstring).  knots[-1] itself is
        not a row's xᵢ: it ends the last interval.
        """
        return self._table

    def to_dict(self) -> dict:
        """Everything, as JSON-ready values; floats as ``float.hex`` strings, so nothing is rounded."""
        return {"kind": FORMAT, "knots": _hex(self.knots), "values": _hex(self.values),
                "second": _hex(self.second), "lam": float.hex(self.lam), "edf": float.hex(self.edf),
                "rss": float.hex(self.rss), "n": int(self.n), "gcv": float.hex(self.gcv),
                **({"weight": _hex(self.weight)} if self.weight is not None else {}),
                **({"blocks": _hex(self.blocks.ravel())} if self.blocks is not None else {})}

    @classmethod
    def from_dict(cls, d: dict) -> Spline:
        """The Spline that ``to_dict`` wrote, bit for bit."""
        if d.get("kind") != FORMAT:
            raise ValueError(f"not a {FORMAT} dictionary (its kind is {d.get('kind')!r}).")
        return cls(_unhex(d["knots"]), _unhex(d["values"]), _unhex(d["second"]), float.fromhex(d["lam"]),
                   float.fromhex(d["edf"]), float.fromhex(d["rss"]), int(d["n"]), float.fromhex(d["gcv"]),
                   _unhex(d["weight"]) if "weight" in d else None,
                   _unhex(d["blocks"]).reshape(-1, 4, 4) if "blocks" in d else None)


def fit_spline(x, y, weights=None, lam="auto") -> Spline:
    """Fit the cubic smoothing spline: minimise Σ wᵢ (yᵢ − f(xᵢ))² + λ ∫ f''² (scipy's criterion).

    x in any order, ties allowed (merged, see the module docstring); weights ≥ 0, default 1.
    lam: a number ≥ 0, used as given on scipy's scale (0 interpolates), or "auto" for the λ of least
    GCV (``gcv_score``).  scipy searches λ ∈ (0, n) with an absolute tolerance of 1e-5; since λ
    carries the units of x³, that range can miss the minimum (x spanning 0…100 with 200 points
    wants λ ≈ 10³ and scipy stops at its bound 200) or resolve it coarsely (x in 0…1: λ ≈ 10⁻³).
    Here the search runs over log λ, over the whole range in which the fit changes, so where
    scipy's minimum is interior and resolved the two agree, and elsewhere this is the better minimum.

    Raises ValueError for fewer than 3 distinct x, mismatched lengths, non-finite x or y, negative
    or non-finite weights, and a λ that is not "auto" or a finite number ≥ 0.
    """
    auto = isinstance(lam, str) and lam == "auto"
    lam = None if auto else _check_lam(lam)
    data = _prepare(x, y, weights)
    fit = _auto(data) if auto else _fit(data, lam)
    return Spline(data.knots, fit.values, fit.second, fit.lam, fit.edf, fit.rss, data.n, fit.gcv, data.weight)
