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

from fitbp.errors import FitbpError

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


def model_document(result):
    """What the model file holds: the --json summary, the loss history and the format."""
    document = {"format_version": FORMAT_VERSION}
    document.update(result.summary())
    document["loss_history"] = list(result.loss_history)
    return document


def save(result, path):
    write_atomic(path, dumps(model_document(result), indent=1) + "\n")


def write_atomic(path, text):
    """Replace ``path`` with ``text`` in one rename; on any failure the old file stays."""
    path = Path(path)
    if path.is_dir():
        raise FitbpError(f"{path}: is a directory, cannot save the model there")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise FitbpError(f"{path}: cannot write the model: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
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
            raise FitbpError(f"{path}: cannot write the model: {e.strerror or e}") from None
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


def _is(value, kind):
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return isinstance(value, kind)
