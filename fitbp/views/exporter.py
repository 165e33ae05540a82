"""The fit as code or formula for another program: C, Python, JavaScript, Rust, a spreadsheet cell,
LaTeX or numpy.

A curve is usually wanted elsewhere (firmware, a spreadsheet, a paper), and two things go wrong on
the way in other tools: coefficients rounded for display that no longer give the curve, and
coefficients of a scaled variable taken for those of x.  So every constant is written with the
shortest digits that read back to the same float64 (at most 17), and code evaluates exactly what
``fitbp predict`` does: Horner's rule in t = (x - c) / s (Clenshaw's for a Chebyshev fit), the same
operations in the same order, so it gives the same bits wherever the compiler does not fuse a multiply
and an add.  Formats without a place for statements (a spreadsheet formula, an equation) use the raw
powers of x when these lose few digits over the data's range, the fit's own basis otherwise, and say
which and why.
"""

from __future__ import annotations

import datetime
import math
import re

from fitbp import __version__
from fitbp.errors import FitbpError, option, printable

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


def scaled_variable(center, scale, minus="-", variable="x"):
    """t = (x - c) / s as text a user may copy: c and s to their last digit, since a centre rounded by
    half a unit moves the curve by half a unit of x times its slope."""
    negative = math.copysign(1.0, center) < 0
    return f"({variable} {'+' if negative else minus} {number(abs(center))}) / {number(scale)}"


def export(document, language, name="fitbp", cell="A2"):
    """The text of the fit in ``language``: a short header, then the code or formula."""
    if language not in LANGUAGES:
        raise FitbpError(f"unknown language {language!r} (choose from {', '.join(LANGUAGES)})")
    if language not in FORMULAS and not IDENTIFIER.fullmatch(name):
        raise FitbpError(f"{_given('name', name)} is not an identifier (letters, digits and _, not first a digit)")
    if language == "excel" and not CELL.fullmatch(cell):
        raise FitbpError(f"{_given('cell', cell)} is not a cell reference such as A2 or $B$7")
    fit = _Fit(document)
    return (SPLINE_WRITERS if fit.basis.name == "spline" else WRITERS)[language](fit, name, cell)


def _given(name, value):
    """An option and the text given for it, quoted in either words: name='2fast', --name '2fast'."""
    return option(name, printable(value), repr(printable(value)))


