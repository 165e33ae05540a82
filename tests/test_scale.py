"""Data of any size: triangles merged block by block, streaming beyond the memory budget, many files.

The references are independent: numpy's lstsq on the whole data, residuals summed
in long double, and the in-memory fit of the same numbers.
"""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from fitbp.engines import first, moments
from helpers import FITBP, environment, run


def merged(x, y, degree, size, order=None):
    parts = [moments.part_of(x[i:i + size], y[i:i + size], degree) for i in range(0, x.size, size)]
    if order is not None:
        parts = [parts[i] for i in order(len(parts))]
    total = parts[0]
    for part in parts[1:]:
        total = moments.merge(total, part)
    return total


def exact_squares(x, y, k, center, scale, exponent):
    """Σ r² of the curve k (powers of t, y in units of 2**exponent), in long double."""
    t = (x.astype(np.longdouble) - center) / scale
    value = np.zeros_like(t)
    for a in k[::-1]:
        value = value * t + np.longdouble(a)
    r = np.ldexp(y.astype(np.longdouble), -exponent) - value
    return float(np.sum(r * r))


DATA = {
    "sine, shuffled": lambda rng: (rng.uniform(0, 2 * np.pi, 60000), None),
    "sine, sorted": lambda rng: (np.sort(rng.uniform(0, 2 * np.pi, 60000)), None),
    "years": lambda rng: (rng.uniform(2000, 2030, 60000), None),
    "far above zero": lambda rng: (rng.uniform(0, 1, 60000), 1e6),
    "one x in a block": lambda rng: (np.repeat(np.arange(12.0), 5000), None),
}


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("degree", [0, 1, 5, 10])
def test_merged_parts_give_the_least_squares_triangle_in_any_order(name, degree):
    rng = np.random.default_rng(degree)
    x, offset = DATA[name](rng)
    y = np.sin(6 * (x - x.min()) / np.ptp(x)) + (offset or 0.0) + rng.normal(0, 0.01, x.size)
    center, scale = moments.scaling(x)
    exponent = moments.unit_exponent(y)
    basis = moments.design_matrix((x - center) / scale, degree)
    best = np.linalg.lstsq(basis, np.ldexp(y, -exponent), rcond=None)[0]
    optimum = exact_squares(x, y, best, center, scale, exponent)
    for order in (None, lambda n: np.random.default_rng(1).permutation(n), lambda n: range(n - 1, -1, -1)):
        triangle = merged(x, y, degree, 5000, order).triangle(exponent)
        k = np.linalg.solve(triangle.r, triangle.z)
        found = moments.triangle_residuals(triangle, k)
        # the triangle's Σ r² is the curve's own, to 1e-12 of it ...
        assert found.squares == pytest.approx(exact_squares(x, y, k, center, scale, exponent), rel=1e-12)
        # ... and its curve is the least-squares optimum
        assert found.squares == pytest.approx(optimum, rel=1e-10)
        t = np.ldexp(y.astype(np.longdouble), -exponent)
        assert found.y_spread == pytest.approx(float(np.sum((t - t.mean()) ** 2)), rel=1e-12)
        assert found.count == x.size


