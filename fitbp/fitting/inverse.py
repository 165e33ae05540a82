"""Reading x back from a measured y: where the fitted curve, and its band, equal y.

Calibration curves are fitted one way (signal against known concentration)
and used the other (concentration from a measured signal).  Every x in the
fitted range where the curve equals y is a real root of the polynomial
minus y in t = (x − c)/s, found from the companion (for Chebyshev, the
colleague) matrix's eigenvalues and polished by Newton's method on the curve itself.  The
interval of such an x is the classical inverse one: the x where y lies
within the curve's confidence band (or prediction interval), the stretch of
them around the root, its ends found by bisection on the band's edges.  The
band may hold y where the curve does not reach it (a blank measured just
below a calibration line's intercept): such a stretch is an interval too,
with no x in it.  Beyond the fitted range nothing vouches for the curve, so
no x is sought there, and a stretch that runs into an end of the range is
cut there, not bounded.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

GRID = 4001
"""Points of the fitted range on which the band's crossings are first bracketed."""


def crossings(polynomial, y, low, high):
    """The x in [low, high] with polynomial(x) = y, in increasing order (a double root once); a curve that
    finds its own (a smoothing spline's pieces, fitbp.fitting.smoothing.Curve) is asked for them."""
    own = getattr(polynomial, "crossings", None)
    if own is not None:
        return own(y, low, high)
    a = np.array(polynomial.coefficients, dtype=np.float64)
    if polynomial.degree == 0 or not np.any(a[1:]):
        return []  # a flat curve: y is matched everywhere or nowhere, and neither is an x
    roots = polynomial.roots(y)
    slack = 1e-7
    t_low, t_high = polynomial.scaled(low), polynomial.scaled(high)
    tolerance = TOLERANCE * max(abs(y), float(np.sum(np.abs(a))))  # |curve| ≤ Σ|c_i| on [-1, 1], either basis
    found = []
    for root in roots:
        if abs(root.imag) > slack * (1 + abs(root.real)) or not t_low - slack <= root.real <= t_high + slack:
            continue
        x = _polished(polynomial, y, polynomial.center + polynomial.scale * root.real)
        edge = 1e-9 * (high - low)  # Newton may end an ulp beyond the end standard: that is the end
        x = min(max(x, low), high) if low - edge <= x <= high + edge else x
        if not (low <= x <= high and abs(float(polynomial(x)) - y) <= tolerance):
            continue  # a complex pair's real part near a peak the curve does not quite reach, or rounding's
        if not any(abs(x - seen) <= 1e-9 * max(1.0, abs(x)) for seen in found):
            found.append(x)
    return sorted(found)


TOLERANCE = 1e-12
"""How near the curve at a root must come to y, relative to the curve's size: rounding, not a miss."""


def _polished(polynomial, y, x, steps=8):
    """Newton's method on the curve in x, from the eigenvalue's x, keeping the best x it meets: near a
    peak, where the slope vanishes, a step can throw it far, and the eigenvalue's x was better."""
    best, miss = float(x), abs(float(polynomial(x)) - y)
    for _ in range(steps):
        slope = float(polynomial.slope(x))
        if slope == 0 or not np.isfinite(slope):
            break
        step = (float(polynomial(x)) - y) / slope
        if not np.isfinite(step) or step == 0:
            break
        x -= step
        if abs(float(polynomial(x)) - y) < miss:
            best, miss = float(x), abs(float(polynomial(x)) - y)
    return best


class Stretch(NamedTuple):
    """A stretch of the fitted range where the band holds y.  An end marked cut is the end of the fitted
    range, not a bound: the band still holds y there, and beyond it the data say nothing."""

    lower: float
    upper: float
    lower_cut: bool
    upper_cut: bool


def readings(band, y, roots, low, high):
    """(x, stretch) for each piece of the x in [low, high] whose ``band(x)`` holds y: one for each root x
    in the piece (several roots may share one), or (None, stretch) for a piece with none, where the
    curve misses y but its band holds it, as for a blank just below a calibration line's intercept."""
    pieces = stretches(band, y, roots, low, high)
    found = []
    for piece in pieces:
        inside = [x for x in roots if piece.lower <= x <= piece.upper]
        found.extend((x, piece) for x in inside or [None])
    return found


def stretches(band, y, roots, low, high):
    """The pieces of [low, high] where y lies within ``band(x)``'s edges, in order, each end found by
    bisection between the grid points that bracket it; the roots are on the grid, so their pieces are
    never missed however narrow."""
    grid = np.union1d(np.linspace(low, high, GRID), roots)
    inside = _within(band, y, grid)
    inside[np.searchsorted(grid, np.asarray(roots, dtype=np.float64))] = True  # rounding: the band has width 0 nowhere
    changes = np.flatnonzero(np.diff(np.concatenate(([False], inside, [False])).astype(np.int8)))
    last = grid.size - 1
    return [Stretch(float(grid[0] if start == 0 else _edge(band, y, grid[start - 1], grid[start])),
                    float(grid[-1] if end == last else _edge(band, y, grid[end + 1], grid[end])),
                    bool(start == 0), bool(end == last))
            for start, end in zip(changes[0::2], changes[1::2] - 1)]


def _within(band, y, x):
    lower, upper = band(np.asarray(x, dtype=np.float64))
    return (lower <= y) & (y <= upper)


def _edge(band, y, outside, inside, steps=60):
    """The x between ``outside`` and ``inside`` where y leaves the band, by bisection."""
    for _ in range(steps):
        middle = outside / 2 + inside / 2
        if middle in (outside, inside):
            break
        if _within(band, y, [middle])[0]:
            inside = middle
        else:
            outside = middle
    return inside
