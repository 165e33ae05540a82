"""Inputs that once broke fitbp: each must give a correct result or one clear line."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from helpers import FITBP, ROOT, environment, run

import fitbp
from fitbp.errors import DegreeTooHigh
from fitbp.sources.data import Points
from fitbp.fitting.trainer import fit_points


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


PREVIOUS = b'{"format_version": 1, "degree": 0, "center": 0, "scale": 1, "taylor_coefficients": [5.0]}\n'
GOOD_MODEL = PREVIOUS.decode()
QUOTED = 'x,y,note\n1,2,"a, ""quoted"" note"\n2,3,"b"\n3,5,"c,d"\n'
DUPLICATED = "x,y\n" + "".join(f"{x},{x * x % 7}\n" for x in range(10)) * 2
HUGE_X = "x,y\n1e308,1\n-1e308,2\n0,3\n5e307,5\n"
TINY_X = "x,y\n" + "".join(f"{i}e-300,{i}\n" for i in range(10))
ONE_HUNDRED = "x,y\n" + "".join(f"{i / 50 - 1},{np.cos(3 * (i / 50 - 1))}\n" for i in range(100))

# name: (data file bytes or None for stdin, stdin, fitbp arguments ({} is the data file), status, stderr fragment)
TABLE = {
    "binary garbage": (bytes(range(256)) * 4, None, ["fit", "{}", "-d", "1"], 1, "binary data, not CSV text"),
    "zero bytes": (b"", None, ["fit", "{}", "-d", "1"], 1, "no data: the input is empty"),
    "10 MB line": (b"1," * 5_000_000, None, ["fit", "{}", "-d", "1"], 1,
                   "at least 2 distinct x values, the data has 1"),
    "latin-1": ("temp °C,y\n1,2\n".encode("latin-1"), None, ["fit", "{}", "-d", "1"], 1,
                "d.csv:1: not UTF-8 text (byte 0xb0)"),
    "utf-16": ("x,y\n1,2\n2,3\n".encode("utf-16"), None, ["fit", "{}", "-d", "1", "--no-save"], 0, ""),
    "quoted fields": (QUOTED.encode(), None, ["fit", "{}", "-d", "1", "--no-save"], 0, ""),
    "mixed delimiters": (b"x,y\n1,2\n3;4\n", None, ["fit", "{}", "-d", "1"], 1, "d.csv:3: expected 2 fields, found 1"),
    "coefficients overflow": (b"2   2e+300\n  1662483 2e+300\n  3  -1e308\n", None, ["fit", "{}", "-d", "2"], 1,
                              "the fitted coefficients are beyond the range of float64"),
    "a directory": (None, None, ["fit", ".", "-d", "1"], 1, ".: is a directory"),
    "empty stdin": (None, "", ["fit", "-", "-d", "1"], 1, "<stdin>: no data: the input is empty"),
    "powers overflow": (HUGE_X.encode(), None, ["fit", "{}", "-d", "3", "--no-save"], 0, ""),
    "values near 1e-300": (TINY_X.encode(), None, ["fit", "{}", "-d", "1", "--no-save"], 0, ""),
    "single point": (b"x,y\n1,2\n", None, ["fit", "{}", "-d", "1"], 1,
                     "degree 1 needs at least 2 distinct x values, the data has 1"),
    "single point, degree 0": (b"x,y\n1,2\n", None, ["fit", "{}", "-d", "0", "--no-save"], 0, ""),
    "all x equal": (b"x,y\n1,2\n1,3\n1,4\n", None, ["fit", "{}", "-d", "1"], 1, "the data has 1"),
    "duplicate points": (DUPLICATED.encode(), None, ["fit", "{}", "-d", "3", "--no-save"], 0, ""),
    "degree = distinct x": (b"x,y\n1,2\n2,3\n3,1\n", None, ["fit", "{}", "-d", "3"], 1,
                            "degree 3 needs at least 4 distinct x values, the data has 3"),
    "degree 60": (ONE_HUNDRED.encode(), None, ["fit", "{}", "-d", "60"], 1,
                  "degree 60 is more than the Taylor form can carry in float64 over this data"),
    "sine degree 60": ((ROOT / "sample_data" / "sine.csv").read_bytes(), None, ["fit", "{}", "-d", "60"], 1,
                       "every degree up to 38 reaches its optimum here (use --degree 38 or lower)"),
    "degree 30": (ONE_HUNDRED.encode(), None, ["fit", "{}", "-d", "30", "--no-save"], 0, "ill-conditioned"),
    "lr 0": (QUOTED.encode(), None, ["fit", "{}", "-d", "1", "--optimizer", "gd", "--lr", "0"], 2, "--lr"),
    "lr negative": (QUOTED.encode(), None, ["fit", "{}", "-d", "1", "--lr", "-1"], 2, "--lr"),
    "lr nan": (QUOTED.encode(), None, ["fit", "{}", "-d", "1", "--lr", "nan"], 2, "--lr"),
    "epochs 0": (QUOTED.encode(), None, ["fit", "{}", "-d", "1", "--epochs", "0"], 2, "--epochs"),
    "unknown optimizer": (QUOTED.encode(), None, ["fit", "{}", "-d", "1", "--optimizer", "sgd"], 2, "--optimizer"),
    "model truncated": (None, None, ["predict", "1", "-m", "m.json"], 1, "m.json:1: not a fitbp model (invalid JSON"),
    "model not JSON": (None, None, ["plot", "-m", "m.json"], 1, "m.json:1: not a fitbp model (invalid JSON"),
    "model of another shape": (None, None, ["predict", "1", "-m", "m.json"], 1, "m.json: not a fitbp model"),
    "model too new": (None, None, ["predict", "1", "-m", "m.json"], 1, "model format 2 is newer than this fitbp"),
    "predict non-numeric": (None, "1\n2\nthree\n", ["predict"], 1, "<stdin>:3: 'three' is not a number"),
}
MODELS = {"model truncated": GOOD_MODEL[:30], "model not JSON": "hello",
          "model of another shape": '{"format_version": 1}',
          "model too new": GOOD_MODEL.replace('"format_version": 1', '"format_version": 2')}


@pytest.mark.parametrize("case", list(TABLE))
def test_hostile_input_table(case, tmp_path):
    content, stdin, args, status, fragment = TABLE[case]
    (tmp_path / "fitbp.json").write_bytes(PREVIOUS)
    if content is not None:
        (tmp_path / "d.csv").write_bytes(content)
    if case in MODELS:
        (tmp_path / "m.json").write_text(MODELS[case])
    done = run(*[a.replace("{}", "d.csv") for a in args], cwd=tmp_path, stdin=stdin)
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    assert fragment in done.stderr
    if status == 1:
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert (tmp_path / "fitbp.json").read_bytes() == PREVIOUS  # no case may touch the model
    if status == 0 and args[0] == "fit":
        assert "converged" in done.stdout


ROOT_USER = os.geteuid() == 0


@pytest.mark.skipif(ROOT_USER and not shutil.which("setpriv"), reason="root needs setpriv to be refused a read")
def test_unreadable_file_from_the_command_line(tmp_path):
    data = tmp_path / "secret.csv"
    data.write_text("x,y\n1,2\n2,3\n")
    data.chmod(0o000)
    # Root reads anything: it drops the two capabilities that let it, which a user never has.
    drop = "-dac_override,-dac_read_search"
    prefix = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}"] if ROOT_USER else []
    done = subprocess.run([*prefix, *FITBP, "fit", "secret.csv", "-d", "1"], cwd=tmp_path,
                          capture_output=True, text=True, env=environment())
    assert done.returncode == 1, done.stderr
    assert done.stderr == "error: secret.csv: permission denied\n"


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
    """Either the fit, checked against the optimum, with a warning; or an error naming a degree that fits."""
    y = np.sin(3 * np.log1p(np.abs(x)))
    try:
        result = fit_points(Points(x, y), 40 if x.size == 100 and x[0] == -1 else 6)
    except DegreeTooHigh as e:
        result = fit_points(Points(x, y), e.carried)
    assert np.isfinite(result.mse)
    assert result.condition > 1e8
    assert any("ill-conditioned" in w for w in result.warnings)
    assert result.summary()["condition_number"] == result.condition


def test_high_degree_still_learns(rng):
    x = np.linspace(-1, 1, 100)
    y = np.cos(3 * x)
    result = fit_points(Points(x, y), 40)
    assert result.r2 > 0.999999  # far from the random start the old code returned


# Damaged model files: each must be one error line for predict and for plot.
BASE_MODEL = {"format_version": 1, "degree": 1, "center": 0.0, "scale": 1.0, "taylor_coefficients": [1.0, 2.0],
              "loss_history": [1.0, 0.5], "data": {"points": {"x": [0.0, 1.0], "y": [1.0, 3.0]}}}
DAMAGED_MODELS = {
    "center beyond float": ('{"format_version": 1, "degree": 1, "center": 1' + "0" * 400 + ', "scale": 1, '
                            '"taylor_coefficients": [1, 2]}', "'center' is missing or not a number"),
    "nested deep": ("[" * 100_000 + "]" * 100_000, "not a fitbp model"),
    "NaN token": (json.dumps(BASE_MODEL).replace('"center": 0.0', '"center": NaN'), "NaN is not a JSON number"),
    "data is a string": (json.dumps({**BASE_MODEL, "data": "here"}), "'data' is not an object"),
    "loss history of strings": (json.dumps({**BASE_MODEL, "loss_history": ["a"]}), "'loss_history'"),
    "loss history a number": (json.dumps({**BASE_MODEL, "loss_history": 3}), "'loss_history'"),
    "degree is true": (json.dumps({**BASE_MODEL, "degree": True}), "'degree'"),
}
PLOT_ONLY = {
    "kept points with null": (json.dumps({**BASE_MODEL, "data": {"points": {"x": [0, None], "y": [1, 2]}}}),
                              "kept points are damaged"),
    "kept points of unequal length": (json.dumps({**BASE_MODEL, "data": {"points": {"x": [0], "y": [1, 2]}}}),
                                      "kept points are damaged"),
    "options of wrong types": (json.dumps({**BASE_MODEL, "data": {"path": "d.csv", "options": {
        "delimiter": 5, "encoding": 7, "x": [1]}}}), "d.csv: no such file"),
}


@pytest.mark.parametrize("case", list(DAMAGED_MODELS) + list(PLOT_ONLY))
def test_damaged_model_files(case, tmp_path):
    content, fragment = {**DAMAGED_MODELS, **PLOT_ONLY}[case]
    (tmp_path / "m.json").write_text(content)
    commands = [["plot", "-m", "m.json"]] + ([["predict", "1", "-m", "m.json"]] if case in DAMAGED_MODELS else [])
    for command in commands:
        done = run(*command, cwd=tmp_path)
        assert_one_error_line(done, fragment)
        assert "bug in fitbp" not in done.stderr
    assert not (tmp_path / "fitbp.png").exists()


@pytest.fixture
def line_model(tmp_path):
    (tmp_path / "fitbp.json").write_text(json.dumps(BASE_MODEL))  # y = 1 + 2x


@pytest.mark.parametrize("stdin, fragment", [
    ("x;y\n1,5;2,0\n", "<stdin>:2: '1,5' is not a number (a decimal comma? pass --decimal , to read it as 1.5; "
                        "a comma between thousands must go)"),
    ("1,5;2\n", "<stdin>:1: '1,5' is not a number (a decimal comma? pass --decimal , to read it as 1.5; "
                "a comma between thousands must go)"),
    ("1,5\n", "<stdin>:1: '1,5' is ambiguous: pass --decimal , to read it as 1.5, or start with a header"),
    ("1,5\n2,25\n", "<stdin>:1: '1,5' is ambiguous"),
    ("0,5\n1,25\n2\n", "<stdin>:1: '0,5' is ambiguous"),  # a column of decimal commas, ragged under ','
    ("1\n2\n2,5\n", "<stdin>:3: '2,5' is ambiguous"),
    ("x\n1,5\n2,5\n", "<stdin>:2: '1,5' is ambiguous"),  # a header of one name says nothing of commas
    ("1,5;\n2,5;\n", "<stdin>:1: '1,5' is ambiguous"),
    ("1.5\n", None),
    ('"1,5",2\n', "<stdin>:1: '1,5' is not a number"),
    ("1.5x\n2\n", "<stdin>:1: '1.5x' is not a number"),  # a typo, not a header
    ("0x1\n", "<stdin>:1: '0x1' is not a number"),
    ("1_000\n", "'1_000' is not a number"),
    ("１\n", "is not a number"),
])
def test_predict_reads_no_number_it_should_not(stdin, fragment, line_model, tmp_path):
    if fragment is None:  # the control: the same number with a decimal point
        assert run("predict", cwd=tmp_path, stdin=stdin).stdout == "1.5,4.0\n"
        return
    assert_one_error_line(run("predict", cwd=tmp_path, stdin=stdin), fragment)


@pytest.mark.parametrize("stdin, expected", [
    ("1,5\n", "1.5,4.0\n"), ("1,5;2\n-0,25;9\n", "1.5,4.0\n-0.25,0.5\n"), ("x;y\n1,5;2\n", "1.5,4.0\n"),
    ("1,5\t7\n", "1.5,4.0\n"),
])
def test_predict_reads_decimal_commas_when_told(stdin, expected, line_model, tmp_path):
    done = run("predict", "--decimal", ",", cwd=tmp_path, stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
    assert run("predict", "--decimal", ",", "1,5", "-0,25", cwd=tmp_path).stdout == "1.5,4.0\n-0.25,0.5\n"
    assert_one_error_line(run("predict", "--decimal", ",", cwd=tmp_path, stdin="1.5\n"),
                          "'1.5' is not a number with --decimal ,")


def test_predict_keeps_reading_integer_columns_under_a_header(line_model, tmp_path):
    done = run("predict", cwd=tmp_path, stdin="x,y\n1,5\n2,7\n")
    assert done.returncode == 0 and done.stdout == "1.0,3.0\n2.0,5.0\n"


@pytest.mark.parametrize("content, options, fragment", [
    ("temp;rate\n0,000;1,5\n1,25;2\n", [], "d.csv:2: column 'temp': '0,000' is not a number (a decimal comma? "
     "pass --decimal , to read it as 0.000; a comma between thousands must go)"),
    ("temp;rate\n0,000;1,5\n1,25;2\n", ["--skip-invalid"], "no valid rows: all 2 had invalid values, the first "
     "at line 2: column 'temp': '0,000' is not a number (a decimal comma"),
    ("a;b\n1,5;2\n1.000,5;3\n", ["--decimal", ","], "d.csv:3: column 'a': '1.000,5' is not a number with "
     "--decimal ,: is its '.' a thousands separator? (--skip-invalid"),
    ("x,when\n1,2026-01-05\n2,2026-01-06\n", [], "d.csv:2: column 'when': '2026-01-05' is not a number (it looks "
     "like a date or time, and fitbp reads numbers only"),
    ("t,y\n12:30,1\n12:31,2\n", [], "'12:30' is not a number (it looks like a date or time, and fitbp reads dates "
     "as x in ISO 8601 only"),
    ("t,y\n05/01/2026,1\n", [], "it looks like a date or time"),
    ("t;y\n05.01.2024;1\n", ["--decimal", ","], "'05.01.2024' is not a number with --decimal , (it looks like a date"),
    ("x,y\n1,2\n3,4\n", ["--decimal", ","], "found 1 column: with --decimal , a comma is a decimal mark, but this "
     "line looks comma-separated"),
])
def test_decimal_commas_and_dates_get_a_hint_that_helps(content, options, fragment, tmp_path):
    assert_one_error_line(fit(tmp_path, content, "-d", "1", *options), fragment)


def test_decimal_comma_files_fit_like_their_decimal_point_twins(tmp_path, rng):
    x = rng.uniform(-2, 3, 300)
    y = x ** 3 - x + rng.normal(0, 0.1, 300)
    points = "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist()))
    (tmp_path / "point.csv").write_text(points)
    (tmp_path / "comma.csv").write_text(points.replace(",", ";").replace(".", ","))
    runs = [run("fit", name, "-d", "3", "--json", "--no-save", *options, cwd=tmp_path)
            for name, options in (("point.csv", []), ("comma.csv", ["--decimal", ","]))]
    first, second = (json.loads(done.stdout) for done in runs)
    assert first["taylor_coefficients"] == second["taylor_coefficients"] and first["n_points"] == 300
    both = run("fit", "comma.csv", "--decimal", ",", "--delimiter", ",", cwd=tmp_path)
    assert_one_error_line(both, "a comma cannot be both the decimal mark and the delimiter", status=2)
    assert run("fit", "comma.csv", "--decimal", ":", cwd=tmp_path).returncode == 2
    assert run("fit", "comma.csv", "-d", "3", "--decimal", ",", cwd=tmp_path).returncode == 0
    drawn = run("plot", "--residuals", cwd=tmp_path)  # reads the file again, with the same decimal mark
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "fitbp.png").read_bytes().startswith(b"\x89PNG")


def test_predict_reads_the_delimiters_fit_reads(line_model, tmp_path):
    done = run("predict", cwd=tmp_path, stdin="t|v\n1|2\n3|4\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1.0,3.0\n3.0,7.0\n"


def test_predict_warns_when_it_overflows(line_model, tmp_path):
    done = run("predict", "1e308", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "1e+308,inf\n"
    assert "1 of the predictions overflow" in done.stderr


def test_closed_streams_are_errors_not_crashes(line_model, tmp_path):
    for command, stream in ((["predict", "1"], "stdout"), (["predict"], "stdin")):
        redirect = ">&-" if stream == "stdout" else "<&-"
        done = subprocess.run(" ".join([*FITBP, *command]) + f" {redirect}", shell=True, cwd=tmp_path,
                              capture_output=stream == "stdin", stderr=subprocess.PIPE if stream == "stdout" else None,
                              text=True, env=environment())
        assert done.returncode == 1
        assert f"standard {'output' if stream == 'stdout' else 'input'} is closed" in done.stderr


def test_unreadable_model_is_a_data_error(line_model, tmp_path):
    (tmp_path / "fitbp.json").chmod(0)
    prefix = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
              "--bounding-set=-dac_override,-dac_read_search"] if ROOT_USER else []
    done = subprocess.run([*prefix, *FITBP, "predict", "1"], cwd=tmp_path, capture_output=True, text=True,
                          env=environment())
    assert_one_error_line(done, "fitbp.json: cannot read the model: Permission denied")


def test_plot_draws_dollar_signs_as_text(tmp_path):
    (tmp_path / "h.csv").write_text("x,$\\foo$ (USD)\n1,2\n2,3\n3,5\n")
    assert run("fit", "h.csv", "-d", "1", cwd=tmp_path).returncode == 0
    done = run("plot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fitbp.png").exists()


def test_plot_refuses_values_beyond_float_range(tmp_path):
    x = np.linspace(0, 1, 50)
    y = 1.7e308 * (2 * x - 1)
    (tmp_path / "h.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    assert run("fit", "h.csv", "-d", "3", cwd=tmp_path).returncode == 0
    assert_one_error_line(run("plot", cwd=tmp_path), "beyond the range of float64")


def test_plot_ignores_a_bad_mplbackend_and_a_dead_display(line_model, tmp_path):
    assert run("plot", cwd=tmp_path, env={"MPLBACKEND": "bogus"}).returncode == 0
    done = run("plot", "--show", cwd=tmp_path, env={"DISPLAY": ":99"})
    assert done.returncode == 0
    assert "--show needs a working display" in done.stderr and "UserWarning" not in done.stderr


def test_plot_output_naming_a_folder(line_model, tmp_path):
    assert_one_error_line(run("plot", "-o", "o.png/", cwd=tmp_path), "names a folder")


@pytest.mark.parametrize("options, status, fragment", [
    (["sine", "--n", "1000000000000"], 2, "--n"),
    (["sine", "--noise", "inf"], 2, "--noise"),
    (["exp", "--xmax", "1000"], 1, "overflows float64"),
    (["years", "--xmin", "-1e308", "--xmax", "1e308"], 1, "overflows float64"),
])
def test_sample_refuses_what_fit_would(options, status, fragment, tmp_path):
    done = run("sample", *options, cwd=tmp_path)
    assert done.returncode == status and fragment in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def lstsq_mse(x, y, degree):
    t = np.polynomial.polyutils.mapdomain(x, [x.min(), x.max()], [-1, 1])
    basis = np.polynomial.legendre.legvander(t, degree)
    return float(np.mean((basis @ np.linalg.lstsq(basis, y, rcond=None)[0] - y) ** 2))


@pytest.mark.parametrize("case", ["duplicate x", "outlier of 1e12 in y", "y near 1e150"])
def test_awkward_but_valid_data_fit_correctly(case, rng):
    x = rng.uniform(-2, 2, 400)
    y = np.sin(x) + rng.normal(0, 0.05, x.size)
    if case == "duplicate x":
        x, y = np.r_[x, x], np.r_[y, y + 0.1]
    elif case == "outlier of 1e12 in y":
        y[17] = 1e12
    else:
        y = y * 1e150
    result = fit_points(Points(x, y), 5)
    assert np.isfinite(result.mse) and result.converged
    assert result.mse == pytest.approx(lstsq_mse(x, y, 5), rel=1e-9)


def test_fitbp_errors_are_value_errors_and_name_options_in_the_callers_words():
    """A Python caller catches a data problem as a ValueError and reads its options as keywords; the
    command line says the same message with its flags (FitbpError.said)."""
    from fitbp.errors import at, option

    error = at("f.csv", 3, f"{option('skip_invalid', True)} drops such rows; or pass {option('decimal', ',')} "
                           f"or {option('memory', 12 << 20, '12M')}, or drop {option('sigma')}")
    assert isinstance(error, ValueError)
    assert str(error) == ("f.csv:3: skip_invalid=True drops such rows; or pass decimal=',' or memory=12582912, "
                          "or drop sigma=")
    assert error.said(lambda name: "--" + name.replace("_", "-")) == (
        "f.csv:3: --skip-invalid drops such rows; or pass --decimal , or --memory 12M, or drop --sigma")
    with pytest.raises(ValueError, match="needs at least 3 distinct x values"):
        fitbp.fit([1.0, 1.0, 2.0], [1.0, 2.0, 3.0], degree=2)
