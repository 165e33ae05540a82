"""The formulas fitbp prints for a person to copy, evaluated exactly as printed, against `fitbp predict`.

A centre printed to ten digits, or to the legend's four, moves the curve by the rounding times its
slope; where x is a Unix time or a year that is a whole unit of y.  Each test reads the printed text
back (the fit table's header, the legend's lines), evaluates it with the numbers it shows, and asks
that it agree with predict to within the rounding those numbers announce.
"""

import json
import re
from decimal import Decimal

import numpy as np
import pytest
from helpers import run

from fitbp.fitting import modelfile
from fitbp.views import exporter

NUMBER = r"[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?"


def write(path, x, y):
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(np.asarray(x).tolist(), np.asarray(y).tolist())))


def predicted(folder, x):
    done = run("predict", cwd=folder, stdin="".join(f"{v!r}\n" for v in x.tolist()))
    assert done.returncode == 0, done.stderr
    return np.array([float(line.split(",")[1]) for line in done.stdout.splitlines()])


def half_unit(text):
    """Half a unit in the last digit the decimal ``text`` shows: its rounding, at most."""
    exponent = Decimal(text).as_tuple().exponent
    return 0.5 * 10.0 ** exponent


CASES = {  # name: (x, y) of an exact or nearly exact curve, whose centre needs every digit
    "Unix seconds": (1700000000.0 + np.arange(10.0), 3.0 + 2.0 * np.arange(10.0)),
    "a millionth of a million": (1e6 + np.random.default_rng(3).uniform(0, 1e-3, 50),
                                 np.random.default_rng(4).normal(size=50)),
    "years": (2000.0 + np.arange(26.0), 400 + 2 * np.arange(26.0) + 0.05 * np.arange(26.0) ** 2),
    "negative centre": (-7.25 + np.linspace(0, 1, 30), 1.0 + np.linspace(0, 1, 30) ** 2),
}


@pytest.fixture(params=list(CASES), scope="module")
def fitted(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("formula")
    x, y = CASES[request.param]
    write(folder / "points.csv", x, y)
    degree = "1" if request.param == "Unix seconds" else "2"
    done = run("fit", "points.csv", "-d", degree, cwd=folder)
    assert done.returncode == 0, done.stderr
    grid = np.linspace(x.min(), x.max(), 41)
    return folder, done.stdout, grid, predicted(folder, grid)


def test_the_tables_taylor_form_evaluated_as_printed_is_the_fitted_curve(fitted):
    folder, table, x, y = fitted
    sign, centre, scale = re.search(rf"t = \(x ([-+]) ({NUMBER})\) / ({NUMBER})\]", table).groups()
    document = json.loads((folder / "fitbp.json").read_text())
    assert float(centre) * (1 if sign == "-" else -1) == document["center"]  # every digit, not 10
    assert float(scale) == document["scale"]
    rows = [line.split() for line in table.splitlines() if re.match(r"\s+\d+\s+" + NUMBER, line)]
    degree = document["degree"]
    shown = [row[1] for row in rows[:degree + 1]]  # the Taylor column of the coefficient table
    t = (x - float(centre) * (1 if sign == "-" else -1)) / float(scale)
    value = sum(float(a) * t ** i for i, a in enumerate(shown))
    rounding = sum(half_unit(a) * np.abs(t) ** i for i, a in enumerate(shown))
    assert np.all(np.abs(value - y) <= rounding + 1e-12 * np.max(np.abs(y)))


def legend_value(lines, x):
    """The legend's y at ``x`` and the most its rounded coefficients can be off, read from its text."""
    polynomial = " ".join(line.strip() for line in lines if line.startswith(("y = ", "    + ")))
    scaled = re.search(rf"t = \(x ([−+]) ({NUMBER})\) / ({NUMBER})", "\n".join(lines))
    u = x if scaled is None else (x - float(scaled.group(2)) * (1 if scaled.group(1) == "−" else -1)) / float(
        scaled.group(3))
    value = rounding = 0.0
    for term in polynomial.removeprefix("y = ").split(" + "):
        coefficient, variable, superscript = re.fullmatch(
            rf"\(?({NUMBER})(?: ± {NUMBER})?\)?(?:·([xt])([⁰¹²³⁴⁵⁶⁷⁸⁹]*))?", term).groups()
        power = 0 if not variable else int(superscript.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")) or 1)
        value = value + float(coefficient) * u ** power
        rounding = rounding + half_unit(coefficient) * np.abs(u) ** power
    return value, rounding


@pytest.mark.parametrize("digits", [2, 4, 6])
def test_the_legends_equation_evaluated_as_printed_stays_within_its_digits(fitted, digits):
    folder, _, x, y = fitted
    document = modelfile.load(folder / "fitbp.json")
    lines, note, _ = exporter.equation(document, digits)
    assert f"coefficients to {digits} significant digits" in note
    value, rounding = legend_value(lines, x)
    assert np.all(np.abs(value - y) <= rounding * (1 + 1e-9) + 1e-12 * np.max(np.abs(y))), lines


def test_the_years_legend_names_the_centre_whole(tmp_path):
    """The issue's case: 2012.5, not 2012, whatever --digits says."""
    x, y = CASES["years"]
    write(tmp_path / "years.csv", x, y)
    assert run("fit", "years.csv", "-d", "2", "-q", cwd=tmp_path).returncode == 0
    lines, *_ = exporter.equation(modelfile.load(tmp_path / "fitbp.json"), 4)
    assert "t = (x − 2012.5) / 12.5" in lines
