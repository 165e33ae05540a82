"""fitbp plot --terminal and --ascii: a recognisable curve in 80 × 24 characters, in a pipe and on a
pseudo-terminal, without matplotlib."""

import json
import re
import subprocess

import numpy as np
import pytest
from helpers import FITBP, ROOT, environment, run, run_in_terminal

from fitbp.views import terminal
from fitbp.fitting.model import TaylorPolynomial

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
    polynomial = TaylorPolynomial(tuple(model["taylor_coefficients"]), model["center"], model["scale"])
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
    too_small = run("plot", "--terminal", "--width", "20", cwd=tmp_path)
    assert too_small.returncode == 2


def test_no_matplotlib(model, tmp_path):
    done = subprocess.run([*FITBP[:1], "-X", "importtime", *FITBP[1:], "plot", "--terminal"], cwd=tmp_path,
                          capture_output=True, text=True, env=environment())
    assert done.returncode == 0 and "matplotlib" not in done.stderr
