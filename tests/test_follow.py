"""fit --follow through a real pipe that the test writes a batch at a time: it reads each JSON line before
it writes the next batch (a condition, never a sleep), and ends the stream with Ctrl-C (SIGINT)."""

import json
import os
import select
import signal
import subprocess

import numpy as np
import pytest

import fitbp
from helpers import FITBP, environment, run


def read_line(process, wait=120.0):
    """The next line of the process's stdout, waiting for it (up to ``wait`` seconds, a guard, not a pace)."""
    ready, _, _ = select.select([process.stdout], [], [], wait)
    assert ready, "no JSON line came"
    return process.stdout.readline()


def batch(rng, size):
    x = rng.uniform(0.0, 10.0, size)
    return x, 0.5 * x ** 2 - 3.0 * x + 2.0 + rng.normal(0.0, 0.5, size)


def test_each_batch_is_the_fit_of_every_point_so_far_and_ctrl_c_keeps_the_model(tmp_path):
    process = subprocess.Popen([*FITBP, "fit", "-", "--follow", "-d", "2", "--every", "40", "--save", "live.json"],
                               cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=environment(), bufsize=0)
    rng = np.random.default_rng(11)
    xs, ys = np.empty(0), np.empty(0)
    try:
        process.stdin.write(b"time,reading\n")
        for _ in range(3):
            x, y = batch(rng, 40)
            process.stdin.write("".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())).encode())
            xs, ys = np.append(xs, x), np.append(ys, y)
            record = json.loads(read_line(process))
            reference = fitbp.fit(xs, ys, degree=2)
            assert record["n"] == xs.size and record["degree"] == 2
            np.testing.assert_allclose(record["coefficients"], reference.coef, rtol=0,
                                       atol=1e-12 * np.max(np.abs(reference.coef)))
            assert record["mse"] == pytest.approx(reference.mse, rel=1e-12)
            saved = json.loads((tmp_path / "live.json").read_text())
            assert saved["n_points"] == xs.size and saved["x_column"] == "time"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 130
    finally:
        if process.poll() is None:
            process.kill()
    model = fitbp.load(tmp_path / "live.json")  # the last update's model, whole
    np.testing.assert_allclose(model.coef, fitbp.fit(xs, ys, degree=2).coef, rtol=1e-12)
    updated = run("update", "-m", "live.json", "-", cwd=tmp_path, stdin="time,reading\n11,30\n12,40\n")
    assert updated.returncode == 0, updated.stderr  # and it keeps learning


def test_a_bad_line_stops_the_stream_or_is_skipped(tmp_path):
    lines = "x,y\n0,1\n1,3\n2,5\nbad,1\n3,7\n4,9\n"
    stopped = run("fit", "-", "--follow", "-d", "1", "--every", "2", "--no-save", cwd=tmp_path, stdin=lines)
    assert stopped.returncode == 1 and stopped.stderr.startswith("error: <stdin>:5: column 'x': 'bad' is not a number")
    assert len(stopped.stdout.splitlines()) == 1  # the batch before it was fitted and printed
    skipped = run("fit", "-", "--follow", "-d", "1", "--every", "2", "--no-save", "--skip-invalid", cwd=tmp_path,
                  stdin=lines)
    assert skipped.returncode == 0 and "skipped 1 rows" in skipped.stderr
    last = json.loads(skipped.stdout.splitlines()[-1])
    assert last["n"] == 5 and np.allclose(last["coefficients"], [1.0, 2.0])


