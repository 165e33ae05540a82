"""The renderer: the fit over the points, and the loss falling epoch by epoch.

Only ``fitbp plot`` imports this module, and matplotlib is imported inside
its functions, so the commands that do not draw start without it.  Figures
are drawn on a bare ``Figure`` (no pyplot, no GUI backend), which works on
machines with no display and no MPLBACKEND set; pyplot is loaded only to
open a window for ``--show``.
"""

from __future__ import annotations

import io
import os
import sys

import numpy as np

from fitbp.errors import FitbpError
from fitbp.loader import even_sample

FORMATS = ("png", "svg", "pdf")
MOST_POINTS_DRAWN = 50_000
"""Beyond this, an even sample of the points is drawn (rasterised): the eye cannot tell, the file can."""
CURVE_SAMPLES = 1000


def check_format(path):
    """The file format named by ``path``'s extension, or a FitbpError before any drawing."""
    extension = os.path.splitext(str(path))[1].lower().lstrip(".")
    if extension not in FORMATS:
        shown = f"'.{extension}'" if extension else "no extension"
        raise FitbpError(f"{path}: cannot tell the picture format from {shown} (use .png, .svg or .pdf)")
    return extension


def figure(polynomial, x, y, loss_history, title, residuals=False, window=False):
    """A matplotlib Figure: fit and points, optional residuals, and the loss on a log scale.

    With ``window`` the figure belongs to pyplot, so that ``show`` can open it.
    """
    from matplotlib.ticker import MaxNLocator

    size = (11, 6.4 if residuals else 4.8)
    if window:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size, layout="constrained")
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, layout="constrained")
    grid = fig.add_gridspec(2 if residuals else 1, 2, height_ratios=[3, 1] if residuals else [1],
                            width_ratios=[3, 2])
    fit_axes = fig.add_subplot(grid[0, 0])
    loss_axes = fig.add_subplot(grid[:, 1])
    shown = even_sample(x.size, MOST_POINTS_DRAWN)
    many = shown.size < x.size
    label = f"data ({x.size:,} points" + (f", {shown.size:,} drawn)" if many else ")")
    fit_axes.scatter(x[shown], y[shown], s=6 if x.size > 2000 else 14, alpha=0.5 if x.size > 2000 else 0.8,
                     color="tab:blue", linewidths=0, label=label, rasterized=x.size > 2000)
    lo, hi = float(np.min(x)), float(np.max(x))
    margin = 0.03 * (hi - lo) if hi > lo else 0.5
    dense = np.linspace(lo - margin, hi + margin, CURVE_SAMPLES)
    fit_axes.plot(dense, polynomial(dense), color="tab:red", linewidth=2, label=f"degree {polynomial.degree} fit")
    fit_axes.set_xlim(lo - margin, hi + margin)
    fit_axes.set_ylabel("y")
    fit_axes.legend(loc="best", fontsize="small")
    fit_axes.set_title(title, loc="left", fontsize="medium")
    if residuals:
        residual_axes = fig.add_subplot(grid[1, 0], sharex=fit_axes)
        residual_axes.axhline(0.0, color="tab:red", linewidth=1)
        residual_axes.scatter(x[shown], (y - polynomial(x))[shown], s=4, alpha=0.5, color="tab:blue",
                              linewidths=0, rasterized=x.size > 2000)
        residual_axes.set_ylabel("residual")
        residual_axes.set_xlabel("x")
    else:
        fit_axes.set_xlabel("x")

    losses = np.asarray([v if v is not None else np.nan for v in loss_history], dtype=float)
    epochs = np.arange(1, losses.size + 1)
    positive = np.isfinite(losses) & (losses > 0)
    loss_axes.plot(epochs[positive], losses[positive], color="tab:green", marker="." if losses.size < 60 else None)
    loss_axes.set_yscale("log")
    loss_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axes.set_xlabel("epoch (one backprop pass)")
    loss_axes.set_ylabel("loss (MSE)")
    loss_axes.set_title("training loss", loc="left", fontsize="medium")
    loss_axes.grid(True, which="major", alpha=0.3)
    return fig


def save(fig, path, write):
    """Render ``fig`` in the format of ``path`` and hand the bytes to ``write`` (an atomic writer)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=check_format(path), dpi=110)
    write(path, buffer.getvalue())


def has_display():
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show():
    """Open the pyplot figures in windows and wait until they are closed."""
    import matplotlib.pyplot as plt

    plt.show()
