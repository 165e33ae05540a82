"""fitbp export: each language's code, compiled or run for real, against `fitbp predict` at 200 points.

C with the system's compiler, JavaScript with Node and Rust with rustc where they are installed
(skipped, with the reason, where not); Python and numpy in a subprocess; the spreadsheet formula by
a small evaluator of its + - * / ^ and parentheses; LaTeX by reading its numbers back.
"""

import json
import re
from fractions import Fraction
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, run

from fitbp.views.exporter import LANGUAGES

SAMPLES = ROOT / "sample_data"
MODELS = {  # name: fit arguments
    "sine, degree 5": ["fit", SAMPLES / "sine.csv", "-d", "5"],
    "years, degree 3": ["fit", SAMPLES / "years.csv", "-d", "3"],  # raw powers of 1985 cancel
    "runge, degree 20": ["fit", SAMPLES / "runge.csv", "-d", "20"],
    "cubic, degree 0": ["fit", SAMPLES / "cubic.csv", "-d", "0"],
    "cubic through the origin": ["fit", SAMPLES / "cubic.csv", "-d", "3", "--fix", "0=0"],  # y = k0 + x·q(t)
    "years through k0 = 300": ["fit", SAMPLES / "years.csv", "-d", "2", "--fix", "0=300"],  # too far: the sum
    "cubic in Chebyshev's basis": ["fit", SAMPLES / "cubic.csv", "-d", "3", "--basis", "chebyshev"],  # raw: few lost
    "runge, Chebyshev degree 60": ["fit", SAMPLES / "runge.csv", "-d", "60", "--basis", "chebyshev"],  # Clenshaw
}


def written_out(document):
    """Whether the formats without statements can write the model (a spreadsheet cell cannot hold
    Clenshaw's recurrence: a Chebyshev fit goes there only as raw powers of x, where they lose few digits)."""
    return document.get("basis", "taylor") == "taylor" or document["raw_digits_lost"] <= 2


@pytest.fixture(params=list(MODELS), scope="module")
def fitted(request, tmp_path_factory):
    """(folder with fitbp.json, the 200 x values, predict's y for them)."""
    folder = tmp_path_factory.mktemp("export")
    assert run(*MODELS[request.param], "-q", cwd=folder).returncode == 0
    document = json.loads((folder / "fitbp.json").read_text())
    lo, hi = document["center"] - document["scale"], document["center"] + document["scale"]
    x = np.linspace(lo, hi, 200)
    done = run("predict", cwd=folder, stdin="".join(f"{v!r}\n" for v in x.tolist()))
    y = np.array([float(line.split(",")[1]) for line in done.stdout.splitlines()])
    return folder, x, y


def exported(folder, language, *options):
    done = run("export", "--to", language, *options, cwd=folder)
    assert done.returncode == 0, done.stderr
    return done.stdout


def agree(values, y):
    np.testing.assert_allclose(values, y, rtol=1e-13, atol=1e-13 * float(np.max(np.abs(y))))


TOOLS = {"c": "cc", "rust": "rustc", "javascript": "node"}


def evaluated(code, language, x, folder, libraries=()):
    """The exported function ``curve`` at each x: run by Python (python, numpy), or compiled or run by its
    language's tool (skipped where the tool is not installed)."""
    if language in ("python", "numpy"):
        space = {}
        exec(code, space)
        return np.asarray(space["curve"](x) if language == "numpy" else [space["curve"](v) for v in x.tolist()])
    if not shutil.which(TOOLS[language]):
        pytest.skip(f"{TOOLS[language]} is not installed")
    if language == "c":
        return c_values(code, x, folder, libraries)
    if language == "rust":
        return rust_values(code, x, folder)
    script = folder / "main.js"
    script.write_text(code + f"\nfor (const x of {json.dumps(x.tolist())}) console.log(curve(x));\n")
    done = subprocess.run(["node", script], capture_output=True, text=True, check=True)
    return np.array([float(v) for v in done.stdout.split()])


