"""The command line: parse options, call the library, turn its errors into one line.

Nothing here computes anything.  Results go to stdout, diagnostics to stderr;
a FitbpError becomes ``error: ...`` and exit status 1, while usage errors
keep click's status 2.
"""

from __future__ import annotations

import math
import os
import re
import sys
from contextlib import ExitStack, contextmanager
from enum import Enum
from typing import List, Optional

import typer
import typer.core

from fitbp.errors import FitbpError, printable
from fitbp.fitting import losses
from fitbp.views.exporter import LANGUAGES, scaled_variable

# The graph's heavy work is matrix-vector products, which are memory-bound: extra BLAS
# threads gain nothing there, and on a busy machine they wait on each other (a backprop
# pass at 200,000 points took 16 ms with OpenBLAS's threads, 1.7 ms with one).  Set
# before numpy is first imported; a user's own setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

class _Command(typer.core.TyperCommand):
    """typer's command, with usage lines written as people write them: DATA and DATA..., not {DATA}."""

    def collect_usage_pieces(self, ctx):
        return [re.sub(r"^\{(.*)\}", r"\1", piece) for piece in super().collect_usage_pieces(ctx)]

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, _optional_values(args, OPTIONAL_VALUES.get(self.name, {})))

    def format_help(self, ctx, formatter):
        """typer's help, with the arguments named as in the usage line: DATA..., not DATA <list[str]>."""
        super().format_help(ctx, formatter)
        formatter.buffer[:] = [_argument_names("".join(formatter.buffer))]


def _argument_names(help_text):
    """The Arguments section without Python's type names, each column kept where it was."""
    def bare(match):
        name, kind = match.group(2), match.group(3)
        many = "..." if kind.startswith("list[") and not name.endswith("...") else ""
        return match.group(1) + (name + many).ljust(len(match.group(0)) - len(match.group(1)))

    head, found, section = help_text.partition("\nArguments:\n")
    if not found:
        return help_text
    body, gap, rest = section.partition("\n\n")
    return head + found + re.sub(r"^(  )(\S+) <([^>\n]*)>", bare, body, flags=re.M) + gap + rest


OPTIONAL_VALUES = {"plot": {"--band": ("confidence", ("confidence", "prediction"))}}
"""Options whose value may be left out (click asks for one): plot --band means --band confidence."""


def _optional_values(args, options):
    """``args`` with each option of ``options`` given without a value given its default one."""
    done = []
    for i, arg in enumerate(args):
        done.append(arg)
        if arg == "--":
            return done + list(args[i + 1:])
        if arg in options:
            default, values = options[arg]
            if i + 1 == len(args) or args[i + 1] not in values:
                done.append(default)
    return done


app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Fit a Taylor polynomial to (x, y) points from a CSV file by backpropagation.",
)


Loss = Enum("Loss", {name: name for name in losses.LOSSES}, type=str)
"""--loss's choices: the names in the table of losses (fitbp.fitting.losses), which says what each is."""


class Engine(str, Enum):
    local = "local"
    dask = "dask"


class TimeUnit(str, Enum):
    d = "d"
    s = "s"


class Optimizer(str, Enum):
    newton = "newton"
    cg = "cg"
    gd = "gd"
    momentum = "momentum"
    adam = "adam"


def _positive_finite(value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive number, not {value}")
    return value


def _degree(value):
    """'auto' (None) or a whole number of 0 or more."""
    if value == "auto":
        return None
    if not (value.isascii() and value.isdigit()):
        raise typer.BadParameter(f"must be auto or a whole number of 0 or more, not {value!r}")
    return int(value)


SIZES = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


def _size(value):
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


def _fixed(values):
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


def _partition_size(value):
    if value is None:
        return None
    size = _size(value)
    if size < 1024:
        raise typer.BadParameter(f"must be 1k or more (a piece holds whole lines), not {value!r}")
    return size


def _level(value):
    if not (math.isfinite(value) and 0.0 < value < 1.0 and (1.0 + value) / 2.0 < 1.0):  # its quantile exists
        raise typer.BadParameter(f"must be a probability strictly between 0 and 1, such as 0.95, not {value:g}")
    return value


LEVEL = typer.Option(0.95, "--level", metavar="P", callback=_level,
                     help="Confidence level of the coefficients' intervals (and of predict's, with --interval).")


def _non_negative_or_none(value):
    return None if value is None else _non_negative_finite(value)


def _non_negative_finite(value):
    if not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"must be 0 or a positive number, not {value}")
    return value


