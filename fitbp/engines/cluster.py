"""The dask engine: each partition of the data reduced to its triangle on a worker, the triangles
merged by a tree, and only (d + 2)² numbers a partition sent over the network.

This is the local stream's plan (fitbp.engines.local) spread over a cluster:
moments.part_of on each partition in its own x range, moments.merge to join
two (exact and associative, so any tree of merges gives the same triangle),
and the fitting, graph and optimiser on the client as for any data.  dask
parses the files (dask.dataframe.read_csv or read_parquet, on the workers,
wherever the paths lead); fitbp sniffs them first on the client with its own
loader, so that both read the same delimiter, header and columns.  A value
that is not a finite number makes a worker fail; the client then reads the
local files itself to name the file and line, as the local engine would.

dask and distributed are imported here only, and this module only for
--engine dask: no other command pays for them.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from fitbp.engines import moments
from fitbp.engines.local import KEPT, MOST_DISTINCT, Streamed
from fitbp.errors import FitbpError, at, printable
from fitbp.sources import files, parquet
from fitbp.sources.loader import BLOCK, WHITESPACE, Reader, even_sample

INSTALL = "--engine dask needs dask and distributed: pip install 'fitbp[dask]'"
PARTITION = 64 << 20
"""dask's partition size, bytes of CSV: a worker holds one parsed partition at a time."""


def _distributed():
    try:
        import dask.dataframe  # noqa: F401 (the partitions are its frames)
        import distributed
    except ImportError:
        raise FitbpError(INSTALL) from None
    return distributed


@contextmanager
def session(scheduler=None):
    """A dask client: of the running scheduler at ``scheduler`` (left running), or of a LocalCluster
    started for this fit, one single-threaded worker process a core, and stopped after it."""
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler)  # waits as long as dask's distributed.comm.timeouts.connect
        except (OSError, TimeoutError, ValueError) as e:
            raise FitbpError(f"cannot reach the dask scheduler at {printable(scheduler)}: {printable(e)}") from None
        with client:
            yield client
        return
    with warnings.catch_warnings():  # its web server's port, taken by another cluster: none of the user's business
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = distributed.LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster) as client:
        yield client


def load(client, patterns, degree=None, partition_size=PARTITION, x=None, y=None, delimiter=None,
         skip_invalid=False, encoding="utf-8-sig", decimal="."):
    """A Distributed stream of the data: the first reduction done (at ``degree``, if given)."""
    settings = dict(x=x, y=y, delimiter=delimiter, skip_invalid=skip_invalid, encoding=encoding, decimal=decimal)
    paths = _expanded(patterns)
    if "-" in paths:
        raise FitbpError("standard input cannot be read by a cluster: pass files to --engine dask, or drop it")
    layout, labels, frame = _frame(paths, settings, partition_size)
    one = len(paths) == 1
    stream = Distributed(
        x=np.empty(0), y=np.empty(0), source=printable(paths[0]) if one else f"{len(paths)} files",
        x_name=labels[0], y_name=labels[1], skipped=0, first_skip=None,
        path=_absolute(paths[0]) if one and "://" not in paths[0] else None, options=dict(settings), count=0,
        low=0.0, high=0.0, y_exponent=0, distinct=0, again=None, sources=None if one else list(map(_absolute, paths)),
        passes=0, client=client, frame=frame, reading=Reading(layout, skip_invalid, tuple(labels)), paths=paths,
        settings=settings, partitions=frame.npartitions, workers=len(client.scheduler_info().get("workers", {})))
    stream.first_pass(degree)
    return stream


def _absolute(path):
    return path if "://" in path else os.path.abspath(path)


@dataclass(frozen=True)
class Reading:
    """What a worker needs to find the x and y of a partition: where they are, and what a bad value means."""

    layout: object
    """The loader's Layout for CSV; None for Parquet, whose columns go by name."""
    skip_invalid: bool
    labels: tuple


def _frame(paths, settings, partition_size):
    """The dask dataframe of the paths' x and y columns, read as fitbp's own loader sniffed them."""
    import dask.dataframe as dd

    kinds = {"://" not in p and parquet.is_parquet(p) for p in paths}
    if len(kinds) > 1:
        raise FitbpError("--engine dask reads CSV files or Parquet files, not both at once: convert one kind")
    heads = [_sniffed(p, settings) for p in paths[:64]]  # the head of each, as far as 64 files
    first = heads[0]
    for reader in heads:
        if reader.labels != first.labels or getattr(reader, "layout", None) != getattr(first, "layout", None):
            raise at(reader.name, None, f"its columns or delimiter differ from {printable(first.name)}'s: "
                     "--engine dask reads every file one way (the local engine reads each on its own)")
    try:
        if kinds == {True}:
            return None, first.labels, dd.read_parquet(paths, columns=list(dict.fromkeys(first.labels)))
        return first.layout, first.labels, dd.read_csv(paths, **_csv_options(first, settings, partition_size))
    except (OSError, ValueError) as e:
        raise FitbpError(f"dask cannot read {printable(paths[0])}: {printable(str(e).splitlines()[0])}") from None


