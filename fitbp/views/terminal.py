"""The fit drawn in the terminal: points and curve in Unicode braille (two by four dots a character)
or plain ASCII, axes with tick labels, and the loss per epoch as one line under it.

For a fit made over ssh, where no picture can be opened.  No matplotlib: the plot starts as fast
as `fit` does.  Colour only where asked (a terminal, and no NO_COLOR); a pipe gets plain characters.
"""

from __future__ import annotations

import math

import numpy as np

BRAILLE = 0x2800
DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The bit of the braille dot at (row 0-3, column 0-1) of a character cell."""
SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = "_.-~=*#"
LABEL_WIDTH = 10
SMALLEST = (30, 10)
POINT, CURVE = "\x1b[34m", "\x1b[31m"
RESET = "\x1b[0m"


def render(polynomial, points, loss_history, title, width, height, ascii=False, colour=False):
    """The text of the plot, at most ``width`` columns and ``height`` lines."""
    columns, rows = width - LABEL_WIDTH - 1, height - 5  # title, x axis, x labels, loss line, loss labels
    across, down = (1, 1) if ascii else (2, 4)
    x, y = np.asarray(points.x, dtype=float), np.asarray(points.y, dtype=float)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    grid_x = np.linspace(lo, hi, columns * across)
    curve = polynomial(grid_x)
    finite = np.isfinite(curve)
    bottom = float(min(y.min(), curve[finite].min() if finite.any() else y.min()))
    top = float(max(y.max(), curve[finite].max() if finite.any() else y.max()))
    if top == bottom:
        bottom, top = bottom - 0.5, top + 0.5
    dots_x, dots_y = columns * across, rows * down

    def to_dots(xs, ys):
        i = np.clip(np.round((xs - lo) / (hi - lo) * (dots_x - 1)), 0, dots_x - 1).astype(int)
        j = np.clip(np.round((top - ys) / (top - bottom) * (dots_y - 1)), 0, dots_y - 1).astype(int)
        return i, j

    point_layer = np.zeros((dots_y, dots_x), dtype=bool)
    point_layer[to_dots(x, y)[::-1]] = True
    curve_layer = np.zeros_like(point_layer)
    ci, cj = to_dots(grid_x[finite], curve[finite])
    for k in range(ci.size):  # join each dot to the next, so that a steep curve stays one line
        low_j, high_j = sorted((cj[k], cj[k + 1] if k + 1 < ci.size else cj[k]))
        curve_layer[low_j:max(high_j, low_j + 1), ci[k]] = True
        curve_layer[cj[k], ci[k]] = True
    cells = [_row(point_layer, curve_layer, r, columns, across, down, ascii, colour) for r in range(rows)]
    labels = {0: top, rows // 2: (top + bottom) / 2, rows - 1: bottom}
    lines = [_fit_width(_plain(title) if ascii else title.replace("\n", " "), width, ascii)]
    for r, cell_row in enumerate(cells):
        label = _tick(labels[r]) if r in labels else ""
        lines.append(f"{label:>{LABEL_WIDTH}}{'|' if ascii else '│'}{cell_row}")
    lines.append(" " * LABEL_WIDTH + ("+" + "-" * columns if ascii else "└" + "─" * columns))
    lines.append(" " * (LABEL_WIDTH + 1) + _x_labels(lo, hi, columns))
    lines += _loss_lines(loss_history, columns, ascii)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _row(points, curve, r, columns, across, down, ascii, colour):
    """One line of character cells: braille patterns of both layers, or '*' for the curve and 'o'
    for points in ASCII; coloured per layer when asked."""
    out = []
    for c in range(columns):
        block_p = points[r * down:(r + 1) * down, c * across:(c + 1) * across]
        block_c = curve[r * down:(r + 1) * down, c * across:(c + 1) * across]
        if ascii:
            char = "*" if block_c.any() else "o" if block_p.any() else " "
        else:
            bits = sum(DOTS[i][j] for i in range(down) for j in range(across) if block_p[i, j] or block_c[i, j])
            char = chr(BRAILLE + bits) if bits else " "
        if colour and char != " ":
            char = (CURVE if block_c.any() else POINT) + char + RESET
        out.append(char)
    return "".join(out)


def _tick(value):
    text = f"{value:.4g}"
    return text if len(text) < LABEL_WIDTH else f"{value:.2e}"


def _x_labels(lo, hi, columns):
    left, middle, right = _tick(lo), _tick((lo + hi) / 2), _tick(hi)
    line = [" "] * columns
    for text, at in ((left, 0), (middle, columns // 2 - len(middle) // 2), (right, columns - len(right))):
        line[max(at, 0):max(at, 0) + len(text)] = list(text)
    return "".join(line)[:columns]


def _loss_lines(history, columns, ascii):
    """The loss per epoch as one line of bars on a log scale, resampled to the width, and its ends."""
    losses = np.array([v for v in history if v is not None and math.isfinite(v) and v > 0], dtype=float)
    if losses.size == 0:
        return [" " * LABEL_WIDTH + " no loss history"]
    marks = ASCII_SPARKS if ascii else SPARKS
    take = np.linspace(0, losses.size - 1, min(columns, losses.size)).round().astype(int)
    logs = np.log10(losses[take])
    span = logs.max() - logs.min()
    levels = np.zeros(take.size, dtype=int) if span == 0 else np.round(
        (logs - logs.min()) / span * (len(marks) - 1)).astype(int)
    bars = "".join(marks[v] for v in levels)
    return [f"{'loss':>{LABEL_WIDTH}} {bars}",
            " " * (LABEL_WIDTH + 1) + f"{_tick(losses[0])} at epoch 1 to {_tick(losses[-1])} at epoch "
            f"{losses.size:,} (log scale)"]


def _fit_width(text, width, ascii):
    cut = "..." if ascii else "…"
    return text if len(text) <= width else text[:width - len(cut)] + cut


def _plain(text):
    """ASCII for consoles without Unicode: R^2, delta, and '?' for anything else."""
    text = text.replace("\n", " ").replace("²", "^2").replace("δ", "delta ").replace("−", "-")
    return text.encode("ascii", "replace").decode("ascii")