def warn(message):
    """One diagnostic line on stderr, coloured only where stderr is a terminal."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False)  # words wrap on a terminal; one line in a log
    console.print(f"[yellow]warning:[/yellow] {escape(message)}", markup=True, soft_wrap=not console.is_terminal)


def _known_encoding(value):
    from fitbp.sources import loader

    try:
        return loader.check_encoding(value)
    except FitbpError as e:
        raise typer.BadParameter(str(e)) from None


def _decimal_mark(value):
    if value not in (".", ","):
        raise typer.BadParameter(f"must be . or , not {value!r}")
    return value


DECIMAL = typer.Option(".", "--decimal", callback=_decimal_mark, metavar="MARK",
                       help="Decimal mark of the numbers: . or , (1,5 as 1.5; the delimiter is then ; or tab).")


def _known_delimiter(value):
    from fitbp.sources import loader

    if value is not None:
        try:
            loader.delimiter_named(value)
        except FitbpError as e:
            raise typer.BadParameter(str(e)) from None
    return value


DATA = typer.Argument(..., metavar="DATA", help="CSV files (.gz too) or Parquet files, shell-style globs of them in "
                     "quotes ('logs/*.csv'), read as one data set; or - for standard input.")
X = typer.Option(None, "--x", metavar="COL", help="x column: header name or 1-based number [default: 1].")
Y = typer.Option(None, "--y", metavar="COL", help="y column: header name or 1-based number [default: 2].")
DELIMITER = typer.Option(None, "--delimiter", metavar="D", callback=_known_delimiter,
                         help="Force ',', ';', 'tab', '|' or 'whitespace'.")
ENCODING = typer.Option("utf-8-sig", "--encoding", metavar="NAME", callback=_known_encoding,
                        help="Text encoding of the file.")
SKIP_INVALID = typer.Option(False, "--skip-invalid", help="Drop rows with empty, non-numeric, NaN or inf cells "
                            "(a σ of inf is a weight of 0: its row is kept, out of the fit).")
SIGMA = typer.Option(None, "--sigma", metavar="COL",
                     help="Column of each y's standard deviation σ: weighted least squares, w = 1/σ² "
                          "(σ = inf: the row is kept out of the fit).")
WEIGHTS = typer.Option(None, "--weights", metavar="COL",
                       help="Column of weights w = 1/σ² (not 1/σ, numpy.polyfit's w); "
                            "0 keeps a row out of the fit, as in R's lm.")
TIME_UNIT = typer.Option(TimeUnit.d, "--time-unit", help="x of dates and times in days (d) or seconds (s) since the "
                                                        "first date's midnight.")
FIX = typer.Option([], "--fix", metavar="POWER=VALUE",
                   help="Fix the raw coefficient of x^POWER (repeatable; --fix 0=0: "
                        "through the origin); the others are trained.")
MEMORY = typer.Option("256MB", "--memory", metavar="SIZE", callback=_size,
                      help="Most memory for the numbers (16 bytes a point); larger data is read in blocks, one pass "
                           "for a fixed degree (standard input is spooled to a temporary file).")


def _reading(loss, fixed, x, y, delimiter, encoding, skip_invalid, decimal, sigma, weights, time_unit,
             absolute_sigma=False):
    """How to read DATA (files.Files' options), the options checked against each other and the loss
    by the library's rules, in the command line's words: what fit and select both take."""
    from fitbp import library

    if decimal == "," and delimiter in (",", "comma"):
        raise typer.BadParameter("a comma cannot be both the decimal mark and the delimiter",
                                 param_hint="--decimal")
    weighted = sigma is not None or weights is not None
    try:
        library.check_options(sigma=sigma is not None, weights=weights is not None, absolute_sigma=absolute_sigma,
                              loss=loss.value, fixed=bool(fixed))
    except library.OptionError as e:
        raise typer.BadParameter(e.said(_flag), param_hint=_flag(e.hint)) from None
    if weighted and not (sigma if sigma is not None else weights).strip():
        raise typer.BadParameter("needs a column: a header name or a 1-based number",
                                 param_hint="--sigma" if sigma is not None else "--weights")
    return dict(x=x, y=y, delimiter=delimiter, skip_invalid=skip_invalid, encoding=encoding, decimal=decimal,
                **({"sigma": sigma, "weights": weights} if weighted else {}),
                **({"time_unit": time_unit.value} if time_unit is not TimeUnit.d else {}))


def _flag(name):
    """The command line's name of a library keyword: absolute_sigma is --absolute-sigma."""
    return "--" + name.replace("_", "-")


def _load(data, reading, degree, memory, watched, quiet):
    """The points of DATA on this machine: held, or streamed beyond ``memory`` (fitbp.engines.local)."""
    from fitbp.engines import local
    from fitbp.sources import files
    from fitbp.views import report

    paths = files.expand(data)
    if paths == ["-"]:
        _prompt("x,y lines (a header line first, if you like)")
    inputs = files.Files(paths, **reading)
    with report.reading_progress(inputs.bytes(), enabled=watched) as inputs.on_read:
        points = local.load(inputs, degree=degree, memory=memory)
    inputs.on_read = None
    _say_skipped(points, quiet)
    return points


def _say_skipped(points, quiet):
    if points.skipped and not quiet:
        warn(f"skipped {points.skipped} rows with invalid values, the first {points.first_skip}")


def _prompt(what):
    """Say what is awaited when standard input is a person at a terminal, not a pipe or a file."""
    if sys.stdin is not None and sys.stdin.isatty():
        sys.stderr.write(f"reading {what} from the terminal; press Ctrl-D at the start of a line to end\n")
        sys.stderr.flush()


@contextmanager
def reported():
    """Turn the library's errors and an interrupt into one line and an exit status."""
    try:
        yield
    except FitbpError as e:
        sys.stderr.write(f"error: {e}\n")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:  # the entry point says so, once, for every way of getting here
        raise typer.Exit(130) from None
    except MemoryError:
        sys.stderr.write("error: not enough memory for this input\n")
        raise typer.Exit(1) from None
    except OSError as e:  # writing the results: a full disk, a closed stdout
        sys.stderr.write(f"error: cannot write the output: {e.strerror or e}\n")
        raise typer.Exit(1) from None


def _version(value):
    if value:
        from fitbp import __version__

        sys.stdout.write(f"fitbp {__version__}\n")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print fitbp's version and exit."),
):
    """Fit a Taylor polynomial to (x, y) points from a CSV file by backpropagation.

    Example: fitbp fit sample_data/sine.csv --degree 5
    """


