"""Newton's method for the robust losses: the exact optimum, each step one pass over the design rows a
chunk at a time, its loss and gradient from the backprop graph.

huber is piecewise quadratic.  Its Hessian at a is (1/n) Vᵀ diag(1{|r| < δ}) V, the triangle of the rows
inside δ (semismooth Newton; IRLS's weights min(1, δ/|r|) only approximate it).  A step lands on the
optimum of the quadratic piece it starts in; when the next pass finds the same rows inside δ and a step
below rounding, that is the Huber optimum, exactly.  A step that raises the loss (it left its piece) is
shortened to where the loss along it is least, found exactly, and rows inside δ too few to fix every
coefficient borrow IRLS's curvature.  The curvature comes from the rows' products VᵀWV, as least
squares' triangle comes from sums, unless the data's triangle is too ill-conditioned for them; then
from Householder QR of the rows.

mae is a linear programme: an optimum interpolates p of the points (a vertex), and the vertex is
optimal when the sum of the other rows' signs, Σ sign(rᵢ)·vᵢ, is V_Bᵀλ for multipliers λ of the p
interpolated rows with |λⱼ| ≤ 1.  ``_vertex`` walks from vertex to vertex (Barrodale and Roberts' descent
along edges: free one interpolated row, move along the edge to the weighted median of the breakpoints,
where the loss stops falling) until that holds.  On more than 2·SAMPLE rows the vertex is found first on
a random SAMPLE of them, then on a band of the rows nearest that curve with every other row's sign taken
as it is there (the linear pull that the graph's gradient gives, less the band's share); a pass at the
result checks that no row outside the band changed sides.  Then the band's optimum is the whole data's:
|a| ≥ s·a for s = ±1, so the loss is everywhere at least the band's problem, and equal to it there.  A
band too narrow is widened and solved again.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from fitbp.backprop import optimizers
from fitbp.engines import moments
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
FITTED = ("huber", "mae")
"""The losses beyond least squares that newton fits."""


def newton(problem, k, loss, delta=None, tol=0.0, floor=0.0, refine=True, seed=0):
    """The exact Newton method of a robust ``loss`` from k: a generator like fitbp.backprop.optimizers',
    whose value is (converged, the final k)."""
    if loss == "huber":
        return huber(problem, k, delta, tol, floor, refine)
    return least_absolute(problem, k, seed)


# ---------------------------------------------------------------- huber

def huber(problem, k, delta, tol, floor=0.0, refine=True):
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
        found = _huber_pass(problem, k, delta, products)
        if found is None:  # products too ill-conditioned for this step's rows: QR, from now on
            products = False
            found = _huber_pass(problem, k, delta, products)
        yield k, found.loss
        if best is not None and found.loss > best.loss + tol * best.loss + floor:
            step = _line_minimum(problem, best.k, step, delta) * step
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


def _line_minimum(problem, k, step, delta):  # over the rows held; a stream would bisect by passes
    """The t in [0, 1] where the Huber loss along k − t·step is least: its slope, −Σ eᵢψ(rᵢ − t·eᵢ)/n
    with e = V·step and ψ clipping at ±δ, is piecewise linear and rises with t, so the root lies in the
    span between two breakpoints (|rᵢ − t·eᵢ| = δ) that bisection over them finds, where it is linear."""
    residual = problem.design @ k - problem.target
    moving = problem.design @ step
    moving = np.where(moving == 0.0, np.nan, moving)
    with np.errstate(invalid="ignore"):
        breaks = np.concatenate([(residual - delta) / moving, (residual + delta) / moving])
    ends = np.unique(np.concatenate([[0.0, 1.0], breaks[(breaks > 0) & (breaks < 1)]]))
    moving = np.nan_to_num(moving)

    def falling(t):  # minus the slope, times n: positive while the loss still falls
        return float(moving @ np.clip(residual - t * moving, -delta, delta))

    low, high = 0, ends.size - 1  # falling(ends[low]) > 0 ≥ falling(ends[high]), the step having overshot
    if falling(ends[high]) > 0:
        return 1.0
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if falling(ends[middle]) > 0 else (low, middle)
    a, b = falling(ends[low]), falling(ends[high])
    return float(ends[low] + (ends[high] - ends[low]) * a / (a - b))


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


def _huber_pass(problem, k, delta, products):
    """One pass at k: the loss and gradient from the graph, chunk by chunk, and the triangles of the rows
    inside δ and of those with the others weighted by δ/|r| (IRLS's), from the rows' ``products``
    (moments.Gram; None where those are too ill-conditioned) or by QR (moments.Stack)."""
    design, target = problem.design, problem.target
    n, p = design.shape
    loss, gradient = 0.0, np.zeros(p)
    triangles = moments.Gram if products else moments.Stack
    inside, outside, digest = triangles(p), triangles(p), hashlib.blake2b()
    for part in moments.spans(n):
        rows, y = design[part], target[part]
        value, slope = model.loss_and_gradient(rows, y, k, "huber", delta)
        size = part.stop - part.start
        loss, gradient = loss + value * size, gradient + slope * size
        distance = np.abs(rows @ k - y)
        near = distance < delta  # where the graph's min(|r|, δ) passes the gradient: curvature 1
        digest.update(np.packbits(near).tobytes())
        inside.add(rows[near])
        far = ~near
        outside.add(rows[far], delta / distance[far])
    inside, weighted = inside.triangle(), inside.joined(outside)
    if weighted is None:
        return None
    reweighted = optimizers.preconditioner(weighted, 2 * n)  # huber's ρ'' is 1, mse's 2
    # rows inside δ too few to fix a: a diagonal entry of their R lost to rounding beside IRLS's
    exact = inside is not None and bool(np.all(np.abs(np.diag(inside)) > 1e-10 * np.abs(np.diag(weighted))))
    return _HuberPass(k, loss / n, gradient / n, digest.digest(),
                      optimizers.preconditioner(inside, 2 * n) if exact else reweighted, reweighted)


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


def least_absolute(problem, k, seed=0):
    """The exact least-absolute-deviations fit from the least-squares k; returns (converged, the final k).

    Converged when the last vertex is certified optimal for its band and no row outside the band
    changed sides (module docstring): the optimum of the linear programme.  Each pass is one backprop
    pass of the graph over every row, a chunk at a time; the vertices are found on rows held apart
    (the sample, the band), a pivot at a time.
    """
    design, target = problem.design, problem.target
    n, p = design.shape
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, SAMPLE, replace=False)) if n > 2 * SAMPLE else np.arange(n)
    start = _start(design[rows], target[rows], k)
    if start is None:  # the sample missed the x a vertex needs: all the rows have them
        rows = np.arange(n)
        start = _start(design, target, k)
    found = _vertex(design[rows], target[rows], np.zeros(p), start, rng)
    k, basis = found.k, rows[found.basis]
    share = 1.0 if rows.size == n else min(1.0, BAND * math.sqrt(p / rows.size))
    band = _Band(k, math.inf) if rows.size == n else None
    certified = found.optimal and rows.size == n
    size = float(np.max(np.abs(design))) + float(np.max(np.abs(target)))
    while True:
        width = math.inf if share >= 1 else max(
            float(np.quantile(np.abs(design[rows] @ k - target[rows]), share)),
            2 * float(np.max(np.abs(design[basis] @ k - target[basis]))), _zero(p, size, k))
        swept = _mae_pass(problem, k, width, band, _zero(p, size, k))
        yield k, swept.loss
        if certified and not swept.changed_sides:
            return True, k
        within = swept.band  # sorted, and holding the basis, whose residuals are within the width
        found = _vertex(design[within], target[within], swept.pull, np.searchsorted(within, basis), rng)
        share = min(1.0, 2 * share)
        if not found.bounded:  # the band cannot hold the pull of the rows outside it: a wider one, from here
            band, certified = None, False
            continue
        band = _Band(k, width)
        k, basis, certified = found.k, within[found.basis], found.optimal


@dataclass
class _MaePass:
    loss: float
    pull: np.ndarray
    """Σ sign(rᵢ)·vᵢ over the rows outside the band: the gradient of their share of the loss, times n."""
    band: np.ndarray
    changed_sides: int
    """Rows outside the last band whose residual has the other sign than it had there."""


def _mae_pass(problem, k, width, band, zero):
    """One pass at k: the loss and gradient from the graph, chunk by chunk; the rows within ``width`` of
    the curve and the pull of the others; and how many rows outside ``band`` changed sides."""
    design, target = problem.design, problem.target
    n, p = design.shape
    loss, pull, near, changed = 0.0, np.zeros(p), [], 0
    for part in moments.spans(n):
        rows, y = design[part], target[part]
        value, slope = model.loss_and_gradient(rows, y, k, "mae")
        size = part.stop - part.start
        residual = rows @ k - y
        close = np.flatnonzero(np.abs(residual) <= width)
        loss += value * size
        pull += slope * size - rows[close].T @ np.sign(residual[close])  # the graph's gradient, less the band's
        near.append(close + part.start)
        if band is not None and band.width < math.inf:
            before = rows @ band.k - y
            outside = np.abs(before) > band.width
            changed += int(np.count_nonzero(outside & (np.sign(before) * residual < -zero)))
    return _MaePass(loss / n, pull, np.concatenate(near), changed)


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
