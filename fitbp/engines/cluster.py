"""The dask engine: each partition of the data reduced to its triangle on a worker, the triangles
merged by a tree, and only (d + 2)² numbers a partition sent over the network.

This is the local stream's plan (fitbp.engines.local) spread over a cluster:
the first pass gathers a fitbp.engines.first.First of each partition (with
moments.part_of in the partition's own x range), and they join pairwise up a
tree (exact and associative, so any tree gives the same triangle); the
fitting, graph and optimiser run on the client as for any data.  dask cuts
each CSV file into pieces at newlines (dask.bytes.read_bytes), and the workers
read them with fitbp's own loader in the layout the client sniffed from the
file's head: the same numbers, rows and errors as the local engine, whatever
dask's CSV reader would make of them.  Parquet files are cut into runs of row
groups, which the workers read with the local engine's ParquetReader.  A value that is not a finite number makes a
worker fail; the client then reads the file itself to name its line, as the
local engine would.

dask and distributed are imported here only, and this module only for
--engine dask: no other command pays for them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from fitbp.engines import first
from fitbp.engines.first import First, carried
from fitbp.engines.local import Streamed, options_of
from fitbp.errors import FitbpError, at, option, printable
from fitbp.sources import files, parquet
from fitbp.sources.decode import BLOCK, looks_like_text, splittable
from fitbp.sources.reader import Reader, read_piece

INSTALL = "--engine dask needs dask and distributed: pip install 'fitbp[dask]'"
PARTITION = 64 << 20
"""dask's partition size, bytes of CSV: a worker holds one parsed partition at a time."""


def _distributed():
    try:
        import dask.bytes  # noqa: F401 (the pieces of CSV files)
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
        try:
            cluster = distributed.LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=logging.CRITICAL)
        except (OSError, RuntimeError, TimeoutError) as e:
            raise FitbpError(f"cannot start a local dask cluster: {printable(e)}") from None
    with cluster, distributed.Client(cluster) as client:
        yield client


@dataclass(frozen=True)
class Plan:
    """The data as dask will read it, known before any cluster is reached: the paths, the columns and
    every piece, so that a missing file or a bad header is said at once."""

    paths: list
    labels: tuple
    pieces: list
    x_axis: object
    """The first file's dates.Axis, which every piece's dates count from; None for numbers."""
    settings: dict


def plan(patterns, partition_size=PARTITION, x=None, y=None, delimiter=None, skip_invalid=False,
         encoding="utf-8-sig", decimal=".", sigma=None, weights=None, time_unit="d"):
    """The Plan of reading ``patterns``: each file sniffed here, and cut into pieces (lazily: no byte read)."""
    _distributed()
    settings = dict(x=x, y=y, delimiter=delimiter, skip_invalid=skip_invalid, encoding=encoding, decimal=decimal,
                    third=files.weighting(sigma, weights), time_unit=time_unit)
    paths = _expanded(patterns)
    if "-" in paths:
        raise FitbpError(f"standard input cannot be read by a cluster: pass files to {option('engine', 'dask')}, or "
                         "drop it")
    return Plan(paths, *_pieces(paths, settings, partition_size), settings)


def load(client, patterns, degree=None, partition_size=PARTITION, **reading):
    """A Distributed stream of the data (``patterns``, or a Plan of them): the first reduction done (at
    ``degree``, if given)."""
    planned = patterns if isinstance(patterns, Plan) else plan(patterns, partition_size, **reading)
    paths, labels, pieces, settings = planned.paths, planned.labels, planned.pieces, planned.settings
    one = len(paths) == 1
    stream = Distributed(
        x=np.empty(0), y=np.empty(0), source=printable(paths[0]) if one else f"{len(paths)} files",
        x_name=labels[0], y_name=labels[1], skipped=0, first_skip=None,
        path=_absolute(paths[0]) if one and "://" not in paths[0] else None, options=options_of(settings), count=0,
        low=0.0, high=0.0, y_exponent=0, distinct=0, again=None, sources=None if one else list(map(_absolute, paths)),
        passes=0, client=client, pieces=pieces, paths=paths, settings=settings, labels=labels, partitions=len(pieces),
        workers=len(client.scheduler_info().get("workers", {})), x_axis=planned.x_axis)
    stream.first_pass(degree)
    return stream


