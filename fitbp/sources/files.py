"""Several inputs read as one data set: paths and shell-style globs, in a stable order.

Data that large usually comes in many files (a day or a partition each).  Each
file is sniffed on its own, as if it were the only one (its header, delimiter
and encoding of lines), and the columns must agree by name, so that a file
whose columns moved is an error that names it rather than a silently wrong fit.
"""

from __future__ import annotations

import glob
import os

import numpy as np

from fitbp.errors import FitbpError, at, option, printable
from fitbp.sources import parquet
from fitbp.sources.data import Column, Points
from fitbp.sources.reader import Reader
from fitbp.sources.sniff import check_decimal

GZIP_RATIO = 4
"""A guess at how much gzip shrinks CSV numbers, for the size of the data before it is read."""
TEXT_PER_POINT = 40
"""Bytes of CSV text a point takes, about (two numbers of 17 digits); a Parquet row counts as this much."""


def open_reader(source, x=None, y=None, delimiter=None, skip_invalid=False, encoding="utf-8-sig", stdin=None,
                decimal=".", third=None, time_unit="d", x_axis=None):
    """The reader for one input: Parquet by its magic bytes, CSV (plain or gzip) otherwise."""
    if parquet.is_parquet(source):
        if third:
            raise at(source, None,
                     f"{option(third[1])} reads CSV files only, for now: convert this Parquet file to CSV")
        return parquet.ParquetReader(source, x, y, skip_invalid)
    return Reader(source, x, y, delimiter, skip_invalid, encoding, stdin, decimal, third, time_unit, x_axis)


def weighting(sigma=None, weights=None):
    """The CSV reader's third column, (spec, option), of --sigma or --weights; None without either."""
    if sigma is not None and weights is not None:
        raise FitbpError(f"{option('sigma')} and {option('weights')} say the same thing two ways: give one")
    return (sigma, "sigma") if sigma is not None else (weights, "weights") if weights is not None else None


def weights_of(values, kind):
    """w = 1/σ² of a σ column (``kind`` "sigma"), or the weights column as it is ("weights"); a σ whose
    1/σ² leaves float64 gives inf or 0, which lost_weight finds."""
    if kind != "sigma":
        return values
    with np.errstate(all="ignore"):
        return 1.0 / (values * values)


def load_points(source, x=None, y=None, delimiter=None, skip_invalid=False, encoding="utf-8-sig",
                stdin=None, decimal=".", sigma=None, weights=None, time_unit="d", x_axis=None):
    """Read x and y columns from a CSV or Parquet path, or ``-`` for CSV on standard input.

    ``x`` and ``y`` name a header column or give a 1-based index (default:
    the first two columns).  With ``skip_invalid`` rows whose chosen cells are
    empty, not numbers, NaN or infinite are dropped and counted instead of
    being an error.  ``decimal`` "," reads 1,5 as 1.5 (then the delimiter
    cannot be a comma, and a '.' in a number is an error: it may be a
    thousands separator, and guessing would misread the number).

    ``sigma`` or ``weights`` names a third column: each y's standard deviation,
    or its weight w = 1/σ².  A weight of 0 (σ = inf) keeps the point in the data and out of the fit,
    as R's lm reads it; a negative weight and σ ≤ 0 are errors.

    The input is read in blocks, so that memory holds the numbers and one
    block of text, never the whole file.
    """
    check_decimal(decimal, delimiter)
    third = weighting(sigma, weights)
    reader = open_reader(source, x, y, delimiter, skip_invalid, encoding, stdin, decimal, third, time_unit, x_axis)
    columns = None
    for block in reader.blocks():
        columns = columns or [Column(reader.rows_hint) for _ in block]
        for column, values in zip(columns, block):
            column.extend(values)
    points = Points(columns[0].values(), columns[1].values(), reader.name, *reader.labels[:2], reader.skipped,
                    reader.first_skip, reader.path, reader.options, x_axis=reader.x_axis)
    return weighted(points, columns[2].values() if third else None, third, reader.labels)


WEIGHT_RANGE = 1e16
"""The most the largest weight may exceed the smallest: beyond, float64 cannot weigh the rows together
(a row of weight 1e30 beside rows of weight 1 swamps their digits in the triangle), so fitbp refuses
rather than report a fit it cannot vouch for."""


def weighted(points, values, third, labels, option=None):
    """``points`` with the weights of their third column, when they have one; ``option`` is how the
    caller named it (the command line's --sigma COL, the library's sigma=)."""
    if third is None:
        return points
    weights = weights_of(values, third[1])
    carried = weights[weights > 0]  # a weight of 0 takes its point out of the fit, not into the span
    if weights.size:
        check_weights(points.source, third, labels, option, lost_weight(values, weights),
                      float(carried.min()) if carried.size else None, float(carried.max()) if carried.size else None)
    points.weights, points.weighting, points.weight_name = weights, third[1], labels[2]
    return points


def lost_weight(values, weights):
    """The first σ or weight of ``values`` whose w (``weights``) left float64: inf, or 0 from a σ ≠ 0 beyond
    1e154; None when none did."""
    lost = ~np.isfinite(weights) | ((weights == 0) & np.isfinite(values) & (values != 0))
    return float(values[int(np.argmax(lost))]) if lost.any() else None


