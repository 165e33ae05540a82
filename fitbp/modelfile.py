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
from pathlib import Path

import numpy as np

from fitbp.errors import FitbpError, printable
from fitbp.loader import Points, even_sample, load_points
from fitbp.model import TaylorPolynomial

FORMAT_VERSION = 1
REQUIRED = {"degree": int, "center": float, "scale": float, "taylor_coefficients": list}


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
    for standard input, which cannot be read twice, an even sample of the points.
    """
    document = {"format_version": FORMAT_VERSION}
    document.update(result.summary())
    document["loss_history"] = list(result.loss_history)
    points = result.points
    document["data"] = {"path": points.path, "options": points.options}
    if points.path is None:
        keep = even_sample(points.x.size, KEPT_POINTS)
        document["data"]["points"] = {"x": points.x[keep].tolist(), "y": points.y[keep].tolist(),
                                      "sampled_from": int(points.x.size)}
    return document


def save(result, path):
    write_atomic(path, dumps(model_document(result), indent=1) + "\n")


def write_atomic(path, content):
    """Replace ``path`` with ``content`` (text or bytes) in one rename; on any failure the old file stays."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()  # replace what the link points to, and keep the link
    if path.is_dir():
        raise FitbpError(f"{printable(path)}: is a directory, cannot write there")
    if path.exists() and not path.is_file():
        raise FitbpError(f"{printable(path)}: not a regular file (a device or a pipe), cannot write there")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise FitbpError(f"{printable(path)}: cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
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
    """The model document at ``path``, checked well enough to be used."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FitbpError(f"{path}: no such model file (run 'fitbp fit' first)") from None
    except IsADirectoryError:
        raise FitbpError(f"{path}: is a directory, not a model file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise FitbpError(f"{path}: cannot read the model: {getattr(e, 'strerror', None) or e}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise FitbpError(f"{path}:{e.lineno}: not a fitbp model (invalid JSON: {e.msg})") from None
    if not isinstance(document, dict) or not isinstance(document.get("format_version"), int):
        raise FitbpError(f"{path}: not a fitbp model (no format_version)")
    version = document["format_version"]
    if version > FORMAT_VERSION:
        raise FitbpError(f"{path}: model format {version} is newer than this fitbp reads "
                         f"(up to {FORMAT_VERSION}); upgrade fitbp")
    for key, kind in REQUIRED.items():
        if not _is(document.get(key), kind):
            raise FitbpError(f"{path}: not a fitbp model ('{key}' is missing or not a {kind.__name__})")
    coefficients = document["taylor_coefficients"]
    if len(coefficients) != document["degree"] + 1 or not all(_is(a, float) for a in coefficients):
        raise FitbpError(f"{path}: not a fitbp model ('taylor_coefficients' does not match the degree)")
    if not document["scale"] > 0:
        raise FitbpError(f"{path}: not a fitbp model ('scale' must be positive)")
    return document


def polynomial_of(document):
    return TaylorPolynomial(tuple(float(a) for a in document["taylor_coefficients"]),
                            float(document["center"]), float(document["scale"]))


def points_of(document, path):
    """The points a model was fitted to: kept in the model, or read again from their file."""
    data = document.get("data") or {}
    kept = data.get("points")
    if isinstance(kept, dict):
        try:
            x, y = (np.asarray(kept[k], dtype=np.float64) for k in ("x", "y"))
        except (KeyError, TypeError, ValueError):
            raise FitbpError(f"{path}: not a fitbp model (its kept points are damaged)") from None
        if x.shape != y.shape or x.ndim != 1 or not x.size:
            raise FitbpError(f"{path}: not a fitbp model (its kept points are damaged)")
        return Points(x, y, document.get("source", "<stdin>"), document.get("x_column", "x"),
                      document.get("y_column", "y"))
    source = data.get("path") or document.get("source")
    if not isinstance(source, str) or source == "<stdin>":
        raise FitbpError(f"{path}: the model does not say where its data is; pass --data")
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    known = {k: options[k] for k in ("x", "y", "delimiter", "skip_invalid", "encoding") if k in options}
    try:
        return load_points(source, **known)
    except FitbpError as e:
        raise FitbpError(f"{e} (the data of model {path}; pass --data to use another file)") from None


def _is(value, kind):
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return isinstance(value, kind)
