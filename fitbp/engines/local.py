"""The local engine: points in memory while they fit the budget, and a single pass of blocks beyond it.

Below the budget (``memory`` bytes of numbers, 16 a point) the points are held,
and the fit is as fast as it always was.  Beyond it, they are never all held:
the first pass reduces every block to its triangle (moments.Part, merged as it
goes), the count, the x range, the y scale and an even sample for pictures and
for choosing a degree; a later pass, when one is needed (a degree chosen on the
sample, a fit too ill-conditioned for the triangle to vouch for), reads the
files again.  Standard input cannot be read again, so its numbers are spooled
to an unnamed temporary file, which the system deletes however fitbp ends.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from fitbp.engines import first, passes
from fitbp.sources.files import TEXT_PER_POINT, Files, check_weights, weighted
from fitbp.sources.data import Column, Points

MEMORY = 256 << 20
"""The default budget: bytes of numbers held (16 a point)."""


def load(patterns_or_files, degree=None, memory=MEMORY, **reading):
    """Points in memory, or a Streamed reduced in one pass, whichever ``memory`` allows.

    ``degree`` is the degree whose triangle the first pass should gather
    (None: a later pass gathers the one chosen on the sample).
    """
    files = patterns_or_files if isinstance(patterns_or_files, Files) else Files(patterns_or_files, **reading)
    third = files.settings.get("third")
    most = max(1, memory // (24 if third else 16))
    blocks = files.blocks()
    if files.size() > most * TEXT_PER_POINT:
        return _stream(files, blocks, degree)
    held = None
    count = 0
    for block in blocks:
        if held is None:  # room for the rows the first file's size promises, within the budget
            room = min(files.readers[0].rows_hint if len(files.paths) == 1 else 0, most + 1)
            held = [Column(room) for _ in block]
        for column, values in zip(held, block):
            column.extend(values)
        count += block[0].size
        if count > most:  # a pipe or packed file bigger than it looked: hand what is held on
            return _stream(files, chain([tuple(c.values() for c in held)], blocks), degree)
    points = Points(held[0].values(), held[1].values(), files.source, *files.labels[:2], files.skipped,
                    files.first_skip, None, options_of(files.settings), x_axis=files.x_axis)
    return _placed(weighted(points, held[2].values() if third else None, third, files.labels), files)


def options_of(settings):
    """The reading options a model file keeps, to read the points again the same way."""
    settings = dict(settings)
    settings.pop("stdin", None)
    third = settings.pop("third", None)
    return {**settings, **({third[1]: third[0]} if third else {})}


def _placed(points, files):
    """Where the points came from, so that a model file can find them again."""
    reader = files.readers[0]
    points.path = reader.path if len(files.paths) == 1 else None
    points.sources = files.sources
    return points


@dataclass
class Streamed:
    """Points read in blocks and not held: what the first pass gathered, and how to read them again.

    ``x`` and ``y`` are an even sample (at most first.KEPT points, for pictures, the
    model file and the degree search), never the data: the fit comes from the
    triangles of all of it.
    """

    x: np.ndarray
    y: np.ndarray
    source: str
    x_name: str
    y_name: str
    skipped: int
    first_skip: str | None
    path: str | None
    options: dict
    count: int
    low: float
    high: float
    y_exponent: int
    distinct: int
    again: object = field(repr=False)
    """A function that returns the (x, y) blocks of the whole data once more."""
    parts: dict = field(default_factory=dict, repr=False)
    sources: list | None = None
    spooled: bool = False
    passes: int = 1
    x_axis: object = None
    """A dates.Axis when x is a column of dates."""
    rows: int = 0
    """Every row read: ``count`` and the rows of weight 0, which are in the data but not in the fit."""
    weighing: object = None
    """The first pass's fitbp.engines.first.Weighing: how a pass reads the rows' weights; None without."""
    weights: np.ndarray | None = None
    """The even sample's weights (Points.weights); None without."""
    weighting: str | None = None
    weight_name: str | None = None
    weight_mean: float | None = None
    """The mean weight of every row that carries one, in the weights' units."""

    HELD = ", more than --memory lets fitbp hold"
    """Of the points, when only ``x`` and ``y`` are on this machine: why."""
    held = False
    """Only the even sample is in memory (fitbp.sources.data.Data.held): a pass reads the data again."""

    @property
    def sampled_from(self):
        return self.count

    @property
    def x_range(self):
        return self.low, self.high

    def part(self, degree):
        """The Part of all the points at ``degree``: from the first pass, or from one more."""
        if degree not in self.parts:
            self.parts[degree] = passes.part(self, degree)
        return self.parts[degree]

    def reduce(self, task, join, *arguments):
        """One more pass (fitbp.sources.data.Data.reduce): the blocks read again, as one partition."""
        self.passes += 1
        return task(self.weighed(self.again()), *arguments)

    def weighed(self, blocks):
        """(x, y) blocks as they are read, or (x, y, √w) of the rows that carry weight (Data.reduce)."""
        return blocks if self.weighing is None else self.weighing.rows(blocks)

    def settle(self, found, labels):
        """Take what the first pass gathered (fitbp.engines.first.First), its weights checked as held
        points' are (``labels``: the columns', the weights' third)."""
        if found.weighting:
            check_weights(self.source, (None, found.weighting), labels, None, found.lost,
                          found.bottom if found.count else None, found.top)
        sample = found.sample() if found.count else (np.empty(0), np.empty(0), np.empty(0))
        self.x, self.y = sample[0], sample[1]
        self.count, self.rows, self.low, self.high = found.count, found.rows, found.low, found.high
        self.y_exponent, self.distinct, self.weighing = found.exponent or 0, len(found.distinct), found.weighing()
        if found.weighting:
            self.weights, self.weighting, self.weight_name = sample[2], found.weighting, labels[2]
            self.weight_mean = found.weight_mean
        if found.part is not None:
            self.parts[found.degree] = found.part

    def with_weight(self):
        """The points in the fit (fitbp.sources.data.Points.with_weight): the first pass counted only
        the rows with weight, and kept them only in the sample."""
        return self

    def sample(self):
        """The even sample, as Points: what the degree is chosen on."""
        return Points(self.x, self.y, self.source, weights=self.weights, weighting=self.weighting,
                      weight_name=self.weight_name)

    def engine(self):
        """What the JSON and the model file say of how the points were read."""
        return {"name": "local", "streamed": True, "passes": self.passes, **({"spooled": True} if self.spooled else {})}


