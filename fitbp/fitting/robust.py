"""Newton's method for the robust losses: the exact optimum, each step one pass over the design rows a
chunk at a time (fitbp.engines.passes.rows: the rows held, a stream read again, or a cluster's partitions
reduced), its loss and gradient from the backprop graph.

huber is piecewise quadratic.  Its Hessian at a is (1/n) Vᵀ diag(1{|r| < δ}) V, the triangle of the rows
inside δ (semismooth Newton; IRLS's weights min(1, δ/|r|) only approximate it).  A step lands on the
optimum of the quadratic piece it starts in; when the next pass finds the same rows inside δ and a step
below rounding, that is the Huber optimum, exactly.  A step that raises the loss (it left its piece) is
shortened to where the loss along it is least, found in two passes, and rows inside δ too few to fix
every coefficient borrow IRLS's curvature.  The curvature comes from the rows' products VᵀWV, as least
squares' triangle comes from sums, unless the data's triangle is too ill-conditioned for them; then
from Householder QR of the rows.  What a pass gathers of a cluster's partitions joins pairwise (sums
add, triangles stack), so each step is one reduction.

mae is a linear programme: an optimum interpolates p of the points (a vertex), and the vertex is
optimal when the sum of the other rows' signs, Σ sign(rᵢ)·vᵢ, is V_Bᵀλ for multipliers λ of the p
interpolated rows with |λⱼ| ≤ 1.  ``_vertex`` walks from vertex to vertex (Barrodale and Roberts' descent
along edges: free one interpolated row, move along the edge to the weighted median of the breakpoints,
where the loss stops falling) until that holds.  The vertex is found first on the rows a choice looks at
(Data.sample: every point held, a stream's even sample), a random SAMPLE of them where they are more
than twice as many; unless those are every point, then on a band of the rows nearest that curve, which a
pass gathers, with every other row's sign taken as it is there (the linear pull that the graph's
gradient gives, less the band's share); a pass at the result checks that no row outside the band
changed sides.  Then the band's optimum is the whole data's: |a| ≥ s·a for s = ±1, so the loss is
everywhere at least the band's problem, and equal to it there.  A band too narrow is widened and solved
again.  The band is held in memory (a tenth of the rows, for a cubic), on this machine for a cluster.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from fitbp.backprop import optimizers
from fitbp.engines import moments, passes
from fitbp.fitting import model

SAMPLE = 20_000
"""mae's first vertex is found on this many random rows, on data of more than twice as many."""
BAND = 8.0
"""mae's band holds BAND·√(p / SAMPLE) of the rows (11 % for a cubic, 19 % at degree 10): a sample's
vertex is about √(p / SAMPLE) off, so the points that change sides on the way to the optimum are some
multiple of that share (3 to 7 % at 10⁶ points); each band found too narrow is twice as wide."""
REFRESH = 32
"""Pivots between residuals and sums of signs computed afresh from the vertex, rather than updated."""
OPTIMAL = 1e-9
"""How far past 1 a multiplier may be, from the rounding of the sums of signs, at an optimal vertex."""
EPS = float(np.finfo(np.float64).eps)
SIZE = 3.0
"""A bound on |V| + |y| of every design row: the basis functions are at most 1 on t ∈ [−1, 1], and y is in
units of a power of two at or below its largest magnitude (fitbp.fitting.trainer), so |y| < 2."""
LINE = 1024
"""Spans that the line search's first pass cuts the step into (_line_minimum): the second gathers the rows
with a breakpoint in one of them, about 2/LINE of the rows near the curve."""
FITTED = ("huber", "mae")
"""The losses beyond least squares that newton fits."""


def newton(data, problem, k, loss, delta=None, tol=0.0, floor=0.0, refine=True, seed=0):
    """The exact Newton method of a robust ``loss`` from k over every point of ``data`` as ``problem``'s
    rows (fitbp.engines.passes.rows): a generator like fitbp.backprop.optimizers', whose value is
    (converged, the final k)."""
    if loss == "huber":
        return huber(data, problem, k, delta, tol, floor, refine)
    return least_absolute(data, problem, k, seed)


def loss_at(data, problem, k, loss, delta=None):
    """The ``loss`` at k over every row, from the graph, in one pass."""
    count, total = passes.rows(data, problem, _loss_sums, passes.added, k, loss, delta)
    return total / count


