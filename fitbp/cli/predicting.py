"""predict: a saved model's y at each x, with an interval if asked; --inverse, its x at each y."""

import sys
from typing import Optional

import typer

from fitbp.cli import options
from fitbp.cli.console import check_options, prompt, reported, warn, write_rows
from fitbp.cli.options import DECIMAL, MODEL, Interval, confidence
from fitbp.errors import FitbpError, printable


def predict(
    xs: Optional[list[str]] = typer.Argument(None, metavar="[X]...",
                                             help="x values; without any, read them from stdin."),
    model: str = MODEL,
    interval: Optional[Interval] = typer.Option(None, "--interval",
                                                help="Also print lower,upper: of the curve (confidence) or of a new "
                                                     "measurement at x (prediction, which adds the residual "
                                                     "variance)."),
    level: float = confidence("the intervals of --interval"),
    sigma_new: Optional[float] = options.sigma_new("--interval"),
    json_output: bool = options.json_output("Print one JSON object: the points, each marked when extrapolated, "
                                            "and the fitted x range."),
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

    from fitbp.sources import cells, dates, reader
    from fitbp.fitting import modelfile

    for text in xs or ():
        if text.startswith("-") and not cells.looks_like_number(text):
            raise typer.BadParameter(f"no such option: {text} (put -- before negative x values "
                                     "if they are written oddly)")
    with reported():
        document = modelfile.load(model)
        polynomial = modelfile.polynomial_of(document)
        check_options(interval=interval and interval.value, sigma_new=sigma_new)
        band = modelfile.band_of(document, polynomial, model, level, interval.value, sigma_new) if interval else None
        if not xs:
            prompt(f"{'y' if inverse else 'x'} values, one a line")
        axis = dates.Axis.of(document)
        read_as = None if inverse else axis  # x of a model fitted on dates are dates; --inverse reads y
        given = None  # dates as the user wrote them, printed back unchanged so that lines join the input
        if read_as is not None and xs:
            x, given = dates_of(xs, read_as), [text.strip() for text in xs]
        elif read_as is not None:
            x, given = reader.load_x_values("-", decimal=decimal, x_axis=read_as, as_given=True)
        else:
            x = cells.parse_numbers(xs, decimal=decimal) if xs else reader.load_x_values("-", decimal=decimal)
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
            basis = polynomial.basis
            curve = ("polynomial" if basis.polynomial else "smoothing spline (its end cubics carried on)"
                     if basis.name == "spline" else f"{basis.title} series")
            warn(f"x outside the fitted range [{shown(low)}, {shown(high)}] "
                 f"({int(np.count_nonzero(outside))} of {x.size} values): the {curve} is extrapolated there, and "
                 "nothing in the data vouches for it")
        overflowed = int(np.count_nonzero(~np.isfinite(columns[1])))
        if overflowed:
            warn(f"{overflowed} of the predictions overflow float64 (x far outside the data's range?)")


def dates_of(texts, axis, what="argument "):
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


def _print_inverse(polynomial, band, ys, fitted_range, json_output, interval, level, axis=None):
    """y,x lines (y,x,lower,upper with a band) for every x in the fitted range where the curve is y.

    With a band, a stretch where the band holds y but the curve does not reach it (a blank just below a
    calibration line) is a line too, its x empty (null in JSON): the data still place x there.  An
    interval's end at an end of the fitted range is cut, not a bound: empty in CSV, marked lower_cut or
    upper_cut in JSON, and noted."""
    from fitbp.fitting import inverse, modelfile

    shown = axis.text if axis else (lambda v: v)
    flat = polynomial.flat
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
        warn(f"the curve is flat, y = {float(polynomial(fitted_range[0]))!r} for every x: no single x can be read back")
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
