"""Reading x back from a measured y: where the fitted curve, and its band, equal y.

Calibration curves are fitted one way (signal against known concentration)
and used the other (concentration from a measured signal).  Every x in the
fitted range where the curve equals y is a real root of the Taylor
polynomial minus y in t = (x − c)/s, found from the companion matrix's
eigenvalues and polished by Newton's method on the curve itself.  The
interval of such an x is the classical inverse one: the x where y lies
within the curve's confidence band (or prediction interval), the stretch of
them around the root, its ends found by bisection on the band's edges.
Beyond the fitted range nothing vouches for the curve, so no x is sought
there.
"""

from __future__ import annotations

import numpy as np

GRID = 4001
"""Points of the fitted range on which the band's crossings are first bracketed."""


def crossings(polynomial, y, low, high):
    """The x in [low, high] with polynomial(x) = y, in increasing order (a double root once)."""
    a = np.array(polynomial.coefficients, dtype=np.float64)
    if polynomial.degree == 0 or not np.any(a[1:]):
        return []  # a flat curve: y is matched everywhere or nowhere, and neither is an x
    shifted = a.copy()
    shifted[0] -= y
    top = np.flatnonzero(shifted)[-1]
    roots = np.polynomial.polynomial.polyroots(shifted[:top + 1])  # top ≥ 1: the curve is not flat
    slack = 1e-7
    t_low, t_high = polynomial.scaled(low), polynomial.scaled(high)
    tolerance = TOLERANCE * max(abs(y), float(np.sum(np.abs(a))))  # |curve| ≤ Σ|a_i| on [-1, 1]
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
    derivative = np.polynomial.polynomial.polyder(np.array(polynomial.coefficients, dtype=np.float64))
    best, miss = float(x), abs(float(polynomial(x)) - y)
    for _ in range(steps):
        slope = np.polynomial.polynomial.polyval(polynomial.scaled(x), derivative) / polynomial.scale
        if slope == 0 or not np.isfinite(slope):
            break
        step = (float(polynomial(x)) - y) / slope
        if not np.isfinite(step) or step == 0:
            break
        x -= step
        if abs(float(polynomial(x)) - y) < miss:
            best, miss = float(x), abs(float(polynomial(x)) - y)
    return best


def interval(band, y, x, low, high):
    """(lower, upper): the stretch of [low, high] around the root x where y lies within ``band(x)``'s edges.

    An end that reaches the end of the fitted range is that end: the data say nothing beyond it.
    """
    grid = np.union1d(np.linspace(low, high, GRID), [x])
    inside = _within(band, y, grid)
    at = int(np.searchsorted(grid, x))
    if not inside[at]:  # rounding at the root itself: the band has width 0 nowhere, so it holds
        inside[at] = True
    left = at
    while left > 0 and inside[left - 1]:
        left -= 1
    right = at
    while right < grid.size - 1 and inside[right + 1]:
        right += 1
    lower = grid[0] if left == 0 else _edge(band, y, grid[left - 1], grid[left])
    upper = grid[-1] if right == grid.size - 1 else _edge(band, y, grid[right + 1], grid[right])
    return float(lower), float(upper)


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
