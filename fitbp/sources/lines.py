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

DELIMITERS = (",", "\t", ";", " ")
"""What a line's cells may be separated by, tried in this order on the first line (--delimiter chooses)."""


class Batches:
    """The (x, y) arrays of each batch of rows of the file descriptor ``fd``: ``every`` rows (an int), or
    what arrived in ``every`` seconds (a float; a batch has at least one row), and what is left at the end."""

    def __init__(self, fd, source, every, x=None, y=None, delimiter=None, decimal=".", skip_invalid=False,
                 time_unit="d"):
        self.fd, self.source, self.every = fd, source, every
        self.x, self.y, self.delimiter, self.decimal = x, y, delimiter, decimal
        self.skip_invalid, self.time_unit = skip_invalid, time_unit
        self.axis = None
        """A dates.Axis once the first x is a date (ISO 8601): every x then counts days or seconds from the
        first one's midnight, as a file's column of dates does."""
        self.line = 0
        self.skipped, self.first_skip = 0, None
        self.columns = None  # (x index, y index) once the first line is seen
        self.labels = ("x", "y")

    def __iter__(self):
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
                    yield np.array(xs), np.array(ys)
                return
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    self._take(raw, xs, ys)
                    if not timed and len(xs) >= self.every:
                        yield np.array(xs), np.array(ys)
                        xs, ys = [], []
            if timed and xs and time.monotonic() >= due:
                yield np.array(xs), np.array(ys)
                xs, ys = [], []
            if timed and not xs:
                due = time.monotonic() + self.every

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
            if header:
                self.labels = tuple(fields[i] for i in self.columns)
                return
        found = []
        for index, name in zip(self.columns, self.labels):
            value, problem = (cells.number(fields[index], self.decimal) if index < len(fields)
                              else (None, "no such cell"))
            if index == self.columns[0] and index < len(fields) and (self.axis or (
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
        ys.append(found[1])

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
