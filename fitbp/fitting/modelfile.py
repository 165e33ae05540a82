"""The model file: a fit saved as JSON, written so that it is never half there.

A new model replaces the old one only once it is complete on disk (temporary
file in the same folder, fsync, rename), so an interrupted or failed run
leaves the previous model exactly as it was.  ``format_version`` lets a
later fitbp refuse, with a clear message, a file it cannot read.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fitbp.errors import FitbpError, option, printable
from fitbp.sources import dates
from fitbp.sources.files import load_points
from fitbp.sources.data import Points, even_sample
from fitbp.fitting import bases
from fitbp.fitting.model import Polynomial

FORMAT_VERSION = 1
REQUIRED = {"degree": int, "center": float, "scale": float}
"""What predict needs, with the coefficients in the basis (in_basis); plot needs the points too, from the
file named in 'data' or kept in it."""


def basis_of(document):
    """The Basis a model's coefficients are in: its 'basis', the Taylor form in files from before it; a
    basis with parameters of its own (the Fourier series's period) rebuilt from its part of the document."""
    name = document.get("basis", bases.TAYLOR.name)
    if name == "fourier":
        from fitbp.fitting import fourier

        return fourier.of_document(document)
    if name == "spline":
        from fitbp.fitting import smoothing

        return smoothing.of_document(document)
    return bases.named(name)


def in_basis(document, what="coefficients"):
    """The key of the model's coefficients (or their stderr, t_values …) in its basis: taylor_coefficients."""
    return f"{document.get('basis', bases.TAYLOR.name)}_{what}"


def dumps(value, indent=None):
    """Strict JSON: NaN and infinities, which JSON lacks, become null."""
    return json.dumps(_finite(value), indent=indent, allow_nan=False)


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


KEPT_POINTS = 10_000
"""Points from standard input are kept in the model, at most this many, so plots still work."""


def model_document(result):
    """What the model file holds: the --json summary, the loss history and the format.

    Also where the data came from (absolute path and reading options), or,
    for standard input, which cannot be read twice, for several files and for
    data too large to hold, an even sample of the points: what plot draws.
    """
    document = {"format_version": FORMAT_VERSION}
    document.update(result.summary())
    document["loss_history"] = list(result.loss_history)
    document["covariance"] = result.statistics.get("covariance")
    from fitbp.fitting import updates

    summary = updates.kept(result)  # what fitbp update merges new points into
    if summary is not None:
        document["summary"] = summary
    key = in_basis(document)
    document["snapshots"] = [{"epoch": epoch, key: list(coefficients)} for epoch, coefficients in result.snapshots]
    points = result.points
    document["data"] = {"path": points.path, "options": points.options}
    if points.sources:
        document["data"]["paths"] = list(points.sources)
    if points.path is None or points.sampled_from:
        keep = even_sample(points.x.size, KEPT_POINTS)
        document["data"]["points"] = {"x": points.x[keep].tolist(), "y": points.y[keep].tolist(),
                                      "sampled_from": points.count}
    return document


def save(result, path):
    write_atomic(path, dumps(model_document(result), indent=1) + "\n")


def write_atomic(path, content):
    """Replace ``path`` with ``content`` (text or bytes) in one rename; on any failure the old file stays."""
    with replacing(path) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)


@contextmanager
def replacing(path, suffix=".tmp"):
    """A temporary file beside ``path`` for the block to write; renamed over ``path`` when it succeeds.

    The file is flushed to disk before the rename, keeps the permissions of
    the one it replaces, and is removed on any failure or interruption, so
    ``path`` is always either the old file or the complete new one.  A
    symlink is written through; a folder, a device or a pipe is refused.
    """
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()  # replace what the link points to, and keep the link
    if target.is_dir():
        raise FitbpError(f"{printable(path)}: is a directory, cannot write there")
    if target.exists() and not target.is_file():
        raise FitbpError(f"{printable(path)}: not a regular file (a device or a pipe), cannot write there")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
        os.close(fd)
    except OSError as e:
        raise FitbpError(f"{printable(path)}: cannot write: {e.strerror or e}") from None
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except BaseException as e:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise FitbpError(f"{printable(path)}: cannot write: {e.strerror or e}") from None
        raise