def test_time_batches_and_refusals(tmp_path):
    """--every 0.2s: a batch is what arrived; the end of the stream fits what is left."""
    done = run("fit", "-", "--follow", "-d", "1", "--every", "0.2s", "--no-save", cwd=tmp_path,
               stdin="0 1\n1 3\n2 5\n3 7.5\n")
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[-1])["n"] == 4
    for args in (["-d", "auto"], ["-d", "2", "--loss", "huber"], ["-d", "2", "--every", "0"],
                 ["-d", "2", "--every", "-1s"], ["-d", "2", "--basis", "fourier"]):
        assert run("fit", "-", "--follow", *args, cwd=tmp_path, stdin="1,2\n").returncode == 2, args
    short = run("fit", "-", "--follow", "-d", "3", "--no-save", cwd=tmp_path, stdin="1,2\n2,3\n")
    assert short.returncode == 1 and "too few distinct x for degree 3" in short.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_followed_too(tmp_path):
    fifo = tmp_path / "sensor"
    os.mkfifo(fifo)
    process = subprocess.Popen([*FITBP, "fit", str(fifo), "--follow", "-d", "1", "--every", "3", "--no-save"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
                               bufsize=0)
    try:
        with open(fifo, "w") as writer:
            writer.write("1,2\n2,4\n3,6.5\n")
            writer.flush()
            assert json.loads(read_line(process))["n"] == 3
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()


# ---------------------------------------------------------------- forgetting

def explicit(x, y, half_life, path):
    """The data with the weights 2^(−age/h) written out as a column: the fit --half-life must equal."""
    ages = x.size - 1 - np.arange(x.size)
    w = np.exp2(-ages / half_life)
    path.write_text("x,y,w\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(x.tolist(), y.tolist(), w.tolist())))
    return path


def test_half_life_in_rows_is_the_weighted_fit(tmp_path):
    rng = np.random.default_rng(4)
    x, y = batch(rng, 300)
    y = y + np.linspace(0.0, 3.0, 300)  # a drift that forgetting should follow
    explicit(x, y, 50.0, tmp_path / "w.csv")
    forgetting = json.loads(run("fit", "w.csv", "-d", "2", "--half-life", "50", "--no-save", "--json",
                                cwd=tmp_path).stdout)
    weighted = json.loads(run("fit", "w.csv", "-d", "2", "--weights", "w", "--no-save", "--json",
                              cwd=tmp_path).stdout)
    np.testing.assert_allclose(forgetting["coefficients"], weighted["coefficients"], rtol=1e-12)
    for key in ("mse", "r2", "reduced_chi2", "residual_std"):
        assert forgetting[key] == pytest.approx(weighted[key], rel=1e-12), key
    np.testing.assert_allclose(forgetting["stderr"], weighted["stderr"], rtol=1e-12)
    assert forgetting["weights"] == {"from": "half_life", "column": "50"} and forgetting["errors"] == "scaled"
    python = fitbp.fit(x, y, degree=2, half_life=50)
    np.testing.assert_allclose(python.coef, forgetting["coefficients"], rtol=1e-12)


def test_half_life_in_time_for_dates(tmp_path):
    from datetime import datetime, timedelta

    rng = np.random.default_rng(8)
    days = np.sort(rng.uniform(0, 60, 200))
    y = np.sin(days / 9) + rng.normal(0, 0.05, days.size)
    stamps = [(datetime(2026, 1, 1) + timedelta(days=float(d))).isoformat() for d in days]
    (tmp_path / "d.csv").write_text("t,y\n" + "".join(f"{s},{v!r}\n" for s, v in zip(stamps, y.tolist())))
    done = run("fit", "d.csv", "-d", "3", "--half-life", "7d", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    x = days - np.floor(days[0])  # days since the first date's midnight, as fitbp reads them
    reference = fitbp.fit(x, y, degree=3, weights=np.exp2(-(x.max() - x) / 7.0))
    np.testing.assert_allclose(found["coefficients"], reference.coef, rtol=1e-10)
    interval = run("predict", "2026-02-20", "--interval", "prediction", cwd=tmp_path)
    assert interval.returncode == 0, interval.stderr  # a new point weighs 1: no --sigma-new needed
    assert run("update", "d.csv", cwd=tmp_path).returncode == 0  # ages its points (tests/test_update.py)


def test_following_with_a_half_life_is_the_weighted_fit_of_every_point_so_far(tmp_path):
    process = subprocess.Popen([*FITBP, "fit", "-", "--follow", "-d", "2", "--every", "30", "--half-life", "40",
                                "--no-save"], cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=environment(), bufsize=0)
    rng = np.random.default_rng(12)
    xs, ys = np.empty(0), np.empty(0)
    try:
        for step in range(3):
            x, y = batch(rng, 30)
            y = y + step  # drifting
            process.stdin.write("".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())).encode())
            xs, ys = np.append(xs, x), np.append(ys, y)
            record = json.loads(read_line(process))
            weights = np.exp2(-(xs.size - 1 - np.arange(xs.size)) / 40.0)
            reference = fitbp.fit(xs, ys, degree=2, weights=weights)
            np.testing.assert_allclose(record["coefficients"], reference.coef, rtol=0,
                                       atol=1e-12 * np.max(np.abs(reference.coef)))
            assert record["mse"] == pytest.approx(reference.mse, rel=1e-12)
        process.stdin.close()
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_half_life_refusals(tmp_path):
    (tmp_path / "s.csv").write_text("x,y,s\n1,2,0.1\n2,3,0.1\n3,5,0.1\n4,6,0.2\n")
    both = run("fit", "s.csv", "-d", "1", "--sigma", "s", "--half-life", "3", "--no-save", cwd=tmp_path)
    assert both.returncode == 1 and "--half-life" in both.stderr and both.stderr.count("\n") == 1
    for text in ("0", "-3", "7x", "soon"):
        assert run("fit", "s.csv", "-d", "1", "--half-life", text, "--no-save", cwd=tmp_path).returncode == 2, text
    timed = run("fit", "-", "--follow", "-d", "1", "--half-life", "7d", "--no-save", cwd=tmp_path, stdin="1,2\n2,3\n")
    assert timed.returncode == 1 and "needs dates as x" in timed.stderr


def frame(process):
    """The lines of the next drawing of plot --follow (in a pipe, each ends with a blank line)."""
    found = []
    while True:
        line = read_line(process).decode()
        if line.strip() == "":
            return found
        found.append(line)


def test_plot_follow_draws_again_when_the_model_changes(tmp_path):
    """plot --follow in one process, the model updated in another: a new drawing for each new model, read
    as it comes (the condition), and never matplotlib (-X importtime lists every module imported)."""
    rng = np.random.default_rng(6)
    x, y = batch(rng, 60)
    (tmp_path / "a.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    x, y = batch(rng, 60)
    (tmp_path / "b.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    assert run("fit", "a.csv", "-d", "2", "-q", cwd=tmp_path).returncode == 0
    process = subprocess.Popen([*FITBP[:1], "-X", "importtime", *FITBP[1:], "plot", "--follow", "--width", "60",
                                "--height", "14"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=environment(), bufsize=0)
    try:
        first = frame(process)
        assert first[0].startswith("degree 2 fit of y against x: MSE")
        assert run("update", "b.csv", "-q", cwd=tmp_path).returncode == 0
        second = frame(process)
        assert second[0].startswith("degree 2 fit of y against x") and second[0] != first[0]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 130
    finally:
        if process.poll() is None:
            process.kill()
    assert "matplotlib" not in process.stderr.read().decode()


def test_a_followed_log_of_timestamps_with_a_half_life_in_time(tmp_path):
    """A sensor's log: ISO date-times as x (days from the first one's midnight, as a file's column of
    dates), --half-life 2d: each line = the fit with weights 2^(−(newest − t)/2 days); the model predicts
    at a date."""
    from datetime import datetime, timedelta

    rng = np.random.default_rng(21)
    hours = np.sort(rng.uniform(0, 240, 90))
    y = 20 + 0.05 * hours + rng.normal(0, 0.2, hours.size)
    stamps = [(datetime(2026, 4, 1, 6) + timedelta(hours=float(h))).isoformat() for h in hours]
    text = "time,temperature\n" + "".join(f"{s},{v!r}\n" for s, v in zip(stamps, y.tolist()))
    done = run("fit", "-", "--follow", "-d", "1", "--every", "30", "--half-life", "2d", "--save", "s.json",
               cwd=tmp_path, stdin=text)
    assert done.returncode == 0, done.stderr
    days = (6 + hours) / 24.0
    for line, end in zip(done.stdout.splitlines(), (30, 60, 90)):
        x, v = days[:end], y[:end]
        reference = fitbp.fit(x, v, degree=1, weights=np.exp2(-(x.max() - x) / 2.0))
        np.testing.assert_allclose(json.loads(line)["coefficients"], reference.coef, rtol=1e-10)
    model = json.loads((tmp_path / "s.json").read_text())
    assert model["x_origin"] == "2026-04-01T00:00:00" and model["weights"] == {"from": "half_life", "column": "2d"}
    assert run("predict", "-m", "s.json", "2026-04-08T12:00", cwd=tmp_path).returncode == 0


def test_a_sigma_column_is_followed_and_the_model_updates_with_it(tmp_path):
    """--follow --sigma s: each line is the σ-weighted fit of every row so far (σ = inf rows left out),
    and the saved model takes more rows with their σ through update."""
    rng = np.random.default_rng(17)
    x, y = batch(rng, 90)
    sigma = rng.uniform(0.1, 0.6, 90)
    sigma[7] = np.inf
    text = "x,y,s\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(x.tolist(), y.tolist(), sigma.tolist()))
    done = run("fit", "-", "--follow", "-d", "2", "--every", "30", "--sigma", "s", "--save", "s.json", cwd=tmp_path,
               stdin=text)
    assert done.returncode == 0, done.stderr
    for line, end in zip(done.stdout.splitlines(), (30, 60, 90)):
        reference = fitbp.fit(x[:end], y[:end], degree=2, sigma=sigma[:end])
        np.testing.assert_allclose(json.loads(line)["coefficients"], reference.coef, rtol=1e-11)
    model = json.loads((tmp_path / "s.json").read_text())
    assert model["weights"] == {"from": "sigma", "column": "s"}
    assert model["weighted_points"] == 89 and model["n_points"] == 90  # σ = inf: a row, not a point
    more_x, more_y = batch(rng, 20)
    more_s = rng.uniform(0.1, 0.6, 20)
    updated = run("update", "-m", "s.json", "-", "--json", cwd=tmp_path, stdin="x,y,s\n" + "".join(
        f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(more_x.tolist(), more_y.tolist(), more_s.tolist())))
    assert updated.returncode == 0, updated.stderr
    reference = fitbp.fit(np.append(x, more_x), np.append(y, more_y), degree=2, sigma=np.append(sigma, more_s))
    np.testing.assert_allclose(json.loads(updated.stdout)["coefficients"], reference.coef, rtol=1e-11)
    both = run("fit", "-", "--follow", "-d", "1", "--sigma", "s", "--half-life", "5", cwd=tmp_path, stdin=text)
    assert both.returncode == 2 and "one or the other" in both.stderr
