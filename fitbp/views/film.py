"""The training film: the fitted curve changing over the epochs, beside the falling loss.

Training keeps snapshots of the Taylor coefficients at a sparse set of
epochs (every epoch at first, then geometrically spaced, and the last).  The
film shows at most ``most_frames`` of them, spread evenly over log(epoch):
the fast change of the first epochs and the slow one of the last thousands
both get their share of the frames, and 10,000 epochs render in seconds.

Like the renderer, this module imports matplotlib only inside ``animate``
and draws on a bare ``Figure`` (no pyplot, no display).  The film is written
to a temporary file in the same folder and renamed over ``path`` only once
complete, so a failed or interrupted run leaves no partial file and keeps an
existing one as it was.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess

import numpy as np

from fitbp.errors import FitbpError, printable
from fitbp.sources.data import even_sample
from fitbp.fitting.losses import LOSSES
from fitbp.fitting import bases
from fitbp.fitting.model import Polynomial, loss_of
from fitbp.fitting.modelfile import replacing

FILM_FORMATS = ("gif", "mp4")
MOST_FRAMES = 120
FPS = 15
HOLD_SECONDS = 1.5
"""How long the last frame (the finished fit) stays before the film loops."""
MOST_POINTS_IN_FILM = 5_000
"""Every frame redraws the points: fewer than a still picture draws (an even sample), and rasterised."""
CURVE_SAMPLES = 400
SIZE = (9.0, 3.6)
DPI = 80
"""720 × 288 pixels: even sizes, which h264 needs, and a GIF of 120 frames stays small."""
LOG_EPOCHS_FROM = 100
"""A loss history longer than this is drawn over log(epoch), the axis the frames are spread on."""


def check_film_format(path):
    """``gif`` or ``mp4`` from ``path``'s extension, or a FitbpError before any drawing."""
    text = str(path)
    if text.endswith(("/", os.sep)):
        raise FitbpError(f"{printable(text)}: names a folder; give a file name such as fit.gif")
    extension = os.path.splitext(text)[1].lower().lstrip(".")
    if extension not in FILM_FORMATS:
        shown = f"'.{printable(extension)}'" if extension else "no extension"
        raise FitbpError(f"{printable(text)}: cannot make a film of format {shown} (use .gif, or .mp4 "
                         "with ffmpeg on the PATH)")
    if extension == "mp4" and not shutil.which("ffmpeg"):
        raise FitbpError(f"{printable(text)}: .mp4 needs ffmpeg on the PATH; use .gif")
    return extension


def frame_epochs(snapshot_epochs, most_frames=MOST_FRAMES):
    """Indices of at most ``most_frames`` snapshots, spread evenly over log(epoch).

    ``snapshot_epochs`` must be in non-decreasing order.  The first and the
    last are always chosen; the indices are increasing.  Where snapshots are
    sparser than the even spacing (the first epochs, one by one, are far
    apart on a log scale) each is taken, and the rest of the frames are spread
    evenly over the remaining stretch: the spacing is the smallest one that
    keeps the count within ``most_frames``.
    """
    epochs = np.asarray(snapshot_epochs, dtype=np.float64)
    n = epochs.size
    if n == 0:
        return []
    if np.any(np.diff(epochs) < 0):
        raise ValueError("snapshot epochs must be in non-decreasing order")
    if n == 1:
        return [0]
    if most_frames < 2:
        raise FitbpError(f"a film needs at least 2 frames, not {most_frames}")
    if n <= most_frames:
        return list(range(n))
    position = np.log1p(np.maximum(epochs, 0.0))
    low, high = 0.0, float(position[-1] - position[0])
    if high <= 0:  # all at one epoch: nothing to spread over
        return list(range(most_frames - 1)) + [n - 1]
    best = _spaced(position, high)
    for _ in range(60):  # bisect the spacing: count(spacing) only falls as the spacing grows
        middle = (low + high) / 2
        chosen = _spaced(position, middle)
        if len(chosen) <= most_frames:
            high, best = middle, chosen
        else:
            low = middle
    return best


