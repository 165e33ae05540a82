"""Inputs that once broke fitbp: each must give a correct result or one clear line."""

import json
import os

import numpy as np
import pytest
from helpers import run

from fitbp.loader import Points
from fitbp.trainer import fit_points


def fit(tmp_path, content, *options, name="d.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return run("fit", path.name, *options, cwd=tmp_path)


def assert_one_error_line(done, fragment, status=1):
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    if status == 1:
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert fragment in done.stderr


def test_largest_floats_fit_without_overflow(tmp_path):
    done = fit(tmp_path, "x,y\n0,1.7e308\n1,2\n2,-1e308\n", "-d", "1", "--json", "--no-save", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    summary = json.loads(done.stdout)
    assert summary["rmse"] is not None and summary["rmse"] > 1e307


def test_markup_like_cells_are_shown_as_they_are(tmp_path):
    done = fit(tmp_path, "x,y\n1,2\n2,[/]\n3,5\n4,[red]oops\n", "-d", "1", "--skip-invalid", "--no-save")
    assert done.returncode == 0, done.stderr
    assert "warning: skipped 2 rows" in done.stderr and "'[/]'" in done.stderr


def test_huge_quoted_cell_is_an_error_line(tmp_path):
    done = fit(tmp_path, 'x,y\n1,2\n2,3\n3,"' + "4," * 100_000 + '"\n', "-d", "1")
    assert_one_error_line(done, "d.csv:4: column 'y':")
    assert len(done.stderr) < 300


def test_ten_megabyte_infinite_cell_is_cut_short(tmp_path):
    done = fit(tmp_path, "x,y\n1,2\n2," + "9" * 10_000_000 + "\n", "-d", "1")
    assert_one_error_line(done, "is not a finite number")
    assert len(done.stderr) < 300


@pytest.mark.parametrize("options, fragment", [
    (["--encoding", "bogus"], "unknown encoding 'bogus'"),
    (["--delimiter", ":"], "unknown delimiter ':'"),
    (["--seed", "-1"], "--seed"),
    (["--save", "m.json", "--no-save"], "contradict"),
])
def test_bad_option_values_are_usage_errors(options, fragment, tmp_path):
    assert_one_error_line(fit(tmp_path, "x,y\n1,2\n2,3\n", "-d", "1", *options), fragment, status=2)


def test_unicode_digits_are_not_column_numbers(tmp_path):
    assert_one_error_line(fit(tmp_path, "x,y\n1,2\n2,3\n", "-d", "1", "--x", "²"), "no such column")
    assert_one_error_line(fit(tmp_path, "x,y\n1,2\n2,3\n", "-d", "1", "--x", "١"), "no such column")


def test_utf16_without_bom_when_named(tmp_path):
    content = "x,y\n1,2\n2,3\n3,5\n".encode("utf-16-le")
    assert_one_error_line(fit(tmp_path, content, "-d", "1"), "--encoding utf-16-le")
    done = fit(tmp_path, content, "-d", "1", "--encoding", "utf-16-le", "--json", "--no-save")
    assert done.returncode == 0 and json.loads(done.stdout)["n_points"] == 3


def test_classic_mac_line_ends(tmp_path):
    done = fit(tmp_path, "x,y\r1,2\r2,3\r3,5\r", "-d", "1", "--json", "--no-save")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_points"] == 3


def test_control_characters_in_a_file_name_stay_on_one_line(tmp_path):
    done = run("fit", "bad\nname\x1b[31m.csv", "-d", "1", cwd=tmp_path)
    assert_one_error_line(done, "bad\\nname\\x1b[31m.csv: no such file")


def test_numpy_warnings_do_not_leak(tmp_path):
    done = fit(tmp_path, "x,y\n1e308,1\n-1e308,2\n0,3\n1e-300,4\n", "-d", "1", "-q", "--no-save", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_save_through_a_symlink_and_not_into_a_pipe(tmp_path):
    (tmp_path / "target.json").write_text("old")
    os.symlink("target.json", tmp_path / "link.json")
    done = fit(tmp_path, "x,y\n1,2\n2,3\n3,5\n", "-d", "1", "--save", "link.json")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "target.json").read_text())["degree"] == 1
    os.mkfifo(tmp_path / "pipe.json")
    assert_one_error_line(fit(tmp_path, "x,y\n1,2\n2,3\n", "-d", "1", "--save", "pipe.json"), "not a regular file")


def test_lr_with_cg_is_said_to_be_ignored(tmp_path):
    done = fit(tmp_path, "x,y\n1,2\n2,3\n3,5\n", "-d", "1", "--lr", "0.5", "--no-save")
    assert done.returncode == 0 and "--lr is ignored" in done.stderr


def test_extreme_y_scales_keep_their_rmse(rng):
    x = rng.uniform(-1, 1, 300)
    noise = rng.normal(0, 0.1, x.size)
    for scale in (1e300, 1e-300):
        result = fit_points(Points(x, scale * (x + noise)), 1)
        reference = np.sqrt(np.mean((noise - np.polyval(np.polyfit(x, noise, 1), x)) ** 2)) * scale
        assert result.rmse == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize("x", [
    np.r_[np.arange(1, 100.0), 1e6],  # one far outlier
    np.linspace(-1, 1, 100),  # fine, until the degree is 40
])
def test_ill_conditioned_fits_finish_and_say_so(x):
    y = np.sin(3 * np.log1p(np.abs(x)))
    result = fit_points(Points(x, y), 40 if x.size == 100 and x[0] == -1 else 6)
    assert np.isfinite(result.mse)
    assert result.condition > 1e8
    assert any("ill-conditioned" in w for w in result.warnings)
    assert result.summary()["condition_number"] == result.condition


def test_high_degree_still_learns(rng):
    x = np.linspace(-1, 1, 100)
    y = np.cos(3 * x)
    result = fit_points(Points(x, y), 40)
    assert result.r2 > 0.999999  # far from the random start the old code returned
