"""Dates and times as x: ISO 8601 text to days (or seconds) since an origin, and back.

Trends and calibration logs are indexed by time.  A polynomial needs numbers,
and the loss needs them well scaled, so a column of dates becomes the days
(or, with --time-unit s, seconds) since an origin: midnight of its first date.
The origin and the unit go into the model, so that predict can take dates and
print them back.  Times with a UTC offset are compared as instants (a day
across a change to summer time has 23 hours); times without one as the wall
clock reads them; a column may not mix the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from fitbp.sources import stamps

ISO = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)?)?")
UNITS = {"d": ("days", 86400.0), "s": ("seconds", 1.0)}
NOT_ISO = "not an ISO 8601 date or date-time"


def parse(cell):
    """The datetime of an ISO 8601 cell, or None when it is not one (see problem)."""
    return _parsed(cell)[0]


def problem(cell):
    """Why ``cell`` is not a date fitbp can read, in a few words; None when it is one."""
    return _parsed(cell)[1]


def _parsed(cell):
    text = cell.strip()
    if not text:
        return None, "empty cell"
    if not ISO.fullmatch(text):
        return None, NOT_ISO
    if "." in text:  # Python reads at most 6 digits of a second's fraction
        head, _, rest = text.partition(".")
        digits = re.match(r"\d+", rest).group(0)
        if digits[6:].strip("0"):
            return None, "a time finer than a microsecond, which fitbp's times cannot hold"
        text = head + "." + (digits + "000000")[:6] + rest[len(digits):]
    try:
        text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text.replace("Z", "+00:00"))  # Python 3.10 wants +01:00
        return datetime.fromisoformat(text), None
    except ValueError:
        return None, "not a real date or time"


@dataclass(frozen=True)
class Axis:
    """x as the days (or seconds) since ``origin``: how a column of dates becomes numbers, and back."""

    origin: datetime
    unit: str = "days"

    @classmethod
    def starting(cls, cell, unit="d"):
        """The axis of a column whose first value is ``cell``: its midnight, in the column's own offset."""
        first = parse(cell)
        return cls(first.replace(hour=0, minute=0, second=0, microsecond=0), UNITS[unit][0])

    @classmethod
    def of(cls, document):
        """The axis a model file keeps, or None for numeric x (or a damaged entry)."""
        origin, unit = document.get("x_origin"), document.get("x_unit")
        if not isinstance(origin, str) or unit not in ("days", "seconds") or parse(origin) is None:
            return None
        return cls(parse(origin), unit)

    @property
    def seconds(self):
        return 86400.0 if self.unit == "days" else 1.0

    @property
    def aware(self):
        return self.origin.tzinfo is not None

    def value(self, cell):
        """(number, None) for a date cell on this axis, else (None, what is wrong with it)."""
        moment, wrong = _parsed(cell)
        shown = cell if len(cell) <= 40 else cell[:37] + "..."
        if moment is None and wrong == NOT_ISO:
            return None, (f"{shown!r} is not an ISO 8601 date (such as {self.text(0.0)}): x here are dates, "
                          "and a column holds dates or numbers, not both")
        if moment is None:
            return None, wrong if wrong == "empty cell" else f"{shown!r} is {wrong}"
        if (moment.tzinfo is not None) != self.aware:
            return None, (f"{shown!r} {'has no' if self.aware else 'has a'} UTC offset where the column's first "
                          f"{'has one' if self.aware else 'has none'}: a column of times must be all one kind")
        return (moment - self.origin) / timedelta(seconds=1) / self.seconds, None

    def values(self, cells):
        """numbers of date cells, or a ValueError naming the first that is not one."""
        found = []
        for cell in cells:
            number, problem = self.value(cell)
            if problem:
                raise ValueError(problem)
            found.append(number)
        return np.array(found, dtype=np.float64)

    def column(self, texts):
        """numbers of a whole column of date cells at once (a numpy bytes array), or None where the cells
        are not all in one plain form (fitbp.sources.stamps) and ``values`` must read them one by one.
        The same numbers as ``value``'s to the bit: whole microseconds, divided as datetime divides them."""
        read = stamps.microseconds(texts)
        if read is None or read[1] != self.aware:
            return None  # a naive cell in an aware column, or the other way round: value says which
        seconds = _seconds(read[0] - self._origin64.astype(np.int64))
        return seconds / self.seconds if seconds is not None else None

    def moment(self, number):
        return self.origin + timedelta(seconds=float(number) * self.seconds)

    def text(self, number):
        """ISO 8601 text of x = ``number``: a date alone at midnight of a column of plain dates."""
        moment = self.moment(number)
        if not self.aware and moment.time() == datetime.min.time():
            return date.isoformat(moment.date())
        return moment.isoformat()

    def datetime64(self, numbers):
        """numpy datetime64 of x values, for drawing (UTC instants for times with an offset)."""
        offsets = np.round(np.asarray(numbers, dtype=np.float64) * self.seconds * 1e6).astype("timedelta64[us]")
        return self._origin64 + offsets

    def numbers(self, moments):
        """x of numpy datetime64 values (UTC instants for times with an offset), as the reader reckons
        a cell: whole microseconds to seconds, then to the axis's unit; datetime64's inverse."""
        micro = (np.asarray(moments).astype("datetime64[us]") - self._origin64).astype(np.int64)
        return micro / 1e6 / self.seconds

    @property
    def _origin64(self):
        """The origin as numpy's datetime64, which has no offset: in UTC where the origin has one."""
        origin = self.origin.replace(tzinfo=None) - self.origin.utcoffset() if self.aware else self.origin
        return np.datetime64(origin, "us")

    def to_dict(self):
        return {"x_origin": self.origin.isoformat(), "x_unit": self.unit}


def _seconds(micro):
    """Seconds of int64 microseconds as value() reckons them, or None where numpy cannot match it.

    Python divides the integers (timedelta / timedelta), correctly rounded; numpy divides floats, which
    is the same only where the integers are exact in float64: up to 2**53 µs (285 years), and beyond
    for multiples of 64 µs (whole seconds are), divided by 64 first, as 10**6 = 64 * 15625."""
    far = np.abs(micro) > 2 ** 53
    if not far.any():
        return micro / 1e6
    if (micro[far] % 64).any():
        return None
    return np.where(far, (micro >> 6) / 15625.0, micro / 1e6)