class _Fit:
    """What every writer needs from a model document."""

    def __init__(self, document):
        from fitbp.fitting.modelfile import basis_of, in_basis, polynomial_of  # numpy: not for the start
        from fitbp.sources import dates

        self.basis = basis_of(document)
        self.coefficients = [float(a) for a in document.get(in_basis(document)) or ()]  # none: a spline
        self.center, self.scale = float(document["center"]), float(document["scale"])
        self.degree = len(self.coefficients) - 1
        self.polynomial = polynomial_of(document)
        self.errors = document.get(in_basis(document, "stderr"))
        raw = document.get("coefficients")
        self.raw = [float(k) for k in raw] if isinstance(raw, list) and all(
            isinstance(k, (int, float)) and not isinstance(k, bool) and math.isfinite(k) for k in raw) else None
        lost = document.get("raw_digits_lost")
        self.raw_digits_lost = float(lost) if isinstance(lost, (int, float)) and not isinstance(lost, bool) else 16.0
        r2 = document.get("r2")
        self.axis = dates.Axis.of(document)
        shown = self.axis.text if self.axis else (lambda v: f"{v:.10g}")
        curve = (f"degree {self.degree} polynomial" if self.basis.polynomial else
                 f"smoothing spline of {self.basis.spline.knots.size - 1} cubic pieces "
                 f"(λ {number(self.basis.spline.lam)})" if self.basis.name == "spline" else
                 f"{self.basis.title} series ({self.basis.harmonics} harmonics of period {number(self.basis.period)}, "
                 f"trend of degree {self.basis.trend})")
        self.header = [
            f"fitbp {__version__}: {curve} fitted to {printable(document.get('source', '?'))}",
            f"x from {shown(self.center - self.scale)} to {shown(self.center + self.scale)}"
            + (f", R² {r2:.6g}" if isinstance(r2, (int, float)) and not isinstance(r2, bool) else ""),
        ]
        self.about_x = [f"x is {self.x_meaning}"] if self.axis else []

    @property
    def x_meaning(self):
        """What the number x is for a model fitted on dates: the days (or seconds) since its origin."""
        aware = " (an instant: times elsewhere are taken at that offset)" if self.axis.aware else ""
        return f"the {self.axis.unit} since {self.axis.text(0.0)}, the first date's midnight{aware}"

    @property
    def parameter(self):
        """The name of the code's argument: x, or for dates what it counts, days_since_2024_03_01."""
        if self.axis is None:
            return "x"
        return f"{self.axis.unit}_since_{self.axis.origin.date().isoformat().replace('-', '_')}"

    @property
    def raw_form(self):
        """Whether a formula may use raw powers of x, and the sentence that says why (or why not)."""
        if self.raw is not None and self.raw_digits_lost <= RAW_DIGITS:
            return True, (f"raw powers of x: they lose about {self.raw_digits_lost:.1f} of 16 digits over the "
                          "data's range")
        return False, (f"{self.basis.title} form in t = (x - c) / s: raw powers of x would lose about "
                       f"{self.raw_digits_lost:.0f} of 16 digits over the data's range")

    def numpy_digits(self):
        """How closely numpy's Polynomial with a domain follows fitbp's evaluation over the data, measured."""
        import numpy as np

        lo, hi = self.center - self.scale, self.center + self.scale
        x = np.linspace(lo, hi, 1001)
        ours = self.polynomial(x)
        twin = getattr(np.polynomial, self.basis.numpy_class)
        theirs = twin(self.coefficients, domain=[lo, hi], window=[-1.0, 1.0])(x)
        with np.errstate(all="ignore"):
            gap, size = float(np.max(np.abs(theirs - ours))), float(np.max(np.abs(ours)))
        if gap == 0.0:
            return "the last bit at 1001 points"
        if not (math.isfinite(gap) and size > 0):
            return "no measured digit"
        return f"about {max(0.0, -math.log10(gap / size)):.0f} significant digits (measured at 1001 points)"

    def t_definition(self, variable="x"):
        return scaled_variable(self.center, self.scale, variable=variable)

    def form(self, x="x"):
        """The sentence that says what the code computes."""
        t = f"t = {self.t_definition(x)}"
        if not self.basis.polynomial:
            return (f"y = sum of a_i t^i (i <= {self.basis.trend}) with {t}, plus sum of alpha_k cos(k w) + "
                    f"beta_k sin(k w) (k <= {self.basis.harmonics}) with w = 2 pi {x} / P, P = "
                    f"{number(self.basis.period)}, as 'fitbp predict'")
        if self.polynomial.through_intercept:
            return (f"y = {number(self.polynomial.intercept)} + {x} * sum of q_i t^i with {t} (k0 is fixed, so "
                    f"y = k0 exactly at {x} = 0), by Horner's rule as 'fitbp predict'")
        if not self.basis.nested:
            return (f"y = sum of c_i T_i(t) with {t}, T_i the {self.basis.title} polynomials, by Clenshaw's "
                    "recurrence as 'fitbp predict'")
        return f"y = sum of a_i t^i with {t}, by Horner's rule as 'fitbp predict'"

    def preamble(self, scaled, unused):
        """The statement before the sum's: ``scaled`` (t = …) where t is used, ``unused`` (x marked as
        unused) for a constant, nothing for k0 + x·q with q a constant."""
        p = self.polynomial
        if len(p.quotient if p.through_intercept else self.coefficients) > 1:
            return [scaled]
        return [] if p.through_intercept else [unused]

    def statements(self, declare, assign, x="x", trig="{}({})"):
        """The statements that evaluate the curve as predict does, each ``declare(name, value, mutable)``
        (mutable: assigned again later) or ``assign(name, expression)``; y holds the curve at the end.
        ``trig`` writes the language's cos and sin: ``trig.format("cos", argument)``."""
        steps = self._series_steps(trig) if not self.basis.polynomial else self._steps(x)
        later = {name for name, _, first in steps if not first}
        return [declare(name, value, name in later) if first else assign(name, value) for name, value, first in steps]

    def _steps(self, x):
        """(name, expression, whether it is the name's first) for predict's evaluation.  Horner's rule:
        y = a_d, then y = y * t + a_i; with a fixed k0, that of q and then y = y * x + k0 (model.Polynomial).
        Clenshaw's (fitbp.fitting.bases.Chebyshev.evaluate, the same operations): b = c_k + t2 * near − far
        from the top, two names taking turns, then y = c_0 + t * b_1 − b_2."""
        p = self.polynomial
        if self.basis.nested or p.through_intercept or self.degree == 0:
            coefficients = p.quotient if p.through_intercept else self.coefficients
            steps = [("y", number(coefficients[-1]), True)] + [("y", f"y * t + {number(a)}", False)
                                                               for a in reversed(coefficients[:-1])]
            return steps + ([("y", f"y * {x} + {number(p.intercept)}", False)] if p.through_intercept else [])
        c = self.coefficients
        steps = [("t2", "2.0 * t", True)] * (self.degree > 1) + [("b1", number(c[-1]), True), ("b2", "0.0", True)]
        near, far = "b1", "b2"
        for value in reversed(c[1:-1]):
            steps.append((far, f"{number(value)} + t2 * {near} - {far}", False))
            near, far = far, near
        return steps + [("y", f"{number(c[0])} + t * {near} - {far}", True)]


    def _series_steps(self, trig):
        """A Fourier series as fitbp.fitting.fourier.Fourier evaluates it: the trend by Horner's rule in t,
        w = (2π/P)·(c + s·t), then each harmonic's α_k cos(k w) + β_k sin(k w) added."""
        b, c = self.basis, self.coefficients
        steps = [("y", number(c[b.trend]), True)] + [("y", f"y * t + {number(a)}", False)
                                                     for a in reversed(c[:b.trend])]
        steps.append(("w", f"{number(2.0 * math.pi / b.period)} * ({number(self.center)} + {number(self.scale)} * t)",
                      True))
        for k in range(1, b.harmonics + 1):
            angle = f"{float(k)!r} * w"
            steps.append(("y", f"y {_signed(c[b.trend + 2 * k - 1])} * {trig.format('cos', angle)} "
                               f"{_signed(c[b.trend + 2 * k])} * {trig.format('sin', angle)}", False))
        return steps


