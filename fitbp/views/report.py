"""How a fit is shown: a table for people, one JSON object for programs.

rich's Console decides on colour and box drawing: it stops both when stdout
is not a terminal and honours NO_COLOR, so a pipe receives plain text.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager

from fitbp.fitting import losses, modelfile
from fitbp.views.exporter import scaled_variable
from fitbp.errors import on_command_line, printable


def wide_console(width=160):
    """A stdout Console; when it is not a terminal, wide enough not to wrap tables and trees."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, width)  # a pipe has no width to wrap at
    return console


def emit(console, renderable, **options):
    """Print to a person or to a program.

    On a terminal rich wraps prose at word boundaries.  In a pipe a line of prose stays one line
    (a reader such as grep or a log wants it whole), and no line ends in the spaces that pad a
    table's cells.
    """
    if console.is_terminal:
        console.print(renderable, **options)
        return
    with console.capture() as captured:
        console.print(renderable, soft_wrap=not hasattr(renderable, "__rich_console__"), **options)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def numbers_table(console, *headings):
    """A table of right-aligned columns whose cells fold rather than lose a digit to '…' on a
    narrow terminal; boxed only on a terminal."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD if console.is_terminal else None, header_style="bold cyan")
    for heading in headings:
        table.add_column(heading, justify="right", overflow="fold")
    return table


def print_json(result, stream=None):
    (stream or sys.stdout).write(modelfile.dumps(result.summary()) + "\n")


def _number(value, digits=10):
    if value is None or isinstance(value, str):
        return value or "n/a"
    return f"{value:.{digits}g}" if math.isfinite(value) else "beyond float64"


def _points(fit):
    """How many points, and of them how many have weight (when not all) and were skipped: "10 (8 with weight)"."""
    count, skipped = fit.get("n_points"), fit.get("skipped_rows")
    weighted = fit.get("weighted_points", count)
    notes = [f"{weighted} with weight"] * (weighted < count) + [f"{skipped} skipped"] * bool(skipped)
    return f"{count}" + (f" ({', '.join(notes)})" if notes else "")


def print_table(fit, console=None):
    """The fit as a person reads it, from what --json prints (``FitResult.summary()``, or a model file):
    the title, the coefficients in the fit's basis (the Taylor form's a_i) and the raw ones with their errors
    and tests, then the quality."""
    from rich import box
    from rich.markup import escape

    console = console or wide_console()
    frame = box.SIMPLE_HEAD if console.is_terminal else None
    basis = modelfile.basis_of(fit)
    what = (f"degree {fit['degree']}" if basis.polynomial else "smoothing spline" if basis.name == "spline"
            else _series_title(basis))
    emit(console, escape(printable(f"{what} fit of {fit.get('y_column')} against "
                                   f"{fit.get('x_column')} in {fit.get('source')}")), highlight=False)
    if fit.get("x_origin"):
        emit(console, escape(f"x: {fit['x_unit']} since {fit['x_origin']} (the first date's midnight)"),
             highlight=False)
    if fit.get("degree_selection"):
        emit(console, escape(f"degree chosen automatically: {fit['degree_selection']['reason']}"), highlight=False,
             style="dim")

    if basis.name == "spline":
        _print_spline(console, fit, basis, frame)
    elif not basis.polynomial:
        _print_series(console, fit, basis)
    else:
        _print_polynomial(console, fit, basis)
    _print_quality(console, fit, frame)


def _series_title(basis):
    """'Fourier series (period 1.0002 ± 9.1e-05, 2 harmonics, trend of degree 2)'."""
    period = (f"learned period {basis.period:.10g} ± {basis.period_stderr:.2g}" if basis.period_stderr
              else f"period {basis.period:.10g}")
    return (f"{basis.title} series ({period}, {basis.harmonics} harmonic{'s' * (basis.harmonics != 1)}, "
            f"trend of degree {basis.trend})")


def _print_series(console, fit, basis):
    """A series's coefficients by the function each multiplies, with errors and tests; there are no raw
    k_i of x^i to print beside them."""
    from rich.markup import escape

    emit(console, escape(f"t = {scaled_variable(fit['center'], fit['scale'])}, P = {basis.period!r}"),
         highlight=False, style="dim")
    values, errors = fit[modelfile.in_basis(fit)], fit.get(modelfile.in_basis(fit, "stderr"))
    t_values, p_values = fit.get(modelfile.in_basis(fit, "t_values")), fit.get(modelfile.in_basis(fit, "p_values"))
    table = numbers_table(console, "term", f"{basis.title} {basis.symbol}_i", "± stderr", "t", "p")
    for i, label in enumerate(basis.labels()):
        table.add_row(label, _number(values[i], 15), _number(errors[i] if errors else None, 3),
                      _number(t_values[i] if t_values else None, 4), _p_value(p_values[i] if p_values else None))
    emit(console, table)
    if fit.get("stderr_note"):
        emit(console, escape(f"note: {fit['stderr_note']}"), style="dim", highlight=False)


def _print_spline(console, fit, basis, frame):
    """A smoothing spline has no coefficients to list: its λ, how many parameters it spends, its GCV."""
    from rich.markup import escape
    from rich.table import Table

    spline = basis.spline
    table = Table(box=frame, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    chosen = "chosen by GCV" if basis.smooth == "auto" else "given"
    table.add_row("λ (∫f''² weight)", f"{_number(spline.lam)} ({chosen})")
    table.add_row("effective parameters", _number(spline.edf, 6))
    table.add_row("GCV score", _number(spline.gcv if math.isfinite(spline.gcv) else None))
    if spline.weight is not None:
        table.add_row("cubic pieces", f"{spline.knots.size - 1} (knots at every distinct x)")
    else:
        distance = fit.get("spline", {}).get("distance")
        table.add_row("cubic pieces", f"{spline.knots.size - 1} (knots at {spline.knots.size} quantiles of x)")
        if distance is not None:
            table.add_row("from the every-x spline", f"~{distance:.1g} of the y range (estimated)")
    emit(console, table)
    emit(console, escape(f"note: {fit['stderr_note']}"), style="dim", highlight=False)


def _print_polynomial(console, fit, basis):
    """The coefficients in the fit's basis and the raw k_i, with their errors, then their tests."""
    from rich.markup import escape

    size = fit["degree"] + 1
    taylor = (escape(f"{basis.title} {basis.symbol}_i [t = {scaled_variable(fit['center'], fit['scale'])}]"),
              fit[modelfile.in_basis(fit)], fit.get(modelfile.in_basis(fit, "stderr")) or [None] * size)
    fixed = {int(power) for power in fit.get("fixed") or {}}
    raw = (escape("raw k_i [x^i]"), ["beyond float64" if k is None else k for k in fit["coefficients"]],
           ["fixed" if j in fixed else e for j, e in enumerate(fit.get("stderr") or [None] * size)])
    both = _coefficient_table(console, taylor, raw)
    unbounded = console.options.update(width=10_000, max_width=10_000)
    if console.is_terminal and console.measure(both, options=unbounded).maximum > console.width:  # not a digit cut
        for form in (taylor, raw):
            emit(console, _coefficient_table(console, form))
    else:
        emit(console, both)
    if fit.get("stderr_note"):
        emit(console, escape(f"note: {fit['stderr_note']}"), style="dim", highlight=False)
    elif fit.get("stderr") is not None:
        emit(console, _tests_table(console, fit))


