"""The passes over every point that a fit asks for, whoever holds the points: the residuals of a curve,
the least-squares optimum of every degree, the triangle of a stream, and the passes over the design
rows that the robust losses take (``rows``), with the exact median of their residuals.

A pass is ``data.reduce(task, join, *arguments)`` (fitbp.sources.data.Data): points held hand the task
their arrays as one block, a stream reads its blocks once more, a cluster runs the task on each
partition's blocks and joins the results up a tree.  So the engines say what a pass computes and the
data how their points are gone through, and no caller asks which data it has.  Each task cuts its
blocks into chunks of moments.CHUNK rows (moments.pieces), so a pass sums the same chunks in the same
order as it did before there was a protocol; tasks and joins are module functions, which dask sends to
its workers by name.
"""

from __future__ import annotations

import math

import numpy as np

from fitbp.engines import moments

BRACKET = 4.0
"""How many standard errors of a sample's median (½/√m in rank, over m values) the first bracket of the
median of every point reaches either side of the sample's: a miss, which costs one more pass, is rarer
than one in ten thousand."""


def residuals(data, polynomial, exponent):
    """moments.Residuals of ``polynomial`` over every point of ``data``, y in units of 2**exponent."""
    return data.reduce(_residuals, moments.merge_residuals, polynomial, exponent)


def optima(data, center, scale, y_unit, degree):
    """moments.optimal_squares over every point of ``data``: the least-squares Σ r² of each degree up to
    ``degree``, from the Householder triangle of their Chebyshev basis."""
    return moments.optimal_from(data.reduce(_householder, _stacked, center, scale, y_unit, degree))


def part(data, degree):
    """The moments.Part of every point of ``data`` at ``degree``: each block's own, merged."""
    return data.reduce(_part, _parts_joined, degree)


def stacked_rows(data, columns, *arguments):
    """The triangle R of the rows ``columns(x, y, *arguments)`` of every point (each row times √w where the
    points are weighted), by QR a chunk at a time: the triangle of a basis that Chebyshev sums cannot give
    (a Fourier series's), and of the Jacobians of its period.  ``columns`` is a module function, which dask
    sends to its workers by name."""
    return data.reduce(_rows_stacked, _stacked_or_none, columns, *arguments)


def basis_triangle(data, center, scale, y_unit, degree, basis):
    """The moments.Triangle of [V y/y_unit] over every point, V ``basis``'s columns of t: one pass."""
    full = stacked_rows(data, _basis_rows, center, scale, y_unit, degree, basis)
    r = full[:-1, :-1]
    return moments.Triangle(r, full[:-1, -1], float(full[-1, -1] ** 2), int(data.count), moments.condition_of(r))


def summed(data, terms, *arguments):
    """Σ of ``terms(x, y, √w or None, *arguments)`` (an array) over every point's chunks: one pass."""
    return data.reduce(_summed, _added_or_none, terms, *arguments)


def chunks(blocks):
    """The (x, y) or (x, y, √w) chunks of moments.CHUNK rows of every block of ``blocks``."""
    for x, y, *roots in blocks:
        yield from moments.pieces(x, y, *roots)


def _residuals(blocks, polynomial, exponent):
    return moments.residuals_over(polynomial, chunks(blocks), exponent)


def _householder(blocks, center, scale, y_unit, degree):
    return moments.householder(chunks(blocks), center, scale, y_unit, degree, moments.chebyshev_matrix)


def _stacked(a, b):
    return moments.restacked([a, b], a.shape[1])


def _stacked_or_none(a, b):
    return b if a is None else a if b is None else _stacked(a, b)


def _rows_stacked(blocks, columns, *arguments):
    stack = None
    for x, y, *roots in chunks(blocks):
        block = columns(x, y, *arguments)
        if roots:
            block = block * roots[0][:, None]
        stack = stack or moments.Stack(block.shape[1])
        stack.add(block)
    return None if stack is None else stack.triangle()


def _basis_rows(x, y, center, scale, y_unit, degree, basis):
    return np.column_stack([basis.columns((x - center) / scale, degree), y / y_unit])


def _summed(blocks, terms, *arguments):
    total = None
    for x, y, *roots in chunks(blocks):
        value = terms(x, y, roots[0] if roots else None, *arguments)
        total = value if total is None else total + value
    return total


def _added_or_none(a, b):
    return b if a is None else a if b is None else a + b


def _part(blocks, degree):
    total = None
    for x, y, *roots in blocks:  # (x, y, √w) of weighted rows: their Part of the rows times √w
        if x.size:
            total = _parts_joined(total, moments.part_of(x, y, degree, *roots))
    return total


def _parts_joined(a, b):
    return b if a is None else a if b is None else moments.merge(a, b)


# ---------------------------------------------------------------- the design rows

