"""The renderer: the fit over the points, and the loss falling epoch by epoch.

Only ``fitbp plot`` imports this module, and matplotlib is imported inside
its functions, so the commands that do not draw start without it.  Figures
are drawn on a bare ``Figure`` (no pyplot, no GUI backend), which works on
machines with no display and no MPLBACKEND set; pyplot is loaded only to
open a window for ``--show``.
"""

from __future__ import annotations

import io
import math
import os
import sys

import numpy as np

from fitbp.errors import FitbpError, printable
from fitbp.sources.data import even_sample

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg")
MOST_POINTS_DRAWN = 50_000
"""Beyond this, an even sample of the points is drawn (rasterised): the eye cannot tell, the file can."""
CURVE_SAMPLES = 1000


def check_format(path):
    """The file format named by ``path``'s extension, or a FitbpError before any drawing."""
    text = str(path)
    extension = os.path.splitext(text)[1].lower().lstrip(".")
    if text.endswith(("/", os.sep)):
        raise FitbpError(f"{printable(text)}: names a folder; give a file name such as fit.png")
    if extension not in FORMATS:
        shown = f"'.{printable(extension)}'" if extension else "no extension"
        raise FitbpError(f"{printable(text)}: cannot tell the picture format from {shown} "
                         "(use .png, .svg, .pdf or .jpg)")
    return extension


def figure(polynomial, points, loss_history, title, residuals=False, window=False, band=None, loss="mse",
           equation=None, band_label="0.95 confidence band (pointwise)", xlim=None, fitted_range=None):
    """A matplotlib Figure: fit and points, optional residuals, and the loss on a log scale (not for a curve
    that was solved rather than trained, a smoothing spline's, whose ``loss_history`` is empty).

    ``band(x) -> (lower, upper)``, when given, is shaded around the curve.
    ``xlim`` (a, b) draws the curve over that range instead of the points';
    where it reaches beyond ``fitted_range`` (the data's), the extrapolation
    is shaded grey, for nothing there vouches for the curve.
    ``equation``, (lines, note) from fitbp.views.exporter.equation, heads the legend.

    With ``window`` the figure belongs to pyplot, so that ``show`` can open it.
    User text (column names, file names) is drawn as it is, never as TeX.
    """
    trained = bool(loss_history)
    fig = _new_figure((11 if trained else 7, 6.4 if residuals else 4.8), window)
    grid = fig.add_gridspec(2 if residuals else 1, 2 if trained else 1, height_ratios=[3, 1] if residuals else [1],
                            width_ratios=[3, 2] if trained else [1])
    fit_axes = fig.add_subplot(grid[0, 0])
    draw_fit(fit_axes, polynomial, points, band, band_label, xlim, fitted_range, equation)
    fit_axes.set_title(title, loc="left", fontsize="medium", parse_math=False)
    axis = getattr(points, "x_axis", None)
    bottom = fig.add_subplot(grid[1, 0], sharex=fit_axes) if residuals else fit_axes
    if residuals:
        _draw_residuals(bottom, polynomial, points)
    bottom.set_xlabel(points.x_name + (" (UTC)" if axis is not None and axis.aware else ""), parse_math=False)
    if trained:
        _draw_loss(fig.add_subplot(grid[:, 1]), loss_history, loss)
    return fig


def draw_fit(fit_axes, polynomial, points, band=None, band_label=None, xlim=None, fitted_range=None,
             equation=None):
    """The points, the band, the extrapolation's shade and the curve on ``fit_axes``, with the legend:
    the picture's left panel, and what ``Fit.plot`` draws on a caller's Axes."""
    x, y = points.x, points.y
    lo, hi = (float(v) for v in xlim) if xlim else (float(np.min(x)), float(np.max(x)))
    margin = 0 if xlim else 0.03 * (hi - lo) if hi > lo else 0.5
    with np.errstate(all="ignore"):
        dense = np.linspace(lo - margin, hi + margin, CURVE_SAMPLES)
        curve = polynomial(dense)
        spans = [np.ptp(curve), np.ptp(y), hi - lo + 2 * margin]
    if not (np.isfinite(curve).all() and np.isfinite(spans).all()):
        raise FitbpError("cannot draw this fit: its values reach beyond the range of float64")

    axis = getattr(points, "x_axis", None)  # dates: drawn as dates, from the days or seconds the fit used
    on_axis = axis.datetime64 if axis is not None else np.asarray
    shown = even_sample(x.size, MOST_POINTS_DRAWN)
    crowd = x.size > 2000
    # The points lie under the band and the curve: dense data would hide the fit it is fitted by.
    fit_axes.scatter(on_axis(x[shown]), y[shown], s=4 if crowd else 14, alpha=0.25 if crowd else 0.8,
                     color="tab:blue", linewidths=0, label=points_label(points, shown.size), rasterized=crowd,
                     zorder=1)
    if band is not None:
        lower, upper = band(dense)
        fit_axes.fill_between(on_axis(dense), lower, upper, color="tab:orange", alpha=0.45, linewidth=0, zorder=2,
                              label=band_label)
    if xlim and fitted_range:
        beyond = [(lo, fitted_range[0]), (fitted_range[1], hi)]
        for index, (start, end) in enumerate(span for span in beyond if span[0] < span[1]):
            fit_axes.axvspan(*on_axis([start, end]), color="0.5", alpha=0.15, linewidth=0, zorder=0,
                             label=None if index else "extrapolated: beyond the data")
    fit_axes.plot(on_axis(dense), curve, color="tab:red", linewidth=2,
                  label=f"{polynomial.basis.curve(polynomial.degree)} fit", zorder=3)
    fit_axes.set_xlim(*on_axis([lo - margin, hi + margin]))

    fit_axes.set_ylabel(points.y_name, parse_math=False)
    if axis is not None:
        _date_ticks(fit_axes)
    legend = fit_axes.legend(loc="best", fontsize="small", alignment="left", title_fontsize="small",
                             title="\n".join([*equation[0], equation[1]]) if equation else None)
    legend.get_title().set_parse_math(False)  # the equation heads the legend, which finds room for both
    return fit_axes