def _spaced(position, spacing):
    """Greedy: from the first, each next index is the first at least ``spacing`` further; the last always."""
    last = position.size - 1
    chosen, i = [0], 0
    while True:
        j = max(int(np.searchsorted(position, position[i] + spacing, side="left")), i + 1)
        if j >= last or position[last] - position[j] < spacing / 2:
            break
        chosen.append(j)
        i = j
    chosen.append(last)
    return chosen


def animate(points, center, scale, snapshots, loss_history, path, title="", most_frames=MOST_FRAMES, fps=FPS,
            loss="mse", delta=None, basis="taylor"):
    """Write a film of the fit to ``path`` (.gif, or .mp4 with ffmpeg): one frame a chosen snapshot.

    ``points`` is a fitbp.sources.data.Points; ``snapshots`` a list of
    ``(epoch, coefficients)`` (or the model file's ``{"epoch": …,
    "taylor_coefficients": …}``) in ``basis`` with the fit's ``center`` and ``scale``;
    ``loss_history[e - 1]`` the loss after epoch ``e``, of the kind ``loss`` names
    (huber's with threshold ``delta``, in y units).  Returns the number of
    frames written.  Raises FitbpError for a path it cannot write or a format
    it cannot make; on any failure or interruption no partial file is left.
    """
    extension = check_film_format(path)
    if not math.isfinite(fps) or fps <= 0:
        raise FitbpError(f"frames per second must be a positive number, not {fps}")
    basis = bases.named(basis)
    pairs = ((s["epoch"], s[f"{basis.name}_coefficients"]) if isinstance(s, dict) else s for s in snapshots)
    snaps = sorted(((int(e), tuple(float(a) for a in c)) for e, c in pairs), key=lambda s: s[0])
    if not snaps:
        raise FitbpError("no snapshots of the training to make a film of (fit again with this fitbp)")
    chosen = [snaps[i] for i in frame_epochs([e for e, _ in snaps], most_frames)]
    losses = np.asarray([v if v is not None else np.nan for v in loss_history], dtype=np.float64)

    fig, update = _film_figure(points, center, scale, chosen, losses, title, loss, delta, basis)
    writer = _writer(extension, fps)
    try:
        with replacing(path, suffix=f".{extension}") as temporary:
            _render(fig, update, len(chosen), writer, temporary, extension, fps)
    except subprocess.CalledProcessError as e:  # ffmpeg refused: its own words are in e.stderr
        detail = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [str(e)]
        raise FitbpError(f"{printable(path)}: ffmpeg failed: {printable(detail[0])}") from None
    return len(chosen)


def _writer(extension, fps):
    os.environ["MPLBACKEND"] = "agg"  # no window wanted: a bad MPLBACKEND must not matter
    from matplotlib import animation

    if extension == "gif":
        return _gif_writer_class(animation)(fps=fps)
    return animation.FFMpegWriter(fps=fps, bitrate=-1)


_GIF_WRITER = None


