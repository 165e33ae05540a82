"""A saved fit that keeps learning: its data's summary in the model file, and the update that merges new
points into it, exactly.

A least-squares polynomial rests on the triangle of its data (fitbp.engines.moments.Part: R, z and ρ of
the rows [V y] in powers of their own x range), and Parts merge: two sets of rows give the Part of both,
whatever their x ranges, with no digit lost that QR keeps.  So the model file keeps its data's Part at
the fitted degree (every float as ``float.hex``, so a file round trip changes no bit), with what the
trainer asks of data it does not hold (count, rows, x range, y's exponent, distinct x, the weights' mean),
and ``update`` merges the Part of new points into it and fits again: the fit of the old and new points
together, without the old ones, as R's biglm does.

Weights (w = 1/σ²) enter every Part as fitbp's passes have them, scaled to mean 1 over the rows they
summarise; a Part kept with mean c and one of new rows with mean c' are brought to a common mean before
they merge (rows times √(c'/c)), and to the mean of all the rows before the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from fitbp.errors import FitbpError, option, printable
from fitbp.engines import moments
from fitbp.fitting import forgetting
from fitbp.sources import dates
from fitbp.sources.data import Points

VERSION = 1
"""The kept summary's own version: a later fitbp that keeps it otherwise refuses this one in words."""
KEEP_DEGREE = 20
"""The highest degree a model whose degree BIC chose keeps its data's summary at (the degrees its search
looked at, up to this): a Part at degree D holds every lower degree's triangle, and an update chooses
among them again (fitbp.selection.updated)."""


# ---------------------------------------------------------------- what the model file keeps

def kept(result):
    """The model file's "summary" of a fit's data, or None where an update could not be exact: a robust
    loss (it needs the points), a basis that is not a polynomial (a Fourier series, a spline)."""
    from fitbp.fitting import losses, trainer

    basis = result.polynomial.basis
    if not (basis.polynomial and losses.named(result.loss).least_squares):
        return None
    points = trainer.with_weight(result.points)
    degree = result.polynomial.degree
    if result.selection:  # BIC chose it: keep the degrees it searched, so that an update may choose again
        degree = max(degree, min(int(result.selection.get("searched") or degree), KEEP_DEGREE))
    if isinstance(points, Kept):  # an update's: every degree its summary holds
        part, y_exponent, distinct = points.merged, points.y_exponent, points.distinct
    elif points.held:
        x, y = np.asarray(points.x, dtype=np.float64), np.asarray(points.y, dtype=np.float64)
        part = moments.part_of(x, y, degree, trainer.weight_roots(points))
        y_exponent, distinct = moments.unit_exponent(y), moments.distinct_up_to(x, degree + 1)
    else:
        part, y_exponent, distinct = points.part(degree), points.y_exponent, min(points.distinct, degree + 1)
    return {"version": VERSION, "degree": part.degree, "part": _hexed(part), "count": int(points.count),
            "rows": int(result.points.rows), "y_exponent": int(y_exponent), "distinct": int(distinct),
            "weight_mean": None if (m := trainer.weight_mean(points)) is None else float.hex(float(m)),
            "updates": int(getattr(result.points, "updates", 0))}


def _hexed(part):
    return {"full": [float.hex(float(v)) for v in part.full.ravel()], "low": float.hex(part.low),
            "high": float.hex(part.high), "exponent": int(part.exponent), "count": int(part.count),
            "shift": float.hex(float(part.shift))}


