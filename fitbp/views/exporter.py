"""The fit as code or formula for another program: C, Python, JavaScript, Rust, a spreadsheet cell,
LaTeX or numpy.

A curve is usually wanted elsewhere (firmware, a spreadsheet, a paper), and two things go wrong on
the way in other tools: coefficients rounded for display that no longer give the curve, and
coefficients of a scaled variable taken for those of x.  So every constant is written with the
shortest digits that read back to the same float64 (at most 17), and code evaluates exactly what
``fitbp predict`` does: Horner's rule in t = (x - c) / s, the same operations in the same order, so
it gives the same bits wherever the compiler does not fuse a multiply and an add.  Formats without
a place for statements (a spreadsheet formula, an equation) use the raw powers of x when these lose
few digits over the data's range, the Taylor form otherwise, and say which and why.
"""

from __future__ import annotations

import math
import re

from fitbp import __version__
from fitbp.errors import FitbpError, printable

RAW_DIGITS = 2.0
"""A formula uses the raw powers of x when they lose at most this many of float64's 16 digits."""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CELL = re.compile(r"\$?[A-Za-z]{1,3}\$?[1-9][0-9]{0,6}")


def number(value):
    """The shortest decimal that reads back to the same float64: every digit the fit has."""
    value = float(value)
    if not math.isfinite(value):
        raise FitbpError(f"a coefficient is {value}, which no language writes as a number")
    return repr(value)


def export(document, language, name="fitbp", cell="A2"):
    """The text of the fit in ``language``: a short header, then the code or formula."""
    if language not in LANGUAGES:
        raise FitbpError(f"unknown language {language!r} (choose from {', '.join(LANGUAGES)})")
    if language not in FORMULAS and not IDENTIFIER.fullmatch(name):
        raise FitbpError(f"--name {printable(name)!r} is not an identifier (letters, digits and _, not first a digit)")
    if language == "excel" and not CELL.fullmatch(cell):
        raise FitbpError(f"--cell {printable(cell)!r} is not a cell reference such as A2 or $B$7")
    fit = _Fit(document)
    return WRITERS[language](fit, name, cell)


class _Fit:
    """What every writer needs from a model document."""

    def __init__(self, document):
        self.taylor = [float(a) for a in document["taylor_coefficients"]]
        self.center, self.scale = float(document["center"]), float(document["scale"])
        self.degree = len(self.taylor) - 1
        raw = document.get("coefficients")
        self.raw = [float(k) for k in raw] if isinstance(raw, list) and all(
            isinstance(k, (int, float)) and not isinstance(k, bool) and math.isfinite(k) for k in raw) else None
        lost = document.get("raw_digits_lost")
        self.raw_digits_lost = float(lost) if isinstance(lost, (int, float)) and not isinstance(lost, bool) else 16.0
        r2 = document.get("r2")
        self.header = [
            f"fitbp {__version__}: degree {self.degree} polynomial fitted to {printable(document.get('source', '?'))}",
            f"x from {self.center - self.scale:.10g} to {self.center + self.scale:.10g}"
            + (f", R² {r2:.6g}" if isinstance(r2, (int, float)) and not isinstance(r2, bool) else ""),
        ]

    @property
    def raw_form(self):
        """Whether a formula may use raw powers of x, and the sentence that says why (or why not)."""
        if self.raw is not None and self.raw_digits_lost <= RAW_DIGITS:
            return True, (f"raw powers of x: they lose about {self.raw_digits_lost:.1f} of 16 digits over the "
                          "data's range")
        return False, (f"Taylor form in t = (x - c) / s: raw powers of x would lose about "
                       f"{self.raw_digits_lost:.0f} of 16 digits over the data's range")

    def t_definition(self):
        return f"(x - {number(self.center)}) / {number(self.scale)}"

    def horner(self, line, first, variable="t"):
        """Statements that evaluate the Taylor form as predict does: ``first(a_d)`` then
        ``line(expression)`` for y = y * t + a_i, i = d-1 … 0."""
        return [first(number(self.taylor[-1]))] + [line(f"y * {variable} + {number(a)}")
                                                    for a in reversed(self.taylor[:-1])]


