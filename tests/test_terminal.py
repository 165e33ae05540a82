"""fitbp plot --terminal and --ascii: a recognisable curve in 80 × 24 characters, in a pipe and on a
pseudo-terminal, without matplotlib."""

import json
import re
import subprocess

import numpy as np
import pytest
from helpers import FITBP, ROOT, environment, run, run_in_terminal

from fitbp.views import terminal
from fitbp.fitting.model import Polynomial

ESCAPE = "\x1b["


@pytest.fixture
def model(tmp_path):
    assert run("fit", ROOT / "sample_data" / "sine.csv", "-d", "5", "-q", cwd=tmp_path).returncode == 0
    return json.loads((tmp_path / "fitbp.json").read_text())


def plot_rows(text):
    """The plot area's rows: the lines between the title and the x axis, without the labels."""
    lines = text.splitlines()
    axis = next(i for i, line in enumerate(lines) if line.lstrip().startswith(("└", "+")))
    return [line[terminal.LABEL_WIDTH + 1:] for line in lines[1:axis]]


def assert_curve_shown(text, model, ascii_only, width=80):
    """In every third column of the plot, the cell where the fitted curve runs is drawn."""
    rows = plot_rows(text)
    columns = width - terminal.LABEL_WIDTH - 1
    across, down = (1, 1) if ascii_only else (2, 4)
    polynomial = Polynomial(tuple(model["taylor_coefficients"]), model["center"], model["scale"])
    lo, hi = model["center"] - model["scale"], model["center"] + model["scale"]
    curve = polynomial(np.linspace(lo, hi, columns * across))
    points_y = np.loadtxt(ROOT / "sample_data" / "sine.csv", delimiter=",", skiprows=1)[:, 1]
    top, bottom = max(points_y.max(), curve.max()), min(points_y.min(), curve.min())
    for column in range(0, columns, 3):
        dot = round((top - curve[column * across]) / (top - bottom) * (len(rows) * down - 1))
        assert rows[dot // down][column] != " ", (column, dot)


@pytest.mark.parametrize("ascii_only", [False, True])
def test_80_by_24_in_a_pipe_shows_the_curve_where_it_is(ascii_only, model, tmp_path):
    done = run("plot", "--ascii" if ascii_only else "--terminal", "--width", "80", "--height", "24", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert len(text.splitlines()) <= 24 and all(len(line) <= 80 for line in text.splitlines())
    assert ESCAPE not in text and not (tmp_path / "fitbp.png").exists()
    assert text.isascii() if ascii_only else any(0x2800 < ord(c) <= 0x28FF for c in text)
    assert_curve_shown(text, model, ascii_only)
    assert text.splitlines()[-2].lstrip().startswith("loss")


def test_colour_only_on_a_terminal_and_never_with_no_color(model, tmp_path):
    shown, _ = run_in_terminal(["plot", "--terminal"], tmp_path, {"COLUMNS": "80", "LINES": "24"})
    assert ESCAPE in shown
    plain_text = re.sub(r"\x1b\[[0-9;]*m", "", shown.replace("\r", ""))
    lines = [line for line in plain_text.splitlines() if line]
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    assert_curve_shown(plain_text, model, ascii_only=False)
    plain, _ = run_in_terminal(["plot", "--terminal"], tmp_path, {"COLUMNS": "80", "LINES": "24", "NO_COLOR": "1"})
    assert ESCAPE not in plain and "loss" in plain


def test_the_size_follows_columns_and_lines(model, tmp_path):
    done = run("plot", "--terminal", cwd=tmp_path, env={"COLUMNS": "100", "LINES": "30"})
    assert max(len(line) for line in done.stdout.splitlines()) <= 100
    assert len(done.stdout.splitlines()) == 30


def test_no_matplotlib(model, tmp_path):
    done = subprocess.run([*FITBP[:1], "-X", "importtime", *FITBP[1:], "plot", "--terminal"], cwd=tmp_path,
                          capture_output=True, text=True, env=environment())
    assert done.returncode == 0 and "matplotlib" not in done.stderr


SIZES_SHOWN = [(20, 6), (33, 9), (47, 7), (61, 15)]


def title_of(**document):
    """fitbp's own title for a degree 5 fit, as a function of the column names (as render takes it)."""
    from fitbp.cli.drawing import _title

    document = {"degree": 5, "mse": 0.00771, "r2": 0.985367, **document}
    return lambda y_name, x_name: _title(document, type("Names", (), {"y_name": y_name, "x_name": x_name}))


ROBUST = {"loss": "huber", "huber_delta": 1.345, "loss_value": 0.01234, "median_abs_residual": 4.567e-05}
LONG_NAMES = ("temperature of the sample (°C)", "time since the run started")


def sine_points(names=("y", "x"), scale=1.0):
    from fitbp.sources.data import Points

    data = np.loadtxt(ROOT / "sample_data" / "sine.csv", delimiter=",", skiprows=1)
    return Points(data[:, 0] * scale, data[:, 1] * scale, y_name=names[0], x_name=names[1])


def assert_fits(text, width, height, ascii_only):
    """No line wider than ``width`` cells, at most ``height`` lines, and the MSE and R² in full."""
    from rich.cells import cell_len

    lines = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
    assert 0 < len(lines) <= height, (width, height, text)
    assert max(map(cell_len, lines)) <= width, (width, height, text)
    assert "MSE 0.00771" in text and ("R^2 0.985367" if ascii_only else "R² 0.985367") in text, text


@pytest.mark.parametrize("ascii_only", [False, True])
def test_every_size_from_the_smallest_fits_and_keeps_mse_and_r2(ascii_only):
    """Every width up to 120 at several heights, for a plain and a robust fit, with long names and
    with numbers that need the longest tick labels."""
    polynomial = Polynomial((0.0, 1.0, 0.0, -1 / 6), 3.0, 1.0)
    cases = [(sine_points(), title_of()), (sine_points(LONG_NAMES), title_of(**ROBUST)),
             (sine_points(LONG_NAMES, scale=-1.23456e-100), title_of(**ROBUST))]
    history = [0.5268, 0.1, 0.00771]
    smallest_width, smallest_height = terminal.SMALLEST
    for width in range(smallest_width, 121):
        for height in (smallest_height, smallest_height + 1, 9, 24):
            points, title = cases[(width + height) % len(cases)]
            scaled = polynomial if points.x.max() > 1 else (lambda t: np.full_like(t, 1.23456e100))
            text = terminal.render(scaled, points, history, title, width, height, ascii=ascii_only,
                                   colour=width % 7 == 0)
            assert_fits(text, width, height, ascii_only)


def test_long_names_are_shortened_and_the_rest_of_the_title_kept():
    text = terminal.render(Polynomial((0.0, 1.0), 3.0, 1.0), sine_points(LONG_NAMES), [1.0],
                           title_of(), 44, 24)
    first = text.splitlines()[0]
    assert first.startswith("degree 5 fit of temp") and "… against time" in first and first.endswith("…:")


@pytest.mark.parametrize("columns, lines", SIZES_SHOWN)
def test_the_terminal_size_is_kept_to(columns, lines, model, tmp_path):
    done = run("plot", "--terminal", cwd=tmp_path, env={"COLUMNS": str(columns), "LINES": str(lines)})
    assert done.returncode == 0, done.stderr
    assert_fits(done.stdout, columns, lines, ascii_only=False)
    shown, _ = run_in_terminal(["plot", "--ascii"], tmp_path, {"COLUMNS": str(columns), "LINES": str(lines)})
    assert_fits(shown.replace("\r", ""), columns, lines, ascii_only=True)


@pytest.mark.parametrize("columns, lines", SIZES_SHOWN)
def test_width_and_height_are_kept_to(columns, lines, model, tmp_path):
    done = run("plot", "--terminal", "--width", columns, "--height", lines, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_fits(done.stdout, columns, lines, ascii_only=False)


@pytest.mark.parametrize("columns, lines", [(terminal.SMALLEST[0] - 1, 24), (80, terminal.SMALLEST[1] - 1), (20, 5)])
def test_a_terminal_too_small_is_one_error_line(columns, lines, model, tmp_path):
    done = run("plot", "--terminal", cwd=tmp_path, env={"COLUMNS": str(columns), "LINES": str(lines)})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1
    assert f"{columns} × {lines}" in done.stderr and "{} × {}".format(*terminal.SMALLEST) in done.stderr


def test_a_width_or_height_too_small_is_a_usage_error(model, tmp_path):
    smallest_width, smallest_height = terminal.SMALLEST
    for option, value in (("--width", smallest_width), ("--height", smallest_height)):
        assert run("plot", "--terminal", option, value - 1, cwd=tmp_path).returncode == 2
        assert run("plot", "--terminal", option, value, cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("origin, unit, span", [("2024-01-03", "d", 58.0), ("2024-03-30T00:00:00+01:00", "d", 2.5),
                                                ("2024-05-01", "s", 40 * 86400.0)])
def test_x_fitted_on_dates_is_labelled_with_dates(origin, unit, span):
    """Dates under the axis, as the picture has them, not the days since the origin the fit used:
    the first x's own date at the left (its time too, for data of a few days), at every width."""
    from dataclasses import replace

    from fitbp.sources.dates import Axis

    points = sine_points()
    axis = Axis.starting(origin, unit)
    x = (points.x - points.x.min()) / np.ptp(points.x) * span
    points = replace(points, x=x, x_axis=axis)
    polynomial = Polynomial((0.0, 1.0), float(x.mean()), float(np.ptp(x) / 2))
    first = axis.moment(x.min())
    for width in (20, 33, 60, 100):
        text = terminal.render(polynomial, points, [1.0, 0.5], title_of(), width, 24)
        assert_fits(text, width, 24, False)
        rows = text.splitlines()
        labels = rows[next(i for i, line in enumerate(rows) if "└" in line) + 1]  # under the axis
        wanted = first.strftime("%Y-%m-%d" if span >= 3 * 86400 / axis.seconds else "%m-%d %H:%M")
        shorter = (first.strftime("%y-%m-%d"), first.strftime("%m-%d"), first.strftime("%d %H:%M"),
                   first.strftime("%H:%M"))
        assert labels.lstrip().startswith((wanted, *shorter)), (width, labels)
        if width >= 60:
            assert wanted in labels, labels
