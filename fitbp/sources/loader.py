"""The CSV loader: bytes from a file or a pipe in, finite x and y arrays out.

Exports from spreadsheets, instruments and other programs are untidy: a BOM,
CRLF line ends, gzip, comment lines, a header or none, commas or tabs or
semicolons or aligned columns.  The loader accepts all of these and refuses
everything else with the file, the line and the problem.

The input is read in blocks of whole lines.  A clean block goes to a C parser
(pyarrow's when installed, numpy's otherwise); a block it refuses is read
again line by line, which is slower but can say exactly where and what, and
decides every error and every skipped row.  So the answer is the same
whichever parser runs and wherever the blocks begin.
"""

from __future__ import annotations

import codecs
import csv
import functools
import gzip
import io
import os
import re
import sys
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from fitbp.errors import FitbpError, at, printable

WHITESPACE = "whitespace"
DELIMITERS = {",": ",", "comma": ",", ";": ";", "semicolon": ";", "\t": "\t", "\\t": "\t",
              "tab": "\t", "|": "|", "pipe": "|", " ": WHITESPACE, "space": WHITESPACE,
              WHITESPACE: WHITESPACE}
SNIFF_LINES = 20
BLOCK = 1 << 22
"""Bytes read at a time (4 MiB, then on to a line end): big enough for a C parser
to run at full speed, small next to the arrays the numbers fill."""
ARROW_FROM = 1 << 20
"""Blocks this large go to pyarrow's parser when it is installed (its threads
then pay); smaller ones to numpy's."""
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a long quoted cell is the data's problem, not csv's
NUMBER_START = re.compile(r"[+-]?\.?\d")
"""How a number starts: a first line that starts so is data with a typo, not a header."""
DECIMALS = (".", ",")
DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")
"""A number written with a decimal comma, as European spreadsheets export it: 1,5 or -0,25e3."""
LOOKS_LIKE_DATE = re.compile(r"\d{4}-\d\d?-\d\d?([ T].*)?|\d\d?[./-]\d\d?[./-]\d{2,4}( .*)?|\d\d?:\d\d(:\d\d.*)?")
COMMA_TO_DOT = bytes.maketrans(b",", b".")
COMMA_START = re.compile(r"\s*[+-]?\d+,\d+")
"""A line that starts like 1,5: a decimal comma, or x = 1 and a second column."""


@dataclass
class Points:
    """x and y values with where they came from, for messages and the model file."""

    x: np.ndarray
    y: np.ndarray
    source: str = "<array>"
    x_name: str = "x"
    y_name: str = "y"
    skipped: int = 0
    first_skip: str | None = None
    path: str | None = None
    """The absolute path read, so that the data can be found again from elsewhere; None for stdin."""
    options: dict = field(default_factory=dict)
    """The reading options that gave these points, to read them again the same way."""
    sampled_from: int | None = None
    """When these are an even sample of more points (kept in a model file), how many there were."""
    sources: list | None = None
    """The absolute paths of several files read as one data set (``source`` then says how many)."""
    weights: np.ndarray | None = None
    """w = 1/σ² of each point, from a --sigma or --weights column; None: every point counts alike.  A
    weight of 0 (σ = inf) keeps its row in the data and out of the fit, as R's lm(weights=) reads it."""
    weighting: str | None = None
    """Where the weights came from: "sigma" (a column of σ) or "weights" (a column of w); None without."""
    weight_name: str | None = None
    """The label of that column."""
    x_axis: object = None
    """A dates.Axis when x was a column of dates (x then holds days or seconds since its origin)."""

    @property
    def count(self):
        """How many points the data has (for a sample, how many it stands for)."""
        return int(self.sampled_from or self.x.size)

    def with_weight(self):
        """The points that carry weight: these, or without the rows of weight 0, which are in the data
        but not in the fit (so counting them would give the fit degrees of freedom it does not have)."""
        if self.weights is None or (self.weights > 0).all():
            return self
        kept = self.weights > 0
        return replace(self, x=self.x[kept], y=self.y[kept], weights=self.weights[kept], sampled_from=None)


def even_sample(count, most):
    """Indices of at most ``most`` of ``count`` items, spread evenly, in order."""
    if count <= most:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, most).round().astype(np.int64))