def _loss_sums(chunks, k, loss, delta):
    count, total = 0, 0.0
    for rows, y in chunks:
        count, total = count + y.size, total + model.loss_and_gradient(rows, y, k, loss, delta)[0] * y.size
    return count, total


# ---------------------------------------------------------------- huber

def huber(data, problem, k, delta, tol, floor=0.0, refine=True):
    """Semismooth Newton on the Huber loss from k; returns (converged, the final k).

    Converged when a pass finds the same rows inside δ as the pass before, whose step was an exact
    Newton step on that piece, and the loss still to gain, gᵀH⁻¹g/2, is at most ``tol`` of the loss;
    with ``refine`` that last step is taken too, as newton takes it for mse.  A step that raised the
    loss (it left the piece where its quadratic held) is shortened to where the loss along it is least
    (_line_minimum).
    """
    best, before, newton_step, step = None, None, True, None
    products = problem.triangle.condition < moments.GRAM_CONDITION  # the curvature from VᵀWV, as for mse's sums
    while True:
        found = _huber_pass(data, problem, k, delta, products)
        if found is None:  # products too ill-conditioned for this step's rows: QR, from now on
            products = False
            found = _huber_pass(data, problem, k, delta, products)
        yield k, found.loss
        if best is not None and found.loss > best.loss + tol * best.loss + floor:
            step = _line_minimum(data, problem, best.k, step, delta) * step
            k, before, newton_step = best.k - step, None, False
            continue
        settled = newton_step and found.inside_rows == before
        step = found.curvature(found.gradient)
        if settled and not found.gradient @ step > 2 * (tol * found.loss + floor):
            return True, (k - step if refine else k)
        if settled and not found.loss < best.loss:  # a whole step gained nothing: rounding is all that is left
            return False, best.k
        best, before, newton_step = found, found.inside_rows, found.curvature is not found.reweighted
        k = k - step


def _line_minimum(data, problem, k, step, delta):
    """The t in [0, 1] where the Huber loss along k − t·step is least, in two passes: its slope,
    −Σ eᵢψ(rᵢ − t·eᵢ)/n with e = V·step and ψ clipping at ±δ, is piecewise linear and rises with t (the
    loss is convex).  The first pass evaluates it on a grid of LINE + 1 points (_falling), whose sign
    change brackets the root; the second gathers the rows with a breakpoint (|rᵢ − t·eᵢ| = δ) inside that
    bracket (_kinks), few, the others' terms being linear there, and the root is found among them exactly
    (_root)."""
    grid = np.linspace(0.0, 1.0, LINE + 1)
    falling = passes.rows(data, problem, _falling, passes.added, k, step, delta, grid)[0]
    if falling[-1] > 0:  # still falling at the step's end
        return 1.0
    past = max(1, int(np.argmax(falling <= 0)))  # falling(grid[past − 1]) > 0 ≥ falling(grid[past])
    low, high = grid[past - 1], grid[past]
    kinks = passes.rows(data, problem, _kinks, passes.concatenated, k, step, delta, low, high)
    return _root(low, high, falling[past - 1], falling[past], *kinks)


def _terms(rows, y, k, step, delta):
    """a = e·r, b = e², c = |e|·δ of the rows the step moves (e = V·step ≠ 0): each one's term of the slope
    along the step is clip(a − b·t, −c, c), linear over its span [(a − c)/b, (a + c)/b]."""
    moving = rows @ step
    a, b, c = moving * (rows @ k - y), moving * moving, np.abs(moving) * delta
    moved = b > 0
    return a[moved], b[moved], c[moved]


def _kinks(chunks, k, step, delta, low, high):
    """(a, b, c) (_terms) of the rows whose span starts or ends strictly between ``low`` and ``high``."""
    found = [np.empty(0)] * 3
    for rows, y in chunks:
        a, b, c = _terms(rows, y, k, step, delta)
        starts, ends = (a - c) / b, (a + c) / b
        inside = ((starts > low) & (starts < high)) | ((ends > low) & (ends < high))
        found = [np.concatenate([kept, new[inside]]) for kept, new in zip(found, (a, b, c))]
    return tuple(found)


