"""The options two or more commands share, each declared once, and the checks of their values.

An option whose flag and values are one thing but whose purpose differs by command (--seed seeds
what that command draws, --loss is what fit trains and graph draws) is declared once by a function
that takes the command's own words.  Options that travel together are a Group: a class whose
attributes are the options, which a command takes as one parameter
(``data_options: DataOptions = DataOptions``) and ``grouped`` spreads into its options in that place.
Rules between options are the library's (fitbp.library.check_options); only what one option's value
may be is checked here.
"""

import functools
import inspect
import math
from enum import Enum
from typing import List, Optional

import typer

from fitbp.cli.console import flag
from fitbp.errors import FitbpError
from fitbp.fitting import bases, losses
from fitbp.views.exporter import LANGUAGES


def _choices(name, values):
    """A str Enum of ``values``, as typer wants choices."""
    return Enum(name, {value: value for value in values}, type=str)


Loss = _choices("Loss", losses.LOSSES)
"""--loss's choices: the names in the table of losses (fitbp.fitting.losses), which says what each is."""
Basis = _choices("Basis", bases.FAMILIES)
"""--basis's choices: the bases of fitbp.fitting.bases, the Fourier series (fitbp.fitting.fourier) and the
smoothing spline (fitbp.fitting.smoothing)."""
Optimizer = _choices("Optimizer", ("newton", "cg", "gd", "momentum", "adam"))
Engine = _choices("Engine", ("local", "dask"))
TimeUnit = _choices("TimeUnit", ("d", "s"))
Interval = _choices("Interval", ("confidence", "prediction"))
Sample = _choices("Sample", ("sine", "cubic", "runge", "exp", "years", "seasonal", "kink"))
Language = _choices("Language", LANGUAGES)


# ---------------------------------------------------------------------- values
def positive_finite(value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive number, not {value}")
    return value


def non_negative_finite(value):
    if not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"must be 0 or a positive number, not {value}")
    return value


def non_negative_or_none(value):
    return None if value is None else non_negative_finite(value)