@dataclass(frozen=True)
class Layout:
    """How a CSV input was sniffed, for engines that hand the parsing to others (fitbp.engines.cluster)."""

    delimiter: str
    """One character, or WHITESPACE for runs of blanks."""
    width: int
    columns: list
    """The 0-based indices of the x and y columns."""
    start: int
    """The data begin after this line (the header's, or the blank and comment lines')."""


class Reader:
    """One CSV input read in blocks of (x, y) arrays, for callers that hold the points
    (load_points) and for those that cannot (fitbp.engines.local).

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
        self.encoding, self.stdin, self.decimal = encoding, stdin, check_decimal(decimal, delimiter)
        self.labels, self.rows_hint, self.table, self.stream, self.layout = None, 0, None, None, None

    def blocks(self):
        """(x, y) arrays of the data rows, a block at a time, every one checked."""
        rows = 0
        with _opened(self.source, self.name, self.stdin) as stream:
            self.stream = getattr(stream, "fileobj", stream)  # gzip's: the packed bytes, as the file's size counts
            blocks = _blocks(stream, self.name, self.encoding)
            head = next(blocks)
            delim, width, columns, self.labels, body = _layout(head, self.name, self.x, self.y, self.delimiter,
                                                               self.decimal, self.third)
            self.layout = Layout(delim, width, columns, body)
            self.rows_hint = _rows_hint(stream, head)
            self.x_axis = self.x_axis or _date_axis(head, body, delim, columns[0], self.time_unit)
            self.table = _Table(self.name, delim, width, columns, self.labels, self.skip_invalid, self.decimal,
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


def _date_axis(head, body, delim, column, unit):
    """A dates.Axis when the x cell of the first data line is an ISO 8601 date, else None."""
    from fitbp.sources import dates

    first = next((line for number, line in _sample(head.text) if number > body), None)
    fields = _split(first, delim) if first is not None else []
    cell = fields[column] if column < len(fields) else ""
    return dates.Axis.starting(cell, unit) if dates.parse(cell) is not None else None


def splittable(head, encoding):
    """Whether a file whose first bytes are ``head`` can be cut at its newlines into pieces that each
    decode alone (what read_piece reads): not UTF-16, not CR-only line ends, a byte-per-ASCII encoding."""
    return _streamable(encoding) and head[:2] not in (b"\xff\xfe", b"\xfe\xff") and not (
        b"\r" in head and b"\n" not in head)


def read_piece(data, name, settings, layout, labels, first):
    """(x, y, skipped rows, the first skipped row's problem) of a piece of CSV file ``name`` cut at newlines
    (a file that splittable() allows to cut).

    Every piece is read in the file's ``layout`` and ``labels`` (sniffed from its head by the caller),
    exactly as the local reader reads its blocks; the first skips the lines before the data.  Only the
    first piece knows its line numbers, so an error elsewhere names none: the caller finds the line by
    reading the file itself.  ``settings``: the reading options of Reader (x, y, delimiter, skip_invalid,
    encoding, decimal).
    """
    codec = codecs.lookup(settings.get("encoding") or "utf-8").name
    if codec == "utf-8-sig":
        codec, data = "utf-8", data.removeprefix(codecs.BOM_UTF8) if first else data
    table = _Table(name, layout.delimiter, layout.width, layout.columns, labels, settings.get("skip_invalid"),
                   settings.get("decimal") or ".")
    block = _Block(name, 1, data, codec)
    x, y, _ = table.read(block.after(layout.start) if first else block)
    problem = table.first_skip if first else table.first_skip and table.first_skip.split(": ", 1)[-1]
    return x, y, table.skipped, problem


def check_decimal(decimal, delimiter=None):
    """The decimal mark, or a FitbpError when it cannot be read unambiguously."""
    if decimal not in DECIMALS:
        raise FitbpError(f"unknown decimal mark {decimal!r} (use . or ,)")
    if decimal == "," and delimiter is not None and delimiter_named(delimiter) == ",":
        raise FitbpError("with --decimal , the delimiter cannot be a comma too (use ; or tab)")
    return decimal


def _layout(head, name, x, y, delimiter, decimal=".", third=None):
    """From the first lines: the delimiter, the column count, the chosen columns and their labels,
    and the number of the last line before the data (the header's, if there is one)."""
    sample = _sample(head.text)
    if not sample:
        raise head.error or at(name, None, "no data: the input is empty" if not head.text.strip()
                               else "no data: only blank and comment lines")
    lines = [line for _, line in sample]
    delim = delimiter_named(delimiter) if delimiter is not None else _sniff(lines, decimal)
    first_number, first_line = sample[0]
    first = _split(first_line, delim)
    rows = {len(_split(line, delim)) for line in lines[1:]}
    below = _sniff(lines[1:], decimal) if delimiter is None and len(rows) != 1 and len(lines) > 1 else None
    if below is not None and _consistent(lines[1:], below):
        delim = below  # the rows agree; the header, with spaces in its names, does not
        first, rows = _split(first_line, delim), {len(_split(lines[1], delim))}
    if len(rows) == 1 and len(first) != (width := rows.pop()) and not any(map(looks_like_number, first)):
        first = _header_fields(first, first_line, delim, width, name, first_number, delimiter)
    if len(first) < 2:
        if decimal == "," and "," in first_line:
            raise at(name, first_number, "found 1 column: with --decimal , a comma is a decimal mark, but this "
                     "line looks comma-separated (drop --decimal , or separate the columns with ; or tabs)")
        raise at(name, first_number, f"found 1 column, fitbp needs an x and a y column"
                 f"{'' if delimiter else ' (use --delimiter if they are separated by something else)'}")
    header = None if any(looks_like_number(f) for f in first) else first  # no cell written as a number
    chosen = ((x, 0, "x"), (y, 1, "y")) + (((third[0], None, third[1]),) if third else ())
    columns = [column_index(spec, header, len(first), default, role, name) for spec, default, role in chosen]
    labels = [header[i] if header and header[i] else str(i + 1) for i in columns]
    return delim, len(first), columns, labels, first_number if header else first_number - 1


def _header_fields(first, line, delim, width, name, number, delimiter):
    """A header whose field count is not the rows': names such as 'time (s)' split on runs of two or
    more spaces or on tabs, as aligned columns are written; or the error that says they disagree."""
    if delim == WHITESPACE:
        aligned = [f for f in re.split(r"\s{2,}|\t", line.strip()) if f]
        if len(aligned) == width:
            return aligned
    hint = "" if delimiter else "; if the delimiter is not what fitbp detected, pass --delimiter"
    raise at(name, number, f"the header has {len(first)} fields and the rows {width}{hint}")


def _consistent(lines, delim):
    return len({len(_split(line, delim)) for line in lines}) == 1


def parse_numbers(texts, what="argument", decimal="."):
    """Finite floats from strings, or an error naming the first bad one by position."""
    values = []
    for position, text in enumerate(texts, 1):
        value, problem = _number(text.strip(), decimal)
        if problem:
            raise FitbpError(f"{what} {position}: {_with_hint(problem, text.strip(), decimal)}")
        values.append(value)
    return np.array(values, dtype=np.float64)


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
    check_decimal(decimal)
    text = _text(source, name, encoding, stdin)
    sample = _sample(text)
    delim = _sniff([line for _, line in sample], decimal, least=1) if sample else WHITESPACE
    values, cells, columns_named = [], [], False
    for count, (number, line) in enumerate(_lines(text)):
        fields = _split(line, delim)
        cell = fields[0] if fields else ""
        ambiguous = COMMA_START.match(line) if delim == "," and decimal == "." and not columns_named else None
        if ambiguous:
            start = ambiguous.group(0).strip()
            raise at(name, number, f"{start!r} is ambiguous: pass --decimal , to read it as "
                     f"{start.replace(',', '.')}, or start with a header line (x,y) to read x from the first column")
        value, problem = _number(cell, decimal) if x_axis is None else x_axis.value(cell)
        if problem is None:
            values.append(value)
            cells.append(cell.strip())
        elif count > 0 or NUMBER_START.match(cell):  # a date axis says itself what a cell lacks
            raise at(name, number, problem if x_axis is not None else _with_hint(problem, cell, decimal))
        else:  # a header: the lines below it are columns if it names several
            columns_named = len(fields) > 1
    values = np.array(values, dtype=np.float64)
    return (values, cells) if as_given else values


def _text(source, name, encoding, stdin):
    """The whole input as text, for the short inputs that predict reads."""
    with _opened(source, name, stdin) as stream:
        return _whole_text(_read(stream, name, -1), name, encoding)


def _whole_text(data, name, encoding):
    text = _decode(data, name, encoding)
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    return text


@contextmanager
def _opened(source, name, stdin):
    """A binary stream of the input, gunzipped when it starts with gzip's magic."""
    if str(source) == "-":
        raw = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
        if raw is None:
            raise FitbpError("standard input is closed")
        if _is_terminal(raw):
            yield io.BytesIO(_typed(raw))
            return
        owned = None
    else:
        try:
            raw = owned = open(source, "rb")  # noqa: SIM115 (closed below, also on errors)
        except FileNotFoundError:
            raise at(name, None, "no such file") from None
        except IsADirectoryError:
            raise at(name, None, "is a directory, not a CSV file") from None
        except PermissionError:
            raise at(name, None, "permission denied") from None
        except OSError as e:
            raise at(name, None, f"cannot read: {e.strerror or e}") from None
    try:
        magic = _read(raw, name, 2)
        if owned is not None and owned.seekable():
            owned.seek(0)
            stream = owned
        else:  # a pipe: what was read cannot be read again, so it is put in front
            stream = io.BufferedReader(_Rejoined(magic, raw), BLOCK)
        yield gzip.GzipFile(fileobj=stream, mode="rb") if magic == b"\x1f\x8b" else stream
    finally:
        if owned is not None:
            owned.close()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _typed(stream):
    """What a person types until the first Ctrl-D at the start of a line.

    A terminal's end of input is not lasting: a buffered reader that asks again after it waits for
    another Ctrl-D, so the lines are read from the descriptor, and the first empty read ends them.
    """
    chunks = []
    while chunk := os.read(stream.fileno(), 65536):
        chunks.append(chunk)
    return b"".join(chunks)


class _Rejoined(io.RawIOBase):
    """The few bytes already read from a stream, then the rest of it."""

    def __init__(self, first, rest):
        self.first, self.rest = first, rest

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.first:
            count = min(len(buffer), len(self.first))
            buffer[:count], self.first = self.first[:count], self.first[count:]
            return count
        data = self.rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _read(stream, name, size):
    """Up to ``size`` bytes (all with -1), extended to the end of the line they stop in."""
    try:
        data = stream.read(size)
        if size > 2 and data and not data.endswith(b"\n"):
            data += stream.readline()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise at(name, None, f"not a readable gzip file ({e})") from None
    except IsADirectoryError:
        raise at(name, None, "is a directory, not a CSV file") from None
    except OSError as e:
        if isinstance(stream, gzip.GzipFile):
            raise at(name, None, f"not a readable gzip file ({e})") from None
        raise at(name, None, f"cannot read: {e.strerror or e}") from None
    return data


def _blocks(stream, name, encoding):
    """The input as _Blocks of whole lines; the first holds at least SNIFF_LINES data lines.

    Only the first block knows its first line's number; the reader numbers the others.

    UTF-8 and the single-byte encodings are read a block at a time.  Other
    encodings (UTF-16, or CR-only line ends) are read and decoded whole.
    """
    head = _read(stream, name, BLOCK)
    if not splittable(head, encoding):
        yield _Block(name, 1, text=_whole_text(head + _read(stream, name, -1), name, encoding))
        return
    _check_bytes(head, name, encoding)
    codec = codecs.lookup(encoding).name
    if codec == "utf-8-sig":
        codec, head = "utf-8", head.removeprefix(codecs.BOM_UTF8)
    block = _Block(name, 1, head, codec)
    while len(_sample(block.text)) < SNIFF_LINES and block.error is None and (more := _read(stream, name, BLOCK)):
        block = _Block(name, 1, block.data + more, codec)
    yield block
    while data := _read(stream, name, BLOCK):
        yield _Block(name, None, data, codec)


def _streamable(encoding):
    """Whether every byte below 0x80 is the ASCII character, so blocks can be cut at newlines."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        return False
    return codec in ("utf-8", "utf-8-sig", "ascii", "latin-1") or codec.startswith(("iso8859", "cp125"))


class _Block:
    """Whole lines of the input from line ``first`` on: bytes as read, text once decoded."""

    def __init__(self, name, first, data=None, codec=None, text=None):
        self.name, self.first, self.data, self.codec, self._text = name, first, data, codec, text
        self.error = None

    @property
    def text(self):
        """The lines as text.  Where a byte does not decode, only the lines before its line, and
        ``error`` holds the problem: raised once those lines are read, so that the first problem
        in the file is the one reported, wherever the blocks begin."""
        if self._text is None:
            try:
                self._text = self.data.decode(self.codec)
            except UnicodeDecodeError as e:
                self._text = self.data[:self.data.rfind(b"\n", 0, e.start) + 1].decode(self.codec)
                self.error = _undecodable(self.name, self.data, e, self.codec, self.first)
        return self._text

    def newlines(self):
        return self.data.count(b"\n") if self.data is not None else self.text.count("\n")

    def ascii(self):
        """The block's bytes when all are ASCII (what a C number parser can take), else None."""
        if self.data is not None:
            return self.data if self.data.isascii() else None
        return self.text.encode("ascii") if self.text.isascii() else None

    def after(self, line):
        """The rest of this block after line ``line``."""
        skip = line - self.first + 1
        if skip <= 0:
            return self
        whole, newline = (self.data, b"\n") if self.data is not None else (self.text, "\n")
        pos = 0
        for _ in range(skip):
            pos = whole.find(newline, pos) + 1
            if pos == 0:
                pos = len(whole)
                break
        rest = whole[pos:]
        return _Block(self.name, line + 1, rest, self.codec) if self.data is not None else _Block(
            self.name, line + 1, text=rest)


def _decode(data, name, encoding):
    """Text from bytes, or the error naming the line of the first byte that is not."""
    encoding = _check_bytes(data, name, encoding)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise _undecodable(name, data, e, encoding) from None
    except UnicodeError as e:  # codecs such as 'undefined' or 'punycode' fail their own way
        raise at(name, None, f"cannot decode as {encoding}: {e}") from None


SIGNATURES = [
    (b"PK\x03\x04", "a zip archive, such as an .xlsx or .ods spreadsheet: save the sheet as CSV (or unzip it) first"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) workbook: save the sheet as CSV first"),
    (b"PAR1", "a Parquet file: pass its path instead, since Parquet is read from its end"),
    (b"%PDF-", "a PDF document, not CSV text"),
    (b"\x89PNG", "a PNG picture, not CSV text"),
    (b"\xff\xd8\xff", "a JPEG picture, not CSV text"),
    (b"BZh", "a bzip2 archive: decompress it first (fitbp reads gzip by itself)"),
    (b"\xfd7zXZ\x00", "an xz archive: decompress it first (fitbp reads gzip by itself)"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive: decompress it first (fitbp reads gzip by itself)"),
    (b"SQLite format 3\x00", "an SQLite database: export the table as CSV first"),
]
"""Files people pass for data that are no text at all, by the bytes they start with."""


def looks_like_text(data, encoding):
    """Whether ``data`` reads as text in ``encoding`` (or UTF-8): no NUL byte, and it decodes."""
    if b"\x00" in data:
        return False
    for codec in dict.fromkeys((encoding, "utf-8")):
        try:
            data.decode(codec)
            return True
        except UnicodeDecodeError as e:
            if e.start >= len(data) - 3:  # only a character cut at the end
                return True
        except (LookupError, UnicodeError):
            continue
    return False


def _check_bytes(data, name, encoding):
    """The encoding to decode ``data`` with (a UTF-16 BOM overrides the given one), or the error
    that no decoding can mend: a spreadsheet, archive or other known binary file, binary data, an
    unknown encoding."""
    for signature, what in SIGNATURES:
        if data.startswith(signature) and not looks_like_text(data[:4096], encoding):  # a column named PAR1 is fine
            raise at(name, None, f"this is {what}")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return check_encoding("utf-16")  # its BOM says so; spreadsheets on Windows write it
    if b"\x00" in data[:8192] and _is_utf8(encoding):
        raise at(name, None, "binary data, not CSV text (if it is UTF-16 without a BOM, pass --encoding utf-16-le)")
    return check_encoding(encoding)


def _undecodable(name, data, error, encoding, first=1):
    line = first + data.count(b"\n", 0, error.start)
    shown = "UTF-8" if _is_utf8(encoding) else encoding
    return at(name, line, f"not {shown} text (byte 0x{data[error.start]:02x}); "
              "if it is Latin-1, pass --encoding latin-1")


def _is_utf8(encoding):
    return encoding.lower().replace("_", "-") in ("utf-8-sig", "utf-8", "utf8")


def check_encoding(encoding):
    """The name of a text encoding Python knows, or a FitbpError."""
    try:
        text_encoding = getattr(codecs.lookup(encoding), "_is_text_encoding", True)
    except LookupError:
        text_encoding = False
    if not text_encoding:  # 'rot13' and 'hex' are codecs, but not of bytes to text
        raise FitbpError(f"unknown encoding {encoding!r}")
    return encoding


def _lines(text, first=1):
    """(line number, line) for the lines of ``text`` that carry data; its first line is ``first``.

    Blank lines and lines starting with '#' are skipped; CR before LF is dropped.
    A generator, so that looking at the top of a large file does not split all of it.
    """
    pos, number = 0, first
    while pos >= 0:
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, line.rstrip("\r")
        pos = -1 if end < 0 else end + 1
        number += 1


def _sample(text):
    sample = []
    for item in _lines(text):
        sample.append(item)
        if len(sample) == SNIFF_LINES:
            break
    return sample


def delimiter_named(name):
    try:
        return DELIMITERS[name.lower() if len(name) > 1 else name]
    except KeyError:
        raise FitbpError(f"unknown delimiter {name!r} (use one of , ; tab | whitespace)") from None


def _sniff(lines, decimal=".", least=2):
    """The delimiter that splits every sampled line into the same number (≥ ``least``) of fields.

    Where several do, the one whose fields are most often numbers, decimal
    commas included: "1,5;2" is two numbers split at ';', not 1 and '5;2'.
    """
    candidates = ("\t", ",", ";", "|", WHITESPACE) if decimal == "." else ("\t", ";", "|", WHITESPACE)
    consistent = [delim for delim in candidates
                  if _consistent(lines, delim) and len(_split(lines[0], delim)) >= max(least, 2)]
    if len(consistent) > 1:
        return max(consistent, key=lambda d: _number_share(lines, d))  # max keeps the first of equals
    if consistent:
        return consistent[0]
    if least < 2:
        return "," if decimal == "." else WHITESPACE
    # Nothing is consistent: take the richest split of the first line, so the
    # error that follows names the ragged line rather than a column count.
    return max(candidates, key=lambda d: len(_split(lines[0], d)))


def _number_share(lines, delim):
    fields = [f for line in lines for f in _split(line, delim)]
    return sum(map(looks_like_number, fields)) / len(fields)


def looks_like_number(field):
    """Whether ``field`` is written as a number, with a decimal point or a decimal comma."""
    return is_number(field) or bool(DECIMAL_COMMA.fullmatch(field))


def _split(line, delim):
    if delim == WHITESPACE:
        return line.split()
    if '"' in line:
        try:
            return [f.strip() for f in next(csv.reader([line], delimiter=delim))]
        except csv.Error:  # a quote the csv module cannot close: read the line plainly
            pass
    return [f.strip() for f in line.split(delim)]


def is_number(field):
    """Whether ``field`` is written as a number, finite or not."""
    try:
        _as_float(field)
    except ValueError:
        return False
    return True


def _as_float(text):
    """float(text) for numbers as CSV writes them: ASCII, none of Python's own forms such as 1_000."""
    if not text.isascii() or "_" in text:
        raise ValueError(text)
    return float(text)


def column_index(spec, header, count, default, role, name):
    """The 0-based index of the column a user named by header or 1-based number."""
    if spec is None:
        return default
    spec = str(spec)
    if header and spec in header:
        return header.index(spec)
    if spec.isascii() and spec.isdigit():
        if 1 <= int(spec) <= count:
            return int(spec) - 1
        raise at(name, None, f"--{role} {spec}: column out of range, the data has {count} columns")
    known = (f"columns: {printable(', '.join(header))}" if header
             else "the data has no header row; give a 1-based number")
    raise at(name, None, f"--{role} {printable(spec)!r}: no such column ({known})")


class _Table:
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
        if len(values) > 3 and not _weighs(values[2], self.weighting).all():
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
        for number, line in _lines(block.text, block.first):
            fields = _split(line, self.delim)
            if len(fields) != self.width:
                raise at(self.name, number, f"expected {self.width} fields, found {len(fields)}")
            values, problem = [], None
            for place, (index, label) in enumerate(zip(self.columns, self.labels)):
                if place == 0 and self.x_axis is not None:
                    value, problem = self.x_axis.value(fields[index])
                elif place == 2:
                    value, problem = _weight(fields[index], self.decimal, self.weighting)
                else:
                    value, problem = _number(fields[index], self.decimal)
                dated = place == 0 and self.x_axis is not None  # the axis says what is wrong itself
                hint = _hint(fields[index], self.decimal, place == 0) if problem and not dated else None
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
                raise at(self.name, number, problem if hint else f"{problem} (--skip-invalid drops such rows)")
        if block.error:
            raise block.error
        return tuple(np.array(column, dtype=np.float64) for column in kept)


def floats(column):
    """A float64 pyarrow column without nulls as a numpy array, read from its buffers:
    pyarrow's own to_numpy imports pandas when installed, 0.3 s for nothing."""
    parts = [np.frombuffer(chunk.buffers()[1], dtype=np.float64, count=len(chunk), offset=8 * chunk.offset)
             for chunk in column.chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)


class Column:
    """A float64 array filled block by block.  Room is reserved for the rows the
    file's size promises; pages never written to cost no memory."""

    def __init__(self, capacity):
        self.array, self.size = np.empty(max(capacity, 1024)), 0

    def extend(self, values):
        end = self.size + len(values)
        if end > len(self.array):
            grown = np.empty(max(end, 2 * len(self.array)))
            grown[:self.size] = self.array[:self.size]
            self.array = grown
        self.array[self.size:end] = values
        self.size = end

    def values(self):
        return self.array[:self.size]


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


def _weighs(values, weighting):
    """Whether each value can be a σ (positive, inf included: no weight) or a weight (0 or more)."""
    return values > 0 if weighting == "sigma" else values >= 0


def _weight(cell, decimal, weighting):
    """(value, None) for a σ or a weight, else (None, what is wrong with the cell).  A weight of 0 or
    σ = inf is a point in the data and out of the fit; a σ of 0 would be a point of infinite weight."""
    value, problem = _number(cell, decimal, infinite=weighting == "sigma")
    if problem is None and not _weighs(value, weighting):
        return None, (f"{cell!r} is not positive, and a σ must be; σ = inf gives a point no weight"
                      if weighting == "sigma" else f"{cell!r} is negative, and a weight must be 0 or more")
    return value, problem


def _number(cell, decimal=".", infinite=False):
    """(value, None) for a finite number (or +inf with ``infinite``), else (None, what is wrong with the cell).

    Numbers as CSV writes them: ASCII digits, no Python-only forms such as 1_000;
    with ``decimal`` ",", 1,5 and never 1.5.
    """
    if cell == "":
        return None, "empty cell"
    shown = cell if len(cell) <= 40 else cell[:37] + "..."
    if decimal == ",":
        if "." in cell:
            thousands = "" if LOOKS_LIKE_DATE.fullmatch(cell) else ": is its '.' a thousands separator?"
            return None, f"{shown!r} is not a number with --decimal ,{thousands}"
        cell = cell.replace(",", ".")
    try:
        value = _as_float(cell)
    except ValueError:
        return None, f"{shown!r} is not a number"
    if value != value or value == float("-inf") or (value == float("inf") and not infinite):
        return None, f"{shown!r} is not a finite number"
    return value, None


def _with_hint(problem, cell, decimal):
    hint = _hint(cell, decimal)
    return f"{problem} ({hint})" if hint else problem


def _hint(cell, decimal, x=False):
    """What to do about a cell that is not a number but is written as one elsewhere: a decimal
    comma, a date.  None when nothing better than skipping the row can be said."""
    from fitbp.sources import dates

    if decimal == "." and DECIMAL_COMMA.fullmatch(cell):
        return (f"a decimal comma? pass --decimal , to read it as {cell.replace(',', '.')}; a comma between "
                "thousands must go")
    if x and dates.parse(cell) is not None:
        return "a date in a column of numbers: a column holds dates or numbers, not both"
    if x and dates.ISO.fullmatch(cell.strip()):
        return f"written as an ISO 8601 date, but {dates.problem(cell)}"
    if x and LOOKS_LIKE_DATE.fullmatch(cell):
        return ("it looks like a date or time, and fitbp reads dates as x in ISO 8601 only (2026-01-05, "
                "2026-01-05T12:30:00): rewrite the column so, or as numbers such as days since a start")
    if LOOKS_LIKE_DATE.fullmatch(cell):
        return ("it looks like a date or time, and fitbp reads numbers only: convert the column to "
                "numbers first, such as days since a start or decimal years")
    return None
