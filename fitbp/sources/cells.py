"""One cell of CSV text as a number, and what to say about a cell that is none.

A cell is read as CSV writes numbers: ASCII digits, a decimal point or, with --decimal ",", a decimal
comma; never Python's own forms such as 1_000, which no spreadsheet writes.  A cell that is no finite
number gets its problem in words, and where it looks like something else (a decimal comma, a date)
what to do about it.  The sniffer, the line-by-line reading and predict's x values all ask here, so
that a cell means one thing wherever it is read.
"""

from __future__ import annotations

import re

import numpy as np

from fitbp.errors import FitbpError

DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")
"""A number written with a decimal comma, as European spreadsheets export it: 1,5 or -0,25e3."""
LOOKS_LIKE_DATE = re.compile(r"\d{4}-\d\d?-\d\d?([ T].*)?|\d\d?[./-]\d\d?[./-]\d{2,4}( .*)?|\d\d?:\d\d(:\d\d.*)?")


def number(cell, decimal=".", infinite=False):
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


def weight(cell, decimal, weighting):
    """(value, None) for a σ or a weight, else (None, what is wrong with the cell).  A weight of 0 or
    σ = inf is a point in the data and out of the fit; a σ of 0 would be a point of infinite weight."""
    value, problem = number(cell, decimal, infinite=weighting == "sigma")
    if problem is None and not weighs(value, weighting):
        return None, (f"{cell!r} is not positive, and a σ must be; σ = inf gives a point no weight"
                      if weighting == "sigma" else f"{cell!r} is negative, and a weight must be 0 or more")
    return value, problem


def weighs(values, weighting):
    """Whether each value can be a σ (positive, inf included: no weight) or a weight (0 or more)."""
    return values > 0 if weighting == "sigma" else values >= 0


def is_number(field):
    """Whether ``field`` is written as a number, finite or not."""
    try:
        _as_float(field)
    except ValueError:
        return False
    return True


def looks_like_number(field):
    """Whether ``field`` is written as a number, with a decimal point or a decimal comma."""
    return is_number(field) or bool(DECIMAL_COMMA.fullmatch(field))


def _as_float(text):
    """float(text) for numbers as CSV writes them: ASCII, none of Python's own forms such as 1_000."""
    if not text.isascii() or "_" in text:
        raise ValueError(text)
    return float(text)


def hint(cell, decimal, x=False):
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


def with_hint(problem, cell, decimal):
    """``problem``, with what to do about it when hint() knows."""
    said = hint(cell, decimal)
    return f"{problem} ({said})" if said else problem


def parse_numbers(texts, what="argument", decimal="."):
    """Finite floats from strings, or an error naming the first bad one by position."""
    values = []
    for position, text in enumerate(texts, 1):
        value, problem = number(text.strip(), decimal)
        if problem:
            raise FitbpError(f"{what} {position}: {with_hint(problem, text.strip(), decimal)}")
        values.append(value)
    return np.array(values, dtype=np.float64)