def _number_or_auto(value, allowed, words):
    """A number ``allowed(number)`` says is fine, or auto (None: not given); else the usage error."""
    if value is None or value == "auto":
        return value
    try:
        number = float(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither a number nor auto") from None
    if not (math.isfinite(number) and allowed(number)):
        raise typer.BadParameter(f"{value} is not {words}")
    return number


def period_or_auto(value):
    """--period: a positive number of x's units, or auto."""
    return _number_or_auto(value, lambda v: v > 0, "a positive number")


def half_life(value):
    """--half-life: rows (500) or a time (7d, 12h), as fitbp.fitting.forgetting.parse reads it."""
    if value is None:
        return None
    from fitbp.fitting import forgetting

    try:
        return forgetting.parse(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def rows_or_seconds(value):
    """--every: N rows (a whole number of 1 or more, an int) or T seconds ('5s', '0.5s': a float)."""
    text = value.strip()
    if text.endswith("s"):
        try:
            seconds = float(text[:-1])
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise typer.BadParameter(f"{value!r} is not a positive number of seconds, such as 5s")
        return seconds
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise typer.BadParameter(f"{value!r} is neither a whole number of rows of 1 or more nor seconds, such as 5s")
    return int(text)


def smooth_or_auto(value):
    """--smooth: λ, a number of 0 or more, or auto."""
    return _number_or_auto(value, lambda v: v >= 0, "a number of 0 or more")


def harmonics_or_auto(value):
    """--harmonics: a whole number of 1 or more, or auto."""
    if value is None or value == "auto":
        return value
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise typer.BadParameter(f"{value!r} is neither a whole number of 1 or more nor auto")
    return int(value)


def degree_or_auto(value):
    """'auto' (None) or a whole number of 0 or more."""
    if value == "auto":
        return None
    if not (value.isascii() and value.isdigit()):
        raise typer.BadParameter(f"must be auto or a whole number of 0 or more, not {value!r}")
    return int(value)


SIZES = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


def size(value):
    """Bytes from '256MB', '1G', '64k' or a plain number (binary units: 1 MB is 2**20 bytes)."""
    text = value.strip().lower().replace(" ", "")
    number = text.rstrip("kmgb")
    unit = text[len(number):]
    try:
        amount = float(number)
    except ValueError:
        amount = math.nan
    if unit not in SIZES or not (math.isfinite(amount) and amount > 0):
        raise typer.BadParameter(f"must be a size such as 256MB, 2G or 64k, not {value!r}")
    return int(amount * SIZES[unit])


def partition_size(value):
    if value is None:
        return None
    bytes_ = size(value)
    if bytes_ < 1024:
        raise typer.BadParameter(f"must be 1k or more (a piece holds whole lines), not {value!r}")
    return bytes_


def fixed_terms(values):
    """{power: value} of --fix POWER=VALUE options."""
    fixed = {}
    for text in values or ():
        power, equals, value = text.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (equals and power.strip().isdigit() and math.isfinite(number)):
            raise typer.BadParameter(f"must be POWER=VALUE, such as 0=0 or 2=1.5, not {text!r}", param_hint="--fix")
        if int(power) in fixed:
            raise typer.BadParameter(f"x^{int(power)} is fixed twice", param_hint="--fix")
        fixed[int(power)] = number
    return fixed


def level(value):
    if not (math.isfinite(value) and 0.0 < value < 1.0 and (1.0 + value) / 2.0 < 1.0):  # its quantile exists
        raise typer.BadParameter(f"must be a probability strictly between 0 and 1, such as 0.95, not {value:g}")
    return value


def known_encoding(value):
    from fitbp.sources import decode

    try:
        return decode.check_encoding(value)
    except FitbpError as e:
        raise typer.BadParameter(e.said(flag)) from None


def decimal_mark(value):
    if value not in (".", ","):
        raise typer.BadParameter(f"must be . or , not {value!r}")
    return value


def known_delimiter(value):
    from fitbp.sources import sniff

    if value is not None:
        try:
            sniff.delimiter_named(value)
        except FitbpError as e:
            raise typer.BadParameter(e.said(flag)) from None
    return value


# ---------------------------------------------------------------------- options
def column(axis, default, of=""):
    """--x or --y: a column of a CSV file."""
    return typer.Option(None, f"--{axis}", metavar="COL",
                        help=f"{axis} column{of}: header name or 1-based number [default: {default}].")


X, Y = column("x", "1"), column("y", "2")
DATA = typer.Argument(..., metavar="DATA", help="CSV files (.gz too) or Parquet files, shell-style globs of them in "
                      "quotes ('logs/*.csv'), read as one data set; or - for standard input.")
DECIMAL = typer.Option(".", "--decimal", callback=decimal_mark, metavar="MARK",
                       help="Decimal mark of the numbers: . or , (1,5 as 1.5; the delimiter is then ; or tab).")
MEMORY = typer.Option("256MB", "--memory", metavar="SIZE", callback=size,
                      help="Most memory for the numbers (16 bytes a point); larger data is read in blocks, one pass "
                           "for a fixed degree (standard input is spooled to a temporary file).")
def confidence(of):
    """--level, its help saying what the command draws or prints at that level."""
    return typer.Option(0.95, "--level", metavar="P", callback=level, help=f"Confidence level of {of}.")
MODEL = typer.Option("fitbp.json", "--model", "-m", metavar="FILE", help="Model file written by 'fitbp fit'.")
QUIET = typer.Option(False, "--quiet", "-q", help="Print nothing but errors and the result.")
TABLE_OR_JSON = "Print one JSON object instead of the table."


def degree(default):
    """--degree of the commands that take a whole number (fit's also takes auto)."""
    return typer.Option(default, "--degree", "-d", metavar="N", min=0, help="Highest power of the polynomial.")


def series(what):
    """--period, --harmonics and --trend of graph and gradcheck: a Fourier series instead of a polynomial."""
    return (typer.Option(None, "--period", metavar="P|auto", callback=period_or_auto,
                         help=f"{what} of a Fourier series instead, its period a parameter (ω = 2π/P under "
                              "cosine and sine nodes): P, or auto."),
            typer.Option(2, "--harmonics", metavar="K", min=1, help="With --period: the harmonics."),
            typer.Option(0, "--trend", metavar="D", min=0, max=10, help="With --period: the trend's degree."))


def spline(what):
    """--smooth of graph and gradcheck: a smoothing spline's criterion instead of a polynomial's loss."""
    return typer.Option(None, "--smooth", metavar="LAMBDA|auto", callback=smooth_or_auto,
                        help=f"{what} of a smoothing spline's criterion instead, Σ W(g − ȳ)² + λ∫f''² over n, its "
                             "values g at every distinct x the parameters: λ, or auto (GCV's).")


def loss(what):
    return typer.Option(Loss.mse, "--loss", help=what)


def seed(of_what):
    return typer.Option(0, "--seed", metavar="N", min=0, help=f"Seed of {of_what}.")


START_SEED = seed("the random starting coefficients")
"""fit's and graph's --seed: the coefficients training starts from, which graph shows the graph at."""


def json_output(what):
    return typer.Option(False, "--json", help=what)


def tol(default, what):
    return typer.Option(default, "--tol", metavar="T", callback=non_negative_finite, help=what)


def output(default, what):
    return typer.Option(default, "--output", "-o", metavar="FILE", help=what)


def sigma_new(interval_option):
    return typer.Option(None, "--sigma-new", metavar="S", callback=positive_finite,
                        help=f"σ of a new measurement, for {interval_option} prediction: needed for a model fitted "
                             "with --sigma or --weights.")


OPTIONAL_VALUES = {"plot": {"--band": ("confidence", ("confidence", "prediction"))}}
"""Options whose value may be left out (click asks for one): plot --band means --band confidence."""


# ---------------------------------------------------------------------- groups
class Group:
    """Options that travel together: each a class attribute, annotated with its type, whose value is
    its typer option; an instance holds the values given.  (Not a dataclass: making one would cost
    half a millisecond of every start.)"""

    def __init__(self, **values):
        vars(self).update(values)

    @classmethod
    def parameters(cls):
        """The options as a command's parameters, as typer reads them."""
        return [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=getattr(cls, name),
                                  annotation=kind) for name, kind in cls.__annotations__.items()]


class DataOptions(Group):
    """What the points are: how DATA is read, their σ or weights, their dates, and the raw terms a fit
    keeps fixed: fit's and select's options, which change what --degree auto scores."""

    x: Optional[str] = X
    y: Optional[str] = Y
    delimiter: Optional[str] = typer.Option(None, "--delimiter", metavar="D", callback=known_delimiter,
                                            help="Force ',', ';', 'tab', '|' or 'whitespace'.")
    encoding: str = typer.Option("utf-8-sig", "--encoding", metavar="NAME", callback=known_encoding,
                                 help="Text encoding of the file.")
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Drop rows with empty, non-numeric, NaN or inf cells (a σ of inf is a "
                                           "weight of 0: its row is kept, out of the fit).")
    decimal: str = DECIMAL
    sigma: Optional[str] = typer.Option(None, "--sigma", metavar="COL",
                                        help="Column of each y's standard deviation σ: weighted least squares, "
                                             "w = 1/σ² (σ = inf: the row is kept out of the fit).")
    weights: Optional[str] = typer.Option(None, "--weights", metavar="COL",
                                          help="Column of weights w = 1/σ² (not 1/σ, numpy.polyfit's w); "
                                               "0 keeps a row out of the fit, as in R's lm.")
    time_unit: TimeUnit = typer.Option(TimeUnit.d, "--time-unit",
                                       help="x of dates and times in days (d) or seconds (s) since the first "
                                            "date's midnight.")
    fix: List[str] = typer.Option([], "--fix", metavar="POWER=VALUE",
                                  help="Fix the raw coefficient of x^POWER (repeatable; --fix 0=0: through the "
                                       "origin); the others are trained.")

    def fixed(self):
        """{power: value} of the --fix options (a usage error for one that is not POWER=VALUE)."""
        return fixed_terms(self.fix)

    def rules(self):
        """What library.check_options asks of these options (with the fixed terms, given apart)."""
        return dict(sigma=self.sigma, weights=self.weights, decimal=self.decimal, delimiter=self.delimiter,
                    time_unit=self.time_unit.value)

    def reading(self):
        """How to read DATA: sources.files.Files' options."""
        weighted = self.sigma is not None or self.weights is not None
        return dict(x=self.x, y=self.y, delimiter=self.delimiter, skip_invalid=self.skip_invalid,
                    encoding=self.encoding, decimal=self.decimal,
                    **({"sigma": self.sigma, "weights": self.weights} if weighted else {}),
                    **({"time_unit": self.time_unit.value} if self.time_unit is not TimeUnit.d else {}))


def grouped(command):
    """``command`` with each parameter whose default is a Group spread into the group's options in its
    place; the command gets the group's object of their values."""
    signature = inspect.signature(command)
    groups = {name: p.default for name, p in signature.parameters.items()
              if isinstance(p.default, type) and issubclass(p.default, Group)}
    parameters = []
    for name, parameter in signature.parameters.items():
        parameters += groups[name].parameters() if name in groups else [parameter]

    @functools.wraps(command)
    def run(**given):
        for name, group in groups.items():
            given[name] = group(**{option: given.pop(option) for option in group.__annotations__})
        return command(**given)

    run.__signature__ = signature.replace(parameters=parameters)
    # The command's own annotations are text (``from __future__ import annotations``), which typer resolves
    # in the command's module (get_type_hints follows __wrapped__); the group's are types already.
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run