def _gif_writer_class(animation):
    """PillowWriter with one palette for the whole film, and the last frame (the fit) held a moment.

    Quantising every frame on its own took most of the time and dithered the flat colours into noise;
    the frames share their colours (white, the points, the curve, grey text), so one palette, made from
    the first, a middle and the last frame, serves them all, fast and undithered.
    """
    global _GIF_WRITER
    if _GIF_WRITER is None:
        class GifWriter(animation.PillowWriter):
            def finish(self):
                from PIL import Image

                frames = [frame.convert("RGB") for frame in self._frames]
                width, height = frames[0].size
                picks = [frames[0], frames[len(frames) // 2], frames[-1]]
                montage = Image.new("RGB", (width, height * len(picks)))
                for i, frame in enumerate(picks):
                    montage.paste(frame, (0, i * height))
                palette = montage.quantize(256)
                images = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
                step = int(1000 / self.fps)
                durations = [step] * (len(images) - 1) + [max(step, int(HOLD_SECONDS * 1000))]
                images[0].save(self.outfile, format="GIF", save_all=True, append_images=images[1:],
                               duration=durations, loop=0)

        _GIF_WRITER = GifWriter
    return _GIF_WRITER


def _render(fig, update, count, writer, temporary, extension, fps):
    import matplotlib as mpl

    settings = {"savefig.bbox": None, "savefig.facecolor": "white", "savefig.transparent": False}
    if extension == "mp4":
        settings["animation.ffmpeg_path"] = shutil.which("ffmpeg")
    with mpl.rc_context(settings):
        with writer.saving(fig, temporary, DPI):
            for i in range(count):
                update(i)
                writer.grab_frame()
            if extension == "mp4":  # a video has no per-frame durations: repeat the last frame instead
                for _ in range(int(HOLD_SECONDS * fps)):
                    writer.grab_frame()


def _film_figure(points, center, scale, chosen, losses, title, loss="mse", delta=None, basis=bases.TAYLOR):
    """The figure and ``update(i)``, which moves it to the i-th chosen snapshot."""
    os.environ["MPLBACKEND"] = "agg"
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from fitbp.views.renderer import points_label

    x = np.asarray(points.x, dtype=np.float64)
    y = np.asarray(points.y, dtype=np.float64)
    lo, hi = (float(np.min(x)), float(np.max(x))) if x.size else (center - scale, center + scale)
    x_margin = 0.03 * (hi - lo) if hi > lo else 0.5
    dense = np.linspace(lo - x_margin, hi + x_margin, CURVE_SAMPLES)
    polynomials = [Polynomial(c, center, scale, basis=basis) for _, c in chosen]
    with np.errstate(all="ignore"):
        final = polynomials[-1](dense)
    bottom, top = _y_limits(y, final)
    reach = 10 * (top - bottom)

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)  # one canvas for every frame: its renderer, and the text sizes it measured, are kept
    grid = fig.add_gridspec(1, 2, width_ratios=[3, 2])
    fit_axes = fig.add_subplot(grid[0, 0])
    loss_axes = fig.add_subplot(grid[0, 1])

    shown = even_sample(x.size, MOST_POINTS_IN_FILM)
    crowd = x.size > 2000
    cloud = fit_axes.scatter(x[shown], y[shown], s=5 if crowd else 12, alpha=0.5 if crowd else 0.8,
                             color="tab:blue", linewidths=0, label=points_label(points, shown.size),
                             rasterized=True, zorder=3)
    (curve,) = fit_axes.plot(dense, final, color="tab:red", linewidth=2,
                             label=f"{polynomials[-1].basis.curve(polynomials[-1].degree)} fit", zorder=2)
    fit_axes.set_xlim(lo - x_margin, hi + x_margin)
    fit_axes.set_ylim(bottom, top)
    fit_axes.set_xlabel(points.x_name, parse_math=False)
    fit_axes.set_ylabel(points.y_name, parse_math=False)
    fit_axes.set_title(title, loc="left", fontsize="medium", parse_math=False)
    legend = fit_axes.legend(loc="best", fontsize="small")
    caption = fit_axes.text(0.02, 0.97, "", transform=fit_axes.transAxes, ha="left", va="top", fontsize="small",
                            family="monospace", parse_math=False, zorder=5,
                            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "alpha": 0.8, "linewidth": 0})

    epochs = np.arange(1, losses.size + 1)
    positive = np.isfinite(losses) & (losses > 0)
    loss_axes.plot(epochs[positive], losses[positive], color="tab:green", linewidth=1.5,
                   marker="." if losses.size < 60 else None)
    loss_axes.set_yscale("log")
    if losses.size > LOG_EPOCHS_FROM:
        loss_axes.set_xscale("log")
        loss_axes.set_xlim(0.9, losses.size * 1.1)
        loss_axes.set_xlabel("epoch (log scale)")
    else:
        from matplotlib.ticker import MaxNLocator

        loss_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        loss_axes.set_xlim(0.5, max(losses.size, 2) + 0.5)
        loss_axes.set_xlabel("epoch (one backprop pass)")
    number = isinstance(delta, (int, float)) and not isinstance(delta, bool) and math.isfinite(delta)
    threshold = f", δ {delta:.4g}" if number and loss in LOSSES and LOSSES[loss].needs_delta else ""
    loss_axes.set_ylabel(f"loss ({printable(loss)}{threshold})", parse_math=False)
    loss_axes.set_title("training loss", loc="left", fontsize="medium")
    loss_axes.grid(True, which="major", alpha=0.3)
    now_line = loss_axes.axvline(1, color="tab:red", linewidth=0.8, alpha=0.6)
    (now_dot,) = loss_axes.plot([], [], "o", color="tab:red", markersize=6, zorder=5)

    def update(i):
        epoch = chosen[i][0]
        with np.errstate(all="ignore"):
            values = polynomials[i](dense)
            values = np.where(np.isfinite(values), np.clip(values, bottom - reach, top + reach), np.nan)
        curve.set_ydata(values)
        value = _loss_at(epoch, losses, polynomials[i], x, y, loss, delta)
        caption.set_text(f"epoch {epoch:,}\nloss  {value:.4g}" if math.isfinite(value) else f"epoch {epoch:,}")
        visible = 1 <= epoch <= losses.size
        now_line.set_visible(visible)
        now_line.set_xdata([max(epoch, 1)] * 2)
        if visible and positive[epoch - 1]:
            now_dot.set_data([epoch], [losses[epoch - 1]])
        else:
            now_dot.set_data([], [])

    # Lay out once, with the final fit where the legend should not hide it; then freeze the layout, the
    # limits and the legend, so that nothing moves between frames.
    update(len(chosen) - 1)
    fig.canvas.draw()
    corner = legend.get_window_extent().transformed(fit_axes.transAxes.inverted())
    if hasattr(legend, "set_loc"):  # matplotlib 3.8+
        legend.set_loc((corner.x0, corner.y0))
    else:
        legend._loc = (corner.x0, corner.y0)
    if hasattr(fig, "set_layout_engine"):  # matplotlib 3.6+
        fig.set_layout_engine(None)
    else:
        fig.set_constrained_layout(False)
    for axes in (fit_axes, loss_axes):
        axes.set_xlim(axes.get_xlim())
        axes.set_ylim(axes.get_ylim())

    # What does not change (frames, ticks, labels, the loss curve) is drawn once into a picture that every
    # frame starts from: a frame then costs the few moving artists, not the whole figure's layout and text.
    # The points are redrawn with the curve so that they stay on top of it, as in the still picture.
    moving = [cloud, curve, legend, caption, now_line, now_dot]
    for artist in moving:
        artist.set_visible(False)
    fig.canvas.draw()
    background = np.asarray(fig.canvas.buffer_rgba()).copy()
    for axes in (fit_axes, loss_axes):
        for child in axes.get_children():
            child.set_visible(any(child is artist for artist in moving))
    fig.patch.set_visible(False)
    fig.figimage(background, xo=0, yo=0, origin="upper", zorder=-10)
    return fig, update


def _y_limits(y, final):
    """The data's y range and the finished fit's, with a margin: fixed, so early curves may leave the frame.

    The finished fit may widen the range (an overshoot between points), but by at most the data's own span.
    """
    data = y[np.isfinite(y)]
    fit = final[np.isfinite(final)]
    if not data.size and not fit.size:
        return -1.0, 1.0
    low, high = float(np.min(np.concatenate([data, fit]))), float(np.max(np.concatenate([data, fit])))
    if data.size and np.ptp(data) > 0:
        span = float(np.ptp(data))
        low, high = max(low, float(np.min(data)) - span), min(high, float(np.max(data)) + span)
    span = high - low
    margin = 0.08 * span if span > 0 else max(abs(high) * 0.1, 0.5)
    return low - margin, high + margin


def _loss_at(epoch, losses, polynomial, x, y, loss="mse", delta=None):
    """The recorded loss after ``epoch``; for a snapshot before the first epoch, the same loss of the
    points, from the graph training built."""
    if 1 <= epoch <= losses.size:
        return float(losses[epoch - 1])
    if not x.size or loss not in LOSSES:
        return math.nan
    with np.errstate(all="ignore"):
        return loss_of(polynomial(x), y, loss, delta or 1.0)