def _print_quality(console, fit, frame):
    from rich.table import Table

    quality = Table(box=frame, show_header=False)
    quality.add_column(style="bold")
    quality.add_column(justify="right")
    loss, delta = fit.get("loss", "mse"), fit.get("huber_delta")
    least_squares = loss in losses.LOSSES and losses.LOSSES[loss].least_squares  # a model file's name, unchecked
    robust = [] if least_squares else [
        (f"{loss} loss" + (f" (δ {delta:.4g})" if delta else ""), _number(fit.get("loss_value"))),
        ("median |residual|", _number(fit.get("median_abs_residual"))),
    ]
    weighted = "chi2" in fit
    chi2 = [] if not weighted else [
        ("χ² = Σ (r/σ)²", _number(fit.get("chi2"), 6) + (f" (p {_p_value(fit['chi2_p_value'])})"
                                                        if fit.get("chi2_p_value") is not None else "")),
        ("errors", "absolute: from the σ alone" if fit.get("errors") == "absolute" else "scaled by the reduced χ²"),
    ]
    kind = "weighted " if weighted else ""  # each of these is a mean over w, as the loss is
    rows = [
        *robust,
        (f"{kind}MSE", _number(fit.get("mse"))),
        (f"{kind}RMSE", _number(fit.get("rmse"))),
        ("R²" if fit.get("r2_kind", "centred") == "centred" else "R² (uncentred)",
         _number(fit["r2"]) if fit.get("r2") is not None else "n/a (y is constant)"),
        (f"{kind}residual mean", _number(fit.get("residual_mean"), 4)),
        (f"{kind}residual sd", _number(fit.get("residual_std"), 4)),
        *chi2,
        ("reduced χ²", _number(fit.get("reduced_chi2"), 6) + (f" ({fit['dof']:.6g} dof)" if fit.get("dof") else "")),
        ("points", _points(fit)),
        *([] if fit.get("optimizer") is None else [  # a spline is solved, not trained
            ("epochs", str(fit.get("epochs"))),
            ("optimizer", str(fit.get("optimizer")) + (f" (lr {fit['lr']:g})" if fit.get("lr") else "")),
            ("converged", "[green]yes[/green]" if fit.get("converged") else "[red]no[/red]")]),
        ("time", f"{fit.get('seconds', 0.0):.3f} s"),
    ]
    for row in rows:
        quality.add_row(*row)
    emit(console, quality)


