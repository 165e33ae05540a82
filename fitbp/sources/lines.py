"""Live lines: x,y rows of a stream read as they arrive (``tail -f log | fitbp fit - --follow``), handed on
in batches of N rows, or of whatever arrived in T seconds.

A file reader reads ahead in large blocks and waits for the end of its input; a live stream has no end
and a reading may come once a minute, so these lines are read as the bytes arrive (select on the file
descriptor, then whatever is there) and every line is parsed on its own, by the cells' one rule for a
number.  The first line may be a header (its cells are not numbers): then --x and --y may name columns.
"""

from __future__ import annotations

import os
import select
import time

import numpy as np

from fitbp.errors import FitbpError, option, printable
from fitbp.sources import cells, dates
from fitbp.sources.files import weights_of

DELIMITERS = (",", "\t", ";", " ")
"""What a line's cells may be separated by, tried in this order on the first line (--delimiter chooses)."""


class Batches:
    """The (x, y) arrays of each batch of rows of the file descriptor ``fd``: ``every`` rows (an int), or
    what arrived in ``every`` seconds (a float; a batch has at least one row), and what is left at the end."""

    def __init__(self, fd, source, every, x=None, y=None, delimiter=None, decimal=".", skip_invalid=False,
                 time_unit="d", third=None):
        self.fd, self.source, self.every = fd, source, every
        self.x, self.y, self.delimiter, self.decimal = x, y, delimiter, decimal
        self.skip_invalid, self.time_unit = skip_invalid, time_unit
        self.third = third
        """(column, "sigma" or "weights") of a σ or weight for each row, or None (files.weighting)."""
        self.weightless = 0
        """Rows of weight 0 (σ = inf): in the data, out of the fit."""
        self.axis = None
        """A dates.Axis once the first x is a date (ISO 8601): every x then counts days or seconds from the
        first one's midnight, as a file's column of dates does."""
        self.line = 0
        self.skipped, self.first_skip = 0, None
        self.columns = None  # (x index, y index) once the first line is seen
        self.labels = ("x", "y")

    def __iter__(self):
        """(x, y) arrays a batch, or (x, y, w) with a σ or weights column (w = 1/σ²; rows of weight 0 left
        out, as a fit leaves them out)."""
        for batch in self._batches():
            if self.third is None:
                yield batch[0], batch[1]
            else:
                keep = batch[2] > 0
                self.weightless += int(keep.size - np.count_nonzero(keep))
                yield batch[0][keep], batch[1][keep], batch[2][keep]

    def _batches(self):
        pending, xs, ys = b"", [], []
        timed = isinstance(self.every, float)
        due = time.monotonic() + self.every if timed else None
        while True:
            wait = max(0.0, due - time.monotonic()) if timed and xs else None
            ready, _, _ = select.select([self.fd], [], [], wait)
            chunk = os.read(self.fd, 1 << 16) if ready else None
            if chunk == b"":  # the end of the stream
                if pending.strip():
                    self._take(pending, xs, ys)
                if xs:
                    yield self._arrays(xs, ys)
                return
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    self._take(raw, xs, ys)
                    if not timed and len(xs) >= self.every:
                        yield self._arrays(xs, ys)
                        xs, ys = [], []
            if timed and xs and time.monotonic() >= due:
                yield self._arrays(xs, ys)
                xs, ys = [], []
            if timed and not xs:
                due = time.monotonic() + self.every

    def _arrays(self, xs, ys):
        """x, y (and w = 1/σ² of a σ, or the weight as it is) of a batch's rows: ys holds (y, σ or w) pairs
        where there is a third column."""
        if self.third is None:
            return np.array(xs), np.array(ys)
        pairs = np.array(ys)
        return np.array(xs), pairs[:, 0], weights_of(pairs[:, 1], self.third[1])

    def _take(self, raw, xs, ys):
        """Parse one line into xs and ys (a header line sets the columns' names; a blank line is nothing)."""
        self.line += 1
        text = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
        if not text:
            return
        if self.delimiter is None:
            self.delimiter = next((d for d in DELIMITERS if len(text.split(d if d != " " else None)) >= 2), ",")
        fields = [f.strip() for f in (text.split() if self.delimiter == " " else text.split(self.delimiter))]
        if self.columns is None:
            header = (self.line == 1 and not any(cells.is_number(f) for f in fields[:2])
                  and dates.parse(fields[0]) is None)
            self.columns = (self._index(self.x, fields if header else None, 0, "x"),
                            self._index(self.y, fields if header else None, 1, "y"))
            if self.third is not None:
                self.columns += (self._index(self.third[0], fields if header else None, 2, self.third[1]),)
            if header:
                self.labels = tuple(fields[i] for i in self.columns)
                return
            self.labels = ("x", "y") + ((str(self.third[0]),) if self.third is not None else ())
        found = []
        for place, (index, name) in enumerate(zip(self.columns, self.labels)):
            if index >= len(fields):
                value, problem = None, "no such cell"
            elif place == 2:
                value, problem = cells.weight(fields[index], self.decimal, self.third[1])
            else:
                value, problem = cells.number(fields[index], self.decimal)
            if place == 0 and index < len(fields) and (self.axis or (
                    problem and dates.parse(fields[index]) is not None)):
                self.axis = self.axis or dates.Axis.starting(fields[index], self.time_unit)
                value, problem = self.axis.value(fields[index])
            if problem is not None:
                where = f"line {self.line}: column {name!r}: {problem}"
                if not self.skip_invalid:
                    raise FitbpError(f"{printable(self.source)}:{self.line}: column {name!r}: {problem} "
                                     f"({option('skip_invalid')} drops such rows)")
                self.skipped += 1
                self.first_skip = self.first_skip or where
                return
            found.append(value)
        xs.append(found[0])
        ys.append(found[1] if self.third is None else (found[1], found[2]))  # σ or w: weights_of in _arrays

    def _index(self, given, header, default, what):
        """The 0-based column of --x or --y: a 1-based number, a header's name, or the default."""
        if given is None:
            return default
        text = str(given)
        if text.isdigit() and int(text) >= 1:
            return int(text) - 1
        if header is not None and text in header:
            return header.index(text)
        raise FitbpError(f"{printable(self.source)}:1: no column {text!r} for {option(what)} "
                         + (f"(the header names {', '.join(map(repr, header))})" if header else "(no header line)"))