def _signed(value):
    """'+ 0.5' or '- 0.5': a term added, its sign as an operator."""
    return f"{'-' if math.copysign(1.0, value) < 0 else '+'} {number(abs(value))}"


def _comment(lines, start, middle=None, end=None):
    middle = start if middle is None else middle
    if end is None:
        return [f"{start}{lines[0]}", *[f"{middle}{line}" for line in lines[1:]]]
    return [f"{start}{lines[0]}", *[f"{middle}{line}" for line in lines[1:]], end]


def _c(fit, name, cell):
    x = fit.parameter
    note = fit.header + fit.about_x + [f"{fit.form(x)}; C99, compile without -ffast-math (and FMA contraction) "
                                       "for the same bits" + ("" if fit.basis.polynomial else ", link with -lm")]
    body = ["#include <math.h>", ""] * (not fit.basis.polynomial) + [f"static inline double {name}(double {x})", "{",
            *fit.preamble(f"    const double t = {fit.t_definition(x)};", f"    (void){x};  /* a constant */")]
    body += fit.statements(lambda n, v, _: f"    double {n} = {v};", lambda n, e: f"    {n} = {e};", x)
    return "\n".join(_comment(note, "/* ", " * ", " */") + body + ["    return y;", "}"]) + "\n"


def _python(fit, name, cell):
    takes = [] if fit.axis is None else [
        f"x is a datetime.datetime with a UTC offset, or a number: {fit.x_meaning}" if fit.axis.aware else
        f"x is a naive datetime.datetime, a datetime.date (its midnight) or a number: {fit.x_meaning}"]
    docstring = "\n    ".join(fit.header + takes) + "\n\n    " + fit.form().replace("^", "**")
    body = [f"def {name}(x):", '    """' + docstring + '.\n    """']
    if fit.axis is not None:  # the reckoning of fitbp's reader: microseconds to seconds, then to days
        per = " / 86400.0" if fit.axis.unit == "days" else ""
        body = ["import datetime", "", ""] + body + [
            "    if isinstance(x, datetime.date):",
            "        if not isinstance(x, datetime.datetime):",
            "            x = datetime.datetime.combine(x, datetime.time())",
            f"        x = (x - datetime.datetime.fromisoformat({fit.axis.origin.isoformat()!r})) "
            f"/ datetime.timedelta(seconds=1){per}"]
    body += fit.preamble(f"    t = {fit.t_definition()}", "    del x  # a constant")
    body += fit.statements(lambda n, v, _: f"    {n} = {v}", lambda n, e: f"    {n} = {e}", trig="math.{}({})")
    if not fit.basis.polynomial:
        body = ["import math", "", ""] * ("import datetime" not in body) + body
        if body[0] == "import datetime":
            body.insert(1, "import math")
    return "\n".join(body + ["    return y"]) + "\n"


