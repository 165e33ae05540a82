"""What a least-squares fit needs of a million points, gathered a chunk at a time.

For the design matrix V (columns t**0 … t**d) and the targets y, factor
[V y] = Q [[R, z], [0, ρ]].  Then for every coefficient vector a

    ‖V a − y‖² = ‖R a − z‖² + ρ²

exactly: the mean squared error over n points, and so its gradient, is a
small graph on the (d+1)×(d+1) triangle R.  The triangle comes from the
data's Chebyshev sums (Σ T_m(t), Σ T_j(t)·y, Σ y²), which are sums and so
stream over chunks, and which stay well conditioned at degrees where the
powers of t do not; the powers' R follows exactly from the Chebyshev one.
Where even those are too ill-conditioned (x bunched in clusters far apart),
Householder QR merged chunk by chunk builds it instead.  Either way memory
holds one chunk's basis matrix, never the whole one.

The fit is then judged on its actual residuals, summed in a second pass,
not on ρ, which a formula would give with its digits cancelled away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


CHUNK = 1 << 16
"""Rows per chunk: the chunk's powers stay in the processor's cache."""
SUMS_RESOLVE = 1e-8
"""Below this share of Σy², ρ² = Σy² − ‖z‖² from sums has lost too many digits to cancellation, and
a Householder triangle, whose ρ keeps them all, must give it."""
GRAM_CONDITION = 1e5
"""Below this condition number of the Chebyshev basis matrix, its sums lose nothing that matters
(the Gram matrix's is under 1e10)."""


def scaling(x):
    """Center and scale that map the data's x range onto [-1, 1]."""
    return scaling_of(float(np.min(x)), float(np.max(x)))


def scaling_of(lo, hi):
    """Center and scale that map [lo, hi] onto [-1, 1] (scale 1 for a single x)."""
    center = lo / 2 + hi / 2  # halves first: no overflow near the float limit
    scale = hi / 2 - lo / 2
    return center, (scale if scale > 0 else 1.0)


def unit_exponent(values):
    """e with 2**e at or just below max |values|: dividing by it is exact in binary
    floating point, and keeps squares of the quotients far from overflow."""
    values = np.asarray(values)
    biggest = max(float(np.max(values)), -float(np.min(values))) if values.size else 0.0
    if biggest == 0.0 or not math.isfinite(biggest):
        return 0
    return math.frexp(biggest)[1] - 1


def design_matrix(t, degree):
    """Columns t**0 … t**degree: the constant input of the model's matmul."""
    return np.vander(np.asarray(t, dtype=np.float64), degree + 1, increasing=True)


def chebyshev_matrix(t, degree):
    """Columns T_0(t) … T_degree(t): bounded by 1 on [-1, 1], and T_j·T_k = (T_{j+k} + T_{|j-k|}) / 2,
    so the sums of T_m(t) alone give every product's sum (fitbp.engines.moments.ChebyshevSums)."""
    t = np.asarray(t, dtype=np.float64)
    columns = np.empty((t.size, degree + 1))
    columns[:, 0] = 1.0
    if degree >= 1:
        columns[:, 1] = t
    twice = 2.0 * t
    for k in range(1, degree):
        np.subtract(twice * columns[:, k], columns[:, k - 1], out=columns[:, k + 1])
    return columns


def spans(count):
    """Slices that cover range(count) a chunk at a time."""
    return (slice(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK))


def pieces(x, y, roots=None):
    """(x, y) of two arrays a chunk at a time: what the passes below take, so that points held in
    memory and points read again from files (fitbp.engines.passes.chunks) go the same way."""
    if roots is not None:  # √w of each row, for weighted least squares
        return ((x[part], y[part], roots[part]) for part in spans(x.size))
    return ((x[part], y[part]) for part in spans(x.size))


@dataclass(frozen=True)
class Triangle:
    """R, z and ρ² of [V y] for n points: the data as the least-squares loss sees it."""

    r: np.ndarray
    z: np.ndarray
    rest: float
    count: int
    condition: float
    """cond(V) = cond(R): how much rounding in the data the coefficients can amplify."""
    from_sums: bool = False
    """Whether it came from Chebyshev sums (ρ² = Σy² − ‖z‖², cancellation and all) rather than QR."""


def triangle(x, y, center, scale, y_unit, degree, roots=None, basis=None):
    """The Triangle of the points in t = (x - center) / scale and y / y_unit: from their Chebyshev
    sums, or where those are too ill-conditioned to factor well, by Householder QR.  With ``roots``
    (√w of each point, the weights of mean 1), of the rows √w·[V y]: weighted least squares, by QR.
    V's columns are ``basis``'s (fitbp.fitting.bases: its ``columns`` and ``in_chebyshev``), powers
    of t without one."""
    summed = roots is None and (basis is None or basis.polynomial)
    found = chebyshev_sums(x, y, center, scale, y_unit, degree).triangle(degree, basis) if summed else None
    if found is not None:
        return found
    full = householder(pieces(x, y, roots), center, scale, y_unit, degree, _columns(basis))
    r = full[:-1, :-1]
    return Triangle(r, full[:-1, -1], float(full[-1, -1] ** 2), int(x.size), condition_of(r))


def _columns(basis):
    """The design matrix's function of (t, degree): ``basis``'s, or the powers of t."""
    return design_matrix if basis is None else basis.columns


def householder(pairs, center, scale, y_unit, degree, basis):
    """The (d+2)×(d+2) triangle of [basis(t) y] by QR, one (x, y) chunk of ``pairs`` stacked under the
    triangle so far at a time; a chunk (x, y, √w) has its rows weighted."""
    width = degree + 2
    stack = Stack(width)
    for x, y, *roots in pairs:
        block = np.empty((x.size, width))
        block[:, :-1] = basis((x - center) / scale, degree)
        block[:, -1] = y / y_unit
        if roots:
            block *= roots[0][:, None]
        stack.add(block)
    return stack.triangle()


class Stack:
    """The triangle R of rows given a block at a time, RᵀR their Gram matrix: each block is stacked under
    the triangle so far and factored again by Householder QR, so that memory holds one block."""

    def __init__(self, width):
        self.top = np.zeros((0, width))

    def add(self, block, weights=None):
        """Rows of ``block``, each times √w of its ``weights``."""
        if len(block):
            rows = block if weights is None else block * np.sqrt(weights)[:, None]
            self.top = np.linalg.qr(np.vstack([self.top, rows]), mode="r")

    def triangle(self):
        """The width×width triangle (rows of zeros below fewer rows than columns)."""
        return restacked([self.top], self.top.shape[1])

    def joined(self, other):
        """The triangle of this Stack's rows and ``other``'s."""
        return restacked([self.triangle(), other.triangle()], self.top.shape[1])

    def merged(self, other):
        """A Stack of this one's rows and ``other``'s, which may be added to: how a pass joins two
        partitions' (fitbp.engines.passes)."""
        both = Stack(self.top.shape[1])
        both.add(np.vstack([self.top, other.top]))
        return both


class Gram:
    """Stack's triangle from the sum of the rows' products VᵀWV and Cholesky, as the Chebyshev sums give
    least squares its own: ten times faster than QR, for rows whose R is conditioned below
    GRAM_CONDITION (the products lose cond(R)² ε); ``triangle`` is None above it."""

    def __init__(self, width):
        self.products = np.zeros((width, width))

    def add(self, block, weights=None):
        self.products += (block.T if weights is None else block.T * weights) @ block

    def triangle(self):
        return factored(self.products)

    def joined(self, other):
        return factored(self.products + other.products)

    def merged(self, other):
        """A Gram of this one's rows and ``other``'s (Stack.merged)."""
        both = Gram(self.products.shape[0])
        both.products = self.products + other.products
        return both


def factored(gram):
    """R with RᵀR = ``gram`` by Cholesky, or None where it is too ill-conditioned to trust (GRAM_CONDITION)."""
    try:
        r = np.linalg.cholesky(gram).T
    except np.linalg.LinAlgError:
        return None
    return r if condition_of(r) < GRAM_CONDITION else None


def restacked(triangles, width):
    """The triangle of the rows of several triangles' (TSQR's merge: QR keeps ‖Ra − z‖² as it was)."""
    top = np.linalg.qr(np.vstack(triangles), mode="r") if len(triangles) > 1 else triangles[0]
    full = np.zeros((width, width))
    full[:top.shape[0]] = top
    return full


@dataclass(frozen=True)
class ChebyshevSums:
    """Σ T_m(t) for m ≤ 2D, Σ T_j(t)·y for j ≤ D, Σ y² and the row count, for each of K folds of the rows.

    Sums add, so any union of folds is one addition away, and T_j·T_k = (T_{j+k} + T_{|j-k|}) / 2 turns
    them into the Gram matrix of the Chebyshev basis, which stays well conditioned on [-1, 1] where the
    powers of t do not: the triangle of every degree up to D, for every fold left out, from one pass
    over the data and no refit.
    """

    powers: np.ndarray
    moments: np.ndarray
    squares: np.ndarray
    counts: np.ndarray

    @property
    def degree(self):
        return self.moments.shape[1] - 1

    def triangle(self, degree, basis=None):
        """The Triangle of the powers of t up to ``degree`` (of ``basis``'s columns) from all the rows,
        or None where the Chebyshev Gram matrix is too ill-conditioned to factor well (then QR must do it).

        With b = M a the Chebyshev coefficients of the Taylor coefficients a (M is exact: it holds
        dyadic fractions), ‖V_T b − y‖² = ‖R_C M a − z‖² + ρ²: R = R_C M is the powers' triangle, and
        likewise for another basis with its own M.
        """
        gram, moment, squares = self.gram()
        size = degree + 1
        r = factored(gram[:size, :size])
        if r is None:
            return None
        z = np.linalg.solve(r.T, moment[:size])
        r = r @ (powers_in_chebyshev(degree) if basis is None else basis.in_chebyshev(degree))
        return Triangle(r, z, max(squares - float(z @ z), 0.0), int(self.counts.sum()), condition_of(r), True)

    def gram(self, rows=slice(None)):
        """VᵀV, Vᵀy and yᵀy of the rows of the chosen folds (a slice or a boolean mask over folds)."""
        h = self.powers[rows].sum(axis=0)
        index = np.arange(self.degree + 1)
        gram = 0.5 * (h[np.add.outer(index, index)] + h[np.abs(np.subtract.outer(index, index))])
        return gram, self.moments[rows].sum(axis=0), float(self.squares[rows].sum())


def powers_in_chebyshev(degree):
    """M with column i the Chebyshev coefficients of t**i (t·T_j = (T_{j+1} + T_{|j-1|}) / 2): exact."""
    m = np.zeros((degree + 1, degree + 1))
    m[0, 0] = 1.0
    for i in range(degree):
        for j in np.flatnonzero(m[:, i]):
            half = m[j, i] / 2
            if j == 0:
                m[1, i + 1] += m[0, i]
            else:
                m[j + 1, i + 1] += half
                m[j - 1, i + 1] += half
    return m


def chebyshev_sums(x, y, center, scale, y_unit, degree, folds=1, weights=None):
    """ChebyshevSums of the points in t = (x - center) / scale and y / y_unit, rows dealt to ``folds``
    folds by a hash of their index (fold_of): the same folds whatever the blocks or the engine.  With
    ``weights`` (of mean 1), each sum is weighted: Σ w T_m, Σ w T_j y, Σ w y²."""
    size_d = degree + 1
    low, products, moments_ = np.zeros((size_d, folds)), np.zeros((size_d, folds)), np.zeros((size_d, folds))
    squares, counts = np.zeros(folds), np.zeros(folds, dtype=np.int64)
    rows = np.empty((size_d, min(CHUNK, x.size)))  # T_j(t) of a chunk, one contiguous row per j
    for part in spans(x.size):
        size = part.stop - part.start
        t, w, chebyshev = (x[part] - center) / scale, y[part] / y_unit, rows[:, :size]
        chebyshev[0] = 1.0
        if degree:
            chebyshev[1] = t
        twice = 2.0 * t
        for j in range(1, degree):
            np.multiply(twice, chebyshev[j], out=chebyshev[j + 1])
            chebyshev[j + 1] -= chebyshev[j - 1]
        # Σ T_{D+j} = 2 Σ T_D·T_j − Σ T_{D−j}: the upper half of the sums without its recurrence.
        weight = weights[part] if weights is not None else None
        if folds == 1:  # plain sums, no fold to deal to
            low[:, 0] += chebyshev.sum(axis=1) if weight is None else chebyshev @ weight
            products[:, 0] += chebyshev @ (chebyshev[degree] if weight is None else chebyshev[degree] * weight)
            moments_[:, 0] += chebyshev @ (w if weight is None else w * weight)
            squares[0] += float(w @ w) if weight is None else float((w * weight) @ w)
            counts[0] += size
            continue
        fold = fold_of(part.start, size, folds)
        members = np.zeros((size, folds))
        members[np.arange(size), fold] = 1.0 if weight is None else weight
        low += chebyshev @ members
        products += (chebyshev * chebyshev[degree]) @ members
        moments_ += (chebyshev * w) @ members
        squares += (w * w) @ members
        counts += np.bincount(fold, minlength=folds)  # points, not weights: means over a fold's points
    upper = 2.0 * products[1:] - low[degree - 1::-1] if degree else np.zeros((0, folds))
    powers = np.vstack([low, upper])
    return ChebyshevSums(powers.T.copy(), moments_.T.copy(), squares, counts)


def fold_of(first, count, folds):
    """The fold of rows first … first + count - 1: a fixed hash of the row index (Fibonacci hashing,
    then the high bits folded down), so that every row's fold depends on nothing but its place."""
    index = np.arange(first, first + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = index * np.uint64(0x9E3779B97F4A7C15)
    mixed ^= mixed >> np.uint64(32)
    return (mixed % np.uint64(folds)).astype(np.intp)


class Optima(NamedTuple):
    """Every degree's least-squares Σ r² (optimal_squares), and how far rounding may have moved the top
    degree's, relatively: where the optimum's coefficients are large and cancel, float64 knows it no
    closer than that, and no fit can be held to more."""

    squares: np.ndarray
    resolution: float


def optimal_squares(pairs, center, scale, y_unit, degree):
    """The least-squares optimum's Σ r² (in y units) of every degree 0 … ``degree``, each no larger than
    a lower degree's, as exact arithmetic would have them (the Optima).

    Found in the Chebyshev basis, whose design matrix stays well conditioned on [-1, 1] where the powers
    of t do not: the triangle [[R, z], [0, ρ]] of [T(t) y] by Householder QR gives every degree's
    optimum at once, ρ² + Σ_{i>k} z_i².  The judge of fits whose own basis is too ill-conditioned for
    float64 to vouch for them.
    """
    return optimal_from(householder(pairs, center, scale, y_unit, degree, chebyshev_matrix))


def optimal_from(full):
    """The Optima from the Householder triangle of [T(t) y] (optimal_squares).

    Householder's triangle is exact for [V y] moved by about ε‖[V y]‖ (backward stability), which moves
    the residual's norm ρ by up to that times (‖b‖ + 1), b the optimum's coefficients: negligible for a
    smooth curve's few Chebyshev coefficients, not for a hundred that cancel to a noisy curve."""
    tail = full[:, -1]
    beyond = np.cumsum((tail * tail)[::-1])[::-1]  # beyond[k] = Σ_{i ≥ k} of z_i² and ρ²
    squares = np.minimum.accumulate(beyond[1:])
    with np.errstate(all="ignore"):
        b = np.linalg.lstsq(full[:-1, :-1], tail[:-1], rcond=None)[0]
        moved = np.finfo(np.float64).eps * np.linalg.norm(full) * (np.linalg.norm(b) + 1.0)
        resolution = 2.0 * moved / math.sqrt(squares[-1]) if squares[-1] > 0 else 0.0
    return Optima(squares, float(resolution) if math.isfinite(resolution) else math.inf)


def condition_of(r):
    with np.errstate(all="ignore"):
        condition = float(np.linalg.cond(r))
    return condition if math.isfinite(condition) else math.inf


@dataclass(frozen=True)
class Residuals:
    """Sums over the residuals y − ŷ and over y, all in units of 2**exponent.

    Means and spreads are merged chunk by chunk (Chan et al.), each chunk's
    own computed about its own mean, so no digits cancel.
    """

    count: int
    squares: float
    """Σ r²: n times the mean squared error."""
    mean: float
    spread: float
    """Σ (r − mean)²."""
    y_mean: float
    y_spread: float
    """Σ (y − ȳ)²: n times the variance of y, for R²."""
    finite: bool
    weight: float | None = None
    """Σ w of weighted points, whose means are weighted (None: unweighted, the count): what two sets'
    means are pooled by."""


def residuals(polynomial, x, y, exponent):
    """The Residuals of ``polynomial`` over the points, in one pass of chunks."""
    return residuals_over(polynomial, pieces(x, y), exponent)


def residuals_over(polynomial, pairs, exponent):
    """The Residuals of ``polynomial`` over the (x, y) chunks of ``pairs``; over (x, y, √w) chunks, the
    weighted ones (Σ w r², weighted means and spreads), for weights of mean 1."""
    count, total, squares, mean, spread, y_mean, y_spread, finite = 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, True
    weighted = False
    with np.errstate(all="ignore"):
        for x, y, *roots in pairs:
            weighted = weighted or bool(roots)
            v = np.ldexp(y, -exponent)
            r = v - np.ldexp(polynomial(x), -exponent)
            finite = finite and bool(np.isfinite(r).all())
            weights = roots[0] * roots[0] if roots else None
            weight = float(weights.sum()) if roots else float(r.size)
            squares += float((r * weights) @ r) if roots else float(r @ r)
            mean, spread = _merge(total, mean, spread, weight, r, weights)
            y_mean, y_spread = _merge(total, y_mean, y_spread, weight, v, weights)
            count, total = count + r.size, total + weight
    return Residuals(count, squares, mean, spread, y_mean, y_spread, finite, total if weighted else None)


def merge_residuals(a, b):
    """The Residuals of two sets of points from theirs (Chan et al.: no digits cancel), for reductions."""
    if not a.count or not b.count:
        return a if b.count == 0 else b
    weighted = a.weight is not None
    first, second = (a.weight, b.weight) if weighted else (a.count, b.count)
    mean, spread = _pooled(first, a.mean, a.spread, second, b.mean, b.spread)
    y_mean, y_spread = _pooled(first, a.y_mean, a.y_spread, second, b.y_mean, b.y_spread)
    return Residuals(a.count + b.count, a.squares + b.squares, mean, spread, y_mean, y_spread, a.finite and b.finite,
                     first + second if weighted else None)


def _merge(count, mean, spread, size, values, weights=None):
    """Mean and Σ(v − mean)² of count values so far and ``values`` after them (with ``weights``, of total
    ``size``, the weighted mean and Σ w (v − mean)²)."""
    part_mean = float((values if weights is None else values * weights).sum()) / size
    centred = values - part_mean
    part_spread = float((centred if weights is None else centred * weights) @ centred)
    return _pooled(count, mean, spread, size, part_mean, part_spread)


def _pooled(count, mean, spread, size, part_mean, part_spread):
    """Mean and spread of two groups from theirs (Chan et al.), each spread about its own mean."""
    total = count + size
    delta = part_mean - mean
    return mean + delta * size / total, spread + part_spread + delta * delta * count * size / total


def distinct_up_to(x, most):
    """How many distinct values x has, counting no further than ``most``.

    Real data show ``most`` distinct values within their first few points; sorting a million of
    them (np.unique) to learn that cost more than the fit, so the first points are asked first.
    """
    seen = set(x[:4 * most].tolist())
    if len(seen) >= most:
        return most
    for part in spans(x.size):
        seen.update(np.unique(x[part])[:most].tolist())
        if len(seen) >= most:
            return most
    return len(seen)


@dataclass(frozen=True)
class Part:
    """The triangle [[R, z], [0, ρ]] of some of the rows, in the powers of their own
    u = (x − center) / scale over their own x range [low, high], y in units of 2**exponent.

    Parts merge (merge) in any order, so the blocks of a file or the partitions
    of a cluster reduce to the triangle of all the rows in one pass, with no
    need to know the whole x range in advance: each side's basis is mapped
    exactly onto the union's, and the stacked triangles are factored again by
    QR.  ρ is never Σy² − ‖z‖²: it comes from actual residuals (part_of) or from
    QR, so it keeps its digits however well the curve fits.
    """

    full: np.ndarray
    low: float
    high: float
    exponent: int
    count: int
    shift: float = 0.0
    """full is the triangle of y − shift: a level taken out before any sum, so that a curve far above
    zero does not drown its residuals in rounding."""

    @property
    def degree(self):
        return self.full.shape[0] - 2

    def triangle(self, exponent=None):
        """The Triangle in t over [low, high] (model.scaling's basis), y in units of 2**exponent."""
        exponent = self.exponent if exponent is None else exponent
        full = _rebased(self, self.low, self.high, exponent)
        r = full[:-1, :-1]
        z = full[:-1, -1] + math.ldexp(self.shift, -exponent) * r[:, 0]  # y = (y − shift) + shift·t**0
        return Triangle(r, z, float(full[-1, -1] ** 2), self.count, condition_of(r))


def part_of(x, y, degree, roots=None):
    """The Part of the rows (x, y), each times √w of ``roots`` if given: Chebyshev sums in their own range,
    the least-squares curve they give, and ρ² from that curve's actual residuals; Householder QR where
    the sums are too ill-conditioned to factor well."""
    low, high = float(np.min(x)), float(np.max(x))
    center, scale = scaling_of(low, high)
    shift = float(y[0])
    level = y - shift  # weighted too: √w·y = √w·(y − shift) + shift·√w, and √w is the first column
    exponent = unit_exponent(level)
    unit = math.ldexp(1.0, exponent)
    full = _full_from_sums(x, level, center, scale, unit, degree, roots)
    if full is None:
        full = householder(pieces(x, level, roots), center, scale, unit, degree, design_matrix)
    return Part(full, low, high, exponent, int(x.size), shift)


def _full_from_sums(x, y, center, scale, unit, degree, roots=None):
    gram, moment, _ = chebyshev_sums(x, y, center, scale, unit, degree,
                                     weights=None if roots is None else roots * roots).gram()
    r = factored(gram)
    if r is None:
        return None
    z = np.linalg.solve(r.T, moment)
    b = np.linalg.solve(r, z)
    squares = 0.0
    for part in spans(x.size):
        w = y[part] / unit - np.polynomial.chebyshev.chebval((x[part] - center) / scale, b)
        if roots is not None:
            w *= roots[part]
        squares += float(w @ w)
    gap = r @ b - z
    full = np.zeros((degree + 2, degree + 2))
    full[:-1, :-1] = r @ powers_in_chebyshev(degree)
    full[:-1, -1] = z
    full[-1, -1] = math.sqrt(max(squares - float(gap @ gap), 0.0))
    return full


def merge(a, b):
    """The Part of the rows of both: associative and commutative, up to rounding."""
    low, high = min(a.low, b.low), max(a.high, b.high)
    exponent = max(a.exponent, b.exponent, unit_exponent(np.array([b.shift - a.shift])))
    other = _rebased(b, low, high, exponent)
    # y − a.shift = (y − b.shift) + (b.shift − a.shift)
    other[:-1, -1] += math.ldexp(b.shift - a.shift, -exponent) * other[:-1, 0]
    stacked = np.vstack([_rebased(a, low, high, exponent), other])
    return Part(np.linalg.qr(stacked, mode="r"), low, high, exponent, a.count + b.count, a.shift)


def _rebased(part, low, high, exponent):
    """part.full in the powers of t over [low, high] ⊇ [part.low, part.high], y in units of 2**exponent.

    With t = αu + β (|α| ≤ 1, |β| ≤ 1), t**i = Σ_j C(i, j) α**j β**(i−j) u**j, so V_t = V_u T with T upper
    triangular: R_u T is the triangle in t, and z and ρ do not change.  A part with one x has only u = 0,
    where α does not matter (0 keeps T finite)."""
    center, scale = scaling_of(low, high)
    own_center, own_scale = scaling_of(part.low, part.high)
    alpha = own_scale / scale if part.high > part.low else 0.0
    beta = (own_center - center) / scale
    size = part.degree + 1
    change = np.zeros((size, size))
    for i in range(size):
        for j in range(i + 1):
            change[j, i] = math.comb(i, j) * alpha ** j * beta ** (i - j)
    full = part.full.copy()
    full[:, :-1] = full[:, :-1] @ change
    full[:, -1] = np.ldexp(full[:, -1], part.exponent - exponent)
    return full


def triangle_residuals(triangle, k):
    """The Residuals of the curve with coefficients k in the triangle's basis, from the triangle alone.

    r = y − V k gives Σ r² = ‖z − R k‖² + ρ² and Vᵀr = Rᵀ(z − R k), whose first entry (V's first
    column is all ones) is Σ r = R₀₀ (z − R k)₀; likewise Σ y = R₀₀ z₀, and Σ (y − ȳ)² is the constant
    fit's ρ², ρ² + Σ_{i≥1} z_i².  No digits cancel where the triangle came from QR or actual
    residuals (Part), which is why only such triangles are trusted to replace a pass over the data."""
    gap = triangle.z - triangle.r @ k
    count = triangle.count
    squares = float(gap @ gap) + triangle.rest
    mean = float(triangle.r[0, 0] * gap[0]) / count
    y_mean = float(triangle.r[0, 0] * triangle.z[0]) / count
    y_spread = triangle.rest + float(triangle.z[1:] @ triangle.z[1:])
    finite = math.isfinite(squares) and bool(np.isfinite(k).all())
    return Residuals(count, squares, mean, max(squares - count * mean * mean, 0.0), y_mean, y_spread, finite)
