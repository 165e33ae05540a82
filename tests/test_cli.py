"""fitbp fit end to end, as real processes with real pipes."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import ESCAPE, ROOT, SINE, run, run_in_terminal

from fitbp.sources.files import load_points
from fitbp.fitting.trainer import fit_points


def test_fit_prints_a_table_and_saves_the_model(tmp_path):
    done = run("fit", SINE, "--degree", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "MSE" in done.stdout and "R²" in done.stdout and "converged" in done.stdout
    assert ESCAPE not in done.stdout  # a pipe gets no colour or box drawing
    model = json.loads((tmp_path / "fitbp.json").read_text())
    assert model["format_version"] == 1
    assert len(model["loss_history"]) == model["epochs"]


def test_json_output_matches_an_independent_fit(tmp_path):
    done = run("fit", SINE, "--degree", "5", "--json", "--no-save", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    summary = json.loads(done.stdout)
    for key in ["degree", "coefficients", "center", "scale", "taylor_coefficients", "mse", "rmse", "r2",
                "n_points", "optimizer", "epochs", "converged", "seconds", "source"]:
        assert key in summary
    data = np.loadtxt(SINE, delimiter=",", skiprows=1)
    fitted = np.polynomial.Polynomial.fit(data[:, 0], data[:, 1], 5)
    best = np.mean((fitted(data[:, 0]) - data[:, 1]) ** 2)
    assert summary["mse"] == pytest.approx(best, rel=1e-9)
    np.testing.assert_allclose(summary["coefficients"], fitted.convert().coef, rtol=1e-6)
    assert summary["n_points"] == 200 and summary["converged"] is True
    assert not (tmp_path / "fitbp.json").exists()


def test_standard_input_and_save_path(tmp_path):
    done = run("fit", "-", "-d", "2", "--json", "--save", "out/m.json", cwd=tmp_path,
               stdin="x y\n0 1\n1 3\n2 7\n3 13\n", )
    # no folder 'out'
    assert done.returncode == 1 and "out/m.json: cannot write: No such file or directory" in done.stderr
    (tmp_path / "out").mkdir()
    done = run("fit", "-", "-d", "2", "--json", "--save", "out/m.json", cwd=tmp_path,
               stdin="x y\n0 1\n1 3\n2 7\n3 13\n")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["source"] == "<stdin>"
    np.testing.assert_allclose(summary["coefficients"], [1, 1, 1], atol=1e-9)
    assert json.loads((tmp_path / "out" / "m.json").read_text())["degree"] == 2


BAD_DATA = [
    ("missing.csv", None, "missing.csv: no such file"),
    (".", None, ".: is a directory"),
    ("empty.csv", "", "empty.csv: no data"),
    ("header.csv", "x,y\n", "header.csv: no data rows after the header"),
    ("ragged.csv", "x,y\n1,2\n3\n", "ragged.csv:3: expected 2 fields, found 1"),
    ("abc.csv", "x,y\n1,2\n2,3\n3,abc\n", "abc.csv:4: column 'y': 'abc' is not a number"),
    ("nan.csv", "x,y\n1,2\n2,nan\n", "nan.csv:3: column 'y': 'nan' is not a finite number"),
    ("few.csv", "x,y\n1,2\n1,3\n2,2\n", "few.csv: degree 2 needs at least 3 distinct x values, the data has 2"),
]


@pytest.mark.parametrize("name, content, message", BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_data_is_one_error_line_and_keeps_the_model(name, content, message, tmp_path):
    (tmp_path / "fitbp.json").write_text("previous model")
    if content is not None:
        (tmp_path / name).write_text(content)
    done = run("fit", name, "--degree", "2", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "fitbp.json").read_text() == "previous model"


@pytest.mark.parametrize("options, message", [
    (["--x", "z"], "--x 'z': no such column (columns: x, y)"),
    (["--y", "7"], "--y 7: column out of range"),
])
def test_bad_columns_are_data_errors(options, message, tmp_path):
    done = run("fit", SINE, "--degree", "2", *options, cwd=tmp_path)
    assert done.returncode == 1 and message in done.stderr


@pytest.mark.parametrize("options", [
    ["--degree", "-1"],
    ["--degree", "two"],
    ["--degree", "2.5"],
    ["--degree", "2", "--lr", "0"],
    ["--degree", "2", "--lr", "-1"],
    ["--degree", "2", "--lr", "nan"],
    ["--degree", "2", "--epochs", "0"],
    ["--degree", "2", "--optimizer", "lbfgs"],
    ["--degree", "2", "--tol", "inf"],
    ["--degree", "2", "--frobnicate"],
])
def test_usage_errors_keep_status_2(options, tmp_path):
    done = run("fit", SINE, *options, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "fitbp.json").exists()


def test_divergence_suggests_a_smaller_lr(tmp_path):
    done = run("fit", SINE, "-d", "8", "--optimizer", "gd", "--lr", "100", cwd=tmp_path)
    assert done.returncode == 1
    assert "training diverged" in done.stderr and "smaller --lr" in done.stderr


def test_warnings_go_to_stderr_and_json_stays_clean(tmp_path):
    csv = tmp_path / "years.csv"
    csv.write_text("year,v\n" + "".join(f"{y},{np.sin(y / 5):.6f}\n" for y in range(1950, 2021)) + "1990,nan\n")
    done = run("fit", csv, "-d", "6", "--json", "--skip-invalid", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["skipped_rows"] == 1
    assert "warning: skipped 1 rows" in done.stderr
    assert "raw coefficients k_j lose about" in done.stderr
    quiet = run("fit", csv, "-d", "6", "--json", "--skip-invalid", "--quiet", cwd=tmp_path)
    assert quiet.stderr == ""


def test_terminal_gets_colour_unless_no_color(tmp_path):
    coloured = run_in_terminal(["fit", SINE, "-d", "3", "--no-save"], tmp_path)[0]
    assert "\x1b[3" in coloured  # a foreground colour
    plain = run_in_terminal(["fit", SINE, "-d", "3", "--no-save"], tmp_path, {"NO_COLOR": "1"})[0]
    assert "MSE" in plain
    assert "\x1b[3" not in plain


def test_fit_does_not_import_matplotlib(tmp_path):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "fitbp", "fit", SINE, "-d", "3",
                           "--no-save", "--json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0
    assert "numpy" in done.stderr  # the import log is there...
    assert "matplotlib" not in done.stderr  # ...and matplotlib is not in it


def test_help_works_and_shows_an_example(tmp_path):
    done = run("fit", "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "fitbp fit points.csv --degree 5" in done.stdout


@pytest.mark.parametrize("command, argument", [("fit", "DATA..."), ("predict", "[X]..."), ("select", "DATA..."),
                                               ("graph", "[DATA]")])
def test_help_names_arguments_as_the_usage_line_does(command, argument, tmp_path):
    """DATA..., as in 'Usage: fitbp fit [OPTIONS] DATA...', never Python's DATA <list[str]>; the help
    beside it stays in its column."""
    text = run(command, "--help", cwd=tmp_path, env={"COLUMNS": "80"}).stdout
    section = text.split("Arguments:\n")[1].split("\n\n")[0].splitlines()
    assert section[0].split()[0] == argument and "<" not in text.split("Options:")[0]
    column = len(section[0]) - len(section[0][2 + len(argument):].lstrip())
    assert all(len(line) - len(line.lstrip()) == column for line in section[1:])


def test_library_and_cli_agree(tmp_path):
    done = run("fit", SINE, "-d", "4", "--json", "--no-save", cwd=tmp_path)
    library = fit_points(load_points(SINE), 4).summary()
    assert json.loads(done.stdout)["taylor_coefficients"] == library["taylor_coefficients"]


def test_degree_auto_is_the_default_and_says_why(tmp_path):
    done = run("fit", ROOT / "sample_data" / "cubic.csv", "--json", "--no-save", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["degree"] == 3  # the sample is a noisy cubic
    selection = summary["degree_selection"]
    assert selection["chosen"] == 3 and selection["turning_points"] == 2 and selection["rule_degree"] == 4
    assert selection["reason"].startswith("BIC among degrees 0–10: 3")


def test_select_command(tmp_path):
    done = run("select", ROOT / "sample_data" / "cubic.csv", "--max-degree", "6", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)
    assert [c["degree"] for c in table["candidates"]] == list(range(7)) and table["chosen"] == 3
    text = run("select", ROOT / "sample_data" / "cubic.csv", "--max-degree", "4", cwd=tmp_path)
    assert "← chosen" in text.stdout and "CV MSE" in text.stdout and "BIC" in text.stdout


def _scores(folder, *args):
    """(chosen degree, BIC of each degree, outliers) of fitbp select --json and of fit --degree auto --json."""
    picked = run("select", *args, "--json", cwd=folder)
    fitted = run("fit", *args, "--degree", "auto", "--json", "--no-save", cwd=folder)
    assert picked.returncode == 0 and fitted.returncode == 0, picked.stderr + fitted.stderr
    table, chosen = json.loads(picked.stdout), json.loads(fitted.stdout)["degree_selection"]
    return [(t["chosen"], [c["bic"] for c in t["candidates"]], t["outliers"]) for t in (table, chosen)]


def _cubic(folder, n=200, seed=3):
    """A noisy cubic whose σ differ tenfold, as d.csv (x,y,s,w with w = 1/σ²); its columns."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2, 2, n))
    s = np.where(x > 0, 0.05, 0.5)
    y = x ** 3 - 2 * x + 1 + rng.normal(0, s)
    rows = "".join(f"{a!r},{b!r},{c!r},{1 / c ** 2!r}\n" for a, b, c in zip(x.tolist(), y.tolist(), s.tolist()))
    (folder / "d.csv").write_text("x,y,s,w\n" + rows)
    return x, y, s


