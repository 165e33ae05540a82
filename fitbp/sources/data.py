"""The data themselves, whoever read them: Points held in memory, the Data protocol that held and
streamed points share, the Columns points are gathered in, even samples.

Points are what a fit, a picture and the model file take: x and y arrays (and weights) with where they
came from, so that a message can name the source and a model file can find the data again.  The readers
build them (fitbp.sources.files), fitbp.fit builds them from arrays, and the local engine while the data
fit its memory budget; past it, the engine gives a stream instead (fitbp.engines.local.Streamed, and
fitbp.engines.cluster.Distributed on a dask cluster).

A fit asks the same of all of them (Data): how many points, their x range, a pass over every point,
the points a degree is chosen on, how they were read.  What a pass computes is the engines' business
(fitbp.engines.passes, a layer above this one, so Points cannot build a triangle themselves): the data
say only how their points are gone through (arrays at hand, files read again, partitions on workers).
The one thing they differ in, whether every point is here in memory, is a capability (``held``), asked
where only every point will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

import numpy as np


class Data(Protocol):
    """Points held or streamed, as a fit, the degree selection and the model file ask for them."""

    source: str
    x: np.ndarray
    """The x of every point when held; else of an even sample of them (for pictures, the model file and
    choosing a degree)."""
    y: np.ndarray
    held: bool
    """Whether every point is in this process's memory as x and y: what --fix, statistics from the points
    themselves and the robust losses' epochs of gd, momentum and adam need."""

    @property
    def count(self) -> int:
        """How many points the data has (a stream: those that carry weight)."""

    @property
    def rows(self) -> int:
        """Every row read, the rows of weight 0 too: in the data, not in the fit."""

    @property
    def x_range(self) -> tuple[float, float]:
        """The smallest and largest x of every point."""

    def sample(self) -> Points:
        """The points that stand for all of them where a choice looks at the points themselves (the
        degree): all of them when held, else the even sample in x and y."""

    def reduce(self, task: Callable[..., Any], join: Callable[[Any, Any], Any], *arguments: Any) -> Any:
        """One pass over every point: ``task(blocks, *arguments)``, ``blocks`` an iterable of (x, y)
        arrays, or (x, y, √w) for weighted points (roots_of); where the points are gone through in
        partitions (a cluster's), each partition's result, joined pairwise by ``join(a, b)`` in any
        tree.  fitbp.engines.passes holds the tasks a fit asks for."""

    def engine(self) -> dict:
        """How the points were read, for the JSON and the model file."""


class Stream(Data, Protocol):
    """What data that are not held (``held`` False) give a fit in place of every point: what their first
    pass gathered, and the triangle of all of them (fitbp.engines.local.Streamed)."""

    low: float
    high: float
    """x_range, as the first pass found it."""
    y_exponent: int
    """e with 2**e at or just below max |y| of every point."""
    distinct: int
    """Distinct x among every point, counted as far as fitbp.engines.local.MOST_DISTINCT."""
    passes: int
    HELD: str
    """Of the points, when only the even sample is on this machine: why."""

    def part(self, degree: int) -> Any:
        """The moments.Part of every point at ``degree``: from the first pass, or from one more."""


@dataclass
class Points:
    """x and y values with where they came from, for messages and the model file."""

    x: np.ndarray
    y: np.ndarray
    source: str = "<array>"
    x_name: str = "x"
    y_name: str = "y"
    skipped: int = 0
    first_skip: str | None = None
    path: str | None = None
    """The absolute path read, so that the data can be found again from elsewhere; None for stdin."""
    options: dict = field(default_factory=dict)
    """The reading options that gave these points, to read them again the same way."""
    sampled_from: int | None = None
    """When these are an even sample of more points (kept in a model file), how many there were."""
    sources: list | None = None
    """The absolute paths of several files read as one data set (``source`` then says how many)."""
    weights: np.ndarray | None = None
    """w = 1/σ² of each point, from a --sigma or --weights column; None: every point counts alike.  A
    weight of 0 (σ = inf) keeps its row in the data and out of the fit, as R's lm(weights=) reads it."""
    weighting: str | None = None
    """Where the weights came from: "sigma" (a column of σ) or "weights" (a column of w); None without."""
    weight_name: str | None = None
    """The label of that column."""
    x_axis: object = None
    """A dates.Axis when x was a column of dates (x then holds days or seconds since its origin)."""

    held = True
    """Every point is in memory (Data.held)."""

    @property
    def count(self):
        """How many points the data has (for a sample, how many it stands for)."""
        return int(self.sampled_from or self.x.size)

    @property
    def rows(self):
        """Every row, in the fit or not (Data.rows)."""
        return self.count

    @property
    def x_range(self):
        return float(np.min(self.x)), float(np.max(self.x))

    def sample(self):
        return self

    def reduce(self, task, join, *arguments):
        """The points as one block (Data.reduce): nothing to join."""
        roots = roots_of(self.weights)
        return task([(self.x, self.y) if roots is None else (self.x, self.y, roots)], *arguments)

    def engine(self):
        return {"name": "local"}

    def with_weight(self):
        """The points that carry weight: these, or without the rows of weight 0, which are in the data
        but not in the fit (so counting them would give the fit degrees of freedom it does not have)."""
        if self.weights is None or (self.weights > 0).all():
            return self
        kept = self.weights > 0
        return replace(self, x=self.x[kept], y=self.y[kept], weights=self.weights[kept], sampled_from=None)


def roots_of(weights):
    """√w of each point, the weights scaled to mean 1 (so that the weighted MSE is a mean); None without."""
    if weights is None:
        return None
    scaled, mean = below_one(weights)
    return np.sqrt(scaled / mean)


def below_one(weights):
    """The weights divided by the largest, and their mean: no overflow in the sum, whatever the σ."""
    scaled = weights / np.max(weights)
    return scaled, float(np.mean(scaled))


def even_sample(count, most):
    """Indices of at most ``most`` of ``count`` items, spread evenly, in order."""
    if count <= most:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, most).round().astype(np.int64))


class Column:
    """A float64 array filled block by block.  Room is reserved for the rows the
    file's size promises; pages never written to cost no memory."""

    def __init__(self, capacity):
        self.array, self.size = np.empty(max(capacity, 1024)), 0

    def extend(self, values):
        end = self.size + len(values)
        if end > len(self.array):
            grown = np.empty(max(end, 2 * len(self.array)))
            grown[:self.size] = self.array[:self.size]
            self.array = grown
        self.array[self.size:end] = values
        self.size = end

    def values(self):
        return self.array[:self.size]