def _mode_for(path):
    """Keep an existing file's permissions; give a new one the usual umask'd 0666."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def load(path):
    """The model document at ``path``, checked field by field, numbers as finite floats.

    Whatever the file holds, the answer is a document that plot and predict
    can use, or a FitbpError that names the file and what is wrong.
    """
    path = Path(path)
    shown = printable(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FitbpError(f"{shown}: no such model file (run 'fitbp fit' first)") from None
    except IsADirectoryError:
        raise FitbpError(f"{shown}: is a directory, not a model file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise FitbpError(f"{shown}: cannot read the model: {getattr(e, 'strerror', None) or e}") from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise FitbpError(f"{shown}:{e.lineno}: not a fitbp model (invalid JSON: {e.msg})") from None
    except (RecursionError, ValueError) as e:
        why = e if isinstance(e, ValueError) else "nested too deep"
        raise FitbpError(f"{shown}: not a fitbp model ({why})") from None
    if not isinstance(document, dict) or not _is(document.get("format_version"), int):
        raise FitbpError(f"{shown}: not a fitbp model (no format_version)")
    version = document["format_version"]
    if version > FORMAT_VERSION:
        raise FitbpError(f"{shown}: model format {version} is newer than this fitbp reads "
                         f"(up to {FORMAT_VERSION}); upgrade fitbp")

    def damaged(key, why):
        return FitbpError(f"{shown}: not a fitbp model ('{key}' {why})")

    for key, kind in REQUIRED.items():
        if not _is(document.get(key), kind):
            raise damaged(key, f"is missing or not a {'number' if kind is float else kind.__name__}")
    if document.get("basis", bases.TAYLOR.name) not in bases.FAMILIES:
        raise damaged("basis", f"is none of {', '.join(bases.FAMILIES)}")
    if document.get("basis") == "fourier":
        _check_series(document.get("fourier"), damaged)
    if document.get("basis") == "spline":
        from fitbp.fitting import smoothing

        smoothing.of_document(document, damaged)  # its knots and values: there are no coefficients
    else:
        _check_coefficients(document, damaged)
    if not float(document["scale"]) > 0:
        raise damaged("scale", "must be positive")
    history = document.get("loss_history", [])

    if not isinstance(history, list) or not all(v is None or (_is(v, float) and v >= 0) for v in history):
        raise damaged("loss_history", "is not a list of losses (numbers of 0 or more)")
    data = document.get("data", {})
    if not isinstance(data, dict):
        raise damaged("data", "is not an object")
    return document


def _check_coefficients(document, damaged):
    """A model's coefficients in its basis: a list of degree + 1 finite numbers."""
    key = in_basis(document)
    coefficients = document.get(key)
    if not isinstance(coefficients, list):
        raise damaged(key, "is missing or not a list")
    if len(coefficients) != document["degree"] + 1 or not all(_is(a, float) for a in coefficients):
        raise damaged(key, "does not match the degree")


def _check_series(part, damaged):
    """A Fourier model's own part: a positive period, whole harmonics and trend."""
    if not isinstance(part, dict):
        raise damaged("fourier", "is missing or not an object")
    if not (_is(part.get("period"), float) and part["period"] > 0):
        raise damaged("fourier", "has no positive period")
    for key in ("harmonics", "trend"):
        if not _is(part.get(key), int) or part[key] < 0:
            raise damaged("fourier", f"has no whole number of {key}")


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def polynomial_of(document):
    """The model's curve: a Polynomial in its basis, or a smoothing spline's Curve."""
    if document.get("basis") == "spline":
        from fitbp.fitting import smoothing

        return smoothing.Curve(basis_of(document), document["center"], document["scale"])
    return Polynomial(tuple(float(a) for a in document[in_basis(document)]), float(document["center"]),
                      float(document["scale"]), intercept_of(document), basis_of(document))


def intercept_of(document):
    """k₀ where the model fixed it (and evaluates through it exactly), else None."""
    fixed = document.get("fixed")
    value = fixed.get("0") if isinstance(fixed, dict) else None
    return float(value) if _is(value, float) else None


def x_range_of(document):
    """The x range the model was fitted on (from its centre and scale in files from before x_range)."""
    kept = document.get("x_range")
    if isinstance(kept, list) and len(kept) == 2 and all(_is(v, float) for v in kept) and kept[0] <= kept[1]:
        return float(kept[0]), float(kept[1])
    center, scale = float(document["center"]), float(document["scale"])
    return center - scale, center + scale


