"""A column of ISO 8601 cells, all written one plain way, read at once: the fast twin of dates.Axis.value.

Reading a million dates one datetime.fromisoformat at a time takes seconds, where a million numbers
take a tenth of one.  Most columns of dates are written by a program, every cell in the same form
(2024-01-05T10:30:00, or with a fraction or a UTC offset), so their digits sit at the same places and
numpy can read them as digits: the form is taken from a column's first cell and every other cell
must have digits, separators and sign at the very same places.

This reading only ever accepts: a cell it is not sure of (another form, whitespace, a month 13, an
hour 24, a digit finer than a microsecond, an offset past 23:59) makes it give up on the whole
column, and dates.Axis.value then reads the cells one by one and says what is wrong where.  What it
accepts it reckons as Python's datetime does, in whole microseconds, so the numbers are the same to
the bit (tests/test_dates.py holds the two readings to that).
"""

from __future__ import annotations

import functools
import re

import numpy as np

FORM = re.compile(rb"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?"
                  rb"(?:Z|([+-])(\d\d):?(\d\d))?)?")
"""dates.ISO in bytes and with groups: year, month, day, hour, minute, second, fraction, offset's sign,
hours and minutes; ASCII digits only."""
PARTS = ("year", "month", "day", "hour", "minute", "second", "fraction", "sign", "offset_hours", "offset_minutes")
MOST = {"month": 12, "hour": 23, "minute": 59, "second": 59, "offset_hours": 23, "offset_minutes": 59}
"""The largest value of each part that is read here; anything above is left to datetime (which refuses
most, and reads some its own way, such as an offset of +01:60)."""
DAY = 86_400_000_000
"""Microseconds in a day: a day of dates is always one here, as to datetime (no leap seconds)."""


def microseconds(texts):
    """(int64 microseconds since 1970-01-01 of every cell, whether the cells carry a UTC offset), or None
    when any cell is not in a form read here.

    ``texts``: a numpy bytes array (dtype 'S'; its trailing NUL bytes are padding, not text).  Times with
    an offset come as UTC instants, times without one as the wall clock reads them, which is how
    datetime subtracts them; a column that mixes the two gives None, as does one of no cells at all.
    """
    if texts.dtype.kind != "S" or texts.ndim != 1 or not texts.size:
        return None
    texts = np.ascontiguousarray(texts)  # a column of a structured array is a strided view
    raw = texts.view(np.uint8).reshape(texts.size, texts.dtype.itemsize)
    lengths = np.char.str_len(texts)
    forms = np.flatnonzero(np.bincount(lengths))  # one form a length: a date, a time, a fraction's digits...
    found, offset = np.empty(texts.size, np.int64), set()
    for length in forms:
        rows = slice(None) if forms.size == 1 else lengths == length
        read = _one_form(raw[rows, :length])
        if read is None:
            return None
        found[rows] = read[0]
        offset.add(read[1])
    return (found, offset.pop()) if len(offset) == 1 else None


def _one_form(raw):
    """(microseconds, whether the cells have an offset) of cells of the first cell's form, or None."""
    match = FORM.fullmatch(raw[0].tobytes())
    if match is None:
        return None
    spans = {part: match.span(group) for group, part in enumerate(PARTS, 1) if match.start(group) >= 0}
    at = np.ascontiguousarray(raw.T)  # at[i]: the i-th character of every cell, side by side
    if not _same_places(at, spans):
        return None
    parts = {part: _number(at, *span) for part, span in spans.items() if part not in ("sign", "fraction")}
    if any((parts[part] > most).any() for part, most in MOST.items() if part in parts):
        return None
    days = _days(parts["year"], parts["month"], parts["day"])
    fraction = _fraction(at, *spans["fraction"]) if "fraction" in spans else 0
    if days is None or fraction is None:
        return None
    clock = (parts.get("hour", 0) * 60 + parts.get("minute", 0)) * 60 + parts.get("second", 0)
    micro = days * DAY + clock * 1_000_000 + fraction
    if "sign" in spans:  # local time = UTC + offset
        east = np.where(at[spans["sign"][0]] == ord("-"), -1, 1)
        micro -= east * (parts["offset_hours"] * 60 + parts["offset_minutes"]) * 60_000_000
    return micro, match.group(0).endswith(b"Z") or "sign" in spans


def _same_places(at, spans):
    """Whether every cell has digits where the first has, a sign (+ or -) where it has one, and its
    very characters everywhere else: then every cell matches FORM as the first does, part for part."""
    digits, sign = np.zeros(at.shape[0], bool), np.zeros(at.shape[0], bool)
    for part, (start, end) in spans.items():
        (sign if part == "sign" else digits)[start:end] = True
    literal = ~(digits | sign)
    if not (at[literal] == at[literal, :1]).all() or not (at[digits] - np.uint8(ord("0")) < 10).all():
        return False
    return not sign.any() or np.isin(at[sign], (ord("+"), ord("-"))).all()


def _number(at, start, end):
    """The decimal number that characters start:end of every cell write (digits, as checked)."""
    value = at[start].astype(np.int64) - ord("0")
    for place in range(start + 1, end):
        value = value * 10 + (at[place] - np.uint8(ord("0")))
    return value


def _fraction(at, start, end):
    """A second's fraction in whole microseconds, or None where a digit past the sixth is not 0:
    finer than a microsecond, which datetime (and so fitbp) cannot hold."""
    if end - start > 6 and (at[start + 6:end] != ord("0")).any():
        return None
    return _number(at, start, min(end, start + 6)) * 10 ** (6 - min(end - start, 6))


def _days(year, month, day):
    """Days since 1970-01-01 of real dates, or None if any is not one: year 0, month 0 or 13, a day past
    its month's end."""
    if (year < 1).any() or (month < 1).any() or (day < 1).any():
        return None
    starts = _month_starts()
    months = year * 12 + month - 1
    first = starts[months]
    if (day > starts[months + 1] - first).any():
        return None
    return first + day - 1


@functools.cache
def _month_starts():
    """Days since 1970-01-01 of the first of every month from year 0 to 10000, by numpy's calendar (the
    proleptic Gregorian one, as datetime's): a look-up, faster than numpy's calendar for each cell."""
    months = np.arange(10001 * 12) - 1970 * 12
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