SCORED = {
    "sigma": ["d.csv", "--sigma", "s"],
    "weights": ["d.csv", "--weights", "w"],
    "fix": ["d.csv", "--fix", "0=1", "--fix", "5=0"],
    "sigma and fix": ["d.csv", "--sigma", "3", "--fix", "0=1"],
    "decimal comma": ["comma.csv", "--decimal", ",", "--skip-invalid"],
    "dates": ["dates.csv", "--time-unit", "s"],
    "two files": ["half-*.csv", "--x", "x", "--y", "y"],
    "streamed": ["d.csv", "--memory", "2k"],
}


@pytest.mark.parametrize("case", SCORED)
def test_select_shows_the_scores_and_choice_of_fit_degree_auto_with_the_same_options(tmp_path, case):
    x, y, s = _cubic(tmp_path)
    lines = (tmp_path / "d.csv").read_text().splitlines()
    comma = [";".join(cell.replace(".", ",") for cell in line.split(",")[:2]) for line in lines]
    (tmp_path / "comma.csv").write_text("\n".join([*comma[:9], "9,5;oops", *comma[9:]]) + "\n")
    days = np.datetime64("2024-03-01T00:00:00") + np.round((x + 2) * 86400 * 30).astype("timedelta64[s]")
    (tmp_path / "dates.csv").write_text("when,y\n" + "".join(f"{d},{v!r}\n" for d, v in zip(days, y.tolist())))
    for i in range(2):
        (tmp_path / f"half-{i}.csv").write_text("\n".join([lines[0], *lines[1 + i::2]]) + "\n")
    (picked, bic, outliers), (chosen, expected, seen) = _scores(tmp_path, *SCORED[case])
    assert picked == chosen and bic == pytest.approx(expected, rel=1e-12) and outliers == seen
    if case == "fix":
        assert chosen == 5  # raised to keep x^5