def _draw_residuals(axes, polynomial, points):
    """y − ŷ of the points drawn, under the fit on the x axis it shares (dates too)."""
    x, y = points.x, points.y
    axis = getattr(points, "x_axis", None)
    shown = even_sample(x.size, MOST_POINTS_DRAWN)
    axes.axhline(0.0, color="tab:red", linewidth=1)
    axes.scatter(axis.datetime64(x[shown]) if axis is not None else x[shown], (y - polynomial(x))[shown], s=4,
                 alpha=0.5, color="tab:blue", linewidths=0, rasterized=x.size > 2000)
    axes.set_ylabel("residual")
    if axis is not None:
        _date_ticks(axes)


def _date_ticks(axes):
    """Dates at ticks that do not run into each other: matplotlib's concise labels (the day, the month
    once, the year once, in the corner), at most six along the axis."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=3, maxticks=6)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def selection_figure(selection, source):
    """Training and cross-validated MSE against the degree on a log scale, the choice marked; beside it
    BIC less its least value, the criterion that chose."""
    rows = selection.candidates
    degrees = np.array([r["degree"] for r in rows])
    fig = _new_figure((11, 4.4), False)
    errors, criterion = fig.subplots(1, 2, width_ratios=[3, 2])
    train = np.array([r["train_mse"] for r in rows], dtype=float)
    shown = np.isfinite(train) & (train > 0)  # an exact fit's 0 has no place on a log scale
    errors.plot(degrees[shown], train[shown], marker=".", color="tab:blue", label="training MSE")
    scored = [r for r in rows if r["cv_mse"] is not None and 0 < r["cv_mse"] < math.inf]
    if scored:
        errors.errorbar([r["degree"] for r in scored], [r["cv_mse"] for r in scored],
                        yerr=[r["cv_se"] for r in scored], marker=".", color="tab:orange", capsize=2,
                        label=f"{selection.folds}-fold cross-validated MSE (± se)")
    for axes in (errors, criterion):
        axes.axvline(selection.chosen, color="tab:red", linewidth=1, linestyle="--")
        axes.set_xlabel("degree")
        axes.grid(True, alpha=0.3)
    if shown.any() or scored:
        errors.set_yscale("log")
    else:
        errors.annotate("no error to draw: every degree fits exactly, or the MSE is beyond float64",
                        xy=(0.5, 0.5), xycoords="axes fraction", ha="center", fontsize="small")
    errors.set_ylabel("MSE")
    errors.legend(loc="best", fontsize="small")
    errors.set_title(f"{source}: degree {selection.chosen} chosen (dashed line)", loc="left", fontsize="medium",
                     parse_math=False)
    bic = np.array([r["bic"] for r in rows], dtype=float)
    finite = np.isfinite(bic)
    if finite.any():
        criterion.plot(degrees[finite], bic[finite] - bic[finite].min(), marker=".", color="tab:green")
        criterion.set_yscale("symlog", linthresh=10)
    criterion.set_ylabel("BIC − least BIC")
    criterion.set_title("the criterion that chose", loc="left", fontsize="medium")
    return fig


def comparison_figure(x, y, comparison, source):
    """Each family's curve over the points, a tenth of the range beyond each end shaded: there the
    families part ways, each as its kind extrapolates."""
    fig = _new_figure((10, 5.5), False)
    axes = fig.subplots()
    low, high = float(np.min(x)), float(np.max(x))
    margin = 0.1 * (high - low)
    dense = np.linspace(low - margin, high + margin, 1200)
    drawn = even_sample(x.size, 5000)
    axes.scatter(x[drawn], y[drawn], s=8, color="0.55", label=f"data ({x.size:,} points)", zorder=1)
    for side in ((low - margin, low), (high, high + margin)):
        axes.axvspan(*side, color="0.5", alpha=0.12, linewidth=0, zorder=0)
    styles = {"taylor": ("tab:blue", "-"), "chebyshev": ("tab:cyan", ":"), "fourier": ("tab:red", "-"),
              "spline": ("tab:green", "--")}
    spread = float(np.ptp(y)) or 1.0
    for row in comparison.rows:
        color, line = styles.get(row.family, ("black", "-"))
        curve = np.asarray(comparison.candidates[row.family].curve(dense), dtype=float)
        axes.plot(dense, curve, color=color, linestyle=line, linewidth=2 if row.rank == 1 else 1.3,
                  label=f"{row.rank}. {row.family}: {row.detail}", zorder=3 if row.rank == 1 else 2)
    axes.set_ylim(float(np.min(y)) - 0.25 * spread, float(np.max(y)) + 0.25 * spread)
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    axes.set_title(f"{source}: {comparison.winner} ranks first (shaded: beyond the data)", loc="left",
                   fontsize="medium", parse_math=False)
    return fig


def _new_figure(size, window):
    if window:
        import warnings

        import matplotlib.pyplot as plt

        with warnings.catch_warnings():  # a display that does not work: show() tells, in fitbp's words
            warnings.simplefilter("ignore")
            return plt.figure(figsize=size, layout="constrained")
    os.environ["MPLBACKEND"] = "agg"  # no window wanted: a bad MPLBACKEND must not matter
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def points_label(points, drawn):
    total = points.sampled_from or points.x.size
    label = f"data ({total:,} point{'s' if total != 1 else ''}"
    if drawn < total:
        label += f", {drawn:,} {'kept and ' if points.sampled_from else ''}drawn"
    return label + ")"


def _draw_loss(axes, loss_history, loss="mse"):
    """The loss per epoch on a log scale (a linear one when it spans less than a decade, where log
    ticks would read 3.65×10⁰); a loss of exactly 0 cannot be drawn on a log scale, so it is said."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    losses = np.asarray([v if v is not None else np.nan for v in loss_history], dtype=float)
    epochs = np.arange(1, losses.size + 1)
    positive = np.isfinite(losses) & (losses > 0)
    axes.plot(epochs[positive], losses[positive], color="tab:green", marker="." if losses.size < 60 else None)
    if positive.any() and losses[positive].max() >= 10 * losses[positive].min():
        axes.set_yscale("log")
    axes.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: epoch_label(value, losses.size)))
    if losses.size:
        axes.set_xlim(0.5, max(losses.size, 2) + 0.5)
    zero = np.flatnonzero(losses == 0)
    if zero.size:
        axes.annotate(f"loss = 0 from epoch {zero[0] + 1}", xy=(0.98, 0.02), xycoords="axes fraction",
                      ha="right", va="bottom", fontsize="small")
    axes.set_xlabel("epoch (one backprop pass)")
    axes.set_ylabel(f"loss ({printable(loss)})", parse_math=False)
    axes.set_title("training loss", loc="left", fontsize="medium")
    axes.grid(True, which="major", alpha=0.3)