@contextmanager
def training_progress(total, enabled, delay=0.5):
    """An ``on_epoch`` callback that shows a progress bar on stderr once training outlasts ``delay``.

    Short fits never show one, and neither does a stderr that is not a
    terminal: a bar is for a person watching, not for a log file.
    """
    def columns(progress):
        return (progress.TextColumn("training"), progress.BarColumn(), progress.MofNCompleteColumn(),
                progress.TextColumn("epochs"), progress.TextColumn("loss {task.fields[loss]:.6g}"),
                progress.TimeElapsedColumn())

    with _late_bar(columns, total, enabled, delay) as update:
        yield (lambda epoch, loss: update(epoch, loss=loss)) if update else None


@contextmanager
def reading_progress(total, enabled, delay=0.5):
    """An ``on_read(done, total)`` callback: a bar over the bytes of all the files, on stderr, once
    reading outlasts ``delay`` (as training's)."""
    def columns(progress):
        return (progress.TextColumn("reading"), progress.BarColumn(), progress.DownloadColumn(),
                progress.TransferSpeedColumn(), progress.TimeRemainingColumn())

    with _late_bar(columns, total, enabled and total > 0, delay) as update:
        yield (lambda done, _total: update(done)) if update else None


@contextmanager
def _late_bar(columns, total, enabled, delay):
    """An ``update(completed, **fields)`` that starts a transient bar on stderr only once ``delay`` has passed."""
    if not enabled:
        yield None
        return
    started = time.perf_counter()
    shown = {}

    def update(completed, **fields):
        if not shown:
            if time.perf_counter() - started < delay:
                return
            from rich import progress
            from rich.console import Console

            bar = progress.Progress(*columns(progress), console=Console(stderr=True), transient=True)
            bar.start()
            shown["bar"] = bar, bar.add_task("", total=total, **fields)
        bar, task = shown["bar"]
        bar.update(task, completed=completed, **fields)

    try:
        yield update
    finally:
        if shown:
            shown["bar"][0].stop()


def stderr_is_terminal():
    from rich.console import Console

    return Console(stderr=True).is_terminal


