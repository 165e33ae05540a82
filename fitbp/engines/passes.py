"""The passes over every point that a fit asks for, whoever holds the points: the residuals of a curve,
the least-squares optimum of every degree, the triangle of a stream.

A pass is ``data.reduce(task, join, *arguments)`` (fitbp.sources.data.Data): points held hand the task
their arrays as one block, a stream reads its blocks once more, a cluster runs the task on each
partition's blocks and joins the results up a tree.  So the engines say what a pass computes and the
data how their points are gone through, and no caller asks which data it has.  Each task cuts its
blocks into chunks of moments.CHUNK rows (moments.pieces), so a pass sums the same chunks in the same
order as it did before there was a protocol; tasks and joins are module functions, which dask sends to
its workers by name.
"""

from __future__ import annotations

from fitbp.engines import moments


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


def _part(blocks, degree):
    total = None
    for x, y, *roots in blocks:  # (x, y, √w) of weighted rows: their Part of the rows times √w
        if x.size:
            total = _parts_joined(total, moments.part_of(x, y, degree, *roots))
    return total


def _parts_joined(a, b):
    return b if a is None else a if b is None else moments.merge(a, b)