def _root(low, high, before, after, a, b, c):
    """The root of the slope (times −n) between ``low`` and ``high``, where it is ``before`` > 0 ≥ ``after``:
    the rows (a, b, c) with a breakpoint there, and every other row's term, linear there, by interpolation
    between the two ends (exactly, as a sum of linear terms)."""
    def kinked(t):
        return float(np.clip(a - b * t, -c, c).sum())

    start, finish = before - kinked(low), after - kinked(high)

    def falling(t):
        return start + (finish - start) * (t - low) / (high - low) + kinked(t)

    breaks = np.concatenate([(a - c) / b, (a + c) / b])
    ends = np.unique(np.concatenate([[low, high], breaks[(breaks > low) & (breaks < high)]]))
    first, last = 0, ends.size - 1  # falling(ends[first]) > 0 ≥ falling(ends[last])
    while last - first > 1:
        middle = (first + last) // 2
        first, last = (middle, last) if falling(ends[middle]) > 0 else (first, middle)
    above, below = falling(ends[first]), falling(ends[last])
    return float(ends[first] + (ends[last] - ends[first]) * above / (above - below)) if above > below else float(
        ends[first])


def _falling(chunks, k, step, delta, grid):
    """Σ eᵢψ(rᵢ − t·eᵢ) at each t of the ascending ``grid``: minus the slope of the loss along the step,
    times n, at a cost that hardly grows with the grid.  A row's term is clip(a − b·t, −c, c) (_terms): c
    before its span, −c after, linear within; so each sum changes only at the grid points where some
    row's span starts or ends, and the changes, gathered by np.bincount, add up along the grid."""
    size = grid.size + 1  # the changes at each grid point, and past the last
    constant, offset, gradient = np.zeros(size), np.zeros(size), np.zeros(size)
    for rows, y in chunks:
        a, b, c = _terms(rows, y, k, step, delta)
        start, end = np.searchsorted(grid, (a - c) / b, "left"), np.searchsorted(grid, (a + c) / b, "right")
        constant[0] += float(c.sum())
        constant -= np.bincount(start, c, size) + np.bincount(end, c, size)
        within = start < end
        start, end, a, b = start[within], end[within], a[within], b[within]
        offset += np.bincount(start, a, size) - np.bincount(end, a, size)
        gradient += np.bincount(start, b, size) - np.bincount(end, b, size)
    return (np.cumsum(constant)[:-1] + np.cumsum(offset)[:-1] - np.cumsum(gradient)[:-1] * grid,)


@dataclass
class _HuberPass:
    k: np.ndarray
    loss: float
    gradient: np.ndarray
    inside_rows: bytes
    """A digest of which rows lie inside δ."""
    curvature: object
    """g -> H⁻¹g: Newton's, or IRLS's where the rows inside δ cannot fix every coefficient."""
    reweighted: object
    """g -> H⁻¹g with IRLS's H = (1/n) VᵀWV, W = min(1, δ/|r|): its step never raises the loss."""


def _huber_pass(data, problem, k, delta, products):
    """One pass at k (_huber_sums): the loss and gradient and the curvatures of Newton and of IRLS; None
    where the rows' ``products`` are too ill-conditioned for these rows (QR must give them)."""
    sums = passes.rows(data, problem, _huber_sums, _huber_joined, k, delta, products)
    n = sums.count
    inside, weighted = sums.inside.triangle(), sums.inside.joined(sums.outside)
    if weighted is None:
        return None
    reweighted = optimizers.preconditioner(weighted, 2 * n)  # huber's ρ'' is 1, mse's 2
    # rows inside δ too few to fix a: a diagonal entry of their R lost to rounding beside IRLS's
    exact = inside is not None and bool(np.all(np.abs(np.diag(inside)) > 1e-10 * np.abs(np.diag(weighted))))
    return _HuberPass(k, sums.loss / n, sums.gradient / n, sums.digest,
                      optimizers.preconditioner(inside, 2 * n) if exact else reweighted, reweighted)


@dataclass
class _HuberSums:
    """What a pass gathers of some rows, and joins with another partition's: their count, the sums of
    their loss and gradient, the rows inside δ (moments.Gram or Stack), the others weighted by δ/|r|, and
    a digest of which rows lie inside δ."""

    count: int
    loss: float
    gradient: np.ndarray
    inside: object
    outside: object
    digest: bytes


