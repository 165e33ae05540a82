"""The fit drawn in the terminal: points and curve in Unicode braille (two by four dots a character)
or plain ASCII, axes with tick labels, and the loss per epoch as one line under it.

For a fit made over ssh, where no picture can be opened.  No matplotlib: the plot starts as fast
as `fit` does.  Colour only where asked (a terminal, and no NO_COLOR); a pipe gets plain characters.
Any size from SMALLEST up is kept to, measured in terminal cells: the statistics always show, wrapped
to the width; what else a small size has no room for is left out, least wanted first (EXTRAS).
"""

from __future__ import annotations

import math

import numpy as np
from rich.cells import cell_len, set_cell_size

BRAILLE = 0x2800
DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The bit of the braille dot at (row 0-3, column 0-1) of a character cell."""
SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = "_.-~=*#"
LABEL_WIDTH = 10
"""Columns of the y tick labels from 40 columns up; a narrower plot gives them only what they need."""
SMALLEST = (20, 6)
"""The smallest plot, columns and lines: 20 columns leave 9 or more for the curve beside the longest
tick label and hold any one statistic on a line; 6 lines hold a robust fit's four lines of statistics
and two rows of curve.  The --width and --height options in cli.py have the same minimums."""
FEWEST_ROWS, ROOMY_ROWS = 2, 3
"""Rows of the curve: never fewer than FEWEST_ROWS, and EXTRAS only while ROOMY_ROWS remain."""
EXTRAS = ("x labels", "x axis", "description", "loss", "loss ends")
"""What the plot shows besides the statistics and the curve, in the order it is given room: a short
height keeps the first ones and leaves out the rest."""
POINT, CURVE = "\x1b[34m", "\x1b[31m"
RESET = "\x1b[0m"


def render(polynomial, points, loss_history, title, width, height, ascii=False, colour=False):
    """The text of the plot, at most ``width`` terminal cells wide and ``height`` lines.

    ``title(y_name, x_name)`` is the title for those column names: what was fitted on its first line,
    then its statistics as "name value" phrases separated by ", ".  A function, so that long names can
    be cut short rather than the statistics, which matter most and always show.
    """
    if width < SMALLEST[0] or height < SMALLEST[1]:
        raise ValueError(f"a terminal plot needs at least {SMALLEST[0]} × {SMALLEST[1]} cells, "
                         f"not {width} × {height}")
    mark = "..." if ascii else "…"
    across = 1 if ascii else 2
    what, statistics = _heading((lambda *names: _plain(title(*names))) if ascii else title,
                                (str(points.y_name), str(points.x_name)), width, mark)
    x, y = np.asarray(points.x, dtype=float), np.asarray(points.y, dtype=float)
    lo, hi = _widened(float(x.min()), float(x.max()))
    gutter = min(LABEL_WIDTH, width // 4)
    bottom, top = _widened(*_y_range(polynomial, y, np.linspace(lo, hi, (width - gutter - 1) * across)))
    ticks = [_tick(top), _tick((top + bottom) / 2), _tick(bottom)]
    gutter = max(gutter, *map(len, ticks))
    columns = width - gutter - 1
    short, full = _wrap(statistics, width), _wrap([what, *statistics], width)
    loss = _loss_lines(loss_history, columns, gutter, width, ascii)
    # each extra's lines; the description's are the title's lines it adds, drawn as part of `full`
    extras = {"x axis": [" " * gutter + ("+" + "-" * columns if ascii else "└" + "─" * columns)],
              "x labels": [_x_labels(lo, hi, gutter + 1, width, _x_tick(points, hi - lo))],
              "description": full[len(short):],
              "loss": loss[:1], "loss ends": loss[1:]}
    shown = _room(height - len(short) - ROOMY_ROWS, [(extra, len(extras[extra])) for extra in EXTRAS])
    lines = full if "description" in shown else short
    below = [line for extra in extras if extra in shown and extra != "description" for line in extras[extra]]
    rows = height - len(lines) - len(below)
    if rows < FEWEST_ROWS:
        raise ValueError(f"{width} × {height} cells are too few for this title and a curve")
    labels = {0: ticks[0], rows // 2: ticks[1], rows - 1: ticks[2]}
    cells = _cells(polynomial, x, y, (lo, hi, bottom, top), columns, rows, ascii, colour)
    lines += [f"{labels.get(r, ''):>{gutter}}{'|' if ascii else '│'}{row}" for r, row in enumerate(cells)]
    return "\n".join(line.rstrip() for line in lines + below) + "\n"


def _widened(lo, hi):
    """A range to draw in: [lo, hi], or one unit around a single value."""
    return (lo - 0.5, hi + 0.5) if hi == lo else (lo, hi)


def _y_range(polynomial, y, grid_x):
    """The lowest and highest of the points and of the curve where it is finite."""
    curve = polynomial(grid_x)
    values = np.concatenate([y, curve[np.isfinite(curve)]])
    return float(values.min()), float(values.max())


def _cells(polynomial, x, y, box, columns, rows, ascii, colour):
    """The plot area, ``rows`` lines of ``columns`` characters: the points, and the curve joined dot
    to dot, so that a steep curve stays one line."""
    lo, hi, bottom, top = box
    across, down = (1, 1) if ascii else (2, 4)
    dots_x, dots_y = columns * across, rows * down
    grid_x = np.linspace(lo, hi, dots_x)
    curve = polynomial(grid_x)
    finite = np.isfinite(curve)

    def to_dots(xs, ys):
        i = np.clip(np.round((xs - lo) / (hi - lo) * (dots_x - 1)), 0, dots_x - 1).astype(int)
        j = np.clip(np.round((top - ys) / (top - bottom) * (dots_y - 1)), 0, dots_y - 1).astype(int)
        return i, j

    point_layer = np.zeros((dots_y, dots_x), dtype=bool)
    point_layer[to_dots(x, y)[::-1]] = True
    curve_layer = np.zeros_like(point_layer)
    ci, cj = to_dots(grid_x[finite], curve[finite])
    for k in range(ci.size):
        low_j, high_j = sorted((cj[k], cj[k + 1] if k + 1 < ci.size else cj[k]))
        curve_layer[low_j:max(high_j, low_j + 1), ci[k]] = True
        curve_layer[cj[k], ci[k]] = True
    return [_row(point_layer, curve_layer, r, columns, across, down, ascii, colour) for r in range(rows)]


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


def _tick(value, digits=4):
    """A tick label of ``digits`` significant digits, in powers of ten where it would be long."""
    text = f"{value:.{digits}g}"
    return text if len(text) < LABEL_WIDTH else f"{value:.{digits - 2}e}"


def _x_tick(points, span):
    """How an x tick is written: a number, or for x fitted on dates the date (and the time of day
    when the data span less than three days), shorter when ``digits`` asks for less room."""
    axis = getattr(points, "x_axis", None)
    if axis is None:
        return _tick
    days = span * axis.seconds / 86400.0
    forms = ({4: "%Y-%m-%d", 3: "%y-%m-%d", 2: "%m-%d"} if days >= 3 else
             {4: "%m-%d %H:%M", 3: "%d %H:%M", 2: "%H:%M"})
    return lambda value, digits=4: axis.moment(value).strftime(forms[digits])


def _x_labels(lo, hi, indent, width, tick=_tick):
    """The x ticks under both ends of the axis, which starts at ``indent``, and in its middle where
    there is room.  When the ends do not fit under the axis the left one reaches under the y labels,
    and when they do not fit in the width they get fewer digits."""
    for digits in (4, 3, 2):
        left, right = tick(lo, digits), tick(hi, digits)
        if len(left) + 1 + len(right) <= width:
            break
    middle = tick((lo + hi) / 2, digits)
    start, end = min(indent, width - len(right) - 1 - len(left)), width - len(right)
    line = [" "] * width
    line[start:start + len(left)], line[end:] = left, right
    at = indent + (width - indent) // 2 - len(middle) // 2
    if start + len(left) < at and at + len(middle) < end:
        line[at:at + len(middle)] = middle
    return "".join(line)


def _loss_lines(history, columns, gutter, width, ascii):
    """The loss per epoch as one line of bars on a log scale, resampled to the width, and a line of
    its ends: in words where they fit, shorter where not, left out where even the numbers do not."""
    losses = np.array([v for v in history if v is not None and math.isfinite(v) and v > 0], dtype=float)
    if losses.size == 0:
        return _fitting(["no loss history"], gutter + 1, width)
    marks = ASCII_SPARKS if ascii else SPARKS
    take = np.linspace(0, losses.size - 1, min(columns, losses.size)).round().astype(int)
    logs = np.log10(losses[take])
    span = logs.max() - logs.min()
    levels = np.zeros(take.size, dtype=int) if span == 0 else np.round(
        (logs - logs.min()) / span * (len(marks) - 1)).astype(int)
    bars = "".join(marks[v] for v in levels)
    first, last, epochs = _tick(losses[0]), _tick(losses[-1]), f"{losses.size:,}"
    return [f"{'loss':>{gutter}} {bars}"] + _fitting(
        [f"{first} at epoch 1 to {last} at epoch {epochs} (log scale)",
         f"{first} to {last} in {epochs} epochs (log)", f"{first} to {last}"], gutter + 1, width)


def _fitting(texts, indent, width):
    """The first of ``texts`` that fits in ``width`` indented by ``indent``, or else not indented, as a
    list of that one line; an empty list when none fits."""
    for text in texts:
        for line in (" " * indent + text, text):
            if cell_len(line) <= width:
                return [line]
    return []


def _heading(title, names, width, mark):
    """The title's first line, what was fitted, with the column ``names`` in it cut short with ``mark``
    until it fits in ``width`` (cut at its end if even that is not enough); and its statistics as
    pieces to wrap, a long one's name cut so that its value shows."""
    what, _, statistics = title(*names).partition("\n")
    phrases = statistics.split(", ") if statistics else []
    pieces = [_cut_name(phrase + ",", width, mark) for phrase in phrases[:-1]] + \
        [_cut_name(phrase, width, mark) for phrase in phrases[-1:]]
    for cells in range(min(max(map(cell_len, names)), width), cell_len(mark), -1):
        shortened = title(*(_cut(name, cells, mark) for name in names)).partition("\n")[0]
        if cell_len(shortened) <= width:
            return shortened, pieces
    return _cut(what, width, mark), pieces