def _expanded(patterns):
    """The paths of ``patterns``: local ones as the local engine finds them, URLs as fsspec lists them."""
    found = []
    for pattern in map(str, patterns):
        found.extend(_remote_paths(pattern) if "://" in pattern else files.expand([pattern]))
    if "-" in found and len(found) > 1:
        raise FitbpError("standard input (-) can only be read alone")
    return list(dict.fromkeys(found))


def _remote_paths(url):
    try:
        import fsspec

        system, _, paths = fsspec.core.get_fs_token_paths(url)
    except (ImportError, ValueError, OSError) as e:
        raise at(url, None, f"cannot be read: {printable(e)}") from None
    if not paths:
        raise at(url, None, "no file matches this pattern" if any(c in url for c in "*?[") else "no such file")
    return [system.unstrip_protocol(p) for p in sorted(paths)]


@contextmanager
def _opened_remote(url):
    """A URL's bytes, unpacked as its name says (fsspec's compression="infer"); errors as one line."""
    import fsspec

    try:
        with fsspec.open(url, "rb", compression="infer") as stream:
            yield stream
    except (OSError, ValueError) as e:
        raise at(url, None, f"cannot be read: {printable(e)}") from None


def _remote_reader(url, settings, stream):
    """fitbp's CSV reader over a URL's bytes, named by the URL."""
    reader = Reader("-", **{**settings, "stdin": stream})
    reader.name = url
    return reader


def _sniffed(path, settings):
    """A reader of ``path`` whose first block is read: its labels and layout known."""
    if "://" in path:
        with _opened_remote(path) as stream:
            head = stream.read(BLOCK)
        return _sniffed_reader(_remote_reader(path, settings, io.BytesIO(head[:head.rfind(b"\n") + 1] or head)))
    return _sniffed_reader(files.open_reader(path, **settings))


def _sniffed_reader(reader):
    blocks = reader.blocks()
    try:
        next(blocks)
    except StopIteration:
        pass
    finally:
        blocks.close()
    return reader


def _csv_options(reader, settings, partition_size):
    layout = reader.layout
    gzipped = _gzipped(reader.name)
    return {
        "sep": r"\s+" if layout.delimiter == WHITESPACE else layout.delimiter,
        "header": 0 if layout.header else None,
        "usecols": sorted(set(layout.columns)),
        "dtype": object if settings["skip_invalid"] else np.float64,
        "comment": "#", "skip_blank_lines": True, "decimal": settings["decimal"],
        "encoding": settings["encoding"], "blocksize": None if gzipped else partition_size,
        **({"compression": "gzip"} if gzipped else {}),
    }


def _gzipped(path):
    if "://" in path:
        return path.endswith(".gz")  # as fsspec's compression="infer" has it
    try:
        with open(path, "rb") as stream:
            return stream.read(2) == b"\x1f\x8b"
    except OSError:
        return False


@dataclass
class Summary:
    """What the first reduction gathers of a partition, and of two merged."""

    count: int
    low: float
    high: float
    exponent: int | None
    distinct: frozenset
    x: np.ndarray
    y: np.ndarray
    part: object
    skipped: int = 0
    first_skip: str | None = None


def _xy(frame, reading):
    """The partition's finite x and y, the rows dropped and the first problem (or the error for it)."""
    import pandas as pd

    if reading.layout is None:
        columns = [frame[label] for label in reading.labels]
    else:
        used = sorted(set(reading.layout.columns))
        columns = [frame.iloc[:, used.index(c)] for c in reading.layout.columns]
    values = [np.asarray(pd.to_numeric(c, errors="coerce") if reading.skip_invalid else c, dtype=np.float64)
              for c in columns]
    good = np.isfinite(values[0]) & np.isfinite(values[1])
    if good.all():
        return values[0], values[1], 0, None
    row = int(np.argmin(good))
    which = 0 if not np.isfinite(values[0][row]) else 1
    problem = f"{str(columns[which].iloc[row])[:40]!r} in column {reading.labels[which]!r}"
    if not reading.skip_invalid:
        raise InvalidValue(problem)
    return values[0][good], values[1][good], int(good.size - good.sum()), problem


class InvalidValue(ValueError):
    """A worker's note that a value is not a finite number: the client then finds its line."""


def _summary(frame, reading, degree, most):
    x, y, skipped, problem = _xy(frame, reading)
    if not x.size:
        return Summary(0, np.inf, -np.inf, None, frozenset(), x, y, None, skipped, problem)
    keep = even_sample(x.size, most)
    return Summary(x.size, float(x.min()), float(x.max()), moments.unit_exponent(y),
                   frozenset(np.unique(x)[:MOST_DISTINCT].tolist()), x[keep], y[keep],
                   moments.part_of(x, y, degree) if degree is not None else None, skipped, problem)