def _absolute(path):
    return path if "://" in path else os.path.abspath(path)


@dataclass(frozen=True)
class Reading:
    """What a worker needs to read a piece of one file as fitbp's loader would."""

    name: str
    labels: tuple
    settings: dict
    """The reading options (x, y, delimiter, skip_invalid, encoding, decimal, third, time_unit)."""
    layout: object = None
    """The Layout of a CSV file (fitbp.sources.sniff); None for Parquet, whose columns go by name."""
    whole: bool = False
    """A CSV file read as one piece (gzip, UTF-16, CR-only lines), and sniffed as a file."""
    preamble: int = 0
    """Bytes of the file up to its data: a piece that starts within them may hold the header line."""
    header: bytes | None = None
    """The header line, with its newline: cut from such a piece (blank and comment lines skip themselves)."""
    x_axis: object = None
    """The first file's dates.Axis when x are dates: every piece counts from its origin."""


def _pieces(paths, settings, partition_size):
    """The column labels, (piece, Reading, where the piece was cut from its file) of every piece of every
    file (CSV cut at newlines, Parquet by row groups) and the first file's date axis.  Each file is
    sniffed on the client (its head only); their columns, and whether x are dates, must agree, as for
    the local engine."""
    from dask.bytes import read_bytes

    pieces, leader = [], None
    for path in paths:
        reader, head = _sniffed(path, settings, leader and leader.x_axis)
        leader = leader or reader
        files.agreeing(reader, leader)
        labels = tuple(leader.labels)
        if isinstance(reader, parquet.ParquetReader):
            pieces.extend(_parquet_pieces(reader, settings, partition_size))
            continue
        whole = not splittable(head, settings["encoding"]) or files.is_gzip(path)
        reading = Reading(reader.name, labels, settings, reader.layout, whole,
                          *(_preamble(path, reader.layout.start) if not whole else (0, None)), leader.x_axis)
        if whole:  # one piece, which its worker streams block by block from the path: bounded memory
            pieces.append((path, reading, 0))
            continue
        try:
            _, blocks = read_bytes(path, delimiter=b"\n", blocksize=partition_size, sample=False)
        except (OSError, ValueError) as e:
            raise at(path, None, f"cannot be read: {printable(str(e).splitlines()[0])}") from None
        pieces.extend((block, reading, index * partition_size) for index, block in enumerate(blocks[0]))
    return labels, pieces, leader.x_axis


def _parquet_pieces(reader, settings, partition_size):
    """The pieces of a Parquet file: runs of its row groups of about ``partition_size`` bytes, each read on
    its worker by the local engine's ParquetReader, which checks every value and numbers the rows as the
    file does, so that a null names its row wherever it is read."""
    reading = Reading(reader.name, tuple(reader.labels), settings)
    return [((reader.source, groups, first), reading, None) for groups, first in reader.pieces(partition_size)]


def _expanded(patterns):
    """The paths of ``patterns``: local ones as the local engine finds them, URLs as fsspec lists them."""
    found = []
    for pattern in map(str, patterns):
        found.extend(_remote_paths(pattern) if "://" in pattern else files.expand([pattern]))
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
    except FitbpError:  # the data's own problem, raised while it was read: already said
        raise
    except (OSError, ValueError) as e:
        raise at(url, None, f"cannot be read: {printable(e)}") from None


def _remote_reader(url, settings, stream, x_axis=None):
    """fitbp's CSV reader over a URL's bytes, named by the URL."""
    reader = Reader("-", **{**settings, "stdin": stream}, x_axis=x_axis)
    reader.name = url
    return reader


