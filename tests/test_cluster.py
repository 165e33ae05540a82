"""--engine dask: the local engine's answer, errors and records, on a cluster.

The reference is the local engine on the same files (itself tested against
numpy's lstsq).  Most tests share one in-process cluster (threads, no
pickling) for speed; the command-line tests start a LocalCluster of worker
processes, and one starts a real `dask scheduler` and two `dask worker`
processes on loopback.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fitbp.engines import first, local
from fitbp.cli.console import flag
from fitbp.errors import FitbpError
from fitbp.fitting import trainer
from helpers import environment, run

distributed = pytest.importorskip("distributed", reason="--engine dask needs the dask extra")
pytest.importorskip("dask.dataframe", reason="--engine dask needs the dask extra")
from fitbp.engines import cluster  # noqa: E402 (after the skip: it needs dask)


def write(path, x, y, header="x,y"):
    rows = "\n".join(f"{a!r},{b!r}" for a, b in zip(x.tolist(), y.tolist()))
    path.write_text((header + "\n" if header else "") + rows + "\n")
    return str(path)


def data(kind, count=30000, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "years":
        x = rng.uniform(2000, 2030, count)
        return x, np.cos((x - 2000) / 5) + rng.normal(0, 0.05, count)
    x = rng.uniform(0, 2 * np.pi, count)
    if kind == "sorted":
        x.sort()
    return x, np.sin(x) + rng.normal(0, 0.1, count)


def relative(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def both(client, paths, degree, partition_size=64 << 10, **reading):
    """The dask fit and the local one (points held) of the same files."""
    spread = cluster.load(client, paths, degree, partition_size, **reading)
    held = local.load(paths, degree, **reading)
    assert spread.partitions > 1
    return trainer.fit_points(spread, degree), trainer.fit_points(held, degree)


@pytest.mark.parametrize("kind", ["shuffled", "sorted", "years"])
def test_dask_gives_the_local_answer_for_degrees_0_to_10(client, tmp_path, kind):
    x, y = data(kind)
    paths = [write(tmp_path / f"{kind}-{i}.csv", x[i::3], y[i::3]) for i in range(3)]
    for degree in range(11):
        spread, held = both(client, paths, degree)
        assert relative(spread.polynomial.coefficients, held.polynomial.coefficients) <= 1e-12, degree
        assert relative(spread.polynomial.raw_coefficients(), held.polynomial.raw_coefficients()) <= 1e-12, degree
        assert spread.mse == pytest.approx(held.mse, rel=1e-12) and spread.r2 == pytest.approx(held.r2, rel=1e-12)
        assert spread.statistics["stderr"] == pytest.approx(held.statistics["stderr"], rel=1e-9)
        assert spread.points.count == held.points.count == x.size


def test_degree_auto_chooses_on_the_sample_and_fits_in_a_second_pass(client, tmp_path):
    x, y = data("shuffled")
    path = write(tmp_path / "d.csv", x, y)
    spread = cluster.load(client, [path], None, 64 << 10)
    from fitbp import selection

    chosen = selection.fit_auto(spread)
    held = selection.fit_auto(local.load([path]))
    assert chosen.polynomial.degree == held.polynomial.degree
    assert chosen.mse == pytest.approx(held.mse, rel=1e-12)
    assert chosen.engine["name"] == "dask" and chosen.engine["passes"] == 2


def test_degree_auto_on_dask_samples_only_points_that_outnumber_the_sample_and_says_so(client, tmp_path, monkeypatch):
    """Issue 19, item 8: uneven pieces whose points the sample can hold are all kept (the choice is the
    local one, with no note); more points than the sample are chosen on it, and the note says that the
    workers read them, not that --memory was exceeded."""
    from fitbp import selection

    monkeypatch.setattr(first, "KEPT", 1000)  # the in-process workers share this module
    x, y = data("shuffled", 1002)
    big, small = write(tmp_path / "big.csv", x[:950], y[:950]), write(tmp_path / "small.csv", x[950:990], y[950:990])
    spread = cluster.load(client, [big, small], None)
    assert spread.partitions == 2 and spread.x.size == spread.count == 990
    chosen, held = selection.fit_auto(spread), selection.fit_auto(local.load([big, small]))
    assert chosen.selection["notes"] == held.selection["notes"] == []
    assert [c["bic"] for c in chosen.selection["candidates"]] == pytest.approx(
        [c["bic"] for c in held.selection["candidates"]], rel=1e-12)
    every = write(tmp_path / "all.csv", x, y)
    spread = cluster.load(client, [every], None, 16 << 10)
    notes = selection.fit_auto(spread).selection["notes"]
    assert spread.x.size < spread.count == 1002
    assert notes == [f"the degree was chosen on an even sample of {spread.x.size} of the 1002 points that the dask "
                     "workers read"]


def test_ill_conditioned_fits_check_the_optimum_with_passes_on_the_workers(client, tmp_path):
    """Past a condition number of 1e8 the trainer sums the actual residuals: there, on the cluster."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-1, -0.95, 20000), rng.uniform(0.9, 1, 20)])  # crowded at one end
    y = np.exp(x) + rng.normal(0, 1e-3, x.size)
    path = write(tmp_path / "d.csv", x, y)
    spread, held = both(client, [path], 10)
    assert held.condition > 1e8 and spread.engine["passes"] >= 2
    assert spread.mse == pytest.approx(held.mse, rel=1e-9)


