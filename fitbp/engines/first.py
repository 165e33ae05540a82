"""The first pass over data too large to hold: what it gathers, the same on this machine and on a cluster.

Before a stream can be fitted the fit needs its size, its x range (the scaling of t), its y scale (the
unit of y), how many distinct x it has (the highest degree it can carry), an even sample (pictures, the
model file, the degree search) and, when the degree is known, the triangle of every point.  A local
stream gathers them into one First as it reads its blocks; each dask partition into its own, which join
pairwise up a tree (``joined``: associative, so any tree gives the same counts, range and triangle).

Weighted rows (a --sigma or --weights column) are gathered as the held points' weights would be: a row of
weight 0 is in the data but not in the fit (R's lm), so the range, scale, distinct x and sample are of
the rows with weight; the largest and smallest weight and their sum give the later passes the weights
scaled to mean 1 (Weighing), and the same refusals as held points (a σ whose 1/σ² leaves float64,
every weight 0, weights spanning more than float64 can weigh together).  The triangle of weighted rows
waits for a pass that knows that mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fitbp.engines import moments
from fitbp.sources.data import even_sample
from fitbp.sources.files import lost_weight, weights_of

KEPT = 100_000
"""Points kept as an even sample of a stream, for pictures, the model file and choosing a degree."""
MOST_DISTINCT = 62
"""Distinct x counted as far as this: past every degree fitbp fits."""


@dataclass(frozen=True)
class Weighing:
    """How a later pass turns a row's σ or weight into √w of the weights scaled to mean 1, as held points'
    are (fitbp.sources.data.roots_of): w / top, over the mean of that, ``mean``."""

    kind: str
    """"sigma" (the column holds σ) or "weights" (it holds w)."""
    top: float
    mean: float

    def rows(self, blocks):
        """(x, y, √w) of the rows of (x, y, σ or w) ``blocks`` that carry weight."""
        for x, y, third in blocks:
            x, y, w = carried(x, y, weights_of(third, self.kind))
            yield x, y, np.sqrt(w / self.top / self.mean)


@dataclass
class First:
    """What the first pass gathers of some rows: ``add`` a block at a time, ``joined`` with another's."""

    degree: int | None
    """The degree whose triangle to gather (None: a later pass gathers the one chosen)."""
    most: int
    """Rows this one keeps of its even sample."""
    weighting: str | None = None
    """"sigma" or "weights" when blocks carry a third column; None for (x, y) blocks."""
    rows: int = 0
    """Every row read, with weight or not."""
    count: int = 0
    """Rows that carry weight: all of them without a weighting."""
    low: float = math.inf
    high: float = -math.inf
    exponent: int | None = None
    distinct: frozenset = frozenset()
    samples: list = field(default_factory=list)
    """(rows, arrays) of each piece's even sample, arrays (x, y) or (x, y, w), for ``sample``."""
    part: object = None
    skipped: int = 0
    first_skip: str | None = None
    top: float = 0.0
    """The largest weight."""
    bottom: float = math.inf
    """The smallest weight above 0."""
    total: float = 0.0
    """Σ w·2**-scale: the weights' sum, kept in range by a power of two."""
    scale: int = 0
    lost: float | None = None
    """A σ or weight whose w left float64 (inf, or 0 from σ ≠ 0 beyond 1e154), for the refusal."""
    _sampler: object = field(default=None, repr=False)

    def add(self, arrays, skipped=0, problem=None):
        """Gather a block: (x, y) arrays, or (x, y, σ or w); the rows a reader dropped, the first one's problem."""
        self.skipped += skipped
        self.first_skip = self.first_skip or problem
        self.rows += arrays[0].size
        if self.weighting:
            arrays = self._weighed(*arrays)
        x, y = arrays[0], arrays[1]
        if not x.size:
            return self
        self.low, self.high = min(self.low, float(x.min())), max(self.high, float(x.max()))
        found = moments.unit_exponent(y)
        self.exponent = found if self.exponent is None else max(self.exponent, found)
        if len(self.distinct) < MOST_DISTINCT:
            self.distinct = self.distinct | frozenset(np.unique(x)[:MOST_DISTINCT].tolist())
        self._sampler = self._sampler or _EvenSample(self.most)
        self._sampler.add(self.count, arrays)
        if self.degree is not None and not self.weighting:
            found = moments.part_of(x, y, self.degree)
            self.part = found if self.part is None else moments.merge(self.part, found)
        self.count += x.size
        return self

    def _weighed(self, x, y, third):
        w = weights_of(third, self.weighting)
        if self.lost is None:
            self.lost = lost_weight(third, w)
        x, y, w = carried(x, y, w)
        if w.size and self.lost is None:
            self.top, self.bottom = max(self.top, float(w.max())), min(self.bottom, float(w.min()))
            scale = max(self.scale, 2 * math.ceil(math.frexp(float(w.max()))[1] / 2))
            self.total = math.ldexp(self.total, self.scale - scale) + float(np.ldexp(w, -scale).sum())
            self.scale = scale
        return x, y, w

    def joined(self, other):
        """The First of both sets of rows (a tree's join: the sample, part and weights merged)."""
        a, b = self._closed(), other._closed()
        scale = max(a.scale, b.scale)
        part = b.part if a.part is None else a.part if b.part is None else moments.merge(a.part, b.part)
        distinct = a.distinct | b.distinct
        return First(a.degree, a.most, a.weighting, a.rows + b.rows, a.count + b.count, min(a.low, b.low),
                     max(a.high, b.high), _larger(a.exponent, b.exponent),
                     distinct if len(distinct) <= MOST_DISTINCT else frozenset(sorted(distinct)[:MOST_DISTINCT]),
                     a.samples + b.samples, part, a.skipped + b.skipped, a.first_skip or b.first_skip,
                     max(a.top, b.top), min(a.bottom, b.bottom),
                     math.ldexp(a.total, a.scale - scale) + math.ldexp(b.total, b.scale - scale), scale,
                     a.lost if a.lost is not None else b.lost)

    def _closed(self):
        """This First with its even sample among ``samples``: what is sent to be joined."""
        if self._sampler is not None:
            self.samples, self._sampler = self.samples + [(self.count - sum(r for r, _ in self.samples),
                                                           self._sampler.values())], None
        return self

    def sample(self):
        """An even sample of all the rows, from each piece's in proportion to its rows: (x, y) or (x, y, w)."""
        self._closed()
        chosen = []
        for rows, arrays in self.samples:
            keep = even_sample(arrays[0].size, max(1, round(KEPT * rows / self.count)))
            chosen.append(tuple(a[keep] for a in arrays))
        return tuple(np.concatenate(c) for c in zip(*chosen))

    def weighing(self):
        """The Weighing of the later passes; None without weights."""
        if not self.weighting:
            return None
        return Weighing(self.weighting, self.top, math.ldexp(self.total, self.scale) / self.top / self.count)

    @property
    def weight_mean(self):
        """The mean weight of the rows that carry it, in the weights' own units (statistics' χ²)."""
        return math.ldexp(self.total / self.count, self.scale) if self.count else None


def carried(x, y, w):
    """(x, y, w) of the rows that carry weight: a weight of 0 keeps its row out of the fit."""
    kept = w > 0
    return (x, y, w) if kept.all() else (x[kept], y[kept], w[kept])


def _larger(a, b):
    return b if a is None else a if b is None else max(a, b)


class _EvenSample:
    """Every step-th row of a stream, the step doubling whenever more than ``most`` are kept: an even
    sample of a stream of unknown length, in one pass and bounded memory."""

    def __init__(self, most):
        self.most, self.step = most, 1
        self.index, self.arrays = [], []

    def add(self, first, arrays):
        offset = (-first) % self.step
        self.index.append(np.arange(first + offset, first + arrays[0].size, self.step))
        self.arrays.append(tuple(a[offset::self.step].copy() for a in arrays))
        if sum(i.size for i in self.index) > self.most:
            index = np.concatenate(self.index)
            arrays = tuple(np.concatenate(c) for c in zip(*self.arrays))
            while index.size > self.most:
                self.step *= 2
                keep = index % self.step == 0
                index, arrays = index[keep], tuple(a[keep] for a in arrays)
            self.index, self.arrays = [index], [arrays]

    def values(self):
        return tuple(np.concatenate(c) for c in zip(*self.arrays))