def _comment(lines, start, middle=None, end=None):
    middle = start if middle is None else middle
    if end is None:
        return [f"{start}{lines[0]}", *[f"{middle}{line}" for line in lines[1:]]]
    return [f"{start}{lines[0]}", *[f"{middle}{line}" for line in lines[1:]], end]


def _c(fit, name, cell):
    note = fit.header + [f"y = sum of a_i t^i with t = {fit.t_definition()}, by Horner's rule as "
                         "'fitbp predict'; C99, compile without -ffast-math (and FMA contraction) for the same bits"]
    body = [f"static inline double {name}(double x)", "{",
            f"    const double t = {fit.t_definition()};" if fit.degree else "    (void)x;  /* a constant */"]
    body += fit.horner(lambda e: f"    y = {e};", lambda a: f"    double y = {a};")
    return "\n".join(_comment(note, "/* ", " * ", " */") + body + ["    return y;", "}"]) + "\n"


def _python(fit, name, cell):
    body = [f"def {name}(x):", '    """' + "\n    ".join(fit.header) + "\n\n    y = sum of a_i t**i with t = "
            + fit.t_definition() + ", by Horner's rule, as 'fitbp predict' evaluates it.\n    \"\"\"",
            f"    t = {fit.t_definition()}" if fit.degree else "    del x  # a constant"]
    body += fit.horner(lambda e: f"    y = {e}", lambda a: f"    y = {a}")
    return "\n".join(body + ["    return y"]) + "\n"


def _javascript(fit, name, cell):
    note = fit.header + [f"y = sum of a_i t^i with t = {fit.t_definition()}, by Horner's rule as 'fitbp predict'"]
    body = [f"function {name}(x) {{", f"  const t = {fit.t_definition()};" if fit.degree else "  void x;  // a constant"]
    body += fit.horner(lambda e: f"  y = {e};", lambda a: f"  let y = {a};")
    return "\n".join(_comment(note, "// ") + body + ["  return y;", "}"]) + "\n"


def _rust(fit, name, cell):
    note = fit.header + [f"y = sum of a_i t^i with t = {fit.t_definition()}, by Horner's rule as 'fitbp predict'"]
    body = [f"pub fn {name}(x: f64) -> f64 {{",
            f"    let t: f64 = {fit.t_definition()};" if fit.degree else "    let _ = x; // a constant"]
    body += fit.horner(lambda e: f"    y = {e};", lambda a: f"    let {'mut ' if fit.degree else ''}y: f64 = {a};")
    return "\n".join(_comment(note, "/// ") + body + ["    y", "}"]) + "\n"


def _numpy(fit, name, cell):
    lo, hi = fit.center - fit.scale, fit.center + fit.scale
    note = fit.header + ["numpy maps x from the domain onto the window [-1, 1], as fitbp's t = (x - c) / s,",
                         "but as off + scl * x: the last bits of t differ, and a high degree's cancelling",
                         f"coefficients can amplify that; {name}.convert() gives raw powers, losing digits"]
    coefficients = ", ".join(number(a) for a in fit.taylor)
    return "\n".join(_comment(note, "# ") + [
        "import numpy",
        f"{name} = numpy.polynomial.Polynomial([{coefficients}],",
        f"{' ' * (len(name) + 33)}domain=[{number(lo)}, {number(hi)}], window=[-1.0, 1.0])"]) + "\n"


def _excel(fit, name, cell):
    raw, why = fit.raw_form
    if raw:
        formula = _horner_formula(fit.raw, cell)
    else:
        t = f"(({cell}-{_excel_number(fit.center)})/{_excel_number(fit.scale)})"
        formula = _horner_formula(fit.taylor, t)
    note = fit.header + [f"x in cell {cell}; {why}",
                         "Excel reads 15 significant digits of a typed number, LibreOffice all 17"]
    return "\n".join(_comment(note, "' ") + [f"={formula}"]) + "\n"