def test_a_bad_cell_names_its_file_and_line_as_the_local_engine_does(client, tmp_path):
    x, y = data("shuffled", 20000)
    paths = [write(tmp_path / f"p{i}.csv", x[i::3], y[i::3]) for i in range(3)]
    lines = (tmp_path / "p2.csv").read_text().splitlines()
    lines[5000] = "1.5,abc"
    (tmp_path / "p2.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(FitbpError) as spread:
        cluster.load(client, paths, 3, 32 << 10)
    assert spread.value.said(flag) == (f"{paths[2]}:5001: column 'y': 'abc' is not a number (--skip-invalid drops "
                                       "such rows)")  # as the command line says it
    skipped = cluster.load(client, paths, 3, 32 << 10, skip_invalid=True)
    assert skipped.count == x.size - 1 and skipped.skipped == 1 and "'abc'" in skipped.first_skip
    lines[5000] = "1.5,nan"
    (tmp_path / "p2.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(FitbpError, match=r"p2\.csv:5001: column 'y': 'nan' is not a finite number"):
        cluster.load(client, paths, 3, 32 << 10)


def test_each_file_is_read_its_own_way_and_the_columns_must_agree(client, tmp_path):
    x, y = data("shuffled", 3000)
    first = write(tmp_path / "a.csv", x[:1500], y[:1500])
    (tmp_path / "b.csv").write_text("x;y\n" + "".join(f"{a!r};{b!r}\n"
                                                     for a, b in zip(x[1500:].tolist(), y[1500:].tolist())))
    both_ways = [first, str(tmp_path / "b.csv")]
    spread = trainer.fit_points(cluster.load(client, both_ways, 3, 16 << 10), 3)
    held = trainer.fit_points(local.load(both_ways, 3), 3)
    assert relative(spread.polynomial.coefficients, held.polynomial.coefficients) <= 1e-12
    (tmp_path / "c.csv").write_text("x,z\n1,2\n2,3\n")
    with pytest.raises(FitbpError, match="c.csv: its columns are x, z where .*a.csv has x, y"):
        cluster.load(client, [first, str(tmp_path / "c.csv")], 2)
    with pytest.raises(FitbpError, match="standard input cannot be read by a cluster"):
        cluster.load(client, ["-"], 2)
    with pytest.raises(FitbpError, match="no such file"):
        cluster.load(client, [str(tmp_path / "missing.csv")], 2)


def test_no_header_whitespace_gzip_and_parquet_read_as_locally(client, tmp_path):
    import gzip

    x, y = data("years", 5000)
    text = "".join(f"{a!r}   {b!r}\n" for a, b in zip(x.tolist(), y.tolist()))
    (tmp_path / "w.txt").write_text(text)
    (tmp_path / "w.csv.gz").write_bytes(gzip.compress(text.encode()))
    paths = [[str(tmp_path / "w.txt")], [str(tmp_path / "w.csv.gz")]]
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    for i in range(2):
        pq.write_table(pa.table({"t": x[i::2], "v": y[i::2]}), tmp_path / f"p{i}.parquet", row_group_size=500)
    paths.append([str(tmp_path / "p0.parquet"), str(tmp_path / "p1.parquet")])
    for chosen in paths:
        spread = trainer.fit_points(cluster.load(client, chosen, 4, 16 << 10), 4)
        held = trainer.fit_points(local.load(chosen, 4), 4)
        assert relative(spread.polynomial.coefficients, held.polynomial.coefficients) <= 1e-12
        assert spread.mse == pytest.approx(held.mse, rel=1e-12)


def test_urls_are_listed_sniffed_and_read_through_fsspec(client, tmp_path):
    """fsspec's memory file system stands in for object storage (the in-process workers share it)."""
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    x, y = data("years", 6000)
    held_paths = [write(tmp_path / f"part-{i}.csv", x[i::2], y[i::2]) for i in range(2)]
    for i, path in enumerate(held_paths):
        memory.pipe(f"/fitbp-test/part-{i}.csv", open(path, "rb").read())
    memory.pipe("/fitbp-test/bad.csv", b"x,y\n1,2\n2,abc\n3,4\n")
    try:
        spread = cluster.load(client, ["memory://fitbp-test/part-*.csv"], 4, 16 << 10)
        assert spread.sources == ["memory:///fitbp-test/part-0.csv", "memory:///fitbp-test/part-1.csv"]
        spread, held = trainer.fit_points(spread, 4), trainer.fit_points(local.load(held_paths, 4), 4)
        assert relative(spread.polynomial.coefficients, held.polynomial.coefficients) <= 1e-12
        with pytest.raises(FitbpError) as bad:
            cluster.load(client, ["memory://fitbp-test/bad.csv"], 1)
        assert bad.value.said(flag) == ("memory:///fitbp-test/bad.csv:3: column 'y': 'abc' is not a number "
                                        "(--skip-invalid drops such rows)")
        with pytest.raises(FitbpError, match="memory://fitbp-test/none-\\*.csv: no file matches this pattern"):
            cluster.load(client, ["memory://fitbp-test/none-*.csv"], 1)
    finally:
        memory.rm("/fitbp-test", recursive=True)


def test_the_command_line_records_the_engine_in_json_and_model(tmp_path):
    """The default LocalCluster: worker processes, so every function a worker runs is pickled."""
    x, y = data("shuffled", 20000)
    write(tmp_path / "d.csv", x, y)
    done = run("fit", "d.csv", "-d", "5", "--engine", "dask", "--partition-size", "100KB", "--json", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "saved fitbp.json\n", done.stderr
    spread = json.loads(done.stdout)
    held = json.loads(run("fit", "d.csv", "-d", "5", "--json", "--no-save", cwd=tmp_path).stdout)
    assert relative(spread["coefficients"], held["coefficients"]) <= 1e-12
    assert spread["engine"]["name"] == "dask" and spread["engine"]["scheduler"] == "local"
    assert spread["engine"]["partitions"] > 1 and spread["engine"]["workers"] == (os.cpu_count() or 1)
    assert json.loads((tmp_path / "fitbp.json").read_text())["engine"] == spread["engine"]
    bad = run("fit", "d.csv", "-", "--engine", "dask", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("error: standard input")


def test_worker_processes_read_dates_and_weights_and_keep_fixed_terms(tmp_path):
    """Dates, a σ column and --fix at once on worker processes: the Reading's date axis, the first pass's
    weights and the later passes' Weighing are pickled to the workers, and the answer is the held one."""
    x, y = data("shuffled", 20000)
    sigma = 0.05 + 0.1 * np.abs(np.sin(3 * x))
    stamps = (np.datetime64("2026-03-28T00:00:00") + np.round(x * 86400).astype("timedelta64[s]")).astype(str)
    rows = "\n".join(f"{t},{b!r},{s!r}" for t, b, s in zip(stamps.tolist(), y.tolist(), sigma.tolist()))
    (tmp_path / "d.csv").write_text("t,y,s\n" + rows + "\n")
    options = ["fit", "d.csv", "-d", "3", "--sigma", "s", "--fix", "0=0.25", "--json", "--no-save"]
    spread = json.loads(run(*options, "--engine", "dask", "--partition-size", "100KB", cwd=tmp_path).stdout)
    held = json.loads(run(*options, cwd=tmp_path).stdout)
    assert relative(spread["coefficients"], held["coefficients"]) <= 1e-12 and spread["coefficients"][0] == 0.25
    assert spread["stderr"] == pytest.approx(held["stderr"], rel=1e-9)
    assert spread["x_origin"] == held["x_origin"] == f"{stamps[0][:10]}T00:00:00"  # the first row's midnight
    assert spread["chi2"] == pytest.approx(held["chi2"], rel=1e-9)
    assert spread["engine"]["name"] == "dask" and spread["engine"]["partitions"] > 1


def test_usage_and_missing_dask_are_one_line(tmp_path):
    x, y = data("shuffled", 100)
    write(tmp_path / "d.csv", x, y)
    misused = run("fit", "d.csv", "--scheduler", "tcp://127.0.0.1:1", cwd=tmp_path)
    assert misused.returncode == 2 and "--scheduler: is only for --engine dask" in misused.stderr
    hidden = ("import sys; sys.modules['distributed'] = None; from fitbp.__main__ import main; "
              "sys.argv[1:] = ['fit', 'd.csv', '--engine', 'dask']; main()")
    done = subprocess.run([sys.executable, "-c", hidden], cwd=tmp_path, capture_output=True, text=True,
                          env=environment())
    assert done.returncode == 1 and done.stderr == (
        "error: --engine dask needs dask and distributed: pip install 'fitbp[dask]'\n")
    unreachable = run("fit", "d.csv", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", cwd=tmp_path,
                      env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert unreachable.returncode == 1 and unreachable.stderr.count("\n") == 1
    assert unreachable.stderr.startswith("error: cannot reach the dask scheduler at tcp://127.0.0.1:9: ")
    assert not (tmp_path / "fitbp.json").exists()


def _wait_for(condition, what, process_list, seconds=120):
    """Poll until ``condition()`` holds: a condition, not a guess at how long a start takes."""
    deadline = time.monotonic() + seconds
    while not condition():
        dead = [p for p in process_list if p.poll() is not None]
        assert not dead, f"{what}: a dask process ended with {dead[0].returncode}"
        assert time.monotonic() < deadline, f"{what} did not happen in {seconds} s"
        time.sleep(0.1)


def test_a_real_scheduler_and_two_workers_give_the_local_answer(tmp_path):
    dask_cli = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    worker_cli = [sys.executable, "-m", "distributed.cli.dask_worker"]
    scheduler_file = tmp_path / "scheduler.json"
    env = environment()
    started = []
    try:
        started.append(subprocess.Popen([*dask_cli, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                         "--scheduler-file", str(scheduler_file)], cwd=tmp_path, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for(scheduler_file.exists, "the scheduler file", started)
        for _ in range(2):
            started.append(subprocess.Popen([*worker_cli, "--scheduler-file", str(scheduler_file), "--host",
                                             "127.0.0.1", "--nthreads", "1", "--no-dashboard"], cwd=tmp_path,
                                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(scheduler_file.read_text())["address"]
        with distributed.Client(address) as watcher:
            _wait_for(lambda: len(watcher.scheduler_info()["workers"]) == 2, "two workers", started)
        x, y = data("years", 30000)
        for i in range(3):
            write(tmp_path / f"part-{i}.csv", x[i::3], y[i::3])
        done = run("fit", "part-*.csv", "-d", "7", "--engine", "dask", "--scheduler", address,
                   "--partition-size", "200KB", "--json", "--no-save", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        spread = json.loads(done.stdout)
        held = json.loads(run("fit", "part-*.csv", "-d", "7", "--json", "--no-save", cwd=tmp_path).stdout)
        assert relative(spread["taylor_coefficients"], held["taylor_coefficients"]) <= 1e-12
        assert relative(spread["coefficients"], held["coefficients"]) <= 1e-12
        assert spread["mse"] == pytest.approx(held["mse"], rel=1e-12)
        assert spread["engine"] == {"name": "dask", "scheduler": address, "partitions": spread["engine"]["partitions"],
                                    "workers": 2, "passes": 1}
        assert spread["engine"]["partitions"] >= 3
    finally:
        for process in reversed(started):  # the workers first, then the scheduler
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()



def _same_as_local(client, paths, degree=2, partition_size=16 << 10, **reading):
    spread = trainer.fit_points(cluster.load(client, paths, degree, partition_size, **reading), degree)
    held = trainer.fit_points(local.load(paths, degree, **reading), degree)
    assert spread.points.count == held.points.count and spread.points.skipped == held.points.skipped
    assert relative(spread.polynomial.coefficients, held.polynomial.coefficients) <= 1e-12
    return spread, held


def test_the_workers_read_each_piece_as_fitbps_loader_does(client, tmp_path):
    """Files that dask's own CSV reader misreads (found by a review): a blank line or comments before the
    header, comments throughout, CR-only line ends, Latin-1 and UTF-16 text, gzip beside plain CSV."""
    x, y = data("shuffled", 3000)
    rows = [f"{a!r},{b!r}" for a, b in zip(x.tolist(), y.tolist())]
    for i in range(500, 3000, 500):
        rows.insert(i, "# a comment")
    (tmp_path / "blank.csv").write_text("\n# made by hand\n\nx,y\n" + "\n".join(rows) + "\n")
    (tmp_path / "cr.csv").write_bytes(("x,y\r" + "\r".join(rows) + "\r").encode())
    (tmp_path / "latin.csv").write_bytes(("xé,yü\n" + "\n".join(rows) + "\n").encode("latin-1"))
    (tmp_path / "utf16.csv").write_bytes(("x,y\n" + "\n".join(rows) + "\n").encode("utf-16"))
    import gzip

    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(("x,y\n" + "\n".join(rows[:900]) + "\n").encode()))
    (tmp_path / "a.csv").write_text("x,y\n" + "\n".join(rows[900:]) + "\n")
    for paths, reading in (([tmp_path / "blank.csv"], {}), ([tmp_path / "cr.csv"], {}),
                           ([tmp_path / "latin.csv"], {"encoding": "latin-1"}), ([tmp_path / "utf16.csv"], {}),
                           ([tmp_path / "a.csv", tmp_path / "b.csv.gz"], {})):
        spread, _ = _same_as_local(client, [str(p) for p in paths], **reading)
        assert spread.points.count == 3000, paths


@pytest.mark.parametrize("cell, said", [
    ("5#7", "column 'y': '5#7' is not a number"),
    ("1.#QNAN", "column 'y': '1.#QNAN' is not a number"),
    ("1.5,2.5", "expected 2 fields, found 3"),
    ("\u00a01.5", None),  # a no-break space before a number: Python reads it, and so both engines
])
def test_a_bad_cell_far_into_a_big_file_is_found_on_the_worker(client, tmp_path, cell, said):
    """Past the head the client sniffs, only the workers see the cell: the same error, line and all."""
    x, y = data("shuffled", 150_000)
    rows = [f"{a!r},{b!r}" for a, b in zip(x.tolist(), y.tolist())]
    rows[140_000] = f"{rows[140_000].split(',')[0]},{cell}"
    path = tmp_path / "big.csv"
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    if said is None:
        _same_as_local(client, [str(path)], partition_size=1 << 20)
        return
    with pytest.raises(FitbpError) as spread:
        cluster.load(client, [str(path)], 2, 1 << 20)
    assert str(spread.value).startswith(f"{path}:140002: {said}")
    if said.startswith("expected"):  # a row of the wrong width is an error even with --skip-invalid
        with pytest.raises(FitbpError, match=f"{path}:140002: {said}$"):
            cluster.load(client, [str(path)], 2, 1 << 20, skip_invalid=True)
        return
    skipped, _ = _same_as_local(client, [str(path)], partition_size=1 << 20, skip_invalid=True)
    assert skipped.points.skipped == 1 and skipped.points.first_skip.startswith(f"in {path}: {said}")


def test_worker_failures_are_one_line_on_the_command_line(tmp_path):
    """A LocalCluster's workers log their failures: none of that reaches the user's stderr."""
    x, y = data("shuffled", 150_000)
    rows = [f"{a!r},{b!r}" for a, b in zip(x.tolist(), y.tolist())]
    rows[140_000] = "1.5,abc"
    (tmp_path / "big.csv").write_text("x,y\n" + "\n".join(rows) + "\n")
    (tmp_path / "fitbp.json").write_text("previous model")
    done = run("fit", "big.csv", "-d", "2", "--engine", "dask", "--partition-size", "1MB", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == (
        "error: big.csv:140002: column 'y': 'abc' is not a number (--skip-invalid drops such rows)\n")
    assert (tmp_path / "fitbp.json").read_text() == "previous model"
    for args, said in ((["--partition-size", "0.5"], "must be 1k or more"), (["--scheduler", ""], "needs an address")):
        refused = run("fit", "big.csv", "-d", "2", "--engine", "dask", *args, cwd=tmp_path)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    assert run("fit", "big.csv", "--partition-size", "8MB", cwd=tmp_path).returncode == 2  # only for dask


def test_found_by_a_code_review(client, tmp_path):
    """The sample is even across pieces of any size; a header after more comment lines than a piece holds;
    remote Parquet is refused in words; inputs are checked before any cluster is reached."""
    x, y = data("shuffled", 60_000)
    big = write(tmp_path / "big.csv", x, y)
    small = write(tmp_path / "small.csv", x[:300] + 100.0, y[:300])  # x beyond the big file's: countable
    spread = cluster.load(client, [big, small], 2, 256 << 10)
    share = float(np.mean(spread.x > 50.0))
    assert spread.partitions >= 3 and 0.5 * 300 / 60_300 <= share <= 2 * 300 / 60_300
    rows = [f"{a!r},{b!r}" for a, b in zip(x[:5000].tolist(), y[:5000].tolist())]
    (tmp_path / "notes.csv").write_text("# note\n" * 400 + "x,y\n" + "\n".join(rows) + "\n")  # 2.8k of comments
    _same_as_local(client, [str(tmp_path / "notes.csv")], partition_size=1024)
    fsspec = pytest.importorskip("fsspec")
    pa = pytest.importorskip("pyarrow")
    import io

    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]}), buffer)
    fsspec.filesystem("memory").pipe("/fitbp-review/p.parquet", buffer.getvalue())
    with pytest.raises(FitbpError, match="is a Parquet file, which engine='dask' reads from local paths only"):
        cluster.load(client, ["memory://fitbp-review/p.parquet"], 1)
    missing = run("fit", "missing.csv", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", cwd=tmp_path,
                  env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "60s"})
    assert missing.returncode == 1 and missing.stderr == "error: missing.csv: no such file\n"


def test_a_gzip_file_is_streamed_by_its_worker_block_by_block(client, tmp_path):
    """A gzip file cannot be cut, so one worker reads it, a block of the loader at a time, as the local
    engine does: never the whole text in memory (found by a review), the same rows and errors."""
    import gzip

    x, y = data("years", 150_000)
    rows = [f"{a!r},{b!r}" for a, b in zip(x.tolist(), y.tolist())]
    (tmp_path / "big.csv.gz").write_bytes(gzip.compress(("x,y\n" + "\n".join(rows) + "\n").encode()))
    spread, _ = _same_as_local(client, [str(tmp_path / "big.csv.gz")], degree=4)
    assert spread.points.count == 150_000 and spread.engine["partitions"] == 1
    rows[120_000] = "2001.5,abc"
    (tmp_path / "bad.csv.gz").write_bytes(gzip.compress(("x,y\n" + "\n".join(rows) + "\n").encode()))
    with pytest.raises(FitbpError, match=r"bad\.csv\.gz:120002: column 'y': 'abc' is not a number"):
        cluster.load(client, [str(tmp_path / "bad.csv.gz")], 2)


def test_parquet_row_groups_are_read_by_the_local_reader_on_the_workers(client, tmp_path):
    """Issue 21: a Parquet file's runs of row groups go through the local engine's ParquetReader on the
    workers, so a null names its row as locally, and --skip-invalid drops the same rows."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    x, y = data("shuffled", 5000)
    cells = y.tolist()
    cells[3456] = None
    path = str(tmp_path / "n.parquet")
    pq.write_table(pa.table({"x": x, "y": pa.array(cells, pa.float64())}), path, row_group_size=700)
    with pytest.raises(FitbpError) as held_error:
        local.load([path])
    with pytest.raises(FitbpError) as spread_error:
        cluster.load(client, [path], 2, 8 << 10)
    assert str(spread_error.value) == str(held_error.value) and "row 3457: column 'y': null" in str(held_error.value)
    spread, _ = _same_as_local(client, [path], partition_size=8 << 10, skip_invalid=True)
    assert spread.points.partitions > 2 and spread.points.skipped == 1
    assert spread.points.first_skip == f"in {path} at row 3457: column 'y': null (an empty cell)"