def _huber_sums(chunks, k, delta, products):
    """The _HuberSums of the rows of ``chunks`` at k: loss and gradient from the graph, chunk by chunk, and
    the rows inside δ and outside it from the rows' ``products`` (moments.Gram) or by QR (moments.Stack)."""
    triangles = moments.Gram if products else moments.Stack
    loss, gradient, count = 0.0, np.zeros(len(k)), 0
    inside, outside, digest = triangles(len(k)), triangles(len(k)), hashlib.blake2b()
    for rows, y in chunks:
        value, slope = model.loss_and_gradient(rows, y, k, "huber", delta)
        loss, gradient, count = loss + value * y.size, gradient + slope * y.size, count + y.size
        distance = np.abs(rows @ k - y)
        near = distance < delta  # where the graph's min(|r|, δ) passes the gradient: curvature 1
        digest.update(np.packbits(near).tobytes())
        inside.add(rows[near])
        far = ~near
        outside.add(rows[far], delta / distance[far])
    return _HuberSums(count, loss, gradient, inside, outside, digest.digest())


def _huber_joined(a, b):
    """The _HuberSums of two partitions' rows: the digest of both digests, in the order of the partitions."""
    return _HuberSums(a.count + b.count, a.loss + b.loss, a.gradient + b.gradient, a.inside.merged(b.inside),
                      a.outside.merged(b.outside), hashlib.blake2b(a.digest + b.digest).digest())


# ---------------------------------------------------------------- mae

@dataclass
class _Vertex:
    k: np.ndarray
    basis: np.ndarray
    """Positions of the p rows the curve interpolates."""
    optimal: bool
    bounded: bool = True


@dataclass
class _Band:
    k: np.ndarray
    width: float
    """Rows with |r| ≤ width at k are in the band; the others' signs at k are presumed."""


def least_absolute(data, problem, k, seed=0):
    """The exact least-absolute-deviations fit from the least-squares k; returns (converged, the final k).

    Converged when the last vertex is certified optimal for its band and no row outside the band
    changed sides (module docstring): the optimum of the linear programme.  Each pass is one backprop
    pass of the graph over every row, a chunk at a time; the vertices are found on rows held apart
    (the sample, the band), a pivot at a time.
    """
    p = len(k)
    rng = np.random.default_rng(seed)
    design, target, every = _sample(data, problem, rng)
    start = _start(design, target, k)
    if start is None:  # the sample missed the x a vertex needs: rows of other x, from a pass
        extra = _distinct_rows(*passes.rows(data, problem, _distinct, _distinct_joined, p, 4 * p), 4 * p)
        design, target = np.vstack([design, extra[0]]), np.concatenate([target, extra[1]])
        start = _start(design, target, k)
    found = _vertex(design, target, np.zeros(p), start, rng)
    k, corner = found.k, (design[found.basis], target[found.basis])
    share = 1.0 if every else min(1.0, BAND * math.sqrt(p / target.size))
    band = _Band(k, math.inf) if every else None
    certified = found.optimal and every
    while True:
        zero = _zero(p, SIZE, k)
        width = math.inf if share >= 1 else max(float(np.quantile(np.abs(design @ k - target), share)),
                                                2 * float(np.max(np.abs(corner[0] @ k - corner[1]))), zero)
        swept = _mae_pass(data, problem, k, width, band, zero, keep=not every)
        yield k, swept.loss
        if certified and not swept.changed_sides:
            return True, k
        within = (design, target) if every else swept.rows  # holding the vertex's rows, whose residuals are 0
        found = _vertex(*within, swept.pull, _start(*within, k), rng)
        share = min(1.0, 2 * share)
        if not found.bounded:  # the band cannot hold the pull of the rows outside it: a wider one, from here
            band, certified = None, False
            continue
        band = _Band(k, width)
        k, corner, certified = found.k, (within[0][found.basis], within[1][found.basis]), found.optimal


def _sample(data, problem, rng):
    """(V, y, whether they are every row) of the rows the first vertex is found on: those a choice looks at
    (every point held, a stream's even sample), or a random SAMPLE of them where they are more than twice
    as many."""
    design, target = passes.sample_rows(data, problem)
    every = target.size == data.count
    if target.size > 2 * SAMPLE:
        rows = np.sort(rng.choice(target.size, SAMPLE, replace=False))
        return design[rows], target[rows], False
    return design, target, every


def _distinct(chunks, p, most):
    """The first ``most`` rows whose design rows differ (rows of different x): p of them are independent,
    whatever the basis, as a polynomial's values at p different x fix it."""
    design, target = np.zeros((0, p)), np.zeros(0)
    for rows, y in chunks:
        design, target = _distinct_rows(np.vstack([design, rows]), np.concatenate([target, y]), most)
    return design, target