def print_gradcheck(rows, tol, header, console=None):
    """What was compared and where, backprop against finite differences one row a coefficient,
    failures in red, and one line that says how it came out."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    emit(console, escape(header), highlight=False)
    table = numbers_table(console, "coefficient", "at", "backprop", "finite diff.", "rel. error", "check")
    for row in rows:
        ok = row.relative_error <= tol
        table.add_row(escape(row.label), f"{row.at:.4g}", f"{row.backprop:.10g}", f"{row.numeric:.10g}",
                      f"{row.relative_error:.2e}", "[green]ok[/green]" if ok else "[red]FAIL[/red]")
    emit(console, table)
    failed = [r.label for r in rows if r.relative_error > tol]
    emit(console, f"all {len(rows)} gradients agree within {tol:g}" if not failed else
         f"{len(failed)} of {len(rows)} gradients differ by more than {tol:g}: {', '.join(failed)}", highlight=False)


def _coefficient_table(console, *forms):
    """power, then each form's coefficients (15 digits) and standard errors (3)."""
    table = numbers_table(console, "power", *[heading for title, *_ in forms for heading in (title, "± stderr")])
    for i in range(len(forms[0][1])):
        table.add_row(str(i), *[cell for _, values, errors in forms
                                for cell in (_number(values[i], 15), _number(errors[i], 3))])
    return table


def _tests_table(console, tests):
    """Each coefficient's test that it is 0, raw and in the fit's basis: t and two-sided p, and the raw
    interval."""
    interval = f"raw {tests['level']:.4g} interval"
    table = numbers_table(console, "power", "raw t", "p", interval, f"{modelfile.basis_of(tests).title} t", "p")
    for i, t in enumerate(tests["t_values"]):
        bounds = tests["confidence_intervals"][i]
        table.add_row(str(i), _number(t, 4), _p_value(tests["p_values"][i]),
                      "n/a" if bounds is None else f"[{bounds[0]:.6g}, {bounds[1]:.6g}]",
                      _number(tests[modelfile.in_basis(tests, "t_values")][i], 4),
                      _p_value(tests[modelfile.in_basis(tests, "p_values")][i]))
    return table


def _p_value(p):
    """Two significant digits, as R prints them; below 1e-300, '<1e-300' (R: '< 2e-16' at its precision)."""
    if p is None:
        return "n/a"
    return "<1e-300" if p < 1e-300 else f"{p:.2g}"


def _criterion(value):
    """AIC and BIC to a tenth: their differences, not their digits, are what compare degrees."""
    if value is None:
        return "n/a"
    return f"{value:.1f}" if math.isfinite(value) else ("-inf" if value < 0 else "inf")


def print_comparison(comparison, console=None):
    """Each family ranked: its curve, parameters, CV MSE ± se, BIC − least, and what it does beyond the data."""
    from rich.markup import escape

    console = console or wide_console()
    least = min(row.bic for row in comparison.rows)
    mse = "CV weighted MSE" if comparison.weighted else "CV MSE"
    table = numbers_table(console, "rank", "family", "curve", "parameters", mse, "± se", "ΔBIC", "beyond the data")
    for row in comparison.rows:
        table.add_row(str(row.rank), row.family, escape(row.detail), f"{row.parameters:.3g}", _number(row.cv_mse, 6),
                      _number(row.cv_se, 2), _criterion(row.bic - least), row.beyond,
                      style="bold" if row.rank == 1 else None)
    emit(console, table)
    weights = ", each squared error times its weight (mean 1)" if comparison.weighted else ""
    emit(console, escape(f"{comparison.folds}-fold cross-validation of {comparison.n} points (seed "
                         f"{comparison.seed}{weights}); ranked: CV MSE within one standard error of the best, "
                         "then the least BIC"), highlight=False, style="dim")
    for family, why in comparison.skipped.items():
        emit(console, escape(f"not ranked: {family}: {why}"), highlight=False, style="dim")


def print_selection(selection, console=None):
    """Degree against training MSE, cross-validated MSE, BIC and AICc; the chosen row marked."""
    from rich.markup import escape

    console = console or wide_console()
    table = numbers_table(console, "degree", "train MSE", "CV MSE", "± se", "BIC", "AICc", "")
    for row in selection.candidates:
        chosen = row["degree"] == selection.chosen
        table.add_row(str(row["degree"]), _number(row["train_mse"], 6), _number(row["cv_mse"], 6),
                      _number(row["cv_se"], 2), _criterion(row["bic"]), _criterion(row["aicc"]),
                      "[bold green]← chosen[/bold green]" if chosen else "",
                      style="bold" if chosen else None)
    emit(console, table)
    emit(console, escape(selection.reason), highlight=False)
    for note in selection.notes:
        emit(console, escape(f"note: {on_command_line(note)}"), highlight=False, style="dim")