def _javascript(fit, name, cell):
    x = fit.parameter
    note = fit.header + fit.about_x + [
        fit.form(x)]
    if fit.axis is not None:
        origin = fit.axis.origin.isoformat() + ("" if fit.axis.aware else "Z")
        note.append(f"{x} of a Date d: (d - Date.parse({origin!r})) / {fit.axis.seconds * 1000:.0f}"
                    + ("" if fit.axis.aware else ", d's wall clock taken as UTC"))
    body = [f"function {name}({x}) {{",
            *fit.preamble(f"  const t = {fit.t_definition(x)};", f"  void {x};  // a constant")]
    body += fit.statements(lambda n, v, _: f"  let {n} = {v};", lambda n, e: f"  {n} = {e};", x, trig="Math.{}({})")
    return "\n".join(_comment(note, "// ") + body + ["  return y;", "}"]) + "\n"


def _rust(fit, name, cell):
    x = fit.parameter
    note = fit.header + fit.about_x + [
        fit.form(x)]
    body = [f"pub fn {name}({x}: f64) -> f64 {{",
            *fit.preamble(f"    let t: f64 = {fit.t_definition(x)};", f"    let _ = {x}; // a constant")]
    body += fit.statements(lambda n, v, mutable: f"    let {'mut ' if mutable else ''}{n}: f64 = {v};",
                           lambda n, e: f"    {n} = {e};", x, trig="({1}).{0}()")
    return "\n".join(_comment(note, "/// ") + body + ["    y", "}"]) + "\n"


def _numpy(fit, name, cell):
    if not fit.basis.polynomial:  # numpy.polynomial has no Fourier series: a function of arrays instead
        body = ["import numpy", "", "", f"def {name}(x):", '    """' + "\n    ".join(fit.header + fit.about_x)
                + "\n\n    " + fit.form() + ', for numpy arrays.\n    """',
                f"    t = (numpy.asarray(x, dtype=numpy.float64) {fit.t_definition('x')[3:]}"]
        body += fit.statements(lambda n, v, _: f"    {n} = {v}", lambda n, e: f"    {n} = {e}", trig="numpy.{}({})")
        return "\n".join(body + ["    return y"]) + "\n"
    lo, hi = fit.center - fit.scale, fit.center + fit.scale
    note = fit.header + fit.about_x + [
        "numpy maps x from the domain onto the window [-1, 1], as fitbp's t = (x - c) / s,",
                         "but as off + scl * x: the last bits of t differ, and a high degree's cancelling",
                         f"coefficients can amplify that: {name} agrees with 'fitbp predict' to "
                         f"{fit.numpy_digits()} over the data's range;",
                         f"{name}.convert(kind=numpy.polynomial.Polynomial) gives raw powers, losing digits"]
    if fit.axis is not None:
        origin = fit.axis.datetime64(0.0).astype("datetime64[s]")
        unit = "D" if fit.axis.unit == "days" else "s"  # numpy's codes
        note.append(f"x of datetime64 d{' (in UTC)' if fit.axis.aware else ''}: "
                    f"(d - numpy.datetime64('{origin}')) / numpy.timedelta64(1, '{unit}')")
    coefficients = ", ".join(number(a) for a in fit.coefficients)
    twin = f"numpy.polynomial.{fit.basis.numpy_class}"
    return "\n".join(_comment(note, "# ") + [
        "import numpy",
        f"{name} = {twin}([{coefficients}],",
        f"{' ' * (len(name) + len(twin) + 6)}domain=[{number(lo)}, {number(hi)}], window=[-1.0, 1.0])"]) + "\n"