@app.command(cls=_Command)
def fit(
    data: List[str] = DATA,
    degree: str = typer.Option("auto", "--degree", "-d", metavar="N|auto", callback=_degree,
                               help="Highest power of the polynomial, or auto: the lowest degree within 2 "
                                    "of the least BIC (see fitbp select)."),
    x: Optional[str] = X,
    y: Optional[str] = Y,
    delimiter: Optional[str] = DELIMITER,
    encoding: str = ENCODING,
    skip_invalid: bool = SKIP_INVALID,
    decimal: str = DECIMAL,
    sigma: Optional[str] = SIGMA,
    weights: Optional[str] = WEIGHTS,
    time_unit: TimeUnit = TIME_UNIT,
    fix: List[str] = FIX,
    absolute_sigma: bool = typer.Option(False, "--absolute-sigma",
                                        help="The σ are true measurement errors: standard errors √diag((VᵀWV)⁻¹), "
                                             "unscaled, and the p-value of χ² [default: scaled by the reduced χ², as "
                                             "scipy and gnuplot do]."),
    optimizer: Optional[Optimizer] = typer.Option(None, "--optimizer",
                                                  help="newton reaches the optimum of every loss in a few passes "
                                                       "(mse's in two), cg mse's in three; gd, momentum and adam "
                                                       "are the textbook methods [default: newton]."),
    loss: Loss = typer.Option(Loss.mse, "--loss", help="mse; or mae and huber, robust to outliers."),
    delta: Optional[float] = typer.Option(None, "--delta", metavar="D", callback=_positive_finite,
                                          help="Huber's threshold, in y units [default: 1.345 robust sd of the "
                                               "least-squares residuals]."),
    lr: Optional[float] = typer.Option(None, "--lr", metavar="R", callback=_positive_finite,
                                       help="Learning rate of gd, momentum and adam [default: 0.1, 0.02, 0.01]."),
    epochs: Optional[int] = typer.Option(None, "--epochs", metavar="N", min=1,
                                         help="Most backprop passes [default: 100 for newton, 1000 for cg, 10000 "
                                              "otherwise]."),
    tol: float = typer.Option(1e-12, "--tol", metavar="T", callback=_non_negative_finite,
                              help="Converged when, for newton and cg, the loss still to gain is at most this "
                                   "fraction of it (newton on mae certifies its optimum instead); for the others, "
                                   "when two epochs in a row change the loss by at most this, relatively."),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0, help="Seed of the random initial coefficients."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
    save: Optional[str] = typer.Option(None, "--save", metavar="PATH",
                                       help="Where to save the model [default: fitbp.json]."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not save the model."),
    level: float = LEVEL,
    memory: str = MEMORY,
    engine: Engine = typer.Option(Engine.local, "--engine",
                                  help="local reads on this machine; dask reduces each partition to its triangle on a "
                                       "dask cluster (pip install 'fitbp[dask]')."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="With --engine dask: a running scheduler, such as tcp://host:8786 "
                                                 "[default: a LocalCluster of one worker a core, for this fit]."),
    partition_size: Optional[str] = typer.Option(None, "--partition-size", metavar="SIZE", callback=_partition_size,
                                                 help="With --engine dask: bytes of CSV a partition holds, 1k or more "
                                                      "[default: 64MB; a gzip file is one partition]."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors and the result."),
):
    """Fit a polynomial of --degree to the points in DATA and save the model.

    Exit status: 0 fitted, 1 a problem with the data or a file (one 'error:' line), 2 a usage error,
    130 interrupted, 143 terminated.

    Examples:

      fitbp fit points.csv                  # the degree BIC chooses

      fitbp fit points.csv --degree 5       # a degree of your choice

      fitbp fit log.csv --x time --y temp   # columns by name or number

      fitbp fit 'logs/2026-*.csv.gz' -d 3   # many files, one data set

      fitbp fit export.csv --decimal ,      # 1,5;2,25 as in European files

      fitbp fit noisy.csv --loss huber      # outliers pull less

      fitbp sample sine | fitbp fit - --json | jq .r2

      fitbp fit points.csv --save model.json && fitbp plot -m model.json
    """
    from fitbp.fitting import constraints, modelfile, trainer
    from fitbp.backprop import optimizers
    from fitbp.views import report

    if save is not None and no_save:
        raise typer.BadParameter("--save and --no-save contradict each other", param_hint="--save")
    kind = losses.LOSSES[loss.value]
    chosen = optimizer.value if optimizer else kind.default_optimizer
    if delta is not None and not kind.needs_delta and not quiet:
        warn("--delta is huber's threshold and is ignored by --loss " + loss.value)
    if lr is not None and chosen in optimizers.EXACT and not quiet:
        warn(f"--lr is ignored by --optimizer {chosen}, which takes exact steps")
    fixed = _fixed(fix)
    if engine is not Engine.dask and (scheduler is not None or partition_size is not None):
        raise typer.BadParameter("is only for --engine dask", param_hint="--scheduler" if scheduler is not None
                                 else "--partition-size")
    if scheduler is not None and not scheduler.strip():
        raise typer.BadParameter("needs an address, such as tcp://host:8786", param_hint="--scheduler")
    if engine is Engine.dask and kind.needs_every_point:
        raise typer.BadParameter(f"--engine dask fits the mse loss: {loss.value} needs every point at every "
                                 "epoch, on one machine", param_hint="--loss")
    reading = _reading(loss, fixed, x, y, delimiter, encoding, skip_invalid, decimal, sigma, weights, time_unit,
                       absolute_sigma)
    weighted = sigma is not None or weights is not None
    if engine is Engine.dask and (weighted or fixed or time_unit is not TimeUnit.d):
        raise typer.BadParameter("--engine dask takes no weights, fixes no terms and reads no dates, for now",
                                 param_hint="--sigma/--weights/--fix/--time-unit")
    if fixed and degree is not None:
        try:
            constraints.check(fixed, degree)
        except FitbpError as e:
            raise typer.BadParameter(str(e), param_hint="--fix") from None
    watched = not quiet and report.stderr_is_terminal()
    with reported(), ExitStack() as cluster_session:
        if engine is Engine.dask:
            from fitbp.engines import cluster

            planned = cluster.plan(data, partition_size or cluster.PARTITION, **reading)  # its errors first
            client = cluster_session.enter_context(cluster.session(scheduler))
            points = cluster.load(client, planned, degree)
            _say_skipped(points, quiet)
        else:
            points = _load(data, reading, degree, memory, watched, quiet)
        most = epochs or trainer.DEFAULT_EPOCHS[chosen]
        with report.training_progress(most, enabled=watched) as on_epoch:
            training = {"optimizer": chosen, "lr": lr, "epochs": epochs, "tol": tol, "seed": seed,
                        "on_epoch": on_epoch, "loss": loss.value, "delta": delta,
                        **({"absolute_sigma": True} if absolute_sigma else {}), **({"fixed": fixed} if fixed else {})}
            if degree is None:
                from fitbp import selection

                result = selection.fit_auto(points, **training)
            else:
                result = trainer.fit_points(points, degree, **training)
        result.level = level
        if not quiet:
            for message in result.warnings:
                warn(message)
        if not no_save:
            modelfile.save(result, save or "fitbp.json")
        if json_output:
            report.print_json(result)
        else:
            report.print_table(result.summary())
        if not no_save and not quiet:  # last, under the result, as plot's 'wrote'
            sys.stdout.flush()
            sys.stderr.write(f"saved {printable(save or 'fitbp.json')}\n")


def _choices(name, values):
    """A str Enum of ``values``, as typer wants choices."""
    return Enum(name, {value: value for value in values}, type=str)


Sample = _choices("Sample", ("sine", "cubic", "runge", "exp", "years"))
Interval = _choices("Interval", ("confidence", "prediction"))


@app.command(cls=_Command)
def plot(
    model: str = typer.Option("fitbp.json", "--model", "-m", metavar="FILE", help="Model file written by 'fitbp fit'."),
    data: Optional[str] = typer.Option(None, "--data", metavar="CSV",
                                       help="Draw these points instead of the model's own data."),
    x: Optional[str] = typer.Option(None, "--x", metavar="COL", help="x column of --data [default: the model's]."),
    y: Optional[str] = typer.Option(None, "--y", metavar="COL", help="y column of --data [default: the model's]."),
    output: str = typer.Option("fitbp.png", "--output", "-o", metavar="FILE", help="Picture file: .png, .svg or .pdf."),
    residuals: bool = typer.Option(False, "--residuals", help="Add a panel of the residuals."),
    band: Optional[Interval] = typer.Option(None, "--band", metavar="[confidence|prediction]",
                                            help="Shade the curve's confidence band, or with 'prediction' the "
                                                 "interval of a new measurement (--level of them)."),
    level: float = LEVEL,
    sigma_new: Optional[float] = typer.Option(None, "--sigma-new", metavar="S", callback=_positive_finite,
                                              help="σ of a new measurement, for --band prediction of a model fitted "
                                                   "with --sigma or --weights."),
    xlim: Optional[tuple[str, str]] = typer.Option(None, "--xlim", metavar="A B",
                                                   help="Draw the curve from x = A to B (dates, for a model fitted on "
                                                        "dates); beyond the data it is shaded as extrapolated."),
    equation: bool = typer.Option(False, "--equation",
                                  help="Write the polynomial and R² on the picture (and, in full, into the file's "
                                       "metadata)."),
    digits: int = typer.Option(4, "--digits", metavar="N", min=1, max=17,
                               help="Significant digits of --equation's coefficients."),
    in_terminal: bool = typer.Option(False, "--terminal",
                                     help="Draw in the terminal (Unicode braille) instead of a file."),
    ascii_only: bool = typer.Option(False, "--ascii", help="Draw in the terminal with plain ASCII characters."),
    width: Optional[int] = typer.Option(None, "--width", metavar="N", min=20,
                                        help="Columns of --terminal [default: the terminal's]."),
    height: Optional[int] = typer.Option(None, "--height", metavar="N", min=6,
                                         help="Lines of --terminal [default: the terminal's]."),
    animate: Optional[str] = typer.Option(None, "--animate", metavar="FILE",
                                          help="Write instead the training film: the curve epoch by epoch beside the "
                                               "loss (.gif, or .mp4 with ffmpeg)."),
    show: bool = typer.Option(False, "--show", help="Also open the figure in a window, where there is a display."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
):
    """Draw the fit over its points, and the training loss per epoch.

    Examples:

      fitbp plot                      # fitbp.json -> fitbp.png

      fitbp plot -m fit.json -o fit.svg --residuals
    """
    from fitbp.views import exporter, film
    from fitbp.fitting import modelfile
    from fitbp.sources import dates

    if in_terminal or ascii_only:
        if (band or xlim or residuals) and not quiet:
            warn("--band, --xlim and --residuals are for the picture file; the terminal plot draws the fit alone")
        with reported():
            _plot_in_terminal(model, data, x, y, ascii_only, width, height)
        return
    from fitbp.views import renderer

    with reported():
        if animate:
            film.check_film_format(animate)
        else:
            renderer.check_format(output)
        document = modelfile.load(model)
        limits = _limits(xlim, dates.Axis.of(document)) if xlim else None
        points = modelfile.points_of(document, model, source=data, x=x, y=y)
        title = _title(document, points)
        if animate:
            if (band or residuals) and not quiet:
                warn("--animate makes the film only; --band and --residuals are for the still picture")
            frames = film.animate(points, float(document["center"]), float(document["scale"]),
                                  modelfile.snapshots_of(document, model), document.get("loss_history") or [],
                                  animate, title=f"{printable(document.get('optimizer', ''))}: {title}",
                                  loss=str(document.get("loss", "mse")), delta=document.get("huber_delta"))
            if not quiet:
                sys.stderr.write(f"wrote {printable(animate)} ({frames} frame{'s' if frames != 1 else ''})\n")
            return
        window = show and renderer.has_display()
        polynomial = modelfile.polynomial_of(document)
        label = exporter.equation(document, digits) if equation else None
        figure = renderer.figure(polynomial, points, document.get("loss_history") or [], title,
                                 equation=label[:2] if label else None,
                                 residuals=residuals, window=window, loss=str(document.get("loss", "mse")),
                                 band=modelfile.band_of(document, polynomial, model, level, band.value, sigma_new)
                                 if band else None, band_label=band and f"{level:.4g} {band.value} "
                                 f"{'band' if band.value == 'confidence' else 'interval'} (pointwise)",
                                 xlim=limits, fitted_range=modelfile.x_range_of(document))
        renderer.save(figure, output, modelfile.write_atomic, description=label[2] if label else None)
        if not quiet:
            sys.stderr.write(f"wrote {printable(output)}\n")
        if show and not (window and renderer.show()):
            warn("--show needs a working display and there is none here; the picture is saved")


def _limits(texts, axis):
    """plot --xlim: two numbers, or for a model fitted on dates two ISO 8601 dates (as predict takes its
    x), the smaller first, within the years dates can be drawn in."""
    if axis is not None:
        try:
            values = list(_dates_of(texts, axis, what=""))
        except FitbpError as e:
            raise typer.BadParameter(str(e), param_hint="--xlim") from None
    else:
        values = []
        for text in texts:
            try:
                values.append(float(text))
            except ValueError:
                values.append(math.nan)
    if not (all(map(math.isfinite, values)) and values[0] < values[1]):
        order = "dates, the earlier" if axis else "finite numbers, the smaller"
        raise typer.BadParameter(f"must be two {order} first, not {printable(' '.join(texts))}", param_hint="--xlim")
    if axis is not None:
        try:
            reach = [axis.moment(v) for v in values]
        except (OverflowError, ValueError):
            reach = None
        if reach is None or not all(1 <= moment.year <= 9999 for moment in reach):
            raise typer.BadParameter("reaches beyond the years 1 to 9999 that dates can be drawn in",
                                     param_hint="--xlim")
    return tuple(values)


def _plot_in_terminal(model, data, x, y, ascii_only, width, height):
    """plot --terminal: the picture as text on stdout, sized to the terminal, coloured only on one.

    A --width or --height below terminal.SMALLEST is a usage error (their minimums); a terminal
    smaller than that is this error, since the plot would not fit it."""
    import dataclasses
    import shutil

    from fitbp.fitting import modelfile
    from fitbp.views import terminal

    size = shutil.get_terminal_size((80, 24))
    width, height = width or size.columns, height or size.lines
    if width < terminal.SMALLEST[0] or height < terminal.SMALLEST[1]:
        raise FitbpError("the terminal is {} × {}, too small for the plot's {} × {} (or give --width "
                         "and --height)".format(*size, *terminal.SMALLEST))
    document = modelfile.load(model)
    points = modelfile.points_of(document, model, source=data, x=x, y=y)
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    text = terminal.render(modelfile.polynomial_of(document), points, document.get("loss_history") or [],
                           lambda y_name, x_name: _title(document, dataclasses.replace(points, y_name=y_name,
                                                                                       x_name=x_name)),
                           width, height, ascii=ascii_only, colour=colour)
    sys.stdout.write(text)


def _title(document, points):
    """What the fit is and how good: for a robust loss, that loss (and δ) and the median |residual|
    first, since its MSE and R² count the outliers it was made to ignore."""
    loss = str(document.get("loss", "mse"))
    least_squares = loss in losses.LOSSES and losses.LOSSES[loss].least_squares  # a file's unknown loss: robust
    kind = "" if least_squares else f" {loss}" + (f" (δ {_short(document.get('huber_delta'))})"
                                                  if document.get("huber_delta") else "")
    robust = "" if least_squares else (f"{loss} loss {_short(document.get('loss_value'))}, median |residual| "
                                       f"{_short(document.get('median_abs_residual'))}, ")
    what = printable(f"degree {document['degree']}{kind} fit of {points.y_name} against {points.x_name}:")
    return f"{what}\n{robust}MSE {_short(document.get('mse'))}, R² {_short(document.get('r2'), 6)}"


def _short(value, digits=4):
    return f"{value:.{digits}g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


@app.command(cls=_Command, context_settings={"ignore_unknown_options": True})
def predict(
    xs: Optional[list[str]] = typer.Argument(None, metavar="[X]...",
                                             help="x values; without any, read them from stdin."),
    model: str = typer.Option("fitbp.json", "--model", "-m", metavar="FILE", help="Model file written by 'fitbp fit'."),
    interval: Optional[Interval] = typer.Option(None, "--interval",
                                                help="Also print lower,upper: of the curve (confidence) or of a new "
                                                     "measurement at x (prediction, which adds the residual "
                                                     "variance)."),
    level: float = LEVEL,
    sigma_new: Optional[float] = typer.Option(None, "--sigma-new", metavar="S", callback=_positive_finite,
                                              help="σ of a new measurement, for --interval prediction: needed for a "
                                                   "model fitted with --sigma or --weights."),
    json_output: bool = typer.Option(False, "--json",
                                     help="Print one JSON object: the points, each marked when extrapolated, and the "
                                          "fitted x range."),
    inverse: bool = typer.Option(False, "--inverse",
                                 help="The values are y: print y,x for every x in the fitted range where the curve "
                                      "equals y (with --interval, y,x,lower,upper: the x whose band holds y; x empty "
                                      "where only the band holds y, an end empty where the fitted range cuts it)."),
    decimal: str = DECIMAL,
):
    """Print x,y for each x, evaluated with the fitted polynomial.

    x values come from the arguments or, without any, from standard input:
    one a line, or the first column of CSV lines (a first line that is not
    a number is taken for a header). Output: x,y lines (x,y,lower,upper with
    --interval), no header, each number with the digits to read it back
    exactly. x outside the fitted range still gets its y, with one warning.
    With --inverse the values are y, and the lines y,x.

    Examples:

      fitbp predict 1.5 2.5 -- -1

      seq 0 0.5 6 | fitbp predict --interval prediction --level 0.9

      fitbp predict --inverse 0.5 --interval confidence
    """
    import numpy as np

    from fitbp.sources import dates, loader
    from fitbp.fitting import modelfile

    for text in xs or ():
        if text.startswith("-") and not loader.looks_like_number(text):
            raise typer.BadParameter(f"no such option: {text} (put -- before negative x values "
                                     "if they are written oddly)")
    with reported():
        document = modelfile.load(model)
        polynomial = modelfile.polynomial_of(document)
        if sigma_new is not None and (interval is None or interval.value != "prediction"):
            raise typer.BadParameter("a new point's σ is for --interval prediction", param_hint="--sigma-new")
        band = modelfile.band_of(document, polynomial, model, level, interval.value, sigma_new) if interval else None
        if not xs:
            _prompt(f"{'y' if inverse else 'x'} values, one a line")
        axis = dates.Axis.of(document)
        read_as = None if inverse else axis  # x of a model fitted on dates are dates; --inverse reads y
        given = None  # dates as the user wrote them, printed back unchanged so that lines join the input
        if read_as is not None and xs:
            x, given = _dates_of(xs, read_as), [text.strip() for text in xs]
        elif read_as is not None:
            x, given = loader.load_x_values("-", decimal=decimal, x_axis=read_as, as_given=True)
        else:
            x = loader.parse_numbers(xs, decimal=decimal) if xs else loader.load_x_values("-", decimal=decimal)
        low, high = modelfile.x_range_of(document)
        if inverse:
            _print_inverse(polynomial, band, x, (low, high), json_output, interval, level, axis)
            return
        columns = [x if given is None else np.array(given, dtype=object), polynomial(x), *(band(x) if band else ())]
        outside = (x < low) | (x > high)
        shown = axis.text if axis else repr
        if json_output:
            _print_predictions(columns, outside, [low, high], interval, level, axis)
        else:
            write_rows(columns, sys.stdout, header=None, first=str if given is not None else None)
        if np.any(outside):
            warn(f"x outside the fitted range [{shown(low)}, {shown(high)}] "
                 f"({int(np.count_nonzero(outside))} of {x.size} values): the polynomial is extrapolated there, and "
                 "nothing in the data vouches for it")
        overflowed = int(np.count_nonzero(~np.isfinite(columns[1])))
        if overflowed:
            warn(f"{overflowed} of the predictions overflow float64 (x far outside the data's range?)")


def _dates_of(texts, axis, what="argument "):
    """x values of ISO 8601 arguments, for a model fitted on dates: predict's and plot --xlim's one rule
    (a number is refused, for 45 could be days since the origin or a year)."""
    from fitbp.sources import dates

    bad = next((text for text in texts if dates.parse(text) is None), None)
    if bad is not None and dates.problem(bad) == dates.NOT_ISO:
        raise FitbpError(f"{what}{printable(bad)!r}: this model's x are dates: give them in ISO 8601, "
                         f"such as {axis.text(0.0)}")
    if bad is not None:  # ISO 8601 in form, not a real date or time: 2024-13-01
        raise FitbpError(f"{what}{printable(bad)!r} is {dates.problem(bad)}")
    try:
        return axis.values(texts)
    except ValueError as e:
        raise FitbpError(f"{what.strip()}: {e}" if what else str(e)) from None


def _print_inverse(polynomial, band, ys, fitted_range, json_output, interval, level, axis=None):
    """y,x lines (y,x,lower,upper with a band) for every x in the fitted range where the curve is y.

    With a band, a stretch where the band holds y but the curve does not reach it (a blank just below a
    calibration line) is a line too, its x empty (null in JSON): the data still place x there.  An
    interval's end at an end of the fitted range is cut, not a bound: empty in CSV, marked lower_cut or
    upper_cut in JSON, and noted."""
    from fitbp.fitting import inverse, modelfile

    shown = axis.text if axis else (lambda v: v)
    flat = not any(polynomial.coefficients[1:])
    points, unmatched, missed, cut = [], [], [], []
    for y in ys.tolist():
        found = inverse.crossings(polynomial, y, *fitted_range)
        rows = inverse.readings(band, y, found, *fitted_range) if band and not flat else [(x, None) for x in found]
        unmatched.extend([] if rows else [y])
        missed.extend([y] if any(x is None for x, _ in rows) else [])
        cut.extend([y] if any(piece and (piece.lower_cut or piece.upper_cut) for _, piece in rows) else [])
        points.extend(_inverse_point(y, x, piece, shown) for x, piece in rows)
    if json_output:
        document = {"x_range": list(map(shown, fitted_range)),
                    **({"interval": interval.value, "level": level} if interval else {}),
                    "points": points, "unmatched": unmatched}
        sys.stdout.write(modelfile.dumps(document) + "\n")
    else:
        sys.stdout.write("".join(map(_inverse_line, points)))
    low, high = (shown(v) if axis else repr(v) for v in fitted_range)
    if missed:
        empty = "their x is null" if json_output else "their lines leave x empty"
        warn(f"the curve does not reach y = {_some(missed)} where its {interval.value} band holds it "
             f"({len(missed)} of {ys.size} values): {empty}, with lower,upper where the band holds y")
    if cut:
        warn(f"the {interval.value} band holds y = {_some(cut)} up to an end of the fitted range [{low}, {high}] "
             f"({len(cut)} of {ys.size} values): the data stop there, so that end of the interval is cut, not "
             f"a bound ({'marked lower_cut or upper_cut' if json_output else 'left empty'})")
    if unmatched and flat:
        warn(f"the curve is flat, y = {polynomial.coefficients[0]!r} for every x: no single x can be read back")
    elif unmatched:
        warn(f"no x in the fitted range [{low}, {high}] gives y = {_some(unmatched)} "
             f"({len(unmatched)} of {ys.size} values): the curve does not reach them there"
             + (", nor does its band hold them" if band else ""))


def _inverse_point(y, x, piece, shown):
    """One reading of --inverse for JSON: y, x (None where only the band holds y), and the interval."""
    point = {"y": y, "x": None if x is None else shown(x)}
    if piece:
        point.update(lower=shown(piece.lower), upper=shown(piece.upper),
                     lower_cut=piece.lower_cut, upper_cut=piece.upper_cut)
    return point


def _inverse_line(point):
    """y,x[,lower,upper] as CSV: an x that is not there, or an end that is cut, is an empty field."""
    ends = [None if point[f"{end}_cut"] else point[end] for end in ("lower", "upper") if end in point]
    return ",".join("" if v is None else v if isinstance(v, str) else repr(v)
                    for v in (point["y"], point["x"], *ends)) + "\n"


def _some(values):
    """The first three of ``values`` for a message, and … for the rest."""
    return ", ".join(map(repr, values[:3])) + (", …" if len(values) > 3 else "")


def _print_predictions(columns, outside, fitted_range, interval, level, axis=None):
    from fitbp.fitting import modelfile

    names = ("x", "y", "lower", "upper")
    points = [{**{name: value for name, value in zip(names, row)}, "extrapolated": bool(beyond)}
              for *row, beyond in zip(*(c.tolist() for c in columns), outside.tolist())]
    if axis is not None:  # dates as ISO 8601 text; the points' x are the user's own text already
        fitted_range = [axis.text(v) for v in fitted_range]
    document = {"x_range": fitted_range, **({"interval": interval.value, "level": level} if interval else {}),
                "points": points}
    sys.stdout.write(modelfile.dumps(document) + "\n")


@app.command(cls=_Command)
def sample(
    name: str = typer.Argument(..., metavar="NAME", help="sine, cubic, runge, exp or years."),
    n: Optional[int] = typer.Option(None, "--n", metavar="N", min=1, max=100_000_000,
                                    help="Number of points [default: 200; years: 71]."),
    noise: Optional[float] = typer.Option(None, "--noise", metavar="SD", callback=_non_negative_or_none,
                                          help="Standard deviation of the normal noise on y."),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0, help="Seed of the random x and noise."),
    xmin: Optional[float] = typer.Option(None, "--xmin", metavar="X", help="Smallest x."),
    xmax: Optional[float] = typer.Option(None, "--xmax", metavar="X", help="Largest x."),
    outliers: int = typer.Option(0, "--outliers", metavar="N", min=0, help="Move this many points far off the curve."),
):
    """Print a sample data set as x,y CSV, to try fitbp on.

    Examples:

      fitbp sample sine --n 500 --seed 1 > sine.csv

      fitbp sample runge --noise 0 | fitbp fit - --degree 10
    """
    from fitbp.sources import samples

    if name not in Sample.__members__:  # checked here: click's Choice lists them a tab and a line each
        choices = ", ".join(s.value for s in Sample)
        raise typer.BadParameter(f"{printable(name)!r} is not one of {choices}", param_hint="'NAME'")
    with reported():
        x, y = samples.generate(name, n=n, noise=noise, seed=seed, xmin=xmin, xmax=xmax, outliers=outliers)
        write_rows([x, y], sys.stdout, header="x,y")


@app.command(cls=_Command)
def select(
    data: List[str] = DATA,
    max_degree: Optional[int] = typer.Option(None, "--max-degree", metavar="N", min=0,
                                             help="Score degrees 0 to this [default: the range --degree auto "
                                                  "searches, widened while the best is near its top]."),
    x: Optional[str] = X,
    y: Optional[str] = Y,
    delimiter: Optional[str] = DELIMITER,
    encoding: str = ENCODING,
    skip_invalid: bool = SKIP_INVALID,
    decimal: str = DECIMAL,
    sigma: Optional[str] = SIGMA,
    weights: Optional[str] = WEIGHTS,
    time_unit: TimeUnit = TIME_UNIT,
    fix: List[str] = FIX,
    memory: str = MEMORY,
    folds: int = typer.Option(5, "--folds", metavar="K", min=2, help="Folds of the cross-validation."),
    loss: Loss = typer.Option(Loss.mse, "--loss", help="mae or huber choose on the points a robust fit keeps."),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0,
                             help="Seed of the random samples (turning points, outliers) of large data."),
    plot_file: Optional[str] = typer.Option(None, "--plot", metavar="FILE",
                                            help="Also draw the errors against the degree (.png, .svg, .pdf, .jpg)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
):
    """Score every degree: training MSE, cross-validated MSE, BIC and AICc; mark the one --degree auto chooses.

    The choice is the lowest degree whose BIC, n ln(RSS/n) + (d+1) ln n, is within 2 of the least: a
    term is kept when it explains more than ln n noise variances. All degrees and all folds come from
    one pass over the data. The options that change what fit --degree auto scores (--sigma, --fix,
    --decimal, ...) are fit's, and give its scores.

    Examples:

      fitbp select sample_data/runge.csv

      fitbp select sample_data/cubic.csv --max-degree 8 --plot select.png

      fitbp select points.csv --sigma s --fix 0=0
    """
    from fitbp.fitting import modelfile
    from fitbp.views import report
    from fitbp import selection as chooser

    fixed = _fixed(fix)
    reading = _reading(loss, fixed, x, y, delimiter, encoding, skip_invalid, decimal, sigma, weights, time_unit)
    if fixed and max_degree is not None and max_degree < chooser.lowest_keeping(fixed):
        raise typer.BadParameter(f"degree {chooser.lowest_keeping(fixed)} is the lowest that keeps the --fix terms "
                                 "and leaves one to fit", param_hint="--max-degree")
    with reported():
        if plot_file:
            from fitbp.views import renderer

            renderer.check_format(plot_file)
        points = _load(data, reading, None, memory, report.stderr_is_terminal(), False)
        table = chooser.select_table(points, max_degree, folds=folds, loss=loss.value, seed=seed, fixed=fixed)
        if plot_file:
            renderer.save(renderer.selection_figure(table, printable(points.source)), plot_file,
                          modelfile.write_atomic)
        if json_output:
            sys.stdout.write(modelfile.dumps(table.to_dict()) + "\n")
        else:
            report.print_selection(table)
        if plot_file:
            sys.stderr.write(f"wrote {printable(plot_file)}\n")


Language = _choices("Language", LANGUAGES)


@app.command(cls=_Command)
def export(
    to: Language = typer.Option(..., "--to", help="c, python, javascript, rust, excel, latex or numpy."),
    model: str = typer.Option("fitbp.json", "--model", "-m", metavar="FILE", help="Model file written by 'fitbp fit'."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                         help="Write to this file instead of stdout."),
    name: str = typer.Option("fitbp", "--name", metavar="NAME", help="Name of the function (or variable, for numpy)."),
    cell: str = typer.Option("A2", "--cell", metavar="CELL", help="The cell that holds x, for --to excel."),
):
    """Write the fitted polynomial as code or a formula, every constant to the last digit.

    Code evaluates the Taylor form by Horner's rule exactly as 'fitbp predict' does; a spreadsheet
    formula and LaTeX use the raw powers of x where they lose few digits, the Taylor form otherwise.

    Examples:

      fitbp export --to c -o sensor.h --name temperature

      fitbp export --to excel --cell B2
    """
    from fitbp.views import exporter
    from fitbp.fitting import modelfile

    with reported():
        text = exporter.export(modelfile.load(model), to.value, name=name, cell=cell)
        if output:
            modelfile.write_atomic(output, text)
            sys.stderr.write(f"wrote {printable(output)}\n")
        else:
            sys.stdout.write(text)


def _points_or_sample(data, x, y):
    """The user's points, or a small sample to show the machinery on."""
    from fitbp.sources import files, loader, samples

    if data is None:
        sx, sy = samples.generate("sine", n=12, seed=0)
        return loader.Points(sx, sy, source="fitbp sample sine --n 12")
    return files.load_points(data, x=x, y=y)


@app.command(cls=_Command)
def graph(
    data: Optional[str] = typer.Argument(None, metavar="[DATA]", help="CSV file; without it, 12 points of a sine."),
    degree: int = typer.Option(3, "--degree", "-d", metavar="N", min=0, help="Highest power of the polynomial."),
    x: Optional[str] = X,
    y: Optional[str] = Y,
    loss: Loss = typer.Option(Loss.mse, "--loss", help="Loss at the top of the graph."),
    fitted: bool = typer.Option(False, "--fitted", help="Show the graph at the trained coefficients, not the start."),
    triangle: bool = typer.Option(False, "--triangle",
                                  help="Show the graph mse training runs: the same loss through the data's triangle "
                                       "R, z, ρ (d + 1 rows)."),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0, help="Seed of the starting coefficients."),
    dot_file: Optional[str] = typer.Option(None, "--dot", metavar="FILE",
                                           help="Also write the graph as Graphviz DOT to this file."),
):
    """Print the computing graph of the model and its loss, after one backward pass.

    Each node shows its operator, shape, value and the gradient that flowed
    back to it. The graph works in the scaled variable t = (x - center) / scale
    and in y divided by a power of two, as training does.

    Examples:

      fitbp graph --degree 3

      fitbp graph -d 5 --dot g.dot && dot -Tpng g.dot -o g.png
    """
    import numpy as np

    from fitbp.backprop import graph as engine
    from fitbp.views import graphview, report
    from fitbp.fitting import model, modelfile, trainer

    kind = losses.LOSSES[loss.value]
    if triangle and not kind.least_squares:
        raise typer.BadParameter(f"the triangle is the mse loss's rewrite; {loss.value} needs every residual",
                                 param_hint="--triangle")
    with reported():
        points = _points_or_sample(data, x, y)
        problem = trainer.prepare(points, degree)
        k = np.random.default_rng(seed).normal(scale=0.01, size=degree + 1)
        if fitted:
            result = trainer.fit_points(points, degree, loss=loss.value, seed=seed)
            k = np.array(result.polynomial.coefficients) / problem.y_unit
        a = engine.parameter(k, "a")
        root = model.triangle_loss_graph(problem.triangle, a) if triangle else model.loss_graph(
            problem.design, problem.target, a, loss.value, trainer.delta_for(kind, problem, k))
        root.backward()
        if dot_file:  # written first: a path that cannot be written fails before anything is printed
            modelfile.write_atomic(dot_file, graphview.dot(root))
        console = report.wide_console()
        report.emit(console, f"{loss.value} loss of a degree {degree} Taylor polynomial on {len(points.x)} points "
                      f"of {printable(points.source)}, at the {'trained' if fitted else 'starting'} coefficients; "
                      f"t = {scaled_variable(problem.center, problem.scale)}, y in units of {problem.y_unit:g}",
                      highlight=False, markup=False)
        report.emit(console, graphview.tree(root))
        if dot_file:
            sys.stderr.write(f"wrote {printable(dot_file)}\n")


@app.command(cls=_Command)
def gradcheck(
    data: str = typer.Argument(..., metavar="DATA", help="CSV file, or - for standard input."),
    degree: int = typer.Option(..., "--degree", "-d", metavar="N", min=0, help="Highest power of the polynomial."),
    x: Optional[str] = X,
    y: Optional[str] = Y,
    loss: Loss = typer.Option(Loss.mse, "--loss", help="The loss to differentiate."),
    tol: float = typer.Option(1e-6, "--tol", metavar="T", callback=_non_negative_finite,
                              help="Largest relative error allowed."),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0, help="Seed of the random point at which to compare."),
    json_output: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
):
    """Compare the backprop gradient with central finite differences, coefficient by coefficient.

    Exit status 1 when any relative error exceeds --tol.

    Example:

      fitbp gradcheck sample_data/sine.csv --degree 5
    """
    import numpy as np

    from fitbp.backprop import gradcheck as checker
    from fitbp.sources import files
    from fitbp.fitting import model, modelfile, trainer
    from fitbp.views import report

    with reported():
        if data == "-":
            _prompt("x,y lines")
        problem = trainer.prepare(files.load_points(data, x=x, y=y), degree)
        k = np.random.default_rng(seed).normal(size=degree + 1)
        delta = trainer.delta_for(losses.LOSSES[loss.value], problem, k)
        rows = checker.check(lambda p: model.loss_and_gradient(problem.design, problem.target, p, loss.value,
                                                                 delta), k)
        failed = [r for r in rows if r.relative_error > tol]
        if json_output:
            sys.stdout.write(modelfile.dumps({
                "loss": loss.value, "huber_delta": delta, "tol": tol,
                "step": checker.STEP, "seed": seed, "passed": not failed, "rows": [
                    {"coefficient": f"a_{r.index}", "value": r.at, "backprop": r.backprop,
                     "finite_difference": r.numeric, "relative_error": r.relative_error} for r in rows]}) + "\n")
        else:
            huber = f" (δ {delta:.4g} in y units of {problem.y_unit:g})" if delta is not None else ""
            report.print_gradcheck(rows, tol, printable(
                f"d {loss.value}{huber} / d a_i by backprop against central differences (step {checker.STEP:g} "
                f"relative to |a_i|), at the random coefficients of --seed {seed}; "
                f"t = {scaled_variable(problem.center, problem.scale)}"))
        if failed:
            raise FitbpError(f"gradient check failed: {len(failed)} of {len(rows)} relative errors exceed {tol:g}")


def write_rows(columns, stream, header, first=None):
    """CSV rows of the columns (x, y, …) in the shortest form that reads back to the same float;
    ``first`` writes the first column instead (dates as ISO 8601 text)."""
    if header:
        stream.write(header + "\n")
    step = 65536
    for start in range(0, len(columns[0]), step):
        rows = zip(*(c[start:start + step].tolist() for c in columns))
        if first is None and len(columns) == 2:  # sample's millions of rows: the plain form, as fast as it goes
            stream.write("".join(f"{a!r},{b!r}\n" for a, b in rows))
        else:
            stream.write("".join(",".join([first(row[0]) if first else repr(row[0]), *map(repr, row[1:])]) + "\n"
                                 for row in rows))