def _cut_name(phrase, width, mark):
    """A "name value" phrase in ``width`` cells, its name cut short if need be but never its value."""
    name, _, value = phrase.rpartition(" ")
    if cell_len(phrase) <= width or not name:
        return _cut(phrase, width, mark)
    return f"{_cut(name, width - 1 - cell_len(value), mark, at_word=True)} {value}"


def _cut(text, cells, mark, at_word=False):
    """``text`` in at most ``cells`` terminal cells, ending in ``mark`` where something was cut (after
    the last whole word kept, if ``at_word`` and there is one)."""
    if cell_len(text) <= cells:
        return text
    kept = set_cell_size(text, max(cells - cell_len(mark), 0)).rstrip()
    return (kept.rsplit(" ", 1)[0] if at_word else kept).rstrip() + mark


def _wrap(pieces, width):
    """The pieces joined by spaces into as few lines of at most ``width`` cells as they go in order."""
    lines = []
    for piece in pieces:
        if lines and cell_len(lines[-1]) + 1 + cell_len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return lines


def _room(room, costs):
    """The names of ``costs`` (name, lines), taken in order until the next one's lines would make
    them more than ``room``."""
    shown = []
    for name, lines in costs:
        room -= lines
        if room < 0:
            break
        shown.append(name)
    return shown


def _plain(text):
    """ASCII for consoles without Unicode: R^2, delta, and '?' for anything else."""
    text = text.replace("²", "^2").replace("δ", "delta").replace("−", "-")
    return text.encode("ascii", "replace").decode("ascii")