def epoch_label(epoch, most):
    """12, 1,500, 20k, 1.5M, one unit for every tick of an axis up to ``most`` epochs: short enough
    that five ticks never run into each other."""
    if most >= 1e6:
        return f"{epoch / 1e6:g}M"
    if most >= 1e4:
        return f"{epoch / 1e3:g}k"
    return f"{epoch:,.0f}"


def save(fig, path, write, description=None):
    """Render ``fig`` in the format of ``path`` and hand the bytes to ``write`` (an atomic writer);
    ``description`` goes into the file's own metadata (SVG's and PDF's, PNG's text chunks)."""
    buffer = io.BytesIO()
    extension = check_format(path)
    key = {"svg": "Description", "png": "Description", "pdf": "Subject"}.get(extension)
    metadata = {key: description} if description and key else None
    fig.savefig(buffer, format=extension, dpi=110, metadata=metadata)
    write(path, buffer.getvalue())


def has_display():
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show():
    """Open the pyplot figures in windows and wait until they are closed; False where none can open."""
    import matplotlib
    import matplotlib.pyplot as plt

    if matplotlib.get_backend().lower() in ("agg", "pdf", "svg", "ps", "cairo", "template"):
        return False  # pyplot found no working display and fell back to a file backend
    plt.show()
    return True