def test_python_runs_with_no_imports(fitted):
    folder, x, y = fitted
    code = exported(folder, "python", "--name", "curve")
    assert "import" not in code
    script = code + "\nimport sys\nfor line in sys.stdin:\n    print(repr(curve(float(line))))\n"
    done = subprocess.run([sys.executable, "-c", script], input="\n".join(map(repr, x.tolist())),
                          capture_output=True, text=True, check=True)
    agree(np.array([float(v) for v in done.stdout.split()]), y)


def c_values(code, x, folder, libraries=()):
    """``code``'s function ``curve`` compiled as C99 without FMA contraction (and linked with ``libraries``,
    such as -lm), at each x."""
    source = folder / "main.c"
    source.write_text(code + """
#include <stdio.h>
int main(void) {
    double x;
    while (scanf("%lf", &x) == 1) printf("%.17g\\n", curve(x));
    return 0;
}
""")
    subprocess.run(["cc", "-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Werror", "-o", folder / "main",
                    source, *libraries], check=True, capture_output=True)
    done = subprocess.run([folder / "main"], input="\n".join(map(repr, x.tolist())), capture_output=True,
                          text=True, check=True)
    return np.array([float(v) for v in done.stdout.split()])


@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler (cc) on this machine")
def test_c_compiles_and_agrees(fitted, tmp_path):
    folder, x, y = fitted
    agree(c_values(exported(folder, "c", "--name", "curve"), x, tmp_path), y)


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js is not installed")
def test_javascript_runs_in_node(fitted, tmp_path):
    folder, x, y = fitted
    script = tmp_path / "main.js"
    script.write_text(exported(folder, "javascript") + f"""
for (const x of {json.dumps(x.tolist())}) console.log(fitbp(x));
""")
    done = subprocess.run(["node", script], capture_output=True, text=True, check=True)
    agree(np.array([float(v) for v in done.stdout.split()]), y)


def rust_values(code, x, folder):
    """``code``'s function ``curve`` compiled by rustc, at each x."""
    source = folder / "main.rs"
    source.write_text(code + """
fn main() {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).unwrap();
    for word in text.split_whitespace() {
        println!("{:e}", curve(word.parse::<f64>().unwrap()));
    }
}
""")
    subprocess.run(["rustc", "-O", "--edition", "2021", "-o", folder / "main", source], check=True,
                   capture_output=True, cwd=folder)
    done = subprocess.run([folder / "main"], input="\n".join(map(repr, x.tolist())), capture_output=True,
                          text=True, check=True)
    return np.array([float(v) for v in done.stdout.split()])


@pytest.mark.skipif(not shutil.which("rustc"), reason="rustc is not installed")
def test_rust_compiles_and_agrees(fitted, tmp_path):
    folder, x, y = fitted
    agree(rust_values(exported(folder, "rust", "--name", "curve"), x, tmp_path), y)


def test_numpy_polynomial_agrees(fitted):
    folder, x, y = fitted
    code = exported(folder, "numpy", "--name", "curve")
    namespace = {}
    exec(code, namespace)  # noqa: S102 (our own output, the point of the test)
    # numpy maps x as off + scl * x, not (x - c) / s: t differs by a few ulps, and y by at most
    # p'(t) times that, which a high degree's cancelling coefficients amplify.
    document = json.loads((folder / "fitbp.json").read_text())
    t = (x - document["center"]) / document["scale"]
    shift = 0.0
    if "chebyshev_coefficients" in document:  # |T_i'| ≤ i² on [-1, 1]
        coefficients = document["chebyshev_coefficients"]
        slope = sum(i * i * abs(c) for i, c in enumerate(coefficients))
    else:
        coefficients = document["taylor_coefficients"]
        slope = sum(i * abs(a) * np.abs(t) ** i for i, a in enumerate(coefficients))
        # predict runs a fixed k0's curve through it exactly, k0 + x·q(t): it is the Taylor sum moved by what
        # the sum, its coefficients rounded, misses k0 by at x = 0 (numpy knows only the sum)
        origin = Fraction(-document["center"]) / Fraction(document["scale"])
        taylor_at_0 = sum(Fraction(a) * origin ** i for i, a in enumerate(coefficients))
        shift = abs(float(taylor_at_0 - Fraction(document["fixed"]["0"]))) if "0" in document["fixed"] else 0.0
    assert np.all(np.abs(namespace["curve"](x) - y) <= 8 * np.finfo(float).eps * slope + 1e-13 * np.max(np.abs(y))
                  + 1.01 * shift)
    assert namespace["curve"].degree() == len(coefficients) - 1


TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|(\$?[A-Z]{1,3}\$?\d+)|(.))")


def spreadsheet(formula, cells):
    """The value of a formula of numbers, cells, + - * / ^ (right-associative, above unary minus, as
    in LibreOffice and Excel... where unary minus binds tighter than ^) and parentheses."""
    tokens = [(number, cell, other) for number, cell, other in TOKEN.findall(formula)
              if number or cell or other.strip()]
    position = 0

    def peek():
        return tokens[position][2] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def expression():
        value = term()
        while peek() in ("+", "-"):
            value = value + term() if take()[2] == "+" else value - term()
        return value

    def term():
        value = unary()
        while peek() in ("*", "/"):
            value = value * unary() if take()[2] == "*" else value / unary()
        return value

    def unary():
        if peek() == "-":
            take()
            return -unary()
        if peek() == "+":
            take()
            return unary()
        return power()

    def power():
        base = atom()
        if peek() == "^":
            take()
            return base ** unary()
        return base

    def atom():
        number, cell, other = take()
        if number:
            return float(number)
        if cell:
            return cells[cell.replace("$", "")]
        assert other == "(", formula
        value = expression()
        assert take()[2] == ")"
        return value

    assert formula.startswith("=")
    tokens = tokens[1:]
    value = expression()
    assert position == len(tokens), "the formula was not read to its end"
    return value


def test_spreadsheet_formula_evaluates_to_the_same_curve(fitted):
    folder, x, y = fitted
    document = json.loads((folder / "fitbp.json").read_text())
    if not written_out(document):
        done = run("export", "--to", "excel", cwd=folder)
        assert done.returncode == 1 and "a spreadsheet cell cannot hold Clenshaw's recurrence" in done.stderr
        return
    text = exported(folder, "excel", "--cell", "$B$7")
    notes = [line for line in text.splitlines() if line.startswith("' ")]
    formula = text.splitlines()[-1]
    assert len(text.splitlines()) == len(notes) + 1 and "x in cell $B$7" in text
    raw = document["raw_digits_lost"] <= 2
    assert ("raw powers of x: they lose" if raw else "Taylor form in t = (x - c) / s") in text
    agree(np.array([spreadsheet(formula, {"B7": v}) for v in x.tolist()]), y)


def test_latex_writes_every_coefficient_whole(fitted):
    folder, x, y = fitted
    text = exported(folder, "latex")
    document = json.loads((folder / "fitbp.json").read_text())
    raw = document["raw_digits_lost"] <= 2
    chebyshev = not raw and document.get("basis") == "chebyshev"
    expected = document["coefficients"] if raw else document[f"{document.get('basis', 'taylor')}_coefficients"]
    body = text.split("\\begin{equation}")[1].split("\\quad")[0].split("\\end")[0].strip().removeprefix("y = ")
    found = []
    for power, term in enumerate(re.split(r" (?=[+-] )", body)):
        sign, digits, exponent = re.match(r"([+-]?)\s*(\d+(?:\.\d+)?)(?: \\times 10\^\{(-?\d+)\})?", term).groups()
        found.append(float(f"{sign}{digits}e{exponent or 0}"))
        if chebyshev:
            assert power == 0 or term.endswith(f"T_{{{power}}}(t)")
        else:
            assert power == 0 or term.endswith(("x", "t") if power == 1 else f"^{{{power}}}")
    assert found == expected
    assert text.rstrip().endswith("\\end{equation}")