def _distinct_joined(a, b):
    return _distinct_rows(np.vstack([a[0], b[0]]), np.concatenate([a[1], b[1]]))


def _distinct_rows(design, target, most=None):
    """The first ``most`` (all) rows of ``design`` unlike every row before them, and their targets."""
    first = np.sort(np.unique(design, axis=0, return_index=True)[1])[:most]
    return design[first], target[first]


@dataclass
class _MaeSums:
    """What a pass gathers of some rows at k (_mae_sums), and joins with another partition's."""

    count: int
    loss: float
    """Σ|rᵢ|, from the graph."""
    pull: np.ndarray
    """Σ sign(rᵢ)·vᵢ over the rows outside the band: the gradient of their share of the loss, times n."""
    rows: tuple
    """(V, y) of the rows within the band's width of the curve, when kept."""
    changed_sides: int
    """Rows outside the last band whose residual has the other sign than it had there."""


def _mae_pass(data, problem, k, width, band, zero, keep):
    """One pass at k (_mae_sums), its loss a mean."""
    sums = passes.rows(data, problem, _mae_sums, _mae_joined, k, width, band, zero, keep)
    sums.loss /= sums.count
    return sums


def _mae_sums(chunks, k, width, band, zero, keep):
    """The loss and gradient from the graph, chunk by chunk; the rows within ``width`` of the curve (if
    ``keep``) and the pull of the others; and how many rows outside ``band`` changed sides."""
    count, loss, pull, near, changed = 0, 0.0, np.zeros(len(k)), [], 0
    for rows, y in chunks:
        value, slope = model.loss_and_gradient(rows, y, k, "mae")
        residual = rows @ k - y
        close = np.abs(residual) <= width
        count, loss = count + y.size, loss + value * y.size
        pull += slope * y.size - rows[close].T @ np.sign(residual[close])  # the graph's gradient, less the band's
        if keep:
            near.append((rows[close], y[close]))
        if band is not None and band.width < math.inf:
            before = rows @ band.k - y
            outside = np.abs(before) > band.width
            changed += int(np.count_nonzero(outside & (np.sign(before) * residual < -zero)))
    kept = (np.vstack([v for v, _ in near]), np.concatenate([t for _, t in near])) if near else None
    return _MaeSums(count, loss, pull, kept, changed)


def _mae_joined(a, b):
    kept = b.rows if a.rows is None else a.rows if b.rows is None else (
        np.vstack([a.rows[0], b.rows[0]]), np.concatenate([a.rows[1], b.rows[1]]))
    return _MaeSums(a.count + b.count, a.loss + b.loss, a.pull + b.pull, kept, a.changed_sides + b.changed_sides)


def _zero(p, size, k):
    """A residual this small is rounding: the curve passes through the point."""
    return 4.0 * (p + 1) * EPS * size * (1.0 + float(np.sum(np.abs(k))))


def _start(design, target, k):
    """Positions of p rows nearest the curve at k whose design rows are independent: a vertex to start
    from; None if the rows have fewer than p independent ones."""
    m, p = design.shape
    distance = np.abs(design @ k - target)
    size, tried = min(m, 16 * p), np.zeros(m, dtype=bool)
    chosen, q = [], np.zeros((0, p))
    while True:
        candidates = np.argpartition(distance, size - 1)[:size] if size < m else np.arange(m)
        candidates = candidates[np.lexsort((candidates, distance[candidates]))]
        fresh = candidates[~tried[candidates]]
        fresh = fresh[np.sort(np.unique(design[fresh], axis=0, return_index=True)[1])]  # one row per x
        for i in fresh:
            v = design[i]
            w = v - q.T @ (q @ v)
            w = w - q.T @ (q @ w)  # twice is enough (Kahan and Parlett)
            length = float(np.linalg.norm(w))
            if length > 1e-9 * float(np.linalg.norm(v)):
                q = np.vstack([q, w / length])
                chosen.append(i)
                if len(chosen) == p:
                    return np.array(chosen)
        if size == m:
            return None
        tried[candidates] = True
        size = min(m, 8 * size)