def _excel_number(value):
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def _horner_formula(coefficients, variable):
    formula = number(coefficients[-1])
    for a in reversed(coefficients[:-1]):
        formula = f"({formula})*{variable}+{_excel_number(a)}"
    return formula


def _latex(fit, name, cell):
    raw, why = fit.raw_form
    terms = fit.raw if raw else fit.taylor
    variable = "x" if raw else "t"
    equation = " ".join(_latex_term(a, i, variable, first=i == 0) for i, a in enumerate(terms))
    lines = _comment(fit.header + [why], "% ") + ["\\begin{equation}", f"  y = {equation}"]
    if not raw:
        lines.append(f"  \\quad\\text{{with}}\\quad t = \\frac{{x - {_latex_number(fit.center)}}}"
                     f"{{{_latex_number(fit.scale)}}}")
    return "\n".join(lines + ["\\end{equation}"]) + "\n"


def _latex_number(value):
    mantissa, _, exponent = number(abs(value)).partition("e")
    text = mantissa if not exponent else f"{mantissa} \\times 10^{{{int(exponent)}}}"
    return f"-{text}" if value < 0 else text


def _latex_term(value, power, variable, first):
    sign = "-" if value < 0 else "+"
    magnitude = _latex_number(abs(value))
    factor = "" if power == 0 else f" {variable}" if power == 1 else f" {variable}^{{{power}}}"
    if first:
        return f"{'-' if value < 0 else ''}{magnitude}{factor}"
    return f"{sign} {magnitude}{factor}"


WRITERS = {"c": _c, "python": _python, "javascript": _javascript, "rust": _rust, "excel": _excel,
           "latex": _latex, "numpy": _numpy}
LANGUAGES = tuple(WRITERS)
FORMULAS = ("excel", "latex")
"""The languages without a name to give: a cell formula and an equation."""


SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def equation(document, digits=4):
    """The fit as a label for a picture: (the lines of the equation, a note on what it shows, the full
    coefficients as text for the file's metadata).  Coefficients to ``digits`` significant digits,
    each with its standard error where the fit has one; raw powers of x where they lose few digits."""
    if not 1 <= digits <= 17:
        raise FitbpError(f"--digits must be 1 to 17, not {digits}")
    fit = _Fit(document)
    raw, why = fit.raw_form
    coefficients = fit.raw if raw else fit.taylor
    errors = document.get("stderr" if raw else "taylor_stderr")
    if not (isinstance(errors, list) and len(errors) == len(coefficients)
            and all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in errors)):
        errors = [None] * len(coefficients)
    variable = "x" if raw else "t"
    terms = []
    for power, (a, error) in enumerate(zip(coefficients, errors)):
        value = f"{a:.{digits}g}" + (f" ± {error:.2g}" if error is not None else "")
        if error is not None or power:
            value = f"({value})"
        factor = "" if power == 0 else variable + (str(power).translate(SUPERSCRIPTS) if power > 1 else "")
        terms.append(value + ("·" + factor if factor else ""))
    lines = ["y = " + " + ".join(terms[:3])] + [
        "    + " + " + ".join(terms[i:i + 3]) for i in range(3, len(terms), 3)]
    if not raw:
        lines.append(f"t = (x − {fit.center:.{digits}g}) / {fit.scale:.{digits}g}")
    r2 = document.get("r2")
    if isinstance(r2, (int, float)) and not isinstance(r2, bool):
        lines.append(f"R² = {r2:.{max(digits, 4)}g}")
    note = (f"coefficients to {digits} significant digits" + (", ± standard error" if errors[0] is not None else "")
            + f"; full precision: fitbp export")
    full = "; ".join([*fit.header, why, ("k" if raw else "a") + " = [" + ", ".join(map(number, coefficients)) + "]",
                      f"center {number(fit.center)}, scale {number(fit.scale)}"])
    return lines, note, full
