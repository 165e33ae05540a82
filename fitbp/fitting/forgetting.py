"""Forgetting: old points weighed down exponentially (``--half-life``), for a sensor that drifts.

A point's weight is 2^(−age/h): its age in rows from the newest (the last read), ``--half-life 500``, or in
time from the newest x, ``--half-life 7d`` for dates as x.  A fit with it is the weighted least-squares fit
with those weights, and its statistics are the weighted fit's (errors scaled by the reduced χ²: the
weights say how much a point counts, not its σ).  On a stream (``--follow``) the same weights come
recursively, as recursive least squares with a forgetting factor has them: before a batch is merged,
the summary of the points before it is weighed down by 2^(−m/h) for its m rows, or by the time the
newest x moved on (fitbp.fitting.updates.Running).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from fitbp.errors import FitbpError, option, printable

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
TIME = re.compile(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)([smhdw])")


@dataclass(frozen=True)
class HalfLife:
    """h in rows (``rows``), or in seconds of time (``seconds``), and how it was written."""

    rows: float | None = None
    seconds: float | None = None
    text: str = ""

    def in_x(self, axis, source):
        """h in x's units: rows need nothing; time needs x to be dates (days or seconds since an origin)."""
        if self.rows is not None:
            return self.rows
        if axis is None:
            raise FitbpError(f"{printable(source)}: a half-life in time ({self.text}) needs dates as x; give it in "
                             f"rows instead, such as {option('half_life', '500')}")
        return self.seconds / (86400.0 if axis.unit == "days" else 1.0)

    def ages(self, x):
        """Each point's age: rows from the last one, or x units from the largest x (as ``in_x`` measures)."""
        return (x.size - 1 - np.arange(x.size, dtype=np.float64)) if self.rows is not None else float(np.max(x)) - x


def aged(half_life, h, x, newest=None):
    """(the weights 2^(−age/h) of new points x, the factor the weights of the points before them age by,
    the newest x after them) with h in x's units (HalfLife.in_x): in rows, the new points come after the
    others, who age by their count; in time, every point ages from the newest x of all (``newest``: of
    the points before, None where there are none)."""
    if half_life.rows is not None:
        return np.exp2(-half_life.ages(x) / h), math.exp2(-x.size / h), newest
    latest = float(np.max(x)) if newest is None else max(newest, float(np.max(x)))
    decay = 1.0 if newest is None else math.exp2(-(latest - newest) / h)
    return np.exp2(-(latest - x) / h), decay, latest


def parse(text):
    """A HalfLife of ``--half-life``'s text: a number of rows (500), or a time (7d, 12h, 30m, 45s, 2w)."""
    value = str(text).strip()
    found = TIME.fullmatch(value)
    if found:
        seconds = float(found.group(1)) * UNITS[found.group(2)]
        if seconds > 0 and math.isfinite(seconds):
            return HalfLife(seconds=seconds, text=value)
    else:
        try:
            rows = float(value)
        except ValueError:
            rows = math.nan
        if rows > 0 and math.isfinite(rows):
            return HalfLife(rows=rows, text=value)
    raise ValueError(f"{value!r} is neither a positive number of rows nor a time such as 7d, 12h or 30m")


def weighed(points, half_life):
    """``points`` with the weights 2^(−age/h) (held points: their order is their age); a FitbpError for points
    that already carry a σ or weights, or are not held."""
    if not points.held:
        raise FitbpError(f"{printable(points.source)}: {option('half_life')} weighs held points, for now: raise "
                         f"{option('memory')}")
    if getattr(points, "weights", None) is not None:
        raise FitbpError(f"{printable(points.source)}: {option('half_life')} gives the points their weights, and "
                         f"these have a {points.weighting} column already: one or the other, for now")
    x = np.asarray(points.x, dtype=np.float64)
    weights, _, _ = aged(half_life, half_life.in_x(getattr(points, "x_axis", None), points.source), x)
    return replace(points, weights=weights, weighting="half_life", weight_name=half_life.text)