def _excel(fit, name, cell):
    raw, why = fit.raw_form
    where, x = f"x in cell {cell}", cell
    if fit.axis is not None:  # a date cell holds the serial day, counted from 1899-12-30
        serial = (fit.axis.origin.replace(tzinfo=None) - datetime.datetime(1899, 12, 30)).days
        days = f"{cell}-{serial}"
        x = f"({days})" if fit.axis.unit == "days" else f"(({days})*86400)"
        offset = " (its time at the UTC offset of the model's dates)" if fit.axis.aware else ""
        where = f"a date in cell {cell}{offset}, so x = {x[1:-1]}: {serial} is the serial day of the origin"
    if not fit.basis.polynomial:
        formula, why = _series_formula(fit, x), "the trend in t = (x - c) / s, the harmonics in x"
    elif raw:
        formula = _horner_formula(fit.raw, x)
    elif not fit.basis.nested:
        raise FitbpError(f"a spreadsheet cell cannot hold Clenshaw's recurrence, and this {fit.basis.title} fit's "
                         f"raw powers of x would lose about {fit.raw_digits_lost:.0f} of 16 digits: export it to "
                         f"{', '.join(language for language in LANGUAGES if language not in FORMULAS)}")
    else:
        t = f"(({x}-{_excel_number(fit.center)})/{_excel_number(fit.scale)})"
        p = fit.polynomial
        formula = (f"({_horner_formula(p.quotient, t)})*{x}+{_excel_number(p.intercept)}" if p.through_intercept
                   else _horner_formula(fit.coefficients, t))
    note = fit.header + fit.about_x + [f"{where}; {why}",
                         "Excel reads 15 significant digits of a typed number, LibreOffice all 17"]
    return "\n".join(_comment(note, "' ") + [f"={formula}"]) + "\n"


def _series_formula(fit, x):
    """A Fourier series in one cell: the trend by Horner's rule in t, then each harmonic."""
    b, c = fit.basis, fit.coefficients
    t = f"(({x}-{_excel_number(fit.center)})/{_excel_number(fit.scale)})"
    w = f"({number(2.0 * math.pi / b.period)}*{x})"
    harmonics = "".join(f"+{_excel_number(c[b.trend + 2 * k - 1])}*COS({k}*{w})"
                        f"+{_excel_number(c[b.trend + 2 * k])}*SIN({k}*{w})" for k in range(1, b.harmonics + 1))
    return _horner_formula(c[:b.trend + 1], t) + harmonics


def _excel_number(value):
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def _horner_formula(coefficients, variable):
    formula = number(coefficients[-1])
    for a in reversed(coefficients[:-1]):
        formula = f"({formula})*{variable}+{_excel_number(a)}"
    return formula


def _latex(fit, name, cell):
    if not fit.basis.polynomial:
        return _latex_series(fit)
    raw, why = fit.raw_form
    terms = fit.raw if raw else fit.coefficients
    variable = "x" if raw else "t"
    factor = None if raw or fit.basis.nested else (lambda i: f" T_{{{i}}}(t)")
    equation = " ".join(_latex_term(a, i, variable, first=i == 0, factor=factor) for i, a in enumerate(terms))
    lines = _comment(fit.header + fit.about_x + [why], "% ") + ["\\begin{equation}", f"  y = {equation}"]
    if not raw:
        sign = "+" if math.copysign(1.0, fit.center) < 0 else "-"
        lines.append(f"  \\quad\\text{{with}}\\quad t = \\frac{{x {sign} {_latex_number(abs(fit.center))}}}"
                     f"{{{_latex_number(fit.scale)}}}")
        if factor is not None:
            lines.append(f"  \\quad\\text{{and the {fit.basis.title} polynomials}}\\quad "
                         "T_0 = 1,\\ T_1 = t,\\ T_{i+1} = 2t\\,T_i - T_{i-1}")
    if fit.axis is not None:
        lines.append(f"  \\quad\\text{{and $x$ {fit.x_meaning}}}")
    return "\n".join(lines + ["\\end{equation}"]) + "\n"