def test_select_weighs_the_points_as_numpy_polyfit_does(tmp_path):
    """BIC of weighted least squares, n ln(Σ w r² / n) + (d + 1) ln n with w = 1/σ² scaled to mean 1,
    each Σ w r² from numpy.polyfit(w=1/σ)."""
    x, y, s = _cubic(tmp_path)
    table = json.loads(run("select", "d.csv", "--sigma", "s", "--max-degree", "8", "--json", cwd=tmp_path).stdout)
    picked, bic = table["chosen"], [c["bic"] for c in table["candidates"]]
    w = s ** -2 / np.mean(s ** -2)
    rss = [float(np.sum(w * (y - np.polyval(np.polyfit(x, y, d, w=1 / s), x)) ** 2)) for d in range(9)]
    expected = [x.size * np.log(r / x.size) + (d + 1) * np.log(x.size) for d, r in enumerate(rss)]
    assert bic == pytest.approx(expected, rel=1e-9)
    assert picked == min(d for d, b in enumerate(expected) if b <= min(expected) + 2)


@pytest.mark.parametrize("args, said", [
    (["--sigma", "s", "--weights", "w"], "--sigma and --weights say the same thing two ways: give one"),
    (["--sigma", " "], "needs a column"),
    (["--fix", "0=0", "--loss", "huber"], "are for --loss mse, not huber"),
    (["--decimal", ",", "--delimiter", ","], "a comma cannot be both the decimal mark and the delimiter"),
    (["--fix", "3=1", "--max-degree", "2"], "degree 3 is the lowest that keeps the --fix terms"),
    (["--fix", "x=1"], "must be POWER=VALUE"),
])
def test_select_refuses_what_fit_refuses_in_the_same_words(tmp_path, args, said):
    _cubic(tmp_path, n=20)
    done = run("select", "d.csv", *args, cwd=tmp_path)
    assert done.returncode == 2 and said in " ".join(done.stderr.split()), done.stderr
    if "--max-degree" not in args:
        fitted = run("fit", "d.csv", *args, "--no-save", cwd=tmp_path)
        assert fitted.returncode == 2 and said in " ".join(fitted.stderr.split()), fitted.stderr


