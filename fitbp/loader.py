"""The CSV loader: bytes from a file or a pipe in, finite x and y arrays out.

Exports from spreadsheets, instruments and other programs are untidy: a BOM,
CRLF line ends, gzip, comment lines, a header or none, commas or tabs or
semicolons or aligned columns.  The loader accepts all of these and refuses
everything else with the file, the line and the problem.

Clean files go to numpy's C parser in one call; a file it refuses is read
again line by line, which is slower but can say exactly where and what.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fitbp.errors import FitbpError, at, printable

WHITESPACE = "whitespace"
DELIMITERS = {",": ",", "comma": ",", ";": ";", "semicolon": ";", "\t": "\t", "\\t": "\t",
              "tab": "\t", "|": "|", "pipe": "|", " ": WHITESPACE, "space": WHITESPACE,
              WHITESPACE: WHITESPACE}
SNIFF_LINES = 20
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a long quoted cell is the data's problem, not csv's
NUMBER_START = re.compile(r"[+-]?\.?\d")
"""How a number starts: a first line that starts so is data with a typo, not a header."""


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


def even_sample(count, most):
    """Indices of at most ``most`` of ``count`` items, spread evenly, in order."""
    if count <= most:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, most).round().astype(np.int64))


def load_points(source, x=None, y=None, delimiter=None, skip_invalid=False, encoding="utf-8-sig",
                stdin=None):
    """Read x and y columns from a CSV path, or ``-`` for standard input.

    ``x`` and ``y`` name a header column or give a 1-based index (default:
    the first two columns).  With ``skip_invalid`` rows whose chosen cells are
    empty, not numbers, NaN or infinite are dropped and counted instead of
    being an error.
    """
    name = "<stdin>" if str(source) == "-" else str(source)
    text = _text(source, name, encoding, stdin)
    sample = _sample(text)
    if not sample:
        raise at(name, None, "no data: the input is empty" if not text.strip()
                 else "no data: only blank and comment lines")
    delim = delimiter_named(delimiter) if delimiter is not None else _sniff([l for _, l in sample])
    first_number, first_line = sample[0]
    first = _split(first_line, delim)
    if len(first) < 2:
        raise at(name, first_number, f"found 1 column, fitbp needs an x and a y column"
                 f"{'' if delimiter else ' (use --delimiter if they are separated by something else)'}")
    header = first if not any(_number(f)[1] is None for f in first) else None  # no finite number in it
    body_from = first_number if header else first_number - 1
    columns = [_column(spec, header, len(first), default, role, name)
               for spec, default, role in ((x, 0, "x"), (y, 1, "y"))]
    labels = [header[i] if header and header[i] else str(i + 1) for i in columns]
    table = _Table(name, text, body_from, delim, len(first), columns, labels)
    xs, ys, skipped, first_skip = table.fast() or table.careful(skip_invalid)
    if xs.size == 0:
        raise at(name, None, "no data rows after the header" if not skipped
                 else f"no valid rows: all {skipped} had invalid values, the first {first_skip}")
    path = None if name == "<stdin>" else str(Path(source).resolve())
    options = {"x": x, "y": y, "delimiter": delimiter, "skip_invalid": skip_invalid, "encoding": encoding}
    return Points(xs, ys, name, labels[0], labels[1], skipped, first_skip, path, options)


def parse_numbers(texts, what="argument"):
    """Finite floats from strings, or an error naming the first bad one by position."""
    values = []
    for position, text in enumerate(texts, 1):
        value, problem = _number(text.strip())
        if problem:
            raise FitbpError(f"{what} {position}: {problem}")
        values.append(value)
    return np.array(values, dtype=np.float64)


def load_x_values(source, encoding="utf-8-sig", stdin=None):
    """x values, one a line or the first field of CSV lines, for predictions.

    The delimiter is detected as for points, so that "1,5;2" is not read as 1.
    Blank and '#' lines are skipped, and a first line that is text (not
    starting like a number) is a header; any other line whose first field is
    not a finite number is an error.
    """
    name = "<stdin>" if str(source) == "-" else str(source)
    text = _text(source, name, encoding, stdin)
    sample = _sample(text)
    delim = _sniff([line for _, line in sample]) if sample else WHITESPACE
    values = []
    for count, (number, line) in enumerate(_lines(text)):
        fields = _split(line, delim)
        value, problem = _number(fields[0] if fields else "")
        if problem is None:
            values.append(value)
        elif count > 0 or NUMBER_START.match(fields[0] if fields else ""):
            raise at(name, number, problem)
    return np.array(values, dtype=np.float64)


def _text(source, name, encoding, stdin):
    text = _decode(_read(source, name, stdin), name, encoding)
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    return text


def _read(source, name, stdin):
    if str(source) == "-":
        stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise FitbpError("standard input is closed")
        data = stream.read()
    else:
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise at(name, None, "no such file") from None
        except IsADirectoryError:
            raise at(name, None, "is a directory, not a CSV file") from None
        except PermissionError:
            raise at(name, None, "permission denied") from None
        except OSError as e:
            raise at(name, None, f"cannot read: {e.strerror or e}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise at(name, None, f"not a readable gzip file ({e})") from None
    return data


def _decode(data, name, encoding):
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"  # its BOM says so; spreadsheets on Windows write it
    elif b"\x00" in data[:8192] and _is_utf8(encoding):
        raise at(name, None, "binary data, not CSV text (if it is UTF-16 without a BOM, pass --encoding utf-16-le)")
    check_encoding(encoding)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        shown = "UTF-8" if _is_utf8(encoding) else encoding
        raise at(name, line, f"not {shown} text (byte 0x{data[e.start]:02x}); "
                 "if it is Latin-1, pass --encoding latin-1") from None
    except UnicodeError as e:  # codecs such as 'undefined' or 'punycode' fail their own way
        raise at(name, None, f"cannot decode as {encoding}: {e}") from None


def _is_utf8(encoding):
    return encoding.lower().replace("_", "-") in ("utf-8-sig", "utf-8", "utf8")


def check_encoding(encoding):
    """The name of a text encoding Python knows, or a FitbpError."""
    import codecs

    try:
        text_encoding = getattr(codecs.lookup(encoding), "_is_text_encoding", True)
    except LookupError:
        text_encoding = False
    if not text_encoding:  # 'rot13' and 'hex' are codecs, but not of bytes to text
        raise FitbpError(f"unknown encoding {encoding!r}")
    return encoding


def _lines(text, start_line=1):
    """(line number, line) for the lines that carry data, from ``start_line`` on.

    Blank lines and lines starting with '#' are skipped; CR before LF is dropped.
    A generator, so that looking at the top of a large file does not split all of it.
    """
    pos, number = 0, 1
    while number < start_line and pos >= 0:
        pos = text.find("\n", pos) + 1 or -1
        number += 1
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


def _sniff(lines):
    """The delimiter that splits every sampled line into the same number (≥ 2) of fields."""
    candidates = ("\t", ",", ";", "|", WHITESPACE)
    for delim in candidates:
        counts = {len(_split(line, delim)) for line in lines}
        if len(counts) == 1 and counts.pop() >= 2:
            return delim
    # Nothing is consistent: take the richest split of the first line, so the
    # error that follows names the ragged line rather than a column count.
    return max(candidates, key=lambda d: len(_split(lines[0], d)))


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


def _column(spec, header, count, default, role, name):
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
    known = f"columns: {printable(', '.join(header))}" if header else "the data has no header row; give a 1-based number"
    raise at(name, None, f"--{role} {printable(spec)!r}: no such column ({known})")


class _Table:
    """The data rows of one text, parsed fast when clean and carefully otherwise."""

    def __init__(self, name, text, body_from, delim, width, columns, labels):
        self.name, self.text, self.body_from = name, text, body_from
        self.delim, self.width, self.columns, self.labels = delim, width, columns, labels

    def body(self):
        pos = 0
        for _ in range(self.body_from):
            pos = self.text.find("\n", pos) + 1
            if pos == 0:
                return ""
        return self.text[pos:]

    def fast(self):
        """numpy's C parser on the whole body, or None when it needs the careful reading."""
        body = self.body()
        if '"' in body or "#" in body:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = np.loadtxt(io.StringIO(body), dtype=np.float64, comments=None, ndmin=2,
                                   delimiter=None if self.delim == WHITESPACE else self.delim)
        except ValueError:
            return None
        if table.shape[0] and table.shape[1] != self.width:
            return None
        xs, ys = (np.ascontiguousarray(table[:, c]) for c in self.columns) if table.size else (
            np.empty(0), np.empty(0))
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            return None
        return xs, ys, 0, None

    def careful(self, skip_invalid):
        """Line by line: the first problem is an error, or with skip_invalid a skipped row."""
        xs, ys, skipped, first_skip = [], [], 0, None
        for number, line in _lines(self.text, self.body_from + 1):
            fields = _split(line, self.delim)
            if len(fields) != self.width:
                raise at(self.name, number, f"expected {self.width} fields, found {len(fields)}")
            values, problem = [], None
            for index, label in zip(self.columns, self.labels):
                value, problem = _number(fields[index])
                if problem:
                    problem = f"column {label!r}: {problem}"
                    break
                values.append(value)
            if problem is None:
                xs.append(values[0])
                ys.append(values[1])
            elif skip_invalid:
                skipped += 1
                first_skip = first_skip or f"at line {number}: {problem}"
            else:
                raise at(self.name, number, f"{problem} (--skip-invalid drops such rows)")
        return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64), skipped, first_skip


def _number(cell):
    """(value, None) for a finite number, else (None, what is wrong with the cell).

    Numbers as CSV writes them: ASCII digits, no Python-only forms such as 1_000.
    """
    if cell == "":
        return None, "empty cell"
    shown = cell if len(cell) <= 40 else cell[:37] + "..."
    try:
        value = _as_float(cell)
    except ValueError:
        return None, f"{shown!r} is not a number"
    if value != value or value in (float("inf"), float("-inf")):
        return None, f"{shown!r} is not a finite number"
    return value, None