def _latex_series(fit):
    """y = Σ a_i t^i + Σ (α_k cos 2πkx/P + β_k sin 2πkx/P), with t and P written out."""
    b, c = fit.basis, fit.coefficients
    terms = [_latex_term(a, i, "t", first=i == 0) for i, a in enumerate(c[:b.trend + 1])]
    for k in range(1, b.harmonics + 1):
        angle = f"\\frac{{{2 * k if k > 1 else 2}\\pi x}}{{P}}"
        for f, a in (("cos", c[b.trend + 2 * k - 1]), ("sin", c[b.trend + 2 * k])):
            terms.append(_latex_term(a, 0, "t", first=False) + f" \\{f}{angle}")
    sign = "+" if math.copysign(1.0, fit.center) < 0 else "-"
    lines = _comment(fit.header + fit.about_x, "% ") + ["\\begin{equation}", f"  y = {' '.join(terms)}",
                                                        f"  \\quad\\text{{with}}\\quad t = \\frac{{x {sign} "
                                                        f"{_latex_number(abs(fit.center))}}}{{{_latex_number(fit.scale)}}}"
                                                        f",\\ P = {_latex_number(b.period)}"]
    if fit.axis is not None:
        lines.append(f"  \\quad\\text{{and $x$ {fit.x_meaning}}}")
    return "\n".join(lines + ["\\end{equation}"]) + "\n"


def _latex_number(value):
    mantissa, _, exponent = number(abs(value)).partition("e")
    text = mantissa if not exponent else f"{mantissa} \\times 10^{{{int(exponent)}}}"
    return f"-{text}" if value < 0 else text


def _latex_term(value, power, variable, first, factor=None):
    sign = "-" if value < 0 else "+"
    magnitude = _latex_number(abs(value))
    if factor is not None and power:
        factor = factor(power)
    else:
        factor = "" if power == 0 else f" {variable}" if power == 1 else f" {variable}^{{{power}}}"
    if first:
        return f"{'-' if value < 0 else ''}{magnitude}{factor}"
    return f"{sign} {magnitude}{factor}"


WRITERS = {"c": _c, "python": _python, "javascript": _javascript, "rust": _rust, "excel": _excel,
           "latex": _latex, "numpy": _numpy}
LANGUAGES = tuple(WRITERS)
FORMULAS = ("excel", "latex")
"""The languages without a name to give: a cell formula and an equation."""


# ------------------------------------------------------------------ a smoothing spline: its pieces as tables

def _pieces(fit):
    """The spline's table (x_i, a, b, c, d), a row an interval: y = a + t·(b + t·(c + t·d)), t = x − x_i,
    x_i the last row's at or below x (the first row's below them all), as Spline.__call__ evaluates it."""
    return [[number(v) for v in column] for column in fit.polynomial.spline.pieces().T]


def _spline_form(fit, x="x"):
    return (f"y = a + t * (b + t * (c + t * d)) with t = {x} - x_i, of the row i with the last x_i <= {x} (the first "
            f"row below them all; the first and last pieces carry on beyond the data), as 'fitbp predict'")


def _rows(values, indent, per=4):
    """The values as lines of ``per``, each line indented and ending with a comma."""
    return [indent + ", ".join(values[i:i + per]) + "," for i in range(0, len(values), per)]


def _spline_c(fit, name, cell):
    x, columns = fit.parameter, _pieces(fit)
    size = len(columns[0])
    note = fit.header + fit.about_x + [_spline_form(fit, x) + "; C99, compile without -ffast-math (and FMA "
                                                             "contraction) for the same bits"]
    body = []
    for letter, column in zip("xabcd", columns):
        body += [f"static const double {name}_{letter}[{size}] = {{", *_rows(column, "    "), "};"]
    body += [f"static inline double {name}(double {x})", "{", f"    int lo = 0, hi = {size - 1};",
             "    while (lo < hi) {", "        int mid = lo + (hi - lo + 1) / 2;",
             f"        if ({name}_x[mid] <= {x}) lo = mid; else hi = mid - 1;", "    }",
             f"    const double t = {x} - {name}_x[lo];",
             f"    return {name}_a[lo] + t * ({name}_b[lo] + t * ({name}_c[lo] + t * {name}_d[lo]));", "}"]
    return "\n".join(_comment(note, "/* ", " * ", " */") + body) + "\n"