def _vertex(design, target, pull, basis, rng, most=None):
    """The vertex that minimises Σ|V a − y| + pull·a over these rows, from the vertex interpolating the
    rows at ``basis``, by descent along edges (Barrodale and Roberts).

    At a vertex, u = V_B⁻ᵀ(pull + Σ sign(rᵢ)·vᵢ) over the rows off it: freeing interpolated row j
    in the direction d with V_B d = σ·e_j changes the loss at the rate σuⱼ + 1, so the vertex is optimal
    when every |uⱼ| ≤ 1.  Otherwise the row with the largest |uⱼ| is freed against the sign of uⱼ, and
    the step along d goes to the breakpoint (a row's residual reaching 0) past which the loss rises
    again: there the weights 2|vᵢ·d| of the rows crossed first outweigh |uⱼ| − 1, and that row takes
    j's place.  A row on the curve without being interpolated (degenerate, ties) keeps the side it was
    last on, as an infinitesimal residual, which is what makes a step of length 0 progress; after 2p of
    those in a row the row to free is drawn at random, which cannot cycle for ever.
    """
    m, p = design.shape
    basis = np.array(basis)
    most = 50 * p + 200 if most is None else most
    size = float(np.max(np.abs(design))) + float(np.max(np.abs(target)))
    sign, still, stale, pivots = np.ones(m), 0, None, 0
    while True:
        square = design[basis]
        if stale is None:  # afresh from the vertex: residuals, sides and their sum; rows on the curve keep theirs
            k = np.linalg.solve(square, target[basis])
            residual = design @ k - target
            sign = np.where(np.abs(residual) <= _zero(p, size, k), sign, np.sign(residual))
            sign[basis] = 0.0
            gradient = pull + design.T @ sign
            stale = 0
        u = np.linalg.solve(square.T, gradient)
        excess = np.abs(u) - 1.0
        if not excess.max() > OPTIMAL:
            if stale == 0:
                return _Vertex(k, basis, True)
            stale = None  # optimal as updated: confirmed afresh
            continue
        if pivots >= most:
            return _Vertex(np.linalg.solve(square, target[basis]), basis, False)
        if stale >= REFRESH:
            stale = None
            continue
        j = int(np.argmax(excess)) if still <= 2 * p else int(rng.choice(np.flatnonzero(excess > OPTIMAL)))
        direction = -math.copysign(1.0, u[j])
        edge = np.linalg.solve(square, direction * np.eye(p)[j])
        moving = design @ edge
        moving[np.abs(moving) <= _zero(p, size, edge)] = 0.0  # rows on another interpolated row's x stay
        moving[basis] = 0.0
        crossing = np.flatnonzero(sign * moving < 0)
        on = np.abs(residual[crossing]) <= _zero(p, size, k)
        at = np.where(on, 0.0, np.maximum(-residual[crossing] / moving[crossing], 0.0))  # ≥ 0 also if rounded
        reached = _first_reaching(at, 2.0 * np.abs(moving[crossing]), excess[j])
        if reached is None:
            return _Vertex(k, basis, False, bounded=False)
        place, passed = reached
        step, entering, crossed, leaving = at[place], crossing[place], crossing[passed], basis[j]
        moving[leaving] = direction  # V_B d = σ·e_j: the freed row leaves the curve on the side σ
        residual += step * moving
        k = k + step * edge
        gradient -= 2.0 * (sign[crossed] @ design[crossed])
        sign[crossed] *= -1.0
        gradient += direction * design[leaving] - sign[entering] * design[entering]
        sign[leaving], sign[entering], residual[entering] = direction, 0.0, 0.0
        basis[j] = entering
        still, stale, pivots = (still + 1 if step == 0.0 else 0), stale + 1, pivots + 1


def _first_reaching(at, weight, need):
    """(place, passed): the breakpoint at which the weights of the breakpoints crossed, in order of ``at``
    (ties by place), first reach ``need``, and the places crossed before it; None if they never do."""
    count = at.size
    if count == 0 or not float(np.sum(weight)) >= need:
        return None
    size = min(count, 64)
    while True:
        chosen = np.argpartition(at, size - 1)[:size] if size < count else np.arange(count)
        order = chosen[np.lexsort((chosen, at[chosen]))]
        total = np.cumsum(weight[order])
        if total[-1] >= need or size == count:
            place = min(int(np.searchsorted(total, need)), size - 1)
            return order[place], order[:place]
        size = min(count, 8 * size)
