"""Several inputs read as one data set: paths and shell-style globs, in a stable order.

Data that large usually comes in many files (a day or a partition each).  Each
file is sniffed on its own, as if it were the only one (its header, delimiter
and encoding of lines), and the columns must agree by name, so that a file
whose columns moved is an error that names it rather than a silently wrong fit.
"""

from __future__ import annotations

import glob
import gzip
import os

from fitbp.errors import FitbpError, at, printable
from fitbp.sources.loader import Reader

GZIP_RATIO = 4
"""A guess at how much gzip shrinks CSV numbers, for the size of the data before it is read."""


def expand(patterns):
    """The paths that ``patterns`` name: each glob's matches sorted, in the order given, once each.

    A path that exists is itself, brackets and all; a pattern that matches
    nothing is kept as it is (the loader's "no such file" with its name) unless
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
    """The bytes of text a file holds, about (gzip's by a typical ratio); 0 for standard input."""
    if path == "-":
        return 0
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as stream:
            packed = stream.read(2) == b"\x1f\x8b"
    except OSError:
        return 0
    return size * GZIP_RATIO if packed else size


class Files:
    """The (x, y) blocks of several inputs, one after another, as one data set."""

    def __init__(self, paths, x=None, y=None, delimiter=None, skip_invalid=False, encoding="utf-8-sig",
                 stdin=None, decimal="."):
        self.paths = list(paths)
        self.settings = dict(x=x, y=y, delimiter=delimiter, skip_invalid=skip_invalid, encoding=encoding,
                             stdin=stdin, decimal=decimal)
        self.readers, self.labels = [], None

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
        self.readers = []
        for path in self.paths:
            reader = Reader(path, **self.settings)
            self.readers.append(reader)
            for index, block in enumerate(reader.blocks()):
                if index == 0:
                    self._agree(reader)
                yield block

    def _agree(self, reader):
        if self.labels is None:
            self.labels = reader.labels
        elif reader.labels != self.labels:
            first = self.readers[0].name
            raise at(reader.name, None, f"its columns are {printable(', '.join(reader.labels))} where "
                     f"{printable(first)} has {printable(', '.join(self.labels))}: the files must agree "
                     "(or name the columns with --x and --y)")

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
