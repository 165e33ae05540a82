"""The chosen columns of a block's rows as numbers: a C parser for a clean block, line by line otherwise.

A block of whole lines goes to a C parser first (pyarrow's CSV reader for large blocks when it is
installed, numpy's otherwise).  A block it refuses, or one it cannot vouch for (quotes, comments,
lone CRs, a value that is no finite number, a σ that is not one, dates), is read again line by line,
which is slower but can say exactly where and what, and decides every error and every skipped row.
So the answer is the same whichever parser runs and wherever the blocks begin (tests/test_parsers.py
holds the three readings to it).
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

ARROW_FROM = 1 << 20
"""Blocks this large go to pyarrow's parser when it is installed (its threads
then pay); smaller ones to numpy's."""
COMMA_TO_DOT = bytes.maketrans(b",", b".")


class Table:
    """The chosen columns of the data rows, read block by block: fast when a block
    is clean, line by line (slower, but exact about the problem) when it is not."""

    def __init__(self, name, delim, width, columns, labels, skip_invalid, decimal=".", x_axis=None, weighting=None):
        self.name, self.delim, self.width, self.columns, self.labels = name, delim, width, columns, labels
        self.decimal, self.x_axis, self.weighting = decimal, x_axis, weighting
        self.skip_invalid, self.skipped, self.first_skip = skip_invalid, 0, None

    def read(self, block):
        """The x and y of the rows of ``block``, and the number of the line after it."""
        data = block.ascii() if self.x_axis is None else None  # dates: read line by line
        values = self._fast(data) if data is not None else None
        *arrays, lines = values if values is not None else (*self._careful(block), block.newlines())
        return (*arrays, block.first + lines)

    def _fast(self, data):
        """A C parser's reading of a clean block, or None where the careful reading must decide."""
        if b'"' in data or b"#" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
            return None  # quotes, comments and lone CRs are read one way only: line by line
        if self.decimal == ",":
            if b"." in data:
                return None  # a '.' beside decimal commas: the careful reading says where
            data = data.translate(COMMA_TO_DOT)  # the delimiter is not a comma, so only numbers change
        arrow = _arrow() if len(data) >= ARROW_FROM and self.delim != WHITESPACE else None
        values = self._arrow(arrow, data) if arrow else self._numpy(data)
        if values is None or not all(np.isfinite(v).all() for v in values[:-1]):
            return None
        if len(values) > 3 and not cells.weighs(values[2], self.weighting).all():
            return None  # a σ or a weight that is not one: the careful reading names its line
        return values

    def _numpy(self, data):
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

    def _arrow(self, arrow, data):
        pa, pacsv = arrow
        names = [str(i) for i in range(self.width)]
        wanted = [names[i] for i in sorted(set(self.columns))]
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=names, block_size=ARROW_FROM),
                parse_options=pacsv.ParseOptions(delimiter=self.delim, quote_char=False, escape_char=False,
                                                 newlines_in_values=False, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(wanted, pa.float64()), include_columns=wanted,
                    null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowException, ValueError):
            return None
        # Empty lines are errors to pyarrow here (the careful reading skips them), so every
        # line is a row: the rows count the block's lines without another pass over it.
        lines = table.num_rows - (not data.endswith(b"\n"))
        return (*(floats(table.column(names[c])) for c in self.columns), lines)

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