def test_a_stream_fits_as_the_held_points_do(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.uniform(1990, 2030, 40000)
    y = 0.5 * (x - 2000) ** 2 + rng.normal(0, 3, x.size)
    np.savetxt(tmp_path / "d.csv", np.column_stack([x, y]), delimiter=",", header="year,value", comments="",
               fmt="%.17g")
    for degree in (0, 2, 5, 10):
        held = json.loads(run("fit", "d.csv", "-d", degree, "--json", "--no-save", cwd=tmp_path).stdout)
        streamed = json.loads(run("fit", "d.csv", "-d", degree, "--json", "--no-save", "--memory", "64k",
                                  cwd=tmp_path).stdout)
        assert held["engine"] == {"name": "local"}
        assert streamed["engine"]["streamed"] and streamed["n_points"] == x.size
        for key in ("mse", "r2", "residual_std", "reduced_chi2"):
            assert streamed[key] == pytest.approx(held[key], rel=1e-12), (degree, key)
        np.testing.assert_allclose(streamed["taylor_coefficients"], held["taylor_coefficients"], rtol=1e-9,
                                   atol=1e-12 * max(map(abs, held["taylor_coefficients"])))
        np.testing.assert_allclose(streamed["taylor_stderr"], held["taylor_stderr"], rtol=1e-9)


def _peak_mb(args, cwd):
    """The peak resident memory of fitbp run as a child, in MB."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", code, *FITBP, *args], cwd=cwd, capture_output=True, text=True,
                          env=environment(), timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout) / 1024


def test_memory_does_not_grow_with_the_data(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, 200_000)
    y = x ** 3 + rng.normal(0, 0.1, x.size)
    np.savetxt(tmp_path / "base.csv", np.column_stack([x, y]), delimiter=",", fmt="%.10f")
    x, y = np.loadtxt(tmp_path / "base.csv", delimiter=",", unpack=True)  # the numbers as written
    base = (tmp_path / "base.csv").read_bytes()
    (tmp_path / "small.csv").write_bytes(base * 2)   # 4e5 rows
    (tmp_path / "large.csv").write_bytes(base * 30)  # 6e6 rows: 90 MB more numbers than small.csv
    options = ["-d", "3", "--no-save", "--memory", "4MB"]
    small = _peak_mb(["fit", "small.csv", *options], tmp_path)
    large = _peak_mb(["fit", "large.csv", *options], tmp_path)
    # Holding 5.6e6 more points would cost at least 90 MB; the stream's peak moves by the noise of
    # pyarrow's threads and allocator (up to about 20 MB here), not with the data.
    assert large - small < 45, (small, large)
    summary = json.loads(run("fit", "large.csv", *options, "--json", cwd=tmp_path).stdout)
    best = np.polynomial.polynomial.Polynomial.fit(x, y, 3)  # the same curve fits the data repeated
    assert summary["n_points"] == 6_000_000 and summary["engine"]["passes"] == 1
    assert summary["mse"] == pytest.approx(float(np.mean((best(x) - y) ** 2)), rel=1e-12)


def test_standard_input_beyond_the_budget_is_spooled_and_fits_the_same(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 4, 30000)
    text = "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), (np.exp(x) + rng.normal(0, 0.1, x.size)).tolist()))
    (tmp_path / "d.csv").write_text(text)
    piped = json.loads(run("fit", "-", "-d", "4", "--json", "--no-save", "--memory", "64k", stdin=text,
                           cwd=tmp_path).stdout)
    held = json.loads(run("fit", "d.csv", "-d", "4", "--json", "--no-save", cwd=tmp_path).stdout)
    assert piped["engine"]["spooled"] and piped["source"] == "<stdin>"
    assert piped["mse"] == pytest.approx(held["mse"], rel=1e-12)
    auto = json.loads(run("fit", "-", "--json", "--no-save", "--memory", "64k", stdin=text, cwd=tmp_path).stdout)
    held_auto = json.loads(run("fit", "d.csv", "--json", "--no-save", cwd=tmp_path).stdout)
    # 30,000 points fit in the stream's sample whole: the degree is chosen on all of them, as when held
    assert auto["engine"]["passes"] == 2 and "even sample" not in " ".join(auto["degree_selection"]["notes"])
    assert auto["degree"] == held_auto["degree"]


def test_the_degree_chosen_beyond_the_budget_is_fitted_on_every_point(tmp_path):
    (tmp_path / "d.csv").write_text(run("sample", "runge", "--n", "3000", cwd=tmp_path).stdout)
    streamed = json.loads(run("fit", "d.csv", "--json", "--no-save", "--memory", "16k", cwd=tmp_path).stdout)
    held = json.loads(run("fit", "d.csv", "-d", streamed["degree"], "--json", "--no-save", cwd=tmp_path).stdout)
    assert streamed["mse"] == pytest.approx(held["mse"], rel=1e-9)
    assert streamed["n_points"] == held["n_points"] == 3000


def test_robust_losses_beyond_the_budget_fit_by_passes_and_adam_says_what_to_do(tmp_path):
    (tmp_path / "d.csv").write_text(run("sample", "sine", "--n", "5000", cwd=tmp_path).stdout)
    streamed = json.loads(run("fit", "d.csv", "-d", "3", "--loss", "huber", "--memory", "16k", "--json", "--no-save",
                              cwd=tmp_path).stdout)
    held = json.loads(run("fit", "d.csv", "-d", "3", "--loss", "huber", "--json", "--no-save", cwd=tmp_path).stdout)
    assert streamed["converged"] and streamed["engine"]["streamed"] and streamed["engine"]["passes"] > 4
    assert streamed["huber_delta"] == pytest.approx(held["huber_delta"], rel=1e-12)
    np.testing.assert_allclose(streamed["taylor_coefficients"], held["taylor_coefficients"], rtol=0,
                               atol=1e-12 * max(map(abs, held["taylor_coefficients"])))
    done = run("fit", "d.csv", "-d", "3", "--loss", "huber", "--optimizer", "adam", "--memory", "16k", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: d.csv: ") and "use --optimizer newton" in done.stderr
    assert not (tmp_path / "fitbp.json").exists()


def split(tmp_path, rows, parts, header="x,y"):
    rng = np.random.default_rng(6)
    x = rng.uniform(-2, 2, rows)
    y = x ** 3 - x + rng.normal(0, 0.05, rows)
    (tmp_path / "logs").mkdir()
    for index, chunk in enumerate(np.array_split(np.arange(rows), parts)):
        body = "".join(f"{float(x[i])!r},{float(y[i])!r}\n" for i in chunk)
        (tmp_path / "logs" / f"day-{index:02d}.csv").write_text(f"{header}\n{body}")
    return x, y


@pytest.mark.parametrize("memory", ["256MB", "16k"])
def test_a_glob_of_files_fits_as_one_data_set(tmp_path, memory):
    x, y = split(tmp_path, 6000, 7)
    summary = json.loads(run("fit", "logs/day-*.csv", "-d", "3", "--json", "--memory", memory,
                             cwd=tmp_path).stdout)
    best = np.polynomial.polynomial.Polynomial.fit(x, y, 3)
    assert summary["mse"] == pytest.approx(float(np.mean((best(x) - y) ** 2)), rel=1e-12)
    assert summary["source"] == "7 files" and len(summary["sources"]) == 7
    assert summary["sources"] == sorted(summary["sources"])
    model = json.loads((tmp_path / "fitbp.json").read_text())
    assert len(model["data"]["paths"]) == 7 and model["data"]["points"]["sampled_from"] == 6000
    assert run("plot", "-o", "fit.png", cwd=tmp_path).returncode == 0
    assert (tmp_path / "fit.png").read_bytes().startswith(b"\x89PNG")


def test_files_whose_columns_disagree_are_named(tmp_path):
    split(tmp_path, 600, 3)
    (tmp_path / "logs" / "day-01.csv").write_text("x,z\n1,2\n3,4\n")
    done = run("fit", "logs/*.csv", "-d", "1", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: logs/day-01.csv: its columns are x, z where logs/day-00.csv has x, y")
    bad = tmp_path / "logs" / "day-02.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    (tmp_path / "logs" / "day-01.csv").unlink()
    done = run("fit", "logs/*.csv", "-d", "1", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: logs/day-02.csv:3: ")
    none = run("fit", "logs/*.tsv", cwd=tmp_path)
    assert none.returncode == 1 and none.stderr == "error: logs/*.tsv: no file matches this pattern\n"
    both = run("fit", "-", "logs/day-00.csv", cwd=tmp_path, stdin="1,2\n")
    assert both.returncode == 1 and "standard input (-) can only be read alone" in both.stderr


@pytest.mark.parametrize("memory", ["12q", "0MB", "lots", "-5M", "nanG", "1e400k"])
def test_a_bad_memory_size_is_a_usage_error(tmp_path, memory):
    done = run("fit", "x.csv", "--memory", memory, cwd=tmp_path)
    assert done.returncode == 2 and "--memory" in done.stderr


def test_the_even_sample_of_a_stream_is_even():
    sample = first._EvenSample(1000)
    start = 0
    for size in (7, 300, 4096, 1, 20000, 999):
        values = np.arange(start, start + size, dtype=np.float64)
        sample.add(start, (values, values))
        start += size
    x, _ = sample.values()
    steps = np.diff(x)
    assert x.size <= 1000 and x[0] == 0 and np.all(steps == steps[0])
    assert x.size > 500  # at least half the room is used
    assert math.isclose(steps[0], 2 ** round(math.log2(steps[0])))
