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

import math
import tempfile
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from fitbp.engines import moments, passes
from fitbp.errors import FitbpError, option
from fitbp.sources.files import TEXT_PER_POINT, Files, weighted
from fitbp.sources.data import Column, Points

MEMORY = 256 << 20
"""The default budget: bytes of numbers held (16 a point)."""
KEPT = 100_000
"""Points kept as an even sample of a stream, for pictures, the model file and choosing a degree."""
MOST_DISTINCT = 62
"""Distinct x counted as far as this: past every degree fitbp fits."""


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
                    files.first_skip, None, _options(files), x_axis=files.x_axis)
    return _placed(weighted(points, held[2].values() if third else None, third, files.labels), files)


def _options(files):
    settings = dict(files.settings)
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

    ``x`` and ``y`` are an even sample (at most KEPT points, for pictures, the
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

    def sample(self):
        """The even sample, as Points: what the degree is chosen on."""
        return Points(self.x, self.y, self.source)

    def part(self, degree):
        """The Part of all the points at ``degree``: from the first pass, or from one more."""
        if degree not in self.parts:
            self.parts[degree] = passes.part(self, degree)
        return self.parts[degree]

    def reduce(self, task, join, *arguments):
        """One more pass (fitbp.sources.data.Data.reduce): the blocks read again, as one partition."""
        self.passes += 1
        return task(self.again(), *arguments)

    def engine(self):
        """What the JSON and the model file say of how the points were read."""
        return {"name": "local", "streamed": True, "passes": self.passes, **({"spooled": True} if self.spooled else {})}


def _stream(files, blocks, degree):
    """The first pass over ``blocks``: their Part at ``degree`` (if given) and the Streamed around it."""
    if files.settings.get("third"):
        column = files.settings["third"][1]
        raise FitbpError(f"{files.source}: {option(column)} needs the points in memory, for now, and they are "
                         f"more than {option('memory')} holds: pass a larger {option('memory')}")
    spool = tempfile.TemporaryFile() if files.paths == ["-"] else None
    count, low, high, exponent, seen = 0, math.inf, -math.inf, None, set()
    sample, part = _EvenSample(KEPT), None
    for bx, by in blocks:
        if not bx.size:
            continue
        if spool is not None:
            np.column_stack([bx, by]).tofile(spool)
        low, high = min(low, float(bx.min())), max(high, float(bx.max()))
        block_exponent = moments.unit_exponent(by)
        exponent = block_exponent if exponent is None else max(exponent, block_exponent)
        if len(seen) < MOST_DISTINCT:
            seen.update(np.unique(bx)[:MOST_DISTINCT].tolist())
        sample.add(count, bx, by)
        if degree is not None:
            found = moments.part_of(bx, by, degree)
            part = found if part is None else moments.merge(part, found)
        count += bx.size
    sx, sy = sample.values()
    streamed = Streamed(sx, sy, files.source, *files.labels, files.skipped, files.first_skip, None,
                        _options(files), count, low, high, exponent, min(len(seen), MOST_DISTINCT),
                        again=(lambda: _spooled(spool)) if spool is not None else files.blocks,
                        sources=files.sources, spooled=spool is not None)
    streamed.x_axis = files.x_axis
    if part is not None:
        streamed.parts[degree] = part
    if spool is None:
        _placed(streamed, files)
    return streamed


def _spooled(spool, rows=1 << 20):
    """The spooled numbers, a block of ``rows`` points at a time."""
    spool.seek(0)
    while (pairs := np.fromfile(spool, dtype=np.float64, count=2 * rows)).size:
        pairs = pairs.reshape(-1, 2)
        yield pairs[:, 0].copy(), pairs[:, 1].copy()


class _EvenSample:
    """Every step-th point of a stream, the step doubling whenever more than ``most`` are kept:
    an even sample of a stream of unknown length, in one pass and bounded memory."""

    def __init__(self, most):
        self.most, self.step = most, 1
        self.index, self.x, self.y = [], [], []

    def add(self, first, bx, by):
        offset = (-first) % self.step
        self.index.append(np.arange(first + offset, first + bx.size, self.step))
        self.x.append(bx[offset::self.step].copy())
        self.y.append(by[offset::self.step].copy())
        if sum(a.size for a in self.x) > self.most:
            index, x, y = (np.concatenate(a) for a in (self.index, self.x, self.y))
            while index.size > self.most:
                self.step *= 2
                keep = index % self.step == 0
                index, x, y = index[keep], x[keep], y[keep]
            self.index, self.x, self.y = [index], [x], [y]

    def values(self):
        return np.concatenate(self.x), np.concatenate(self.y)