def _stream(files, blocks, degree):
    """The first pass over ``blocks`` (fitbp.engines.first): the Streamed around what it gathered."""
    third = files.settings.get("third")
    spool = tempfile.TemporaryFile() if files.paths == ["-"] else None
    found = first.First(degree, first.KEPT, third and third[1])
    for block in blocks:
        if spool is not None and block[0].size:
            np.column_stack(block).tofile(spool)
        found.add(block)
    again = (lambda: _spooled(spool, 3 if third else 2)) if spool is not None else files.blocks
    streamed = Streamed(np.empty(0), np.empty(0), files.source, *files.labels[:2], files.skipped, files.first_skip,
                        None, options_of(files.settings), 0, 0.0, 0.0, 0, 0, again=again, sources=files.sources,
                        spooled=spool is not None, x_axis=files.x_axis)
    streamed.settle(found, files.labels)
    if spool is None:
        _placed(streamed, files)
    return streamed


def _spooled(spool, width, rows=1 << 20):
    """The spooled numbers, ``width`` a row, a block of ``rows`` rows at a time."""
    spool.seek(0)
    while (values := np.fromfile(spool, dtype=np.float64, count=width * rows)).size:
        values = values.reshape(-1, width)
        yield tuple(values[:, i].copy() for i in range(width))
