"""The chosen columns of a block's rows as numbers: a C parser for a clean block, line by line otherwise.

A block of whole lines goes to a C parser first (pyarrow's CSV reader for large blocks when it is
installed, numpy's otherwise); a column of dates comes out of it as text, which fitbp.sources.stamps
reads all at once.  A block it refuses, or one it cannot vouch for (quotes, comments, lone CRs, a
value that is no finite number, a σ that is not one, dates not all in one plain form), is read again
line by line, which is slower but can say exactly where and what, and decides every error and every
skipped row.  So the answer is the same whichever parser runs and wherever the blocks begin
(tests/test_parsers.py holds the three readings to it).
"""

from __future__ import annotations

import functools
import io
import os
import warnings

import numpy as np

from fitbp.errors import at, option
from fitbp.sources import cells, decode
from fitbp.sources.sniff import WHITESPACE, split

ARROW_BLOCK = 1 << 20
"""The bytes pyarrow's parser hands each of its threads."""
ARROW_FROM = ARROW_BLOCK
"""Blocks this large go to pyarrow's parser when it is installed (its threads
then pay); smaller ones to numpy's."""
COMMA_TO_DOT = bytes.maketrans(b",", b".")
DATE_CELL = "S40"
"""numpy's type for a cell of dates: longer than any ISO form read in bulk (35 characters), so a
longer cell, which numpy cuts to this, is no date of that form either."""