def test_every_output_has_its_header(fitted):
    folder, *_ = fitted
    document = json.loads((folder / "fitbp.json").read_text())
    for language in ("c", "python", "javascript", "rust", "excel", "latex", "numpy"):
        if language == "excel" and not written_out(document):
            continue  # refused, as test_spreadsheet_formula_evaluates_to_the_same_curve checks
        text = exported(folder, language)
        assert f"degree {document['degree']} polynomial fitted to {document['source']}" in text
        assert "fitbp 0.1.0" in text and "x from" in text and "R²" in text


def test_export_writes_a_file_and_refuses_what_it_cannot_write(tmp_path):
    assert run("fit", SAMPLES / "sine.csv", "-d", "3", "-q", cwd=tmp_path).returncode == 0
    done = run("export", "--to", "c", "-o", "curve.h", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "wrote curve.h\n" and done.stdout == ""
    assert (tmp_path / "curve.h").read_text().startswith("/* fitbp")
    for options, status, fragment in [
        (["--to", "cobol"], 2, "--to"),
        (["--to", "c", "--name", "2fast"], 1, "is not an identifier"),
        (["--to", "excel", "--cell", "A0"], 1, "is not a cell reference"),
        (["--to", "c", "-m", "nope.json"], 1, "nope.json: no such model file"),
    ]:
        done = run("export", *options, cwd=tmp_path)
        assert done.returncode == status and fragment in done.stderr, (options, done.stderr)
        assert "Traceback" not in done.stderr


def test_the_equation_on_the_picture_says_its_digits_and_keeps_them_all_in_the_file(tmp_path):
    assert run("fit", SAMPLES / "sine.csv", "-d", "5", "-q", cwd=tmp_path).returncode == 0
    document = json.loads((tmp_path / "fitbp.json").read_text())
    for name in ("fit.svg", "fit.png"):
        done = run("plot", "--equation", "--digits", "3", "-o", name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    svg = (tmp_path / "fit.svg").read_text()
    description = re.search(r"<dc:description>(.*?)</dc:description>", svg, re.S).group(1)
    assert all(repr(a) in description for a in document["taylor_coefficients"])
    png = (tmp_path / "fit.png").read_bytes()
    assert b"tEXtDescription\x00fitbp" in png  # a PNG text chunk, as the SVG metadata
    assert run("plot", "--equation", "--digits", "0", cwd=tmp_path).returncode == 2
    assert run("plot", "--equation", "--digits", "18", cwd=tmp_path).returncode == 2


def test_the_equation_heads_the_legend(tmp_path):
    from fitbp.views import exporter, renderer
    from fitbp.fitting import modelfile

    assert run("fit", SAMPLES / "sine.csv", "-d", "5", "-q", cwd=tmp_path).returncode == 0
    document = modelfile.load(tmp_path / "fitbp.json")
    lines, note, full = exporter.equation(document, digits=4)
    polynomial = modelfile.polynomial_of(document)
    points = modelfile.points_of(document, tmp_path / "fitbp.json")
    figure = renderer.figure(polynomial, points, [1.0, 0.5], "title", equation=(lines, note))
    title = figure.axes[0].get_legend().get_title().get_text()
    a = document["taylor_coefficients"]
    errors = document["taylor_stderr"]
    assert title.startswith(f"y = ({a[0]:.4g} ± {errors[0]:.2g}) + ({a[1]:.4g} ± {errors[1]:.2g})·t")
    assert f"t = (x − {document['center']!r}) / {document['scale']!r}" in title  # never rounded: see test_formulas
    assert "coefficients to 4 significant digits, ± standard error" in title
    assert f"R² = {document['r2']:.4g}" in title


DATED = {  # name: (the cells of x, fit options)
    "plain dates and times, days": ([f"2024-01-{d:02d}T{h:02d}:30:00" for d in range(3, 28) for h in (6, 18)], []),
    "times at +01:00, seconds": ([f"2024-03-{d:02d}T{h:02d}:00:00+01:00" for d in range(1, 29) for h in (0, 9)],
                                 ["--time-unit", "s"]),
}


@pytest.fixture(params=list(DATED), scope="module")
def dated(request, tmp_path_factory):
    """(folder with a model fitted on dates, the dates to evaluate at, predict's y there, their x in the
    model's unit since its origin as numpy reckons it, the origin as numpy's datetime64 in UTC)."""
    folder = tmp_path_factory.mktemp("dated")
    cells, options = DATED[request.param]
    instants = np.array([c[:19] for c in cells], dtype="datetime64[s]") - np.array(
        [np.timedelta64(60 * (int(c[20:22]) * 60 + int(c[23:25])), "s") if len(c) > 19 else 0 for c in cells],
        dtype="timedelta64[s]")  # UTC for the times with an offset
    days = (instants - instants[0]) / np.timedelta64(1, "D")
    y = 10 + 0.3 * days - 0.004 * days ** 2 + 0.1 * np.sin(days)
    (folder / "d.csv").write_text("when,v\n" + "".join(f"{c},{v!r}\n" for c, v in zip(cells, y.tolist())))
    assert run("fit", "d.csv", "-d", "3", *options, "-q", cwd=folder).returncode == 0
    document = json.loads((folder / "fitbp.json").read_text())
    chosen = cells[1::7]
    done = run("predict", *chosen, cwd=folder)
    assert done.returncode == 0, done.stderr
    expected = np.array([float(line.split(",")[1]) for line in done.stdout.splitlines()])
    offset = np.timedelta64(3600, "s") if "+01:00" in cells[0] else np.timedelta64(0, "s")
    origin = np.datetime64(cells[0][:10]) - offset  # the first date's midnight, in UTC
    unit = np.timedelta64(1, "D" if document["x_unit"] == "days" else "s")
    x = (instants[1::7] - origin) / unit
    return folder, chosen, expected, x, origin, document


def dated_agree(values, y):
    np.testing.assert_allclose(values, y, rtol=1e-11, atol=0)  # x from numpy's reckoning: an ulp off fitbp's


def test_every_export_of_a_date_model_says_what_x_is(dated):
    folder, *_, document = dated
    origin = document["x_origin"]
    for language in LANGUAGES:
        text = exported(folder, language)
        assert f"the {document['x_unit']} since {origin.removesuffix('T00:00:00')}" in text, language
    code = exported(folder, "c")
    parameter = f"{document['x_unit']}_since_{origin[:10].replace('-', '_')}"
    assert f"double fitbp(double {parameter})" in code


def test_python_takes_datetimes_and_dates(dated):
    import datetime

    folder, chosen, y, x, origin, document = dated
    namespace = {}
    exec(exported(folder, "python"), namespace)  # noqa: S102 (our own output, the point of the test)
    dated_agree([namespace["fitbp"](datetime.datetime.fromisoformat(c)) for c in chosen], y)
    dated_agree([namespace["fitbp"](v) for v in x.tolist()], y)  # or the number of its unit
    if not document["x_origin"].endswith("+01:00"):
        midnight = datetime.date.fromisoformat(chosen[0][:10])
        assert namespace["fitbp"](midnight) == namespace["fitbp"](datetime.datetime.fromisoformat(chosen[0][:10]))


def test_the_spreadsheet_takes_a_date_cell(dated):
    folder, chosen, y, x, origin, document = dated
    formula = exported(folder, "excel", "--cell", "C3").splitlines()[-1]
    wall = np.array([c[:19] for c in chosen], dtype="datetime64[s]")  # the cell holds the wall clock
    serial = (wall - np.datetime64("1899-12-30T00:00:00")) / np.timedelta64(1, "D")  # as Excel counts days
    dated_agree([spreadsheet(formula, {"C3": v}) for v in serial.tolist()], y)


def test_numpy_says_how_to_turn_datetime64_into_x(dated):
    folder, chosen, y, x, origin, document = dated
    code = exported(folder, "numpy", "--name", "curve")
    namespace = {"numpy": np}
    exec(code, namespace)  # noqa: S102
    hint = re.search(r"x of datetime64 d(?: \(in UTC\))?: (.*)", code).group(1)
    d = origin + np.round(x * (86400 if document["x_unit"] == "days" else 1)).astype("timedelta64[s]")
    dated_agree(namespace["curve"](eval(hint, {"numpy": np, "d": d})), y)  # noqa: S307


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js is not installed")
def test_javascript_of_a_date_model_takes_days_or_a_date(dated, tmp_path):
    folder, chosen, y, x, origin, document = dated
    code = exported(folder, "javascript")
    hint = re.search(r"of a Date d: (.*?)(?:, d's wall clock taken as UTC)?$", code, re.M).group(1)
    wall_as_utc = [c if len(c) > 19 else c + "Z" for c in chosen]
    script = tmp_path / "main.js"
    script.write_text(code + f"""
for (const x of {json.dumps(x.tolist())}) console.log(fitbp(x));
for (const text of {json.dumps(wall_as_utc)}) {{ const d = new Date(text); console.log(fitbp({hint})); }}
""")
    done = subprocess.run(["node", script], capture_output=True, text=True, check=True)
    values = np.array([float(v) for v in done.stdout.split()])
    dated_agree(values[:len(y)], y)
    dated_agree(values[len(y):], y)


@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler (cc) on this machine")
def test_c_of_a_date_model_takes_the_days_since_its_origin(dated, tmp_path):
    folder, chosen, y, x, origin, document = dated
    dated_agree(c_values(exported(folder, "c", "--name", "curve"), x, tmp_path), y)


@pytest.mark.skipif(not shutil.which("rustc"), reason="rustc is not installed")
def test_rust_of_a_date_model_takes_the_days_since_its_origin(dated, tmp_path):
    folder, chosen, y, x, origin, document = dated
    dated_agree(rust_values(exported(folder, "rust", "--name", "curve"), x, tmp_path), y)


def test_latex_and_the_legend_define_x(dated):
    from fitbp.fitting import modelfile
    from fitbp.views import exporter

    folder, chosen, y, x, origin, document = dated
    definition = f"{document['x_unit']} since {document['x_origin'].removesuffix('T00:00:00')}"
    assert f"\\text{{and $x$ the {definition}" in exported(folder, "latex")
    lines, *_ = exporter.equation(modelfile.load(folder / "fitbp.json"))
    assert f"x = {definition}" in lines


def test_numpy_says_how_many_digits_it_keeps(tmp_path):
    """x near a million: numpy's off + scl·x loses digits that fitbp's (x − c)/s keeps; the comment
    says how many are left, and that is what an independent measurement finds."""
    x = 1e6 + np.linspace(0.0, 1e-3, 200)
    (tmp_path / "m.csv").write_text("x,y\n" + "".join(f"{a!r},{float(np.sin(8e3 * (a - 1e6)))!r}\n"
                                                     for a in x.tolist()))
    assert run("fit", "m.csv", "-d", "7", "-q", cwd=tmp_path).returncode == 0
    code = exported(tmp_path, "numpy", "--name", "curve")
    digits = int(re.search(r"agrees with 'fitbp predict' to about (\d+) significant digits", code).group(1))
    namespace = {}
    exec(code, namespace)  # noqa: S102
    grid = np.linspace(x[0], x[-1], 333)
    done = run("predict", cwd=tmp_path, stdin="".join(f"{v!r}\n" for v in grid.tolist()))
    y = np.array([float(line.split(",")[1]) for line in done.stdout.splitlines()])
    measured = -np.log10(np.max(np.abs(namespace["curve"](grid) - y)) / np.max(np.abs(y)))
    assert digits < 15 and abs(measured - digits) <= 1, (digits, measured)