def _part_of(found, shown):
    """The moments.Part a "summary" holds, checked: a FitbpError naming the file for anything else."""
    try:
        degree = int(found["degree"])
        size = degree + 2
        full = np.array([float.fromhex(v) for v in found["part"]["full"]], dtype=np.float64).reshape(size, size)
        part = found["part"]
        return moments.Part(full, float.fromhex(part["low"]), float.fromhex(part["high"]), int(part["exponent"]),
                            int(part["count"]), float.fromhex(part["shift"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        raise FitbpError(f"{shown}: not a fitbp model ('summary' is damaged)") from None


# ---------------------------------------------------------------- the data of an update

@dataclass
class Kept:
    """The points of a model and of its update, as the trainer asks data it does not hold for them
    (fitbp.sources.data.Stream): their merged Part, counts and ranges, and the even sample the model
    kept with the new points' beside it, for pictures.  A pass over every point is what they cannot
    give: the fits that need one (ill-conditioned, robust) are refused, in words."""

    x: np.ndarray
    y: np.ndarray
    source: str
    x_name: str
    y_name: str
    count: int
    rows: int
    low: float
    high: float
    y_exponent: int
    distinct: int
    merged: object = field(repr=False)
    """The Part of every point, weights of mean 1 over all of them."""
    weights: np.ndarray | None = None
    weighting: str | None = None
    weight_name: str | None = None
    weight_mean: float | None = None
    x_axis: object = None
    skipped: int = 0
    first_skip: str | None = None
    sources: list | None = None
    path: str | None = None
    options: dict = field(default_factory=dict)
    updates: int = 1

    HELD = ", which the model keeps only as a summary"
    held = False

    @property
    def x_range(self):
        return self.low, self.high

    @property
    def sampled_from(self):
        return self.count

    def part(self, degree):
        """The Part at ``degree``: the leading block of the kept one, for any degree up to its own."""
        if degree > self.merged.degree:
            raise FitbpError(f"{self.source}: the model keeps its data's summary up to degree {self.merged.degree}, "
                             f"not {degree}: fit the data again for a higher degree")
        return leading(self.merged, degree)

    def reduce(self, task, join, *arguments):
        raise FitbpError(f"{self.source}: this fit needs a pass over every point, and the model keeps only their "
                         "summary (an ill-conditioned fit is checked on the points themselves): fit the data again")

    def with_weight(self):
        return self

    def sample(self):
        return Points(self.x, self.y, self.source, weights=self.weights, weighting=self.weighting,
                      weight_name=self.weight_name)

    def engine(self):
        return {"name": "update", "updates": self.updates}


def check_updatable(document, shown):
    """Refuse, in words, a model that cannot take new points exactly."""
    found = document.get("summary")
    if document.get("loss", "mse") != "mse":
        raise FitbpError(f"{shown}: a {document['loss']} fit cannot be updated: a robust loss needs every point, "
                         "old and new, and the model keeps only their summary; fit the data again")
    if document.get("basis", "taylor") not in ("taylor", "chebyshev"):
        raise FitbpError(f"{shown}: a {document['basis']} model cannot be updated, for now (it needs its points): "
                         "fit the data again")
    if not isinstance(found, dict):
        raise FitbpError(f"{shown}: this model keeps no summary of its data (written by a fitbp before models "
                         "kept one): fit the data again, and update that model")
    if found.get("version") != VERSION:
        raise FitbpError(f"{shown}: its summary is of version {found.get('version')!r}, which this fitbp does "
                         f"not read (it reads {VERSION})")


def merged(document, new, shown):
    """The Kept data of the model ``document`` and the ``new`` points (held or streamed, read with the
    model's options): their Parts merged at the model's degree, the weights to a common mean."""
    from fitbp.fitting import trainer

    check_updatable(document, shown)
    found = document["summary"]
    old = _part_of(found, shown)
    degree = old.degree
    new = trainer.with_weight(new)
    old_mean = float.fromhex(found["weight_mean"]) if found.get("weight_mean") else None
    decay = 1.0
    if (document.get("weights") or {}).get("from") == "half_life":  # the old points age by the new ones
        new, decay = _aged(document, old, new, shown)
        old = _scaled(old, math.sqrt(decay))  # rows √(w·decay/c): still in the unit c = old_mean
    new_mean = trainer.weight_mean(new)
    if (old_mean is None) != (new_mean is None):
        raise FitbpError(f"{printable(new.source)}: the model was fitted "
                         f"{'with' if old_mean else 'without'} a σ or weight for each point, and the new points "
                         f"{'have none' if old_mean else 'have them'}: read them as the model read its own")
    if new.held:
        x, y = np.asarray(new.x, dtype=np.float64), np.asarray(new.y, dtype=np.float64)
        if not x.size:
            raise FitbpError(f"{printable(new.source)}: no points with weight to add")
        part = moments.part_of(x, y, degree, trainer.weight_roots(new))
        y_exponent, distinct = moments.unit_exponent(y), moments.distinct_up_to(x, degree + 1)
    else:
        part, y_exponent, distinct = new.part(degree), new.y_exponent, min(new.distinct, degree + 1)
    count = int(found["count"]) + int(new.count)
    mean = None
    if old_mean is not None:  # both to the old mean, merged, then to the mean of all
        part = _scaled(part, math.sqrt(new_mean / old_mean))
        mean = (old_mean * decay * int(found["count"]) + new_mean * int(new.count)) / count
    both = moments.merge(old, part)
    if mean is not None:
        both = _scaled(both, math.sqrt(old_mean / mean))
    kept_points = modelfile_points(document)
    sample = new.sample()
    return Kept(np.concatenate([kept_points[0], np.asarray(sample.x, dtype=np.float64)]),
                np.concatenate([kept_points[1], np.asarray(sample.y, dtype=np.float64)]),
                f"{document.get('source', '?')} and {printable(new.source)}", str(document.get("x_column", "x")),
                str(document.get("y_column", "y")), count, int(found["rows"]) + int(new.rows),
                both.low, both.high, max(int(found["y_exponent"]), int(y_exponent)),
                max(int(found["distinct"]), int(distinct)), both,
                weights=None if mean is None else np.concatenate([kept_points[2], np.asarray(sample.weights)]),
                weighting=(document.get("weights") or {}).get("from"),
                weight_name=(document.get("weights") or {}).get("column"), weight_mean=mean,
                x_axis=dates.Axis.of(document), skipped=int(document.get("skipped_rows") or 0) + new.skipped,
                options=dict((document.get("data") or {}).get("options") or {}),  # how the next update reads
                updates=int(found.get("updates", 0)) + 1)


def leading(part, degree):
    """The Part of the same rows at a lower ``degree``: QR of nested columns nests, so its R and z are the
    leading ones, and its ρ² takes in the squares of z beyond them."""
    if degree == part.degree:
        return part
    r, z, rest = part.full[:-1, :-1], part.full[:-1, -1], part.full[-1, -1]
    size = degree + 1
    full = np.zeros((size + 1, size + 1))
    full[:size, :size], full[:size, -1] = r[:size, :size], z[:size]
    full[-1, -1] = math.sqrt(float(rest) ** 2 + float(z[size:] @ z[size:]))
    return moments.Part(full, part.low, part.high, part.exponent, part.count, part.shift)


def residual_squares(part):
    """The least-squares Σ r² of every degree up to the Part's, in its y units squared."""
    z, rest = part.full[:-1, -1], float(part.full[-1, -1] ** 2)
    beyond = np.append(np.cumsum((z * z)[::-1])[::-1], 0.0)  # Σ z_j² for j ≥ i
    return [rest + float(beyond[d + 1]) for d in range(part.degree + 1)]


def _aged(document, old, new, shown):
    """(the new points weighed by their ages, the factor the old points' weights age by) for a model fitted
    with a half-life: in rows, the new points come after the old, and every old one ages by their count;
    in time, every point ages from the newest x of all (the old points' newest is their Part's high)."""
    half_life = forgetting.parse((document.get("weights") or {}).get("column"))
    if not new.held:
        raise FitbpError(f"{printable(new.source)}: a half-life weighs held points, for now: raise "
                         f"{option('memory')}")
    h = half_life.in_x(dates.Axis.of(document), shown)
    weights, decay, _ = forgetting.aged(half_life, h, np.asarray(new.x, dtype=np.float64), old.high)
    return replace(new, weights=weights, weighting="half_life", weight_name=half_life.text), decay


def _scaled(part, factor):
    """The Part of the same rows each times ``factor`` (a change of the weights' unit)."""
    return moments.Part(part.full * factor, part.low, part.high, part.exponent, part.count, part.shift)


def modelfile_points(document):
    """(x, y, weights) of the points the model keeps (its even sample), empty where it keeps none."""
    data = document.get("data") or {}
    found = data.get("points") if isinstance(data.get("points"), dict) else {}
    x = np.asarray(found.get("x") or [], dtype=np.float64)
    y = np.asarray(found.get("y") or [], dtype=np.float64)
    weights = np.asarray(found.get("weights") or np.ones(x.size), dtype=np.float64)
    return x, y, weights


def refit(document, data, degree, **training):
    """The FitResult at ``degree`` of ``data`` (merged: the model's kept summary and new points), with the
    model's basis, fixed terms and errors."""
    from fitbp.fitting import trainer

    fixed = {int(power): float(value) for power, value in (document.get("fixed") or {}).items()}
    return trainer.fit_points(data, degree, basis=document.get("basis", "taylor"),
                              absolute_sigma=document.get("errors") == "absolute",
                              **({"fixed": fixed} if fixed else {}), **training)


# ---------------------------------------------------------------- points that keep arriving

class Running:
    """Points that keep arriving (``fitbp fit - --follow``): their Part at ``degree``, merged batch by batch,
    their count and range, and the last ``kept`` of them, for pictures; ``fit`` is the fit of every one so
    far, as fitbp fit of them all would make it."""

    def __init__(self, degree, source, x_name="x", y_name="y", kept=10_000, half_life=None, axis=None,
                 options=None, weighting=None):
        self.degree, self.source, self.x_name, self.y_name, self.kept = degree, source, x_name, y_name, kept
        self.part, self.count, self.low, self.high, self.y_exponent = None, 0, math.inf, -math.inf, None
        self.distinct = set()
        self.x, self.y = np.empty(0), np.empty(0)
        self.updates = 0
        self.half_life = half_life  # fitbp.fitting.forgetting.HalfLife, or None: every point counts alike
        self.h = None if half_life is None else half_life.in_x(axis, source)
        self.axis = axis  # dates as x: the days or seconds since the first one's midnight
        self.total, self.newest = 0.0, None  # Σ w, and the largest x (a half-life in time ages from it)
        self.weighting = weighting  # ("sigma" or "weights", the column) of weights the points come with
        self.options = dict(options or {})  # how the lines were read: how an update of the model reads more

    def add(self, x, y, weights=None):
        """Merge a batch of points (with their ``weights``, w = 1/σ², where they have them); with a half-life,
        the points before it weighed down first."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if not x.size:
            return
        roots = None
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            self.total += float(weights.sum())
            roots = np.sqrt(weights)
        elif self.h is not None:
            weights, decay, self.newest = forgetting.aged(self.half_life, self.h, x, self.newest)
            if self.part is not None:
                self.part = _scaled(self.part, math.sqrt(decay))
            self.total = self.total * decay + float(weights.sum())
            roots = np.sqrt(weights)
        part = moments.part_of(x, y, self.degree, roots)
        self.part = part if self.part is None else moments.merge(self.part, part)
        self.count += int(x.size)
        self.low, self.high = min(self.low, float(x.min())), max(self.high, float(x.max()))
        found = moments.unit_exponent(y)
        self.y_exponent = found if self.y_exponent is None else max(self.y_exponent, found)
        if len(self.distinct) <= self.degree:
            self.distinct.update(np.unique(x)[:self.degree + 1].tolist())
        self.x, self.y = np.append(self.x, x)[-self.kept:], np.append(self.y, y)[-self.kept:]

    def ready(self):
        """Whether the points so far can carry the degree (as many distinct x as coefficients)."""
        return len(self.distinct) > self.degree

    def fit(self, skipped=0, weightless=0, **training):
        """The FitResult of every point so far (``skipped`` rows were invalid, ``weightless`` had weight 0:
        rows of the data, not points of the fit)."""
        from fitbp.fitting import trainer

        self.updates += 1
        merged, weighing = self.part, {}
        if self.total:  # the weights to mean 1, as every fit has them
            mean = self.total / self.count
            merged = _scaled(self.part, math.sqrt(1.0 / mean))
            kind = ("half_life", self.half_life.text) if self.h is not None else self.weighting
            weighing = {"weighting": kind[0], "weight_name": kind[1], "weight_mean": mean}
        data = Kept(self.x, self.y, self.source, self.x_name, self.y_name, self.count,
                    self.count + skipped + weightless,
                    self.low, self.high, self.y_exponent, min(len(self.distinct), self.degree + 1), merged,
                    skipped=skipped, updates=self.updates, x_axis=self.axis, options=self.options, **weighing)
        return trainer.fit_points(data, self.degree, **training)