def _sniffed(path, settings, x_axis=None):
    """A reader of ``path`` whose first block is read (its labels, layout and date axis known: ``x_axis``,
    the first file's, for the others), and the file's first bytes."""
    if "://" in path:
        with _opened_remote(path) as stream:
            head = stream.read(BLOCK)
        if head.startswith(parquet.MAGIC) and not looks_like_text(head[:4096], "utf-8"):
            raise at(path, None,
                     f"is a Parquet file, which {option('engine', 'dask')} reads from local paths only, for now")
        head_reader = _remote_reader(path, settings, io.BytesIO(head[:head.rfind(b"\n") + 1] or head), x_axis)
        return _sniffed_reader(head_reader), head
    reader = _sniffed_reader(files.open_reader(path, **settings, x_axis=x_axis))  # its errors first: no such file, …
    with open(path, "rb") as stream:
        return reader, stream.read(4096)


def _sniffed_reader(reader):
    if isinstance(reader, parquet.ParquetReader):
        reader.describe()  # its schema: no row of it need be read here
        return reader
    blocks = reader.blocks()
    try:
        next(blocks)
    except StopIteration:
        pass
    finally:
        blocks.close()
    return reader


def _values(piece, reading, offset):
    """A CSV piece's finite (x, y) or (x, y, σ or w), the rows dropped, and the first dropped row's problem
    (or the error for it).  ``offset``: where the piece was cut from its file, about (0 for the first)."""
    if offset and reading.header is not None and offset < reading.preamble:
        at_line = piece.find(reading.header)
        if at_line == 0 or (at_line > 0 and piece[at_line - 1:at_line] == b"\n"):
            piece = piece[at_line + len(reading.header):]
    return read_piece(piece, reading.name, reading.settings, reading.layout, list(reading.labels), offset == 0,
                      reading.x_axis)


def _preamble(path, start):
    """The bytes of a file's first ``start`` lines, and the last of them (the header, if it is one)."""
    opened = _opened_remote(path) if "://" in path else open(path, "rb")  # noqa: SIM115 (closed by with)
    with opened as stream:
        lines = [stream.readline() for _ in range(start)]
    last = lines[-1] if lines else b""
    header = last if last.strip() and not last.lstrip().startswith(b"#") else None
    return sum(map(len, lines)), header


def _first_skip(reading, problem):
    """Where the first dropped row was, as the local engine says it for several files."""
    if problem is None:
        return None
    placed = problem.startswith(("at line", "at row"))
    return f"in {reading.name} {problem}" if placed else f"in {reading.name}: {problem}"


def _chunks(piece, reading, offset):
    """(arrays, rows dropped, the first one's problem) of a piece, in chunks, the arrays (x, y) or (x, y, σ
    or w): one chunk for a piece cut from a CSV file; a block at a time for a file read whole (gzip,
    UTF-16), which its worker opens by its path, and for a Parquet file's row groups, so that no worker
    holds more of it than a block (the rows dropped come with the last chunk)."""
    if reading.layout is None:  # Parquet: (path, row groups, the first one's row)
        path, groups, first_row = piece
        settings = {key: reading.settings[key] for key in ("x", "y", "skip_invalid")}
        yield from _read(parquet.ParquetReader(path, **settings, row_groups=groups, first_row=first_row))
        return
    if not reading.whole:
        yield _values(piece, reading, offset)
        return
    with (_opened_remote(piece) if "://" in piece else contextlib.nullcontext()) as stream:
        yield from _read(_remote_reader(piece, reading.settings, stream, reading.x_axis) if stream is not None
                         else files.open_reader(piece, **reading.settings, x_axis=reading.x_axis))


def _read(reader):
    """The chunks (_chunks) of a reader's blocks, its dropped rows with an empty last one."""
    arrays = ()
    for arrays in reader.blocks():
        yield arrays, 0, None
    yield tuple(np.empty(0) for _ in arrays or "xy"), reader.skipped, reader.first_skip


def _first(piece, reading, offset, degree, most):
    """The First of a piece (fitbp.engines.first): what the first reduction gathers of it."""
    found = First(degree, most, reading.settings["third"] and reading.settings["third"][1])
    for arrays, skipped, problem in _chunks(piece, reading, offset):
        found.add(arrays, skipped, _first_skip(reading, problem))
    return found._closed()


def _joined(a, b):
    return a.joined(b)


def _rows(piece, reading, offset):
    """Every row of a piece, in chunks of arrays: for data that the whole sample can hold."""
    return [arrays for arrays, _, _ in _chunks(piece, reading, offset) if arrays[0].size]