def _spline_python(fit, name, cell):
    columns = _pieces(fit)
    tables = []
    for letter, column in zip("XABCD", columns):
        tables += [f"_{name.upper()}_{letter} = (", *_rows(column, "    "), ")"]
    docstring = "\n    ".join(fit.header + fit.about_x) + "\n\n    " + _spline_form(fit)
    n = f"_{name.upper()}_"
    return "\n".join(["import bisect", "", *tables, "", "", f"def {name}(x):", '    """' + docstring + '.\n    """',
                      f"    i = max(bisect.bisect_right({n}X, x) - 1, 0)", f"    t = x - {n}X[i]",
                      f"    return {n}A[i] + t * ({n}B[i] + t * ({n}C[i] + t * {n}D[i]))"]) + "\n"


def _spline_javascript(fit, name, cell):
    x, columns = fit.parameter, _pieces(fit)
    note = fit.header + fit.about_x + [_spline_form(fit, x)]
    body = [f"function {name}({x}) {{"]
    for letter, column in zip("XABCD", columns):
        body += [f"  const {letter} = [", *_rows(column, "    "), "  ];"]
    body += [f"  let lo = 0, hi = {len(columns[0]) - 1};", "  while (lo < hi) {",
             "    const mid = lo + Math.ceil((hi - lo) / 2);", f"    if (X[mid] <= {x}) lo = mid; else hi = mid - 1;",
             "  }", f"  const t = {x} - X[lo];", "  return A[lo] + t * (B[lo] + t * (C[lo] + t * D[lo]));", "}"]
    return "\n".join(_comment(note, "// ") + body) + "\n"


def _spline_rust(fit, name, cell):
    x, columns = fit.parameter, _pieces(fit)
    size, n = len(columns[0]), name.upper()
    note = fit.header + fit.about_x + [_spline_form(fit, x)]
    body = []
    for letter, column in zip("XABCD", columns):
        body += [f"const {n}_{letter}: [f64; {size}] = [", *_rows(column, "    "), "];"]
    body += ["", *_comment(note, "/// "), f"pub fn {name}({x}: f64) -> f64 {{",
             f"    let i = {n}_X.partition_point(|&v| v <= {x}).saturating_sub(1);",
             f"    let t = {x} - {n}_X[i];",
             f"    {n}_A[i] + t * ({n}_B[i] + t * ({n}_C[i] + t * {n}_D[i]))", "}"]
    return "\n".join(body) + "\n"


def _spline_numpy(fit, name, cell):
    columns = _pieces(fit)
    n = f"_{name.upper()}_"
    tables = []
    for letter, column in zip("XABCD", columns):
        tables += [f"{n}{letter} = numpy.array([", *_rows(column, "    "), "])"]
    docstring = "\n    ".join(fit.header + fit.about_x) + "\n\n    " + _spline_form(fit) + ", for numpy arrays"
    return "\n".join(["import numpy", "", *tables, "", "", f"def {name}(x):", '    """' + docstring + '.\n    """',
                      "    x = numpy.asarray(x, dtype=numpy.float64)",
                      f"    i = numpy.clip(numpy.searchsorted({n}X, x, side='right') - 1, 0, {n}X.size - 1)",
                      f"    t = x - {n}X[i]",
                      f"    return {n}A[i] + t * ({n}B[i] + t * ({n}C[i] + t * {n}D[i]))"]) + "\n"


def _no_formula(what):
    def refuse(fit, name, cell):
        pieces = fit.basis.spline.knots.size - 1
        raise FitbpError(f"a smoothing spline of {pieces} cubic pieces has no {what}: export it to c, python, "
                         "javascript, rust or numpy")
    return refuse


SPLINE_WRITERS = {"c": _spline_c, "python": _spline_python, "javascript": _spline_javascript, "rust": _spline_rust,
                  "excel": _no_formula("formula for one cell"), "latex": _no_formula("equation to typeset"),
                  "numpy": _spline_numpy}


SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def equation(document, digits=4):
    """The fit as a label for a picture: (the lines of the equation, a note on what it shows, the full
    coefficients as text for the file's metadata).  Coefficients to ``digits`` significant digits,
    each with its standard error where the fit has one; raw powers of x where they lose few digits."""
    if not 1 <= digits <= 17:
        raise FitbpError(f"digits must be 1 to 17, not {digits}")
    fit = _Fit(document)
    if fit.basis.name == "spline":
        return _spline_equation(fit, document)
    if not fit.basis.polynomial:
        return _series_equation(fit, document, digits)
    raw, why = fit.raw_form
    coefficients = fit.raw if raw else fit.coefficients
    errors = document.get("stderr") if raw else fit.errors
    if not (isinstance(errors, list) and len(errors) == len(coefficients)
            and all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in errors)):
        errors = [None] * len(coefficients)
    variable = "x" if raw else "t"
    terms = []
    for power, (a, error) in enumerate(zip(coefficients, errors)):
        value = f"{a:.{digits}g}" + (f" ± {error:.2g}" if error is not None else "")
        if error is not None or power:
            value = f"({value})"
        if not (raw or fit.basis.nested):
            factor = f"T{str(power).translate(SUBSCRIPTS)}({variable})" if power else ""
        else:
            factor = "" if power == 0 else variable + (str(power).translate(SUPERSCRIPTS) if power > 1 else "")
        terms.append(value + ("·" + factor if factor else ""))
    lines = ["y = " + " + ".join(terms[:3])] + [
        "    + " + " + ".join(terms[i:i + 3]) for i in range(3, len(terms), 3)]
    if not raw:
        lines.append(f"t = {scaled_variable(fit.center, fit.scale, minus='−')}")
    if fit.axis is not None:
        lines.append(f"x = {fit.axis.unit} since {fit.axis.text(0.0)}")
    r2 = document.get("r2")
    if isinstance(r2, (int, float)) and not isinstance(r2, bool):
        lines.append(f"R² = {r2:.{max(digits, 4)}g}")
    note = (f"coefficients to {digits} significant digits" + (", ± standard error" if errors[0] is not None else "")
            + "; full precision: fitbp export")
    listed = ("k" if raw else fit.basis.symbol) + " = [" + ", ".join(map(number, coefficients)) + "]"
    full = "; ".join([*fit.header, *fit.about_x, why, listed,
                      f"center {number(fit.center)}, scale {number(fit.scale)}"])
    return lines, note, full


def _spline_equation(fit, document):
    """equation() for a smoothing spline, which has no formula to print: what it is, and where its pieces are."""
    spline = fit.basis.spline
    lines = [f"smoothing spline: {spline.knots.size - 1} cubic pieces", f"λ = {spline.lam:.4g}, "
             f"{spline.edf:.4g} effective parameters"]
    r2 = document.get("r2")
    if isinstance(r2, (int, float)) and not isinstance(r2, bool):
        lines.append(f"R² = {r2:.4g}")
    return lines, "its pieces: fitbp export", "; ".join([*fit.header, *fit.about_x, _spline_form(fit)])


def _series_equation(fit, document, digits):
    """equation() for a Fourier series: each term by the function it multiplies, then t and P."""
    b = fit.basis
    errors = fit.errors if isinstance(fit.errors, list) and len(fit.errors) == len(fit.coefficients) else None
    terms = []
    for i, (a, label) in enumerate(zip(fit.coefficients, b.labels())):
        error = errors[i] if errors and isinstance(errors[i], (int, float)) else None
        value = f"({a:.{digits}g}" + (f" ± {error:.2g})" if error is not None else ")")
        terms.append(value if label == "1" else f"{value}·{label.replace('^', '')}")
    lines = ["y = " + " + ".join(terms[:3])] + ["    + " + " + ".join(terms[i:i + 3]) for i in range(3, len(terms), 3)]
    period = f"P = {b.period:.{max(digits, 6)}g}" + (f" ± {b.period_stderr:.2g}" if b.period_stderr else "")
    lines += [f"t = {scaled_variable(fit.center, fit.scale, minus='−')}", period]
    r2 = document.get("r2")
    if isinstance(r2, (int, float)) and not isinstance(r2, bool):
        lines.append(f"R² = {r2:.{max(digits, 4)}g}")
    note = f"coefficients to {digits} significant digits" + (", ± standard error" if errors else "")
    listed = f"{b.symbol} = [" + ", ".join(map(number, fit.coefficients)) + "]"
    full = "; ".join([*fit.header, *fit.about_x, listed, f"center {number(fit.center)}, scale {number(fit.scale)}, "
                      f"period {number(b.period)}"])
    return lines, note + "; full precision: fitbp export", full
