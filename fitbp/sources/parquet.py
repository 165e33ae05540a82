"""Parquet files read as (x, y) blocks, a row group at a time, through pyarrow.

Large data sets are often Parquet rather than CSV.  A Parquet reader gives
the CSV Reader's interface (labels, blocks, skipped rows, options), so that one
file or a glob of them fits, streams and errs exactly as CSV does: a null or
a non-finite value is an error that names its row, or a row dropped and
counted under --skip-invalid.  Rows are numbered from 1, the first data row,
since a Parquet file has no lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fitbp.errors import FitbpError, at, option, printable
from fitbp.sources.decode import looks_like_text
from fitbp.sources.sniff import column_index
from fitbp.sources.table import floats

MAGIC = b"PAR1"
BATCH = 1 << 20
"""Rows a block holds at most (16 MB of numbers); a row group is read in pieces of this size."""


def is_parquet(path):
    """Whether ``path`` is a Parquet file: its magic bytes at the start, and binary after them (a CSV file
    whose first column is named PAR1 is text).  False for stdin and the unreadable."""
    if str(path) == "-":
        return False
    try:
        with open(path, "rb") as stream:
            head = stream.read(4096)
    except OSError:
        return False
    return head.startswith(MAGIC) and not looks_like_text(head, "utf-8")


def rows_of(path):
    """How many rows a Parquet file says it holds (0 when its footer cannot be read)."""
    try:
        return _open(path, str(path)).metadata.num_rows
    except FitbpError:
        return 0


class ParquetReader:
    """The x and y columns of one Parquet file, in blocks of at most BATCH rows."""

    x_axis = None  # a Parquet column of dates is refused (_check_type): x are numbers

    def __init__(self, source, x=None, y=None, skip_invalid=False, row_groups=None, first_row=0, **_csv_only):
        self.source, self.name = source, str(source)
        self.x, self.y, self.skip_invalid = x, y, skip_invalid
        self.row_groups, self.first_row = row_groups, first_row
        """Only these row groups, their first row the file's ``first_row``-th (0-based): a dask worker's piece,
        which numbers its rows as the whole file does.  None: every row group."""
        self.labels, self.rows_hint, self.read_rows = None, 0, 0
        self.skipped, self.first_skip = 0, None

    def blocks(self):
        """(x, y) arrays of the rows, a block at a time, every value checked."""
        pa, pc = _arrow(self.name)
        table = self.describe()
        self.read_rows, kept = self.first_row, 0
        try:
            for batch in table.iter_batches(batch_size=BATCH, row_groups=self.row_groups,
                                            columns=list(dict.fromkeys(self.labels)), use_threads=False):
                columns = [batch.column(label) for label in self.labels]
                xs, ys = self._checked(columns, pa, pc)
                self.read_rows += batch.num_rows
                kept += xs.size
                yield xs, ys
        except (pa.ArrowException, OSError) as e:
            raise at(self.name, None, f"not a readable Parquet file ({e})") from None
        if kept == 0 and self.row_groups is None:  # a piece may be empty; the whole data may not
            raise at(self.name, None, "no data rows" if not self.skipped else
                     f"no valid rows: all {self.skipped} had invalid values, the first {self.first_skip}")

    def pieces(self, size):
        """(row groups, first row) of consecutive row groups of about ``size`` bytes each, at least one
        group a piece: what dask workers read apart."""
        metadata = _open(self.source, self.name).metadata
        found, groups, first, row, held = [], [], 0, 0, 0
        for index in range(metadata.num_row_groups):
            group = metadata.row_group(index)
            if groups and held + group.total_byte_size > size:
                found.append((groups, first))
                groups, first, held = [], row, 0
            groups.append(index)
            held += group.total_byte_size
            row += group.num_rows
        return found + ([(groups, first)] if groups else [])

    def describe(self):
        """The file opened and its columns chosen and checked (labels, rows_hint), no row read: what a
        caller that only sniffs needs."""
        pa, _ = _arrow(self.name)
        table = _open(self.source, self.name)
        schema = table.schema_arrow
        if len(schema.names) < 2:
            raise at(self.name, None, f"found {len(schema.names)} column, fitbp needs an x and a y column")
        chosen = [column_index(spec, schema.names, len(schema.names), default, role, self.name)
                  for spec, default, role in ((self.x, 0, "x"), (self.y, 1, "y"))]
        self.labels = [schema.names[i] for i in chosen]
        for label in self.labels:
            if schema.names.count(label) > 1:
                raise at(self.name, None, f"{schema.names.count(label)} columns are named {printable(label)!r}, "
                         "and Parquet reads columns by name: rename one")
        for index in chosen:
            _check_type(schema.field(index), self.name, pa)
        self.rows_hint = table.metadata.num_rows
        return table

    def _checked(self, columns, pa, pc):
        """The block's x and y as float64, after the check for nulls and values that are not finite."""
        values = [floats(pa.chunked_array([pc.fill_null(pc.cast(c, pa.float64(), safe=False), np.nan)]))
                  for c in columns]  # integers past 2**53 round to the nearest float, as in CSV
        good = np.isfinite(values[0]) & np.isfinite(values[1])
        if good.all():
            return values
        row = int(np.argmin(good))
        label, cell = next((label, column[row]) for label, column, v in zip(self.labels, columns, values)
                           if not np.isfinite(v[row]))
        problem = (f"column {label!r}: " + ("null (an empty cell)" if not cell.is_valid
                                           else f"{cell.as_py()!r} is not a finite number"))
        number = self.read_rows + row + 1
        if not self.skip_invalid:
            raise at(self.name, None, f"row {number}: {problem} ({option('skip_invalid', True)} drops such rows)")
        self.skipped += int(good.size - good.sum())
        self.first_skip = self.first_skip or f"at row {number}: {problem}"
        return values[0][good], values[1][good]

    def position(self):
        """About how many of the file's bytes are read, for a progress bar."""
        try:
            size = Path(self.source).stat().st_size
        except OSError:
            return 0
        return int(size * self.read_rows / self.rows_hint) if self.rows_hint else 0

    @property
    def path(self):
        return str(Path(self.source).resolve())

    @property
    def options(self):
        return {"x": self.x, "y": self.y, "skip_invalid": self.skip_invalid}


def _arrow(name):
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet  # noqa: F401 (imported for _open)
    except ImportError:
        raise at(name, None, "is a Parquet file, and reading Parquet needs pyarrow: "
                 "pip install 'fitbp[fast]' (or pyarrow)") from None
    return pyarrow, pyarrow.compute


def _open(source, name):
    pa, _ = _arrow(name)
    try:
        return pa.parquet.ParquetFile(source)
    except (pa.ArrowException, OSError) as e:
        raise at(name, None, f"not a readable Parquet file ({e})") from None


def _check_type(field, name, pa):
    """Numbers only: integers, floats and decimals become float64; anything else is an error that says its type."""
    kind = field.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return
    dated = pa.types.is_temporal(kind)
    raise at(name, None, f"column {printable(field.name)!r} holds {kind} values, not numbers"
             + (": convert it to numbers first, such as days since a start" if dated else ""))
