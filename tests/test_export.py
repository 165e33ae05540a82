"""fitbp export: each language's code, compiled or run for real, against `fitbp predict` at 200 points.

C with the system's compiler, JavaScript with Node and Rust with rustc where they are installed
(skipped, with the reason, where not); Python and numpy in a subprocess; the spreadsheet formula by
a small evaluator of its + - * / ^ and parentheses; LaTeX by reading its numbers back.
"""

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, run

SAMPLES = ROOT / "sample_data"
MODELS = {  # name: fit arguments
    "sine, degree 5": ["fit", SAMPLES / "sine.csv", "-d", "5"],
    "years, degree 3": ["fit", SAMPLES / "years.csv", "-d", "3"],  # raw powers of 1985 cancel
    "runge, degree 20": ["fit", SAMPLES / "runge.csv", "-d", "20"],
    "cubic, degree 0": ["fit", SAMPLES / "cubic.csv", "-d", "0"],
}


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


def test_python_runs_with_no_imports(fitted):
    folder, x, y = fitted
    code = exported(folder, "python", "--name", "curve")
    assert "import" not in code
    script = code + "\nimport sys\nfor line in sys.stdin:\n    print(repr(curve(float(line))))\n"
    done = subprocess.run([sys.executable, "-c", script], input="\n".join(map(repr, x.tolist())),
                          capture_output=True, text=True, check=True)
    agree(np.array([float(v) for v in done.stdout.split()]), y)


@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler (cc) on this machine")
def test_c_compiles_and_agrees(fitted, tmp_path):
    folder, x, y = fitted
    source = tmp_path / "main.c"
    source.write_text(exported(folder, "c", "--name", "curve") + """
#include <stdio.h>
int main(void) {
    double x;
    while (scanf("%lf", &x) == 1) printf("%.17g\\n", curve(x));
    return 0;
}
""")
    subprocess.run(["cc", "-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Werror", "-o", tmp_path / "main",
                    source], check=True, capture_output=True)
    done = subprocess.run([tmp_path / "main"], input="\n".join(map(repr, x.tolist())), capture_output=True,
                          text=True, check=True)
    agree(np.array([float(v) for v in done.stdout.split()]), y)


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js is not installed")
def test_javascript_runs_in_node(fitted, tmp_path):
    folder, x, y = fitted
    script = tmp_path / "main.js"
    script.write_text(exported(folder, "javascript") + f"""
for (const x of {json.dumps(x.tolist())}) console.log(fitbp(x));
""")
    done = subprocess.run(["node", script], capture_output=True, text=True, check=True)
    agree(np.array([float(v) for v in done.stdout.split()]), y)


@pytest.mark.skipif(not shutil.which("rustc"), reason="rustc is not installed")
def test_rust_compiles_and_agrees(fitted, tmp_path):
    folder, x, y = fitted
    source = tmp_path / "main.rs"
    source.write_text(exported(folder, "rust") + """
fn main() {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).unwrap();
    for word in text.split_whitespace() {
        println!("{:e}", fitbp(word.parse::<f64>().unwrap()));
    }
}
""")
    subprocess.run(["rustc", "-O", "--edition", "2021", "-o", tmp_path / "main", source], check=True,
                   capture_output=True, cwd=tmp_path)
    done = subprocess.run([tmp_path / "main"], input="\n".join(map(repr, x.tolist())), capture_output=True,
                          text=True, check=True)
    agree(np.array([float(v) for v in done.stdout.split()]), y)


def test_numpy_polynomial_agrees(fitted):
    folder, x, y = fitted
    code = exported(folder, "numpy", "--name", "curve")
    namespace = {}
    exec(code, namespace)  # noqa: S102 (our own output, the point of the test)
    # numpy maps x as off + scl * x, not (x - c) / s: t differs by a few ulps, and y by at most
    # p'(t) times that, which a high degree's cancelling coefficients amplify.
    document = json.loads((folder / "fitbp.json").read_text())
    t = (x - document["center"]) / document["scale"]
    slope = sum(i * abs(a) * np.abs(t) ** i for i, a in enumerate(document["taylor_coefficients"]))
    assert np.all(np.abs(namespace["curve"](x) - y) <= 8 * np.finfo(float).eps * slope + 1e-13 * np.max(np.abs(y)))
    assert namespace["curve"].degree() == len(json.loads((folder / "fitbp.json").read_text())["taylor_coefficients"]) - 1


TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|(\$?[A-Z]{1,3}\$?\d+)|(.))")


def spreadsheet(formula, cells):
    """The value of a formula of numbers, cells, + - * / ^ (right-associative, above unary minus, as
    in LibreOffice and Excel... where unary minus binds tighter than ^) and parentheses."""
    tokens = [(number, cell, other) for number, cell, other in TOKEN.findall(formula) if number or cell or other.strip()]
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
    text = exported(folder, "excel", "--cell", "$B$7")
    notes = [line for line in text.splitlines() if line.startswith("' ")]
    formula = text.splitlines()[-1]
    assert len(text.splitlines()) == len(notes) + 1 and "x in cell $B$7" in text
    document = json.loads((folder / "fitbp.json").read_text())
    raw = document["raw_digits_lost"] <= 2
    assert ("raw powers of x: they lose" if raw else "Taylor form in t = (x - c) / s") in text
    agree(np.array([spreadsheet(formula, {"B7": v}) for v in x.tolist()]), y)


def test_latex_writes_every_coefficient_whole(fitted):
    folder, x, y = fitted
    text = exported(folder, "latex")
    document = json.loads((folder / "fitbp.json").read_text())
    raw = document["raw_digits_lost"] <= 2
    expected = document["coefficients"] if raw else document["taylor_coefficients"]
    body = text.split("\\begin{equation}")[1].split("\\quad")[0].split("\\end")[0].strip().removeprefix("y = ")
    found = []
    for power, term in enumerate(re.split(r" (?=[+-] )", body)):
        sign, digits, exponent = re.match(r"([+-]?)\s*(\d+(?:\.\d+)?)(?: \\times 10\^\{(-?\d+)\})?", term).groups()
        found.append(float(f"{sign}{digits}e{exponent or 0}"))
        assert power == 0 or term.endswith(("x", "t") if power == 1 else f"^{{{power}}}")
    assert found == expected
    assert text.rstrip().endswith("\\end{equation}")


def test_every_output_has_its_header(fitted):
    folder, *_ = fitted
    document = json.loads((folder / "fitbp.json").read_text())
    for language in ("c", "python", "javascript", "rust", "excel", "latex", "numpy"):
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
    import zlib

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
    assert f"t = (x − {document['center']:.4g}) / {document['scale']:.4g}" in title
    assert "coefficients to 4 significant digits, ± standard error" in title
    assert f"R² = {document['r2']:.4g}" in title