def _joined(a, b):
    if not b.count or not a.count:
        kept = a if b.count else b
        return Summary(**{**kept.__dict__, "skipped": a.skipped + b.skipped,
                          "first_skip": a.first_skip or b.first_skip})
    distinct = a.distinct | b.distinct
    return Summary(a.count + b.count, min(a.low, b.low), max(a.high, b.high), max(a.exponent, b.exponent),
                   distinct if len(distinct) <= MOST_DISTINCT else frozenset(sorted(distinct)[:MOST_DISTINCT]),
                   np.concatenate([a.x, b.x]), np.concatenate([a.y, b.y]),
                   moments.merge(a.part, b.part) if a.part is not None else None,
                   a.skipped + b.skipped, a.first_skip or b.first_skip)


def _part(frame, reading, degree):
    x, y, _, _ = _xy(frame, reading)
    return moments.part_of(x, y, degree) if x.size else None


def _parts_joined(a, b):
    return b if a is None else a if b is None else moments.merge(a, b)


def _householder(frame, reading, center, scale, y_unit, degree):
    x, y, _, _ = _xy(frame, reading)
    return moments.householder(moments.pieces(x, y), center, scale, y_unit, degree, moments.chebyshev_matrix)


def _triangles_joined(a, b):
    return moments.restacked([a, b], a.shape[1])


def _residuals(frame, reading, polynomial, exponent):
    x, y, _, _ = _xy(frame, reading)
    return moments.residuals_over(polynomial, moments.pieces(x, y), exponent)


def _read_through(path, settings):
    """Read a whole file with fitbp's own loader, for the error it raises."""
    if "://" not in path:
        for _ in files.open_reader(path, **settings).blocks():
            pass
        return
    with _opened_remote(path) as stream:
        for _ in _remote_reader(path, settings, stream).blocks():
            pass


@dataclass
class Distributed(Streamed):
    """A Streamed whose passes are reductions on a dask cluster instead of reads on this machine."""

    client: object = field(default=None, repr=False)
    frame: object = field(default=None, repr=False)
    reading: Reading = None
    paths: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    partitions: int = 0
    workers: int = 0

    def first_pass(self, degree):
        """Count, range, y scale, distinct x, an even sample and (at ``degree``) the triangle of all the points."""
        most = max(1, -(-KEPT // self.partitions))
        found = self._reduced(_summary, _joined, degree, most)
        if found.count == 0:
            raise at(self.source, None, "no data rows" if not found.skipped else
                     f"no valid rows: all {found.skipped} had invalid values, the first {found.first_skip}")
        keep = even_sample(found.x.size, KEPT)
        self.x, self.y, self.count, self.low, self.high = found.x[keep], found.y[keep], found.count, found.low, found.high
        self.y_exponent, self.distinct = found.exponent, len(found.distinct)
        self.skipped, self.first_skip = found.skipped, found.first_skip and f"had {found.first_skip}"
        if degree is not None:
            self.parts[degree] = found.part

    def part(self, degree):
        if degree not in self.parts:
            self.parts[degree] = self._reduced(_part, _parts_joined, degree)
        return self.parts[degree]

    def optimal_squares(self, center, scale, y_unit, degree):
        return moments.optimal_from(self._reduced(_householder, _triangles_joined, center, scale, y_unit, degree))

    def residuals(self, polynomial, exponent):
        return self._reduced(_residuals, moments.merge_residuals, polynomial, exponent)

    def chunks(self):
        raise FitbpError("this needs the points on this machine; use the local engine (drop --engine dask)")

    def engine(self):
        started = getattr(self.client, "cluster", None) is not None  # a LocalCluster of this fit's own
        return {"name": "dask", "scheduler": "local" if started else self.client.scheduler.address,
                "partitions": self.partitions,
                "workers": self.workers, "passes": self.passes}

    def _reduced(self, task, join, *arguments):
        """One pass on the cluster: ``task`` on every partition, joined pairwise up a tree, computed."""
        from dask import delayed

        self.passes += 1
        level = [delayed(task)(piece, self.reading, *arguments) for piece in self.frame.to_delayed()]
        joined = delayed(join)
        while len(level) > 1:
            level = [joined(a, b) for a, b in zip(level[::2], level[1::2])] + level[len(level) - len(level) % 2:]
        try:
            return self.client.compute(level[0]).result()
        except FitbpError:
            raise
        except Exception as e:  # noqa: BLE001 (whatever a worker met, the user gets one line)
            raise self._located(e) from None

    def _located(self, error):
        """The local loader's error for the first bad value in the files, where they are on this machine;
        else the worker's own words."""
        try:
            for path in self.paths:
                _read_through(path, self.settings)
        except FitbpError as found:
            return found
        said = str(error).strip().splitlines()
        words = said[-1] if isinstance(error, InvalidValue) or not said else said[0]
        return FitbpError(f"{self.source}: a dask worker could not read the data: {printable(words)}")