def _listed(a, b):
    return a + b


def _on_piece(piece, reading, offset, weighing, task, *arguments):
    """``task`` (fitbp.engines.passes) over the blocks of one piece: (x, y), or (x, y, √w) with a Weighing."""
    blocks = (arrays for arrays, _, _ in _chunks(piece, reading, offset))
    return task(blocks if weighing is None else weighing.rows(blocks), *arguments)


def _read_through(path, settings, x_axis=None):
    """Read a whole file with fitbp's own loader, for the error it raises."""
    if "://" not in path:
        for _ in files.open_reader(path, **settings, x_axis=x_axis).blocks():
            pass
        return
    with _opened_remote(path) as stream:
        for _ in _remote_reader(path, settings, stream, x_axis).blocks():
            pass


@dataclass
class Distributed(Streamed):
    """A Streamed whose passes are reductions on a dask cluster instead of reads on this machine."""

    HELD = " that the dask workers read"

    client: object = field(default=None, repr=False)
    pieces: list = field(default_factory=list, repr=False)
    """(delayed piece, or a path read whole; Reading; its offset in the file, None for Parquet) of every partition."""
    paths: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    labels: tuple = ()
    """The columns' labels: x's, y's and the weights' when there are weights."""
    partitions: int = 0
    workers: int = 0

    def first_pass(self, degree):
        """Count, range, y scale, distinct x, an even sample and (at ``degree``) the triangle of all the points."""
        most = max(1, -(-first.KEPT // self.partitions))
        found = self._reduced(_first, _joined, degree, most)
        if found.rows == 0:
            raise at(self.source, None, "no data rows" if not found.skipped else
                     f"no valid rows: all {found.skipped} had invalid values, the first {found.first_skip}")
        self.skipped, self.first_skip = found.skipped, found.first_skip
        self.settle(found, self.labels)
        if self.x.size < found.count <= first.KEPT:  # pieces of uneven rows kept too few: the sample is every point
            every = [np.concatenate(c) for c in zip(*self._reduced(_rows, _listed))]
            if self.weighing is not None:
                every = carried(every[0], every[1], files.weights_of(every[2], self.weighting))
                self.weights = every[2]
            self.x, self.y = every[0], every[1]

    def reduce(self, task, join, *arguments):
        """One more pass (fitbp.sources.data.Data.reduce): ``task`` on every partition's blocks, on its worker."""
        return self._reduced(_on_piece, join, self.weighing, task, *arguments)

    def engine(self):
        started = getattr(self.client, "cluster", None) is not None  # a LocalCluster of this fit's own
        return {"name": "dask", "scheduler": "local" if started else self.client.scheduler.address,
                "partitions": self.partitions,
                "workers": self.workers, "passes": self.passes}

    def _reduced(self, task, join, *arguments):
        """One pass on the cluster: ``task`` on every partition, joined pairwise up a tree, computed."""
        from dask import delayed

        self.passes += 1
        level = [delayed(task)(piece, reading, offset, *arguments) for piece, reading, offset in self.pieces]
        joined = delayed(join)
        while len(level) > 1:
            level = [joined(a, b) for a, b in zip(level[::2], level[1::2])] + level[len(level) - len(level) % 2:]
        try:
            return self.client.compute(level[0]).result()
        except FitbpError as e:  # a bad value: its line, found by reading the file here
            raise self._located(e) from None  # (a worker's own FitbpError knows the line in its piece only)
        except Exception as e:  # noqa: BLE001 (a lost worker, a cancelled task: one line, at once)
            said = str(e).strip().splitlines() or [type(e).__name__]
            raise FitbpError(f"{self.source}: the dask cluster failed: {printable(said[0])}") from None

    def _located(self, error):
        """The local loader's error for the first bad value in the files, where they are on this machine;
        else the worker's own words."""
        try:
            for path in self.paths:
                _read_through(path, self.settings, self.x_axis)
        except FitbpError as found:
            return found
        said = str(error).strip().splitlines() or [type(error).__name__]
        return FitbpError(f"{self.source}: a dask worker could not read the data: {printable(said[0])}")