class Table:
    """The chosen columns of the data rows, read block by block: fast when a block
    is clean, line by line (slower, but exact about the problem) when it is not."""

    def __init__(self, name, delim, width, columns, labels, skip_invalid, decimal=".", x_axis=None, weighting=None):
        self.name, self.delim, self.width, self.columns, self.labels = name, delim, width, columns, labels
        self.decimal, self.x_axis, self.weighting = decimal, x_axis, weighting
        self.skip_invalid, self.skipped, self.first_skip = skip_invalid, 0, None

    def read(self, block):
        """The x and y of the rows of ``block``, and the number of the line after it."""
        data = block.ascii()
        values = self._fast(data) if data is not None else None
        *arrays, lines = values if values is not None else (*self._careful(block), block.newlines())
        return (*arrays, block.first + lines)

    def _fast(self, data):
        """A C parser's reading of a clean block, or None where the careful reading must decide."""
        if b'"' in data or b"#" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
            return None  # quotes, comments and lone CRs are read one way only: line by line
        if self.x_axis is not None and (b"\0" in data or self.columns[0] in self.columns[1:]):
            return None  # a NUL would pass for the padding of numpy's text; a date is no y
        if self.decimal == ",":
            if b"." in data:
                return None  # a '.' beside decimal commas: the careful reading says where
            data = data.translate(COMMA_TO_DOT)  # the delimiter is not a comma, so only numbers change
        arrow = _arrow() if len(data) >= ARROW_FROM and self.delim != WHITESPACE else None
        values = self._arrow(arrow, data) if arrow else self._numpy(data)
        if values is not None and self.x_axis is not None:
            x = self.x_axis.column(values[0])
            values = (x, *values[1:]) if x is not None else None
        if values is None or not all(np.isfinite(v).all() for v in values[:-1]):
            return None
        if len(values) > 3 and not cells.weighs(values[2], self.weighting).all():
            return None  # a σ or a weight that is not one: the careful reading names its line
        return values

    def _numpy(self, data):
        if self.x_axis is not None:
            return self._numpy_dated(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = np.loadtxt(io.StringIO(data.decode("ascii")), dtype=np.float64, comments=None,
                                   ndmin=2, delimiter=None if self.delim == WHITESPACE else self.delim)
        except ValueError:
            return None
        if table.shape[0] and table.shape[1] != self.width:
            return None
        return (*(table[:, c] if table.size else np.empty(0) for c in self.columns), data.count(b"\n"))

    def _numpy_dated(self, data):
        """As _numpy, with the x column as text: a row of the block is a record of as many fields as
        the layout has columns (numpy refuses a row of more or fewer), every other one a number."""
        fields = [(str(i), DATE_CELL if i == self.columns[0] else np.float64) for i in range(self.width)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = np.loadtxt(io.StringIO(data.decode("ascii")), dtype=fields, comments=None, ndmin=1,
                                   delimiter=None if self.delim == WHITESPACE else self.delim)
        except ValueError:
            return None
        return (*(table[str(c)] for c in self.columns), data.count(b"\n"))

    def _arrow(self, arrow, data):
        pa, pacsv = arrow
        names = [str(i) for i in range(self.width)]
        wanted = [names[i] for i in sorted(set(self.columns))]
        types = dict.fromkeys(wanted, pa.float64())
        if self.x_axis is not None:
            types[names[self.columns[0]]] = pa.binary()  # dates as bytes, for stamps to read
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=names, block_size=ARROW_BLOCK),
                parse_options=pacsv.ParseOptions(delimiter=self.delim, quote_char=False, escape_char=False,
                                                 newlines_in_values=False, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, include_columns=wanted,
                    null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowException, ValueError):
            return None
        # Empty lines are errors to pyarrow here (the careful reading skips them), so every
        # line is a row: the rows count the block's lines without another pass over it.
        lines = table.num_rows - (not data.endswith(b"\n"))
        columns = [table.column(names[c]) for c in self.columns]
        x = texts(columns[0]) if self.x_axis is not None else floats(columns[0])
        return (x, *(floats(column) for column in columns[1:]), lines)

    def _careful(self, block):
        """Line by line: the first problem is an error, or with skip_invalid a skipped row."""
        kept = [[] for _ in self.columns]
        for number, line in decode.lines(block.text, block.first):
            fields = split(line, self.delim)
            if len(fields) != self.width:
                raise at(self.name, number, f"expected {self.width} fields, found {len(fields)}")
            values, problem = [], None
            for place, (index, label) in enumerate(zip(self.columns, self.labels)):
                if place == 0 and self.x_axis is not None:
                    value, problem = self.x_axis.value(fields[index])
                elif place == 2:
                    value, problem = cells.weight(fields[index], self.decimal, self.weighting)
                else:
                    value, problem = cells.number(fields[index], self.decimal)
                dated = place == 0 and self.x_axis is not None  # the axis says what is wrong itself
                hint = cells.hint(fields[index], self.decimal, place == 0) if problem and not dated else None
                if problem:
                    problem = f"column {label!r}: {problem}" + (f" ({hint})" if hint else "")
                    break
                values.append(value)
            if problem is None:
                for column, value in zip(kept, values):
                    column.append(value)
            elif self.skip_invalid:
                self.skipped += 1
                self.first_skip = self.first_skip or f"at line {number}: {problem}"
            else:
                dropped = f"{problem} ({option('skip_invalid', True)} drops such rows)"
                raise at(self.name, number, problem if hint else dropped)
        if block.error:
            raise block.error
        return tuple(np.array(column, dtype=np.float64) for column in kept)


def floats(column):
    """A float64 pyarrow column without nulls as a numpy array, read from its buffers:
    pyarrow's own to_numpy imports pandas when installed, 0.3 s for nothing."""
    parts = [np.frombuffer(chunk.buffers()[1], dtype=np.float64, count=len(chunk), offset=8 * chunk.offset)
             for chunk in column.chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)


def texts(column):
    """A binary pyarrow column without nulls as a numpy bytes array ('S', as wide as its longest cell,
    the shorter ones padded with NUL bytes), read from its buffers as floats reads numbers."""
    parts = [_texts(chunk) for chunk in column.chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0, "S1")


def _texts(chunk):
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1, offset=4 * chunk.offset)
    data = chunk.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    width = int(lengths.max(initial=0))
    if width and (lengths == width).all():  # every cell as long: the bytes are the array already
        return data[offsets[0]:offsets[-1]].view(f"S{width}")
    padded = np.zeros((len(chunk), max(width, 1)), np.uint8)
    inside = np.arange(padded.shape[1]) < lengths[:, None]
    padded[inside] = data[(offsets[:-1, None] + np.arange(padded.shape[1]))[inside]]
    return padded.view(f"S{padded.shape[1]}").ravel()


def _arrow():
    """pyarrow and its CSV reader, when installed and not turned off by FITBP_CSV_PARSER=numpy."""
    if os.environ.get("FITBP_CSV_PARSER", "").strip().lower() == "numpy":
        return None
    return _pyarrow()


@functools.cache
def _pyarrow():
    """Imported once, on the first large block; None when not installed (looked for once, too)."""
    try:
        import pyarrow
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow, pyarrow.csv