def band_of(document, polynomial, path, level=0.95, interval="confidence", sigma_new=None):
    """x -> (lower, upper) of the ``level`` confidence band, or prediction interval, from the
    covariance (and, for a prediction, the residual variance) that the model keeps.

    A prediction's noise is the residual variance (the reduced χ²) of an unweighted fit, or σ_new² of
    a new point whose σ is given: times the reduced χ² where the fit's errors were scaled by it.  A
    fit with absolute σ knows its variances, so its quantiles are the normal's."""
    from fitbp.fitting import statistics

    if document.get("basis") == "spline":
        from fitbp.fitting import smoothing

        return smoothing.band(document, polynomial, path, level, interval, sigma_new)
    covariance, dof = document.get("covariance"), document.get("dof")
    size = len(polynomial.coefficients)
    if covariance is None:
        why = document.get("stderr_note") or "it keeps no covariance"
        raise FitbpError(f"{printable(path)}: no confidence band for this model: {why}")
    if not (isinstance(covariance, list) and len(covariance) == size
            and all(isinstance(row, list) and len(row) == size and all(_is(v, float) for v in row)
                    for row in covariance) and _is(dof, int) and (document.get("errors") == "absolute" or dof >= 1)
            and dof <= 2 ** 53):  # absolute σ need no degree of freedom
        raise FitbpError(f"{printable(path)}: not a fitbp model ('covariance' or 'dof' is damaged)")
    matrix = np.array(covariance, dtype=np.float64)
    if not (np.allclose(matrix, matrix.T, rtol=1e-9, atol=0) and np.all(np.diag(matrix) >= 0)):
        raise FitbpError(f"{printable(path)}: not a fitbp model ('covariance' is not a covariance matrix)")
    noise, absolute = 0.0, document.get("errors") == "absolute"
    if interval == "prediction":
        noise = document.get("reduced_chi2")
        if not (_is(noise, float) and noise >= 0):
            raise FitbpError(f"{printable(path)}: no prediction interval for this model: it keeps no residual "
                             "variance (reduced_chi2)")
        forgetting = (document.get("weights") or {}).get("from") == "half_life"  # a new point weighs 1
        if document.get("weights") and sigma_new is None and not forgetting:
            raise FitbpError(f"{printable(path)}: this model was fitted with a σ for each point, so a prediction "
                             f"interval needs the new point's: pass {option('sigma_new')}")
        if sigma_new is not None:
            noise = sigma_new * sigma_new * (1.0 if absolute or not document.get("weights") else noise)
    return lambda x: statistics.confidence_band(polynomial, matrix, None if absolute else dof, x, level, noise)


def snapshots_of(document, path):
    """The (epoch, coefficients in the model's basis) pairs the film is made of, checked."""
    if document.get("basis") == "spline":
        raise FitbpError(f"{printable(path)}: a smoothing spline is solved, not trained: there is no learning to "
                         "film (its λ is chosen by GCV, its values by Reinsch's equations)")
    snapshots = document.get("snapshots")
    key = in_basis(document)
    size = len(document[key])
    if not snapshots:
        raise FitbpError(f"{printable(path)}: the model keeps no training snapshots (fit it again with this fitbp)")
    if not (isinstance(snapshots, list) and all(
            isinstance(s, dict) and _is(s.get("epoch"), int)
            and s["epoch"] <= max(1, len(document.get("loss_history") or []))
            and isinstance(s.get(key), list)
            and len(s[key]) == size and all(_is(a, float) for a in s[key])
            for s in snapshots)):
        raise FitbpError(f"{printable(path)}: not a fitbp model ('snapshots' is damaged)")
    return [(s["epoch"], tuple(float(a) for a in s[key])) for s in snapshots]


READING_OPTIONS = {"x": (str, int, type(None)), "y": (str, int, type(None)), "delimiter": (str, type(None)),
                   "skip_invalid": (bool,), "encoding": (str,), "decimal": (str,), "sigma": (str, int, type(None)),
                   "weights": (str, int, type(None)), "time_unit": (str,)}


def reading_of(document):
    """How the model read its data (columns, σ or weights column, delimiter, decimal mark…): the options to
    read them, or more like them (fitbp update), the same way; those a file damaged left out."""
    data = document.get("data") if isinstance(document.get("data"), dict) else {}
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    return {k: options.get(k) for k, kinds in READING_OPTIONS.items() if isinstance(options.get(k), kinds)}


def points_of(document, path, **override):
    """The points a model was fitted to: kept in the model, or read again from their file.

    ``override`` replaces the model's reading options (plot's --data, --x, --y).
    """
    shown = printable(path)
    data = document.get("data") or {}
    kept = data.get("points")
    if kept is not None and override.get("source") is None:
        x, y = (kept.get(k) if isinstance(kept, dict) else None for k in ("x", "y"))
        if not (isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and x
                and all(_is(v, float) for v in x + y)):
            raise FitbpError(f"{shown}: not a fitbp model (its kept points are damaged)")
        total = kept.get("sampled_from")
        return Points(np.array(x, dtype=np.float64), np.array(y, dtype=np.float64),
                      printable(document.get("source", "<stdin>")), str(document.get("x_column", "x")),
                      str(document.get("y_column", "y")),
                      sampled_from=total if _is(total, int) and total >= len(x) else None,
                      x_axis=dates.Axis.of(document))
    known = reading_of(document)
    known.update({k: v for k, v in override.items() if v is not None and k != "source"})
    source = override.get("source") or data.get("path") or document.get("source")
    if not isinstance(source, str) or source == "<stdin>":
        raise FitbpError(f"{shown}: the model does not say where its data is; pass {option('data')}")
    try:
        return load_points(source, **known, x_axis=dates.Axis.of(document))  # dates from the model's origin
    except FitbpError as e:
        if override.get("source"):
            raise
        raise FitbpError(f"{e.args[0]} (the data of model {shown}; pass {option('data')} to use another "
                         "file)") from None


def _is(value, kind):
    if kind is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        try:
            return math.isfinite(value)
        except OverflowError:  # an integer beyond float range
            return False
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return isinstance(value, kind)
