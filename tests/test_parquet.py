"""Parquet files: the same answer, errors and memory bound as the CSV of the same numbers.

The references are independent: the CSV fit of the same float64 values
(written with repr, so read back exactly) and numpy's lstsq.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import FITBP, environment, run

pa = pytest.importorskip("pyarrow", reason="Parquet is read through pyarrow (the fast extra)")
pq = pytest.importorskip("pyarrow.parquet")


def write_both(directory, name, x, y, row_group_size=None, **columns):
    """The same numbers as name.csv and name.parquet (x as given, so an int column stays int)."""
    table = pa.table({"time": x, "signal": y, **columns})
    pq.write_table(table, directory / f"{name}.parquet", row_group_size=row_group_size)
    lines = [f"{a!r},{b!r}" for a, b in zip(np.asarray(x).tolist(), np.asarray(y).tolist())]
    (directory / f"{name}.csv").write_text("time,signal\n" + "\n".join(lines) + "\n")


def fitted(*args, cwd):
    done = run("fit", *args, "--json", "--no-save", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def same_fit(a, b, tolerance=1e-12):
    assert np.allclose(a["coefficients"], b["coefficients"], rtol=tolerance, atol=0)
    assert a["mse"] == pytest.approx(b["mse"], rel=tolerance) and a["n_points"] == b["n_points"]


@pytest.mark.parametrize("memory", [None, "64KB"])
def test_a_parquet_file_fits_as_its_csv_does(tmp_path, memory):
    rng = np.random.default_rng(3)
    x = rng.uniform(2000, 2030, 20000)  # years: the x range the scaled basis is for
    y = np.sin(x / 3) + rng.normal(0, 0.1, x.size)
    write_both(tmp_path, "d", x, y, row_group_size=3000)
    options = ["-d", "6"] + (["--memory", memory] if memory else [])
    from_parquet, from_csv = fitted("d.parquet", *options, cwd=tmp_path), fitted("d.csv", *options, cwd=tmp_path)
    same_fit(from_parquet, from_csv)
    assert from_parquet["x_column"] == "time" and from_parquet["y_column"] == "signal"
    assert from_parquet["engine"].get("streamed", False) == (memory is not None)
    t = (x - from_parquet["center"]) / from_parquet["scale"]
    k = np.linalg.lstsq(np.vander(t, 7, increasing=True), y, rcond=None)[0]
    assert from_parquet["mse"] == pytest.approx(np.mean((y - np.vander(t, 7, increasing=True) @ k) ** 2), rel=1e-10)


def test_a_glob_of_parquet_files_is_one_data_set_and_may_mix_with_csv(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.integers(-500, 500, 9000)  # an integer column is read as float64
    y = 0.001 * x.astype(float) ** 2 + rng.normal(0, 1, x.size)
    for i in range(3):
        write_both(tmp_path, f"part-{i}", x[i * 3000:(i + 1) * 3000], y[i * 3000:(i + 1) * 3000])
    write_both(tmp_path, "all", x, y)
    whole = fitted("all.csv", "-d", "2", cwd=tmp_path)
    parts = fitted("part-*.parquet", "-d", "2", cwd=tmp_path)
    same_fit(parts, whole)
    assert parts["source"] == "3 files" and [p.rsplit("/", 1)[1] for p in parts["sources"]] == [
        "part-0.parquet", "part-1.parquet", "part-2.parquet"]
    mixed = fitted("part-0.csv", "part-1.parquet", "part-2.csv", "-d", "2", cwd=tmp_path)
    same_fit(mixed, whole)


def test_columns_are_chosen_by_name_or_number(tmp_path):
    x = np.linspace(0, 1, 50)
    write_both(tmp_path, "d", x, 3 * x, other=2 * x + 1)
    by_name = fitted("d.parquet", "--x", "time", "--y", "other", "-d", "1", cwd=tmp_path)
    by_number = fitted("d.parquet", "--x", "1", "--y", "3", "-d", "1", cwd=tmp_path)
    assert by_name["coefficients"] == pytest.approx([1, 2]) and by_number["coefficients"] == by_name["coefficients"]
    missing = run("fit", "d.parquet", "--y", "nope", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr == "error: d.parquet: --y 'nope': no such column (columns: time, signal, other)\n"


@pytest.mark.parametrize("bad, said", [
    (None, "column 'signal': null (an empty cell)"),
    (float("nan"), "column 'signal': nan is not a finite number"),
    (float("-inf"), "column 'signal': -inf is not a finite number"),
])
def test_nulls_and_values_that_are_not_finite_are_errors_or_skipped_rows(tmp_path, bad, said):
    x = np.arange(10.0)
    y = pa.array([*x[:7].tolist(), bad, *x[8:].tolist()], pa.float64())
    pq.write_table(pa.table({"time": x, "signal": y}), tmp_path / "d.parquet", row_group_size=4)
    done = run("fit", "d.parquet", "-d", "1", cwd=tmp_path)
    assert done.returncode == 1 and not (tmp_path / "fitbp.json").exists()
    assert done.stderr == f"error: d.parquet: row 8: {said} (--skip-invalid drops such rows)\n"
    skipped = fitted("d.parquet", "-d", "1", "--skip-invalid", cwd=tmp_path)
    assert skipped["n_points"] == 9 and skipped["skipped_rows"] == 1
    assert skipped["coefficients"] == pytest.approx([0, 1], abs=1e-12)


def test_columns_that_hold_no_numbers_and_damaged_files_are_one_line(tmp_path):
    table = pa.table({"day": pa.array([1, 2], pa.date32()), "v": [1.0, 2.0], "name": ["a", "b"]})
    pq.write_table(table, tmp_path / "d.parquet")
    dated = run("fit", "d.parquet", cwd=tmp_path)
    assert dated.returncode == 1 and dated.stderr == (
        "error: d.parquet: column 'day' holds date32[day] values, not numbers: convert it to numbers first, "
        "such as days since a start\n")
    named = run("fit", "d.parquet", "--x", "v", "--y", "name", cwd=tmp_path)
    assert named.stderr == "error: d.parquet: column 'name' holds string values, not numbers\n"
    pq.write_table(pa.table({"only": [1.0, 2.0]}), tmp_path / "one.parquet")
    assert run("fit", "one.parquet", cwd=tmp_path).stderr == (
        "error: one.parquet: found 1 column, fitbp needs an x and a y column\n")
    whole = (tmp_path / "one.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(whole[:len(whole) // 2])
    cut = run("fit", "cut.parquet", cwd=tmp_path)
    assert cut.returncode == 1 and cut.stderr.startswith("error: cut.parquet: not a readable Parquet file (")
    assert cut.stderr.count("\n") == 1 and "Traceback" not in cut.stderr
    empty = pa.table({"x": pa.array([], pa.float64()), "y": pa.array([], pa.float64())})
    pq.write_table(empty, tmp_path / "empty.parquet")
    assert run("fit", "empty.parquet", cwd=tmp_path).stderr == "error: empty.parquet: no data rows\n"


def test_a_parquet_file_on_standard_input_says_to_pass_its_path(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0], "y": [1.0, 2.0]}), tmp_path / "d.parquet")
    with open(tmp_path / "d.parquet", "rb") as stdin:
        done = subprocess.run([*FITBP, "fit", "-"], cwd=tmp_path, stdin=stdin, capture_output=True,
                              env=environment())
    assert done.returncode == 1 and done.stderr.decode() == (
        "error: <stdin>: this is a Parquet file: pass its path instead, since Parquet is read from its end\n")


def test_without_pyarrow_parquet_is_one_line_saying_what_to_install(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 4.0]}), tmp_path / "d.parquet")
    hidden = "import sys; sys.modules['pyarrow'] = None; from fitbp.__main__ import main; sys.argv[1:] = " \
             "['fit', 'd.parquet']; main()"
    done = subprocess.run([sys.executable, "-c", hidden], cwd=tmp_path, capture_output=True, text=True,
                          env=environment())
    assert done.returncode == 1 and not (tmp_path / "fitbp.json").exists()
    assert done.stderr == ("error: d.parquet: is a Parquet file, and reading Parquet needs pyarrow: "
                           "pip install 'fitbp[fast]' (or pyarrow)\n")


def test_duplicate_names_big_integers_and_text_that_looks_like_parquet(tmp_path):
    table = pa.Table.from_arrays([pa.array([1.0, 2.0, 3.0]), pa.array([1.0, 4.0, 9.0]), pa.array([0.0, 0.0, 0.0])],
                                 names=["x", "y", "y"])
    pq.write_table(table, tmp_path / "dup.parquet")
    done = run("fit", "dup.parquet", "-d", "1", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == (
        "error: dup.parquet: 2 columns are named 'y', and Parquet reads columns by name: rename one\n")
    big = [2 ** 53 + 1, 2 ** 60, 3 * 2 ** 59]  # beyond float64's integers: rounded, as CSV rounds them
    pq.write_table(pa.table({"x": pa.array([1, 2, 3], pa.int64()), "y": pa.array(big, pa.int64())}),
                   tmp_path / "big.parquet")
    (tmp_path / "big.csv").write_text("x,y\n" + "".join(f"{i},{v}\n" for i, v in zip([1, 2, 3], big)))
    same_fit(fitted("big.parquet", "-d", "1", cwd=tmp_path), fitted("big.csv", "-d", "1", cwd=tmp_path))
    (tmp_path / "text.csv").write_text("PAR1,y\n1,2\n2,3\n3,5\n# PAR1")  # text from its first bytes: CSV
    assert fitted("text.csv", "-d", "1", cwd=tmp_path)["n_points"] == 3
