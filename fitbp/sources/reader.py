"""The CSV readers: bytes from a file or a pipe in, finite x and y arrays out.

Exports from spreadsheets, instruments and other programs are untidy: a BOM, CRLF line ends, gzip,
comment lines, a header or none, commas or tabs or semicolons or aligned columns.  The readers accept
all of these and refuse everything else with the file, the line and the problem.  Each puts the
loader's steps together: the input opened and cut into blocks of whole lines (decode), its Layout
sniffed on the first block (sniff), every block's rows read as numbers (table), each cell as one
(cells).  Reader reads one input block by block, for callers that hold the points and for those that
cannot; read_piece reads a piece of a file cut at newlines, as a dask worker does; load_x_values reads
the short lists of x that predict takes.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
from pathlib import Path

import numpy as np

from fitbp.errors import at, option
from fitbp.sources import cells, decode, sniff
from fitbp.sources.table import Table

NUMBER_START = re.compile(r"[+-]?\.?\d")
"""How a number starts: a first line that starts so is data with a typo, not a header."""
COMMA_START = re.compile(r"\s*[+-]?\d+,\d+")
"""A line that starts like 1,5: a decimal comma, or x = 1 and a second column."""


class Reader:
    """One CSV input read in blocks of (x, y) arrays, for callers that hold the points
    (fitbp.sources.files.load_points) and for those that cannot (fitbp.engines.local).

    The columns' labels, the skipped rows and a guess at the row count are known
    once the first block is out; the error for no data rows once all are.
    """

    def __init__(self, source, x=None, y=None, delimiter=None, skip_invalid=False, encoding="utf-8-sig",
                 stdin=None, decimal=".", third=None, time_unit="d", x_axis=None):
        self.source, self.name = source, "<stdin>" if str(source) == "-" else str(source)
        self.time_unit, self.x_axis = time_unit, x_axis
        """x_axis: a dates.Axis when x is a column of dates (found in the first data row, or given: the
        first file's, for the others of a data set); None for numbers."""
        self.x, self.y, self.delimiter, self.skip_invalid = x, y, delimiter, skip_invalid
        self.third = third
        """(column, option) of a third column of σ or weights, such as (3, "sigma"); None: x and y only."""
        self.encoding, self.stdin, self.decimal = encoding, stdin, sniff.check_decimal(decimal, delimiter)
        self.labels, self.rows_hint, self.table, self.stream, self.layout = None, 0, None, None, None

    def blocks(self):
        """(x, y) arrays of the data rows, a block at a time, every one checked."""
        rows = 0
        with decode.opened(self.source, self.name, self.stdin) as stream:
            self.stream = getattr(stream, "fileobj", stream)  # gzip's: the packed bytes, as the file's size counts
            blocks = decode.blocks(stream, self.name, self.encoding)
            head = next(blocks)
            delim, width, columns, self.labels, body = sniff.sniffed(head, self.name, self.x, self.y, self.delimiter,
                                                                     self.decimal, self.third)
            self.layout = sniff.Layout(delim, width, columns, body)
            self.rows_hint = _rows_hint(stream, head)
            self.x_axis = self.x_axis or sniff.date_axis(head, body, delim, columns[0], self.time_unit)
            self.table = Table(self.name, delim, width, columns, self.labels, self.skip_invalid, self.decimal,
                               self.x_axis, self.third and self.third[1])
            *arrays, line = self.table.read(head.after(body))
            rows += arrays[0].size
            yield tuple(arrays)
            for block in blocks:
                block.first = line  # counted as the blocks are read: a clean block's rows are its lines
                *arrays, line = self.table.read(block)
                rows += arrays[0].size
                yield tuple(arrays)
        if rows == 0:
            raise at(self.name, None, "no data rows after the header" if not self.skipped else
                     f"no valid rows: all {self.skipped} had invalid values, the first {self.first_skip}")

    @property
    def skipped(self):
        return self.table.skipped if self.table else 0

    def position(self):
        """How many of the file's bytes are read, for a progress bar (0 for a pipe)."""
        try:
            return self.stream.tell() if self.stream is not None and self.stream.seekable() else 0
        except (OSError, ValueError):
            return 0

    @property
    def first_skip(self):
        return self.table.first_skip if self.table else None

    @property
    def path(self):
        """The absolute path read, so that the data can be found again from elsewhere; None for stdin."""
        return None if self.name == "<stdin>" else str(Path(self.source).resolve())

    @property
    def options(self):
        """The reading options, to read the points again the same way."""
        return {"x": self.x, "y": self.y, "delimiter": self.delimiter, "skip_invalid": self.skip_invalid,
                "encoding": self.encoding, **({"decimal": self.decimal} if self.decimal != "." else {}),
                **({self.third[1]: self.third[0]} if self.third else {}),
                **({"time_unit": self.time_unit} if self.time_unit != "d" else {})}


def read_piece(data, name, settings, layout, labels, first, x_axis=None):
    """(arrays, skipped rows, the first skipped row's problem) of a piece of CSV file ``name`` cut at
    newlines (a file that decode.splittable() allows to cut), the arrays (x, y), or (x, y, σ or w) with a
    third column.

    Every piece is read in the file's ``layout`` and ``labels`` (sniffed from its head by the caller),
    exactly as the local reader reads its blocks, its dates counted from ``x_axis`` (the first file's);
    the first skips the lines before the data.  Only the first piece knows its line numbers, so an error
    elsewhere names none: the caller finds the line by reading the file itself.  ``settings``: the
    reading options of Reader (x, y, delimiter, skip_invalid, encoding, decimal, third, time_unit).
    """
    codec = codecs.lookup(settings.get("encoding") or "utf-8").name
    if codec == "utf-8-sig":
        codec, data = "utf-8", data.removeprefix(codecs.BOM_UTF8) if first else data
    third = settings.get("third")
    table = Table(name, layout.delimiter, layout.width, layout.columns, labels, settings.get("skip_invalid"),
                  settings.get("decimal") or ".", x_axis, third and third[1])
    block = decode.Block(name, 1, data, codec)
    *arrays, _ = table.read(block.after(layout.start) if first else block)
    problem = table.first_skip if first else table.first_skip and table.first_skip.split(": ", 1)[-1]
    return tuple(arrays), table.skipped, problem


def load_x_values(source, encoding="utf-8-sig", stdin=None, decimal=".", x_axis=None, as_given=False):
    """x values, one a line or the first field of CSV lines, for predictions; with ``as_given``, also
    the cells as they were written (dates to print back as the user wrote them).

    The delimiter is detected as for points, so that "1,5;2" is not read as 1.
    Blank and '#' lines are skipped, and a first line that is text (not
    starting like a number) is a header; any other line whose first field is
    not a finite number is an error.  A line that starts with two whole numbers
    around a comma is an error too, unless a header of several comma-separated
    names says the commas separate columns: "1,5" is 1.5 to half the world and
    x = 1 to the other half, and a guess would misread one of them.
    """
    name = "<stdin>" if str(source) == "-" else str(source)
    sniff.check_decimal(decimal)
    text = decode.read_text(source, name, encoding, stdin)
    sample = decode.first_lines(text)
    delim = sniff.delimiter_of([line for _, line in sample], decimal, least=1) if sample else sniff.WHITESPACE
    values, written, columns_named = [], [], False
    for count, (number, line) in enumerate(decode.lines(text)):
        fields = sniff.split(line, delim)
        cell = fields[0] if fields else ""
        ambiguous = COMMA_START.match(line) if delim == "," and decimal == "." and not columns_named else None
        if ambiguous:
            start = ambiguous.group(0).strip()
            raise at(name, number, f"{start!r} is ambiguous: pass {option('decimal', ',')} to read it as "
                     f"{start.replace(',', '.')}, or start with a header line (x,y) to read x from the first column")
        value, problem = cells.number(cell, decimal) if x_axis is None else x_axis.value(cell)
        if problem is None:
            values.append(value)
            written.append(cell.strip())
        elif count > 0 or NUMBER_START.match(cell):  # a date axis says itself what a cell lacks
            raise at(name, number, problem if x_axis is not None else cells.with_hint(problem, cell, decimal))
        else:  # a header: the lines below it are columns if it names several
            columns_named = len(fields) > 1
    values = np.array(values, dtype=np.float64)
    return (values, written) if as_given else values


def _rows_hint(stream, head):
    """About how many rows the input has, from its size and the head's bytes per line."""
    try:
        size = os.fstat(stream.fileno()).st_size if not isinstance(stream, gzip.GzipFile) else 0
    except (OSError, AttributeError, io.UnsupportedOperation):
        size = 0
    lines = head.newlines()
    if head.data is None or not size or not lines:
        return lines + 1
    return int(size / (len(head.data) / lines) * 1.05) + 1024
