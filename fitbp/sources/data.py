"""The data themselves, whoever read them: Points held in memory, the Columns they are gathered in, even samples.

Points are what a fit, a picture and the model file take: x and y arrays (and weights) with where they
came from, so that a message can name the source and a model file can find the data again.  The readers
build them (fitbp.sources.files), fitbp.fit builds them from arrays, and the local engine while the data
fit its memory budget; past it, the engine gives a stream instead (fitbp.engines.local.Streamed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


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

    @property
    def count(self):
        """How many points the data has (for a sample, how many it stands for)."""
        return int(self.sampled_from or self.x.size)

    def with_weight(self):
        """The points that carry weight: these, or without the rows of weight 0, which are in the data
        but not in the fit (so counting them would give the fit degrees of freedom it does not have)."""
        if self.weights is None or (self.weights > 0).all():
            return self
        kept = self.weights > 0
        return replace(self, x=self.x[kept], y=self.y[kept], weights=self.weights[kept], sampled_from=None)


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