def test_a_bad_sigma_is_one_error_line_naming_its_file_and_line_in_select_too(tmp_path):
    _cubic(tmp_path, n=20)
    lines = (tmp_path / "d.csv").read_text().splitlines()
    lines[7] = ",".join([*lines[7].split(",")[:2], "-1", "1"])
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    done = run("select", "d.csv", "--sigma", "s", cwd=tmp_path)
    fitted = run("fit", "d.csv", "--sigma", "s", "--no-save", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: d.csv:8: ") and done.stderr.count("\n") == 1
    assert done.stderr == fitted.stderr


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
YEARS = ROOT / "sample_data" / "years.csv"
TABLES = {
    "select": (["select", SINE, "--max-degree", "12"], ["select", SINE, "--max-degree", "12", "--json"]),
    "fit": (["fit", YEARS, "-d", "3", "--no-save"], ["fit", YEARS, "-d", "3", "--no-save", "--json"]),
    "gradcheck": (["gradcheck", SINE, "-d", "5"], ["gradcheck", SINE, "-d", "5", "--json"]),
}


def screen_lines(args, tmp_path, columns=80):
    """What a terminal of ``columns`` shows, stdout and stderr, as plain lines."""
    shown, _ = run_in_terminal(args, tmp_path, {"COLUMNS": str(columns), "NO_COLOR": "1"}, stderr_too=True)
    return ANSI.sub("", shown).replace("\r", "").splitlines()


def numbers_in(document):
    """Every float of a JSON document, however deep."""
    if isinstance(document, float):
        yield document
    elif isinstance(document, dict):
        for value in document.values():
            yield from numbers_in(value)
    elif isinstance(document, list):
        for value in document:
            yield from numbers_in(value)


@pytest.mark.parametrize("name", list(TABLES))
def test_every_table_fits_80_columns_without_losing_a_number(name, tmp_path):
    table, as_json = TABLES[name]
    lines = screen_lines(table, tmp_path)
    assert lines and all(len(line) <= 80 for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert "…" not in text
    cells = set(text.split())
    document = json.loads(run(*as_json, cwd=tmp_path).stdout)
    shown_keys = ("train_mse", "cv_mse", "cv_se", "bic", "aicc", "backprop", "finite_difference", "relative_error")
    rows = [{k: v for k, v in row.items() if k in shown_keys} for row in
            document.get("candidates") or document.get("rows") or []] or document["taylor_coefficients"]
    shown = [v for v in numbers_in(rows) if v]
    # each number appears whole in the cells, at the digits the table gives it
    assert all(any(cell != "n/a" and _same_number(cell, v) for cell in cells) for v in shown), text


def _same_number(cell, value):
    try:
        shown = float(cell)
    except ValueError:
        return False
    digits = len(cell.split("e")[0].replace("-", "").replace(".", "").lstrip("0")) or 1
    return shown == float(f"{value:.{digits}g}") or shown == round(value, 1)


def test_warnings_wrap_at_words_on_a_terminal_and_stay_one_line_in_a_pipe(tmp_path):
    piped = run("fit", SINE, "-d", "30", "--no-save", cwd=tmp_path).stderr.splitlines()
    assert piped and all(line.startswith("warning: ") for line in piped)
    lines = screen_lines(["fit", SINE, "-d", "30", "--no-save"], tmp_path)
    first = lines.index(next(line for line in lines if line.startswith("warning: ")))
    wrapped = lines[first:first + 1 + next(i for i, line in enumerate(lines[first + 1:]) if
                                            line.startswith("warning: "))]
    assert len(wrapped) > 1 and all(len(line) <= 80 for line in wrapped)
    assert " ".join(line.rstrip() for line in wrapped) == piped[0]  # every break is at a space


@pytest.mark.parametrize("args", [["graph", "-d", "2", "--loss", "huber"], ["select", SINE, "--max-degree", "4"],
                                  ["fit", SINE, "-d", "3", "--no-save"], ["gradcheck", SINE, "-d", "2"]])
def test_pipes_get_whole_lines_without_trailing_spaces(args, tmp_path):
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines)
    if args[0] == "graph":
        assert lines[0].startswith("huber loss of a degree 2") and lines[0].endswith("y in units of 0.5")


def test_graph_shows_a_shared_node_once(tmp_path):
    lines = run("graph", "-d", "2", "--loss", "huber", cwd=tmp_path).stdout.splitlines()
    assert sum("param a" in line for line in lines) == 1  # the parameter, with its whole gradient, once
    assert sum("abs  [12]" in line for line in lines) == 1 and any("abs  (↑ see above)" in line for line in lines)
    assert any("(used by 2 operators)" in line for line in lines)
    dot = (tmp_path / "g.dot")
    run("graph", "-d", "2", "--loss", "huber", "--dot", dot, cwd=tmp_path)
    assert dot.read_text().count("abs") == 1  # the DOT output agrees: one node, two arrows out


def test_a_robust_fit_shows_its_loss_delta_and_median_residual(tmp_path):
    outliers = ROOT / "sample_data" / "outliers.csv"
    table = run("fit", outliers, "-d", "3", "--loss", "huber", "--no-save", cwd=tmp_path).stdout
    done = run("fit", outliers, "-d", "3", "--loss", "huber", cwd=tmp_path, env={"COLUMNS": "80"})
    summary = json.loads(run("fit", outliers, "-d", "3", "--loss", "huber", "--json", "--no-save",
                             cwd=tmp_path).stdout)
    document = json.loads((tmp_path / "fitbp.json").read_text())
    points = load_points(outliers)
    fitted = np.polynomial.Polynomial(summary["taylor_coefficients"],
                                      domain=[summary["center"] - summary["scale"],
                                              summary["center"] + summary["scale"]],
                                      window=[-1, 1])
    assert done.returncode == 0
    assert summary["median_abs_residual"] == pytest.approx(np.median(np.abs(fitted(points.x) - points.y)), rel=1e-9)
    assert summary["loss_value"] == document["loss_history"][-1]
    assert f"huber loss (δ {summary['huber_delta']:.4g})" in table and "median |residual|" in table
    from fitbp.cli import drawing as cli

    title = cli._title(document, points)
    assert title.startswith("degree 3 huber (δ 1.46) fit of y against x:\nhuber loss 3.4, median |residual| 0.386, ")
    plain = run("fit", SINE, "-d", "3", "--no-save", cwd=tmp_path).stdout
    assert "median |residual|" not in plain and "huber" not in plain


def test_usage_lines_name_arguments_as_people_write_them(tmp_path):
    assert "fitbp fit [OPTIONS] DATA...\n" in run("fit", cwd=tmp_path).stderr
    missing = run("sample", cwd=tmp_path)
    assert missing.returncode == 2 and "fitbp sample [OPTIONS] NAME\n" in missing.stderr
    assert "\t" not in missing.stderr and "{" not in missing.stderr
    wrong = run("sample", "nope", cwd=tmp_path)
    assert wrong.returncode == 2 and "'nope' is not one of sine, cubic, runge, exp, years" in wrong.stderr
    helped = run("graph", "--help", cwd=tmp_path, env={"COLUMNS": "80"}).stdout
    assert "fitbp graph -d 5 --dot g.dot && dot -Tpng g.dot -o g.png\n" in helped


def test_fit_says_where_it_saved_the_model(tmp_path):
    assert run("fit", SINE, "-d", "3", cwd=tmp_path).stderr == "saved fitbp.json\n"
    assert run("fit", SINE, "-d", "3", "--save", "m.json", cwd=tmp_path).stderr == "saved m.json\n"
    assert run("fit", SINE, "-d", "3", "-q", cwd=tmp_path).stderr == ""
    assert run("fit", SINE, "-d", "3", "--no-save", cwd=tmp_path).stderr == ""


@pytest.mark.parametrize("name, content, what", [
    ("book.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "a zip archive, such as an .xlsx or .ods"),
    ("book.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "an old Excel (.xls) workbook"),
    ("d.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
    ("d.csv.bz2", None, "a bzip2 archive: decompress it first"),
])
def test_spreadsheets_and_archives_are_named_by_their_signature(name, content, what, tmp_path):
    import bz2

    (tmp_path / name).write_bytes(content if content is not None else bz2.compress(b"x,y\n1,2\n2,3\n"))
    done = run("fit", name, "-d", "1", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == f"error: {name}: this is {what}" + done.stderr.split(what)[1]
    assert "--encoding" not in done.stderr
    (tmp_path / "text.csv").write_text("PAR1,y\n1,2\n2,3\n")  # the same bytes starting a header are text
    assert run("fit", "text.csv", "-d", "1", "--no-save", cwd=tmp_path).returncode == 0


def test_select_plots_and_chooses_like_fit(tmp_path):
    runge = ROOT / "sample_data" / "runge.csv"
    done = run("select", runge, "--plot", "select.png", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)
    assert table["chosen"] == 20 and table["searched"] >= 20 and table["folds"] == 5
    assert all(c["cv_mse"] is not None for c in table["candidates"][:15])
    assert (tmp_path / "select.png").read_bytes().startswith(b"\x89PNG") and done.stderr == "wrote select.png\n"
    fitted = json.loads(run("fit", runge, "--json", "--no-save", cwd=tmp_path).stdout)
    assert fitted["degree"] == 20 and fitted["rmse"] < 1.15 * 0.02
    refused = run("select", runge, "--plot", "select.bmp", cwd=tmp_path)
    assert refused.returncode == 1 and "cannot tell the picture format" in refused.stderr and refused.stdout == ""
    outliers = ROOT / "sample_data" / "outliers.csv"
    robust = json.loads(run("select", outliers, "--loss", "huber", "--json", cwd=tmp_path).stdout)
    assert robust["chosen"] == 3 and "points a bisquare fit keeps" in robust["reason"]
    plain = run("fit", outliers, "--no-save", "--json", cwd=tmp_path)
    assert json.loads(plain.stdout)["degree_selection"]["outliers"] == 15
    assert "warning: 15 residuals lie more than 5 robust sd from the least-squares curve" in plain.stderr
    huber = run("fit", outliers, "--loss", "huber", "--no-save", "--json", cwd=tmp_path)
    assert json.loads(huber.stdout)["degree"] == 3


def test_version_everywhere(tmp_path):
    from fitbp import __version__

    assert run("--version", cwd=tmp_path).stdout == f"fitbp {__version__}\n"
    summary = json.loads(run("fit", SINE, "-d", "2", "--json", cwd=tmp_path).stdout)
    assert summary["fitbp_version"] == __version__
    assert json.loads((tmp_path / "fitbp.json").read_text())["fitbp_version"] == __version__


def test_wide_coefficients_split_the_table_rather_than_a_number(tmp_path):
    x = np.linspace(0, 6, 300)
    np.savetxt(tmp_path / "huge.csv", np.c_[x, 1.5e300 * np.sin(x)], delimiter=",", header="x,y", comments="")
    lines = screen_lines(["fit", "huge.csv", "-d", "7", "--no-save"], tmp_path)
    assert all(len(line) <= 80 for line in lines)
    cells = set(" ".join(lines).split())
    summary = json.loads(run("fit", "huge.csv", "-d", "7", "--no-save", "--json", cwd=tmp_path).stdout)
    for value in summary["taylor_coefficients"] + summary["coefficients"]:
        assert f"{value:.15g}" in cells


def test_shell_completion_completes_commands_and_choices(tmp_path):
    import os

    # Without shell detection typer takes the shell named; with it, it ignores the name and asks the
    # process tree, which names no shell under a background CI runner ("Shell  not supported").
    script = run("--show-completion", "bash", cwd=tmp_path, env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert script.returncode == 0 and "complete" in script.stdout
    fitbp_bin = os.path.join(os.path.dirname(sys.executable), "fitbp")
    if not os.path.exists(fitbp_bin):
        pytest.skip("the fitbp console script is not installed beside this python")

    def complete(words, index):
        return subprocess.run([fitbp_bin], env={**os.environ, "_FITBP_COMPLETE": "complete_bash",
                                                "COMP_WORDS": words, "COMP_CWORD": str(index)},
                              capture_output=True, text=True, cwd=tmp_path).stdout.split()

    assert complete("fitbp se", 1) == ["select"]
    assert complete("fitbp export --to ", 3) == ["c", "python", "javascript", "rust", "excel", "latex", "numpy"]
    assert "--degree" in complete("fitbp fit data.csv --de", 3)
