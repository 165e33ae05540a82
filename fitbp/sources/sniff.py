"""How a CSV input is laid out, from its first lines: delimiter, decimal mark, header, columns.

Exports are untidy: commas, semicolons, tabs, pipes or aligned columns; a header or none, with names
that hold spaces; decimal commas.  The sniffer looks at the first data lines (decode.SNIFF_LINES) and
takes the delimiter that splits every one into the same number of fields, the one whose fields are
most often numbers where several do; the first line is a header when none of its cells is written as
a number; --x, --y and a σ or weight column name columns by label or number.  What it finds is a
Layout, which every block of the input is then read in (fitbp.sources.table), here or on a dask worker.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass

from fitbp.errors import FitbpError, at, option, printable
from fitbp.sources.cells import looks_like_number
from fitbp.sources.decode import first_lines

WHITESPACE = "whitespace"
DELIMITERS = {",": ",", "comma": ",", ";": ";", "semicolon": ";", "\t": "\t", "\\t": "\t",
              "tab": "\t", "|": "|", "pipe": "|", " ": WHITESPACE, "space": WHITESPACE,
              WHITESPACE: WHITESPACE}
DECIMALS = (".", ",")
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a long quoted cell is the data's problem, not csv's


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


def check_decimal(decimal, delimiter=None):
    """The decimal mark, or a FitbpError when it cannot be read unambiguously."""
    if decimal not in DECIMALS:
        raise FitbpError(f"unknown decimal mark {decimal!r} (use . or ,)")
    if decimal == "," and delimiter is not None and delimiter_named(delimiter) == ",":
        raise FitbpError(f"with {option('decimal', ',')} the delimiter cannot be a comma too (use ; or tab)")
    return decimal


def delimiter_named(name):
    try:
        return DELIMITERS[name.lower() if len(name) > 1 else name]
    except KeyError:
        raise FitbpError(f"unknown delimiter {name!r} (use one of , ; tab | whitespace)") from None


def sniffed(head, name, x, y, delimiter, decimal=".", third=None):
    """From the first lines: the delimiter, the column count, the chosen columns and their labels,
    and the number of the last line before the data (the header's, if there is one)."""
    sample = first_lines(head.text)
    if not sample:
        raise head.error or at(name, None, "no data: the input is empty" if not head.text.strip()
                               else "no data: only blank and comment lines")
    lines = [line for _, line in sample]
    delim = delimiter_named(delimiter) if delimiter is not None else delimiter_of(lines, decimal)
    first_number, first_line = sample[0]
    first = split(first_line, delim)
    rows = {len(split(line, delim)) for line in lines[1:]}
    below = delimiter_of(lines[1:], decimal) if delimiter is None and len(rows) != 1 and len(lines) > 1 else None
    if below is not None and _consistent(lines[1:], below):
        delim = below  # the rows agree; the header, with spaces in its names, does not
        first, rows = split(first_line, delim), {len(split(lines[1], delim))}
    if len(rows) == 1 and len(first) != (width := rows.pop()) and not any(map(looks_like_number, first)):
        first = _header_fields(first, first_line, delim, width, name, first_number, delimiter)
    if len(first) < 2:
        if decimal == "," and "," in first_line:
            comma = option("decimal", ",")
            raise at(name, first_number, f"found 1 column: with {comma} a comma is a decimal mark, but this line "
                     f"looks comma-separated (drop {comma} or separate the columns with ; or tabs)")
        otherwise = "" if delimiter else f" (use {option('delimiter')} if they are separated by something else)"
        raise at(name, first_number, f"found 1 column, fitbp needs an x and a y column{otherwise}")
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
    hint = "" if delimiter else f"; if the delimiter is not what fitbp detected, pass {option('delimiter')}"
    raise at(name, number, f"the header has {len(first)} fields and the rows {width}{hint}")


def _consistent(lines, delim):
    return len({len(split(line, delim)) for line in lines}) == 1


def delimiter_of(lines, decimal=".", least=2):
    """The delimiter that splits every sampled line into the same number (≥ ``least``) of fields.

    Where several do, the one whose fields are most often numbers, decimal
    commas included: "1,5;2" is two numbers split at ';', not 1 and '5;2'.
    """
    candidates = ("\t", ",", ";", "|", WHITESPACE) if decimal == "." else ("\t", ";", "|", WHITESPACE)
    consistent = [delim for delim in candidates
                  if _consistent(lines, delim) and len(split(lines[0], delim)) >= max(least, 2)]
    if len(consistent) > 1:
        return max(consistent, key=lambda d: _number_share(lines, d))  # max keeps the first of equals
    if consistent:
        return consistent[0]
    if least < 2:
        return "," if decimal == "." else WHITESPACE
    # Nothing is consistent: take the richest split of the first line, so the
    # error that follows names the ragged line rather than a column count.
    return max(candidates, key=lambda d: len(split(lines[0], d)))


def _number_share(lines, delim):
    fields = [f for line in lines for f in split(line, delim)]
    return sum(map(looks_like_number, fields)) / len(fields)


def split(line, delim):
    if delim == WHITESPACE:
        return line.split()
    if '"' in line:
        try:
            return [f.strip() for f in next(csv.reader([line], delimiter=delim))]
        except csv.Error:  # a quote the csv module cannot close: read the line plainly
            pass
    return [f.strip() for f in line.split(delim)]


def column_index(spec, header, count, default, role, name):
    """The 0-based index of the column a user named by header or 1-based number."""
    if spec is None:
        return default
    given, spec = spec, str(spec)
    if header and spec in header:
        return header.index(spec)
    if spec.isascii() and spec.isdigit():
        if 1 <= int(spec) <= count:
            return int(spec) - 1
        raise at(name, None, f"{option(role, given, spec)}: column out of range, the data has {count} columns")
    known = (f"columns: {printable(', '.join(header))}" if header
             else "the data has no header row; give a 1-based number")
    raise at(name, None, f"{option(role, given, repr(printable(spec)))}: no such column ({known})")


def date_axis(head, body, delim, column, unit):
    """A dates.Axis when the x cell of the first data line is an ISO 8601 date, else None."""
    from fitbp.sources import dates

    first = next((line for number, line in first_lines(head.text) if number > body), None)
    fields = split(first, delim) if first is not None else []
    cell = fields[column] if column < len(fields) else ""
    return dates.Axis.starting(cell, unit) if dates.parse(cell) is not None else None