def rows(data, problem, task, join, *arguments):
    """``task(chunks, *arguments)`` over every point as the rows of ``problem``'s design: (V, y) chunks of
    moments.CHUNK rows, V the problem's basis functions of t = (x − center)/scale and y in its y units
    (fitbp.fitting.trainer.Problem), joined by ``join`` where the points are in partitions.  From the
    problem's own design and target where it holds them (points held); else a pass over ``data`` whose
    blocks become such rows where they are read, on a dask worker for a cluster.  The robust losses take
    no weights (the trainer refuses them), so a block's √w never reaches here."""
    if problem.design is not None:
        design, target = problem.design, problem.target
        return task(((design[part], target[part]) for part in moments.spans(target.size)), *arguments)
    return data.reduce(_on_rows, join, problem.center, problem.scale, problem.y_unit, _degree(problem),
                       problem.basis, task, *arguments)


def sample_rows(data, problem):
    """(V, y) of the points a choice looks at (Data.sample): every row when held, else the even sample's."""
    if problem.design is not None:
        return problem.design, problem.target
    points = data.sample()
    return _design(points.x, points.y, problem.center, problem.scale, problem.y_unit, _degree(problem),
                   problem.basis)


def median_residual(data, problem, k):
    """The median of the residuals V k − y over every row, exactly numpy's (_median)."""
    return _median(data, problem, _residual, k)


def median_distance(data, problem, k, about=0.0):
    """The median of |V k − y − about| over every row, exactly numpy's (_median)."""
    return _median(data, problem, _distance, k, about)


def extent(data, problem, k):
    """max |V k − y| and max |y| over every row."""
    return rows(data, problem, _extent, _largest, k)


def residual_sd(data, problem, k):
    """The standard deviation of V k − y over every row, from Σr and Σr²: for residuals whose mean is
    near 0 (least squares'), where nothing cancels."""
    count, total, squares = rows(data, problem, _power_sums, added, k)
    mean = total / count
    return math.sqrt(max(squares / count - mean * mean, 0.0))


def added(a, b):
    """The join of two partitions' sums: tuples of numbers or arrays, added entry by entry."""
    return tuple(x + y for x, y in zip(a, b))


def concatenated(a, b):
    """The join of two partitions' rows: tuples of arrays, each one's after the other's, in their order."""
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b))


def _degree(problem):
    return len(problem.triangle.z) - 1


def _design(x, y, center, scale, y_unit, degree, basis):
    return basis.columns((x - center) / scale, degree), y / y_unit


def _on_rows(blocks, center, scale, y_unit, degree, basis, task, *arguments):
    return task((_design(x, y, center, scale, y_unit, degree, basis) for x, y, *_ in chunks(blocks)), *arguments)


def _median(data, problem, values, *arguments):
    """The median of ``values(V, y, *arguments)`` over every row, as np.median gives it (the mean of the
    middle two of an even count), without holding every value: the sample's rows bracket it, and a pass
    counts the values below the bracket and keeps those inside it, among which the middle ones are; a
    bracket that missed them is widened, four times as wide in rank, for another pass.  Where the sample
    is every row (points held, a stream of no more than it keeps), its median is the median."""
    seen = values(*sample_rows(data, problem), *arguments)
    if problem.design is not None or seen.size == data.count:
        return np.median(seen)
    margin = BRACKET * 0.5 / math.sqrt(seen.size)
    while True:
        low, high = _bracket(seen, margin)
        below, kept, above = rows(data, problem, _bracketed, _kept_joined, values, low, high, *arguments)
        count = below + kept.size + above
        middle = [(count - 1) // 2 - below, count // 2 - below]
        if middle[0] >= 0 and middle[1] < kept.size:
            kept = np.partition(kept, middle)
            return (kept[middle[0]] + kept[middle[1]]) / 2
        margin *= 4


def _bracket(seen, margin):
    """The values of ``seen`` at the ranks ½ ∓ margin of its own: −inf and inf past its ends."""
    last = seen.size - 1
    low, high = math.floor((0.5 - margin) * last), math.ceil((0.5 + margin) * last)
    picked = np.partition(seen, [max(low, 0), min(high, last)])
    return (picked[low] if low > 0 else -math.inf), (picked[high] if high < last else math.inf)


def _residual(design, target, k):
    return design @ k - target


def _distance(design, target, k, about):
    return np.abs(design @ k - target - about)


def _bracketed(chunks, values, low, high, *arguments):
    """How many values lie below [low, high], those inside it, and how many above."""
    below, kept, above = 0, [np.empty(0)], 0
    for design, target in chunks:
        found = values(design, target, *arguments)
        inside = (found >= low) & (found <= high)
        below += int(np.count_nonzero(found < low))
        above += int(np.count_nonzero(found > high))
        kept.append(found[inside])
    return below, np.concatenate(kept), above


def _kept_joined(a, b):
    return a[0] + b[0], np.concatenate([a[1], b[1]]), a[2] + b[2]


def _extent(chunks, k):
    most, top = 0.0, 0.0
    for design, target in chunks:
        most = max(most, float(np.max(np.abs(design @ k - target))))
        top = max(top, float(np.max(np.abs(target))))
    return most, top


def _largest(a, b):
    return max(a[0], b[0]), max(a[1], b[1])


def _power_sums(chunks, k):
    count, total, squares = 0, 0.0, 0.0
    for design, target in chunks:
        residual = design @ k - target
        count, total, squares = count + residual.size, total + float(residual.sum()), squares + residual @ residual
    return count, total, squares


