"""plot: a saved model drawn over its points, as a picture, in the terminal, or as the training film."""

import math
import os
import sys
from typing import Optional

import typer

from fitbp.cli import options
from fitbp.cli.console import flag, reported, warn, wrote
from fitbp.cli.options import MODEL, QUIET, Interval, confidence
from fitbp.cli.predicting import dates_of
from fitbp.errors import FitbpError, printable
from fitbp.fitting import losses


def plot(
    model: str = MODEL,
    data: Optional[str] = typer.Option(None, "--data", metavar="CSV",
                                       help="Draw these points instead of the model's own data."),
    x: Optional[str] = options.column("x", "the model's", " of --data"),
    y: Optional[str] = options.column("y", "the model's", " of --data"),
    output: str = options.output("fitbp.png", "Picture file: .png, .svg or .pdf."),
    residuals: bool = typer.Option(False, "--residuals", help="Add a panel of the residuals."),
    band: Optional[Interval] = typer.Option(None, "--band", metavar="[confidence|prediction]",
                                            help="Shade the curve's confidence band, or with 'prediction' the "
                                                 "interval of a new measurement (--level of them)."),
    level: float = confidence("the band drawn with --band"),
    sigma_new: Optional[float] = options.sigma_new("--band"),
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
    follow: bool = typer.Option(False, "--follow",
                                help="Draw in the terminal, and again each time the model file changes (as fit "
                                     "--follow or update writes it), until Ctrl-C."),
    quiet: bool = QUIET,
):
    """Draw the fit over its points, and the training loss per epoch.

    Examples:

      fitbp plot                      # fitbp.json -> fitbp.png

      fitbp plot -m fit.json -o fit.svg --residuals
    """
    from fitbp.views import exporter, film
    from fitbp.fitting import modelfile
    from fitbp.sources import dates

    # What the terminal plot and the film leave out: options of the picture alone, not rules of the library's
    if follow:
        with reported():
            _follow(model, data, x, y, ascii_only, width, height)
        return
    if in_terminal or ascii_only:
        if (band or xlim or residuals) and not quiet:
            warn("--band, --xlim and --residuals are for the picture file; the terminal plot draws the fit "
                         "alone")
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
                                  loss=str(document.get("loss", "mse")), delta=document.get("huber_delta"),
                                  basis=modelfile.basis_of(document))
            if not quiet:
                wrote(animate, f" ({frames} frame{'s' if frames != 1 else ''})")
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
            wrote(output)
        if show and not (window and renderer.show()):
            warn("--show needs a working display and there is none here; the picture is saved")


def _limits(texts, axis):
    """plot --xlim: two numbers, or for a model fitted on dates two ISO 8601 dates (as predict takes its
    x), the smaller first, within the years dates can be drawn in."""
    if axis is not None:
        try:
            values = list(dates_of(texts, axis, what=""))
        except FitbpError as e:
            raise typer.BadParameter(e.said(flag), param_hint="--xlim") from None
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


FOLLOW_POLL = 0.25
"""Seconds between looks at the followed model file (its size and time of change): how soon a new fit shows."""


def _follow(model, data, x, y, ascii_only, width, height):
    """plot --follow: the terminal plot, drawn again whenever the model file is replaced (fit --follow and
    update write it atomically, so every version seen is whole); on a terminal each drawing replaces the
    last, in a pipe they follow each other.  Never matplotlib: an ssh session watching a sensor."""
    import time

    def version():
        try:
            found = os.stat(model)
        except OSError:
            return None
        return found.st_mtime_ns, found.st_size, found.st_ino

    clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
    seen = None
    while True:
        now = version()
        if now != seen:
            seen = now
            sys.stdout.write(clear)
            _plot_in_terminal(model, data, x, y, ascii_only, width, height)
            sys.stdout.write("\n")
            sys.stdout.flush()
        time.sleep(FOLLOW_POLL)


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
    from fitbp.fitting import modelfile

    curve = modelfile.basis_of(document).curve(document["degree"])
    what = printable(f"{curve}{kind} fit of {points.y_name} against {points.x_name}:")
    return f"{what}\n{robust}MSE {_short(document.get('mse'))}, R² {_short(document.get('r2'), 6)}"


def _short(value, digits=4):
    return f"{value:.{digits}g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"