def check_weights(source, third, labels, option, lost, smallest, largest):
    """The refusals of a weights column, for points held and streamed alike: ``lost``, a σ or weight
    whose w leaves float64 (None: none did); the smallest and largest weight above 0 (None: no row
    has one)."""
    option = option or f"--{third[1]} {printable(labels[2])}"
    if lost is not None:
        raise at(source, None, f"{option}: σ = {lost:g} makes the weight 1/σ² beyond float64; scale y and σ "
                 "together" if third[1] == "sigma" else f"{option}: a weight of {lost:g} is beyond float64")
    if smallest is None:
        raise at(source, None, f"column {printable(labels[2])!r}: "
                 + ("every σ is inf" if third[1] == "sigma" else "every weight is 0") + ", so no point is left to fit")
    if largest > WEIGHT_RANGE * smallest:
        raise at(source, None, f"{option}: the weights span {largest / smallest:.1e}, more than "
                 f"float64 can weigh together ({WEIGHT_RANGE:.0e}); check the extreme "
                 f"{'σ' if third[1] == 'sigma' else 'weights'}, or drop those rows")


def expand(patterns):
    """The paths that ``patterns`` name: each glob's matches sorted, in the order given, once each.

    A path that exists is itself, brackets and all; a pattern that matches
    nothing is kept as it is (the reader's "no such file" with its name) unless
    it has a * or ?, which only a glob has: then it is an error of its own.
    """
    found = []
    for pattern in patterns:
        pattern = str(pattern)
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else []
        if matches and not os.path.exists(pattern):
            found.extend(matches)
        elif ("*" in pattern or "?" in pattern) and not os.path.exists(pattern):
            raise FitbpError(f"{printable(pattern)}: no file matches this pattern")
        else:
            found.append(pattern)
    if found.count("-") > 1 or ("-" in found and len(found) > 1):
        raise FitbpError("standard input (-) can only be read alone")
    return list(dict.fromkeys(found))


def size_of(path):
    """The bytes of text a file holds, about (gzip's by a typical ratio, Parquet's by its rows); 0 for
    standard input."""
    if path == "-":
        return 0
    if parquet.is_parquet(path):
        return parquet.rows_of(path) * TEXT_PER_POINT
    return _bytes(path) * (GZIP_RATIO if is_gzip(path) else 1)


def is_gzip(path):
    """Whether a file starts with gzip's magic bytes (a URL: whether its name ends in .gz, as fsspec's
    compression="infer" has it)."""
    if "://" in str(path):
        return str(path).endswith(".gz")
    try:
        with open(path, "rb") as stream:
            return stream.read(2) == b"\x1f\x8b"
    except OSError:
        return False


class Files:
    """The (x, y) blocks of several inputs, one after another, as one data set."""

    def __init__(self, paths, x=None, y=None, delimiter=None, skip_invalid=False, encoding="utf-8-sig",
                 stdin=None, decimal=".", sigma=None, weights=None, time_unit="d", x_axis=None):
        self.paths = list(paths)
        self.settings = dict(x=x, y=y, delimiter=delimiter, skip_invalid=skip_invalid, encoding=encoding,
                             stdin=stdin, decimal=check_decimal(decimal, delimiter), third=weighting(sigma, weights),
                             time_unit=time_unit)
        self.readers, self.labels = [], None
        self._given_axis = x_axis  # dates counted from another's origin (a model's, for fitbp update)
        self.on_read = None
        """Called as on_read(bytes read, bytes in all) after each block, for a progress bar."""

    @property
    def source(self):
        if len(self.paths) > 1:
            return f"{len(self.paths)} files"
        return "<stdin>" if self.paths[0] == "-" else self.paths[0]

    @property
    def sources(self):
        return None if len(self.paths) == 1 else [os.path.abspath(p) for p in self.paths]

    def blocks(self):
        """Every file's blocks in turn; a file whose chosen columns are named otherwise is an error."""
        self.readers, done = [], 0
        total = self.bytes() if self.on_read else 0
        for path in self.paths:  # dates in all the files count from the first file's origin
            reader = open_reader(path, **self.settings, x_axis=self.x_axis)
            self.readers.append(reader)
            for index, block in enumerate(reader.blocks()):
                if index == 0:
                    self._agree(reader)
                if self.on_read:
                    self.on_read(done + reader.position(), total)
                yield block
            done += _bytes(path)

    def _agree(self, reader):
        if self.labels is None:
            self.labels = reader.labels
        else:
            agreeing(reader, self.readers[0])

    @property
    def x_axis(self):
        """The first file's dates.Axis, once it is read (None for numbers); before, the one given."""
        return self.readers[0].x_axis if self.readers else self._given_axis

    @property
    def skipped(self):
        return sum(r.skipped for r in self.readers)

    @property
    def first_skip(self):
        return next((f"in {r.name} {r.first_skip}" if len(self.paths) > 1 else r.first_skip
                     for r in self.readers if r.first_skip), None)

    def size(self):
        """About how many bytes of text all the inputs hold (0 when unknown, as for a pipe)."""
        return sum(size_of(p) for p in self.paths)

    def bytes(self):
        """How many bytes the files hold, as stored (packed, for gzip): what a progress bar counts."""
        return sum(_bytes(p) for p in self.paths)


def agreeing(reader, first):
    """The error for a file of a data set whose columns, or kind of x, are not the first file's."""
    if (reader.x_axis is None) != (first.x_axis is None):
        raise at(reader.name, None, f"its x are {'dates' if reader.x_axis else 'numbers'} where "
                 f"{printable(first.name)} has {'dates' if first.x_axis else 'numbers'}: the files must agree")
    if list(reader.labels) != list(first.labels):
        raise at(reader.name, None, f"its columns are {printable(', '.join(reader.labels))} where "
                 f"{printable(first.name)} has {printable(', '.join(first.labels))}: the files must agree "
                 f"(or name the columns with {option('x')} and {option('y')})")


def _bytes(path):
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0
