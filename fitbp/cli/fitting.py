"""fit and select: read DATA, fit it or score its degrees, and print the result."""

import sys
from contextlib import ExitStack
from typing import List, Optional

import typer

from fitbp.cli import options
from fitbp.cli.console import check_options, prompt, reported, series_options, warn, warn_ignored, wrote
from fitbp.cli.options import (DATA, MEMORY, QUIET, START_SEED, TABLE_OR_JSON, Basis, DataOptions, Engine,
                               Loss, Optimizer)
from fitbp.errors import FitbpError, printable
from fitbp.fitting import losses


@options.grouped
def fit(
    data: List[str] = DATA,
    degree: str = typer.Option("auto", "--degree", "-d", metavar="N|auto", callback=options.degree_or_auto,
                               help="Highest power of the polynomial, or auto: the lowest degree within 2 "
                                    "of the least BIC (see fitbp select)."),
    basis: Basis = typer.Option(Basis.taylor, "--basis",
                                help="The functions of t = (x - c) / s the coefficients multiply: taylor, its "
                                     "powers (the article's form, which graph and the film show); chebyshev, "
                                     "T_i(t), which keep their digits at degrees where powers cancel (past ~40); "
                                     "fourier, a trend plus cos and sin of 2πkx/P (see --period); spline, the "
                                     "cubic smoothing spline, knots at every x (see --smooth)."),
    period: Optional[str] = typer.Option(None, "--period", metavar="P|auto", callback=options.period_or_auto,
                                         help="With --basis fourier: the period in x's units, or auto: found by a "
                                              "periodogram, then learned with the coefficients [default: auto]."),
    harmonics: Optional[str] = typer.Option(None, "--harmonics", metavar="K|auto",
                                            callback=options.harmonics_or_auto,
                                            help="With --basis fourier: how many harmonics, or auto: the least BIC "
                                                 "up to 12 [default: auto]."),
    trend: Optional[int] = typer.Option(None, "--trend", metavar="D", min=0, max=10,
                                        help="With --basis fourier: the degree of the polynomial trend under the "
                                             "harmonics [default: 0, a constant]."),
    smooth: Optional[str] = typer.Option(None, "--smooth", metavar="LAMBDA|auto", callback=options.smooth_or_auto,
                                         help="With --basis spline: λ of Σ w(y - f)² + λ∫f''² (scipy's scale), or "
                                              "auto: the least generalised cross-validation [default: auto]."),
    data_options: DataOptions = DataOptions,
    absolute_sigma: bool = typer.Option(False, "--absolute-sigma",
                                        help="The σ are true measurement errors: standard errors √diag((VᵀWV)⁻¹), "
                                             "unscaled, and the p-value of χ² [default: scaled by the reduced χ², as "
                                             "scipy and gnuplot do]."),
    optimizer: Optional[Optimizer] = typer.Option(None, "--optimizer",
                                                  help="newton reaches the optimum of every loss in a few passes "
                                                       "(mse's in two), cg mse's in three; gd, momentum and adam "
                                                       "are the textbook methods [default: newton]."),
    loss: Loss = options.loss("mse; or mae and huber, robust to outliers."),
    delta: Optional[float] = typer.Option(None, "--delta", metavar="D", callback=options.positive_finite,
                                          help="Huber's threshold, in y units [default: 1.345 robust sd of the "
                                               "least-squares residuals]."),
    lr: Optional[float] = typer.Option(None, "--lr", metavar="R", callback=options.positive_finite,
                                       help="Learning rate of gd, momentum and adam [default: 0.1, 0.02, 0.01]."),
    epochs: Optional[int] = typer.Option(None, "--epochs", metavar="N", min=1,
                                         help="Most backprop passes [default: 100 for newton, 1000 for cg, 10000 "
                                              "otherwise]."),
    tol: float = options.tol(1e-12, "Converged when, for newton and cg, the loss still to gain is at most this "
                                    "fraction of it (newton on mae certifies its optimum instead); for the "
                                    "others, when two epochs in a row change the loss by at most this, relatively."),
    seed: int = START_SEED,
    json_output: bool = options.json_output(TABLE_OR_JSON),
    save: Optional[str] = typer.Option(None, "--save", metavar="PATH",
                                       help="Where to save the model [default: fitbp.json]."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not save the model."),
    level: float = options.confidence("the coefficients' intervals in the table and the JSON"),
    memory: str = MEMORY,
    engine: Engine = typer.Option(Engine.local, "--engine",
                                  help="local reads on this machine; dask reduces each partition to its triangle on a "
                                       "dask cluster (pip install 'fitbp[dask]')."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="With --engine dask: a running scheduler, such as tcp://host:8786 "
                                                 "[default: a LocalCluster of one worker a core, for this fit]."),
    partition_size: Optional[str] = typer.Option(None, "--partition-size", metavar="SIZE",
                                                 callback=options.partition_size,
                                                 help="With --engine dask: bytes of CSV a partition holds, 1k or more "
                                                      "[default: 64MB; a gzip file is one partition]."),
    follow: bool = typer.Option(False, "--follow",
                                help="Keep reading DATA (a live stream: tail -f log | fitbp fit - --follow -d 2) and "
                                     "print one JSON line a batch, the fit of every point so far, saving the model "
                                     "each time; Ctrl-C ends it, the last model saved."),
    half_life: Optional[str] = typer.Option(None, "--half-life", metavar="N|T", callback=options.half_life,
                                            help="Weigh old points down, w = 2^(-age/h): h in rows (500), or in time "
                                                 "for dates as x (7d, 12h); the statistics are the weighted fit's."),
    every: str = typer.Option("1s", "--every", metavar="N|Ts", callback=options.rows_or_seconds,
                              help="With --follow: a batch is N rows, or the rows of T seconds (5s, 0.5s)."),
    quiet: bool = QUIET,
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

      fitbp fit table.csv -d 80 --basis chebyshev   # a high degree, digits kept

      fitbp fit co2.csv --basis fourier --trend 2   # a seasonal series: its period learned

      fitbp fit kink.csv --basis spline     # a smoothing spline, λ by cross-validation

      fitbp sample sine | fitbp fit - --json | jq .r2

      fitbp fit points.csv --save model.json && fitbp plot -m model.json
    """
    from fitbp import library
    from fitbp.fitting import modelfile, trainer
    from fitbp.views import report

    if save is not None and no_save:  # the command line's two ways to say where: not a rule of the library's
        raise typer.BadParameter("--save and --no-save contradict each other", param_hint="--save")
    chosen = optimizer.value if optimizer else losses.LOSSES[loss.value].default_optimizer
    warn_ignored(quiet, loss=loss.value, optimizer=chosen, delta=delta, lr=lr)
    fixed = data_options.fixed()
    check_options(engine=engine.value, scheduler=scheduler, partition_size=partition_size, loss=loss.value,
                  absolute_sigma=absolute_sigma, **data_options.rules(), fixed=fixed, degree=degree)
    series = series_options(basis=basis.value, degree=degree, period=period, harmonics=harmonics, trend=trend,
                            smooth=smooth, fixed=fixed, loss=loss.value)
    if follow:
        _check_follow(data, degree, series, loss.value, engine, data_options)
        training = {"basis": basis.value, **({"absolute_sigma": True} if absolute_sigma else {}),
                    **({"fixed": fixed} if fixed else {})}
        return _follow(data[0], degree, every, data_options, None if no_save else save or "fitbp.json", quiet,
                       training, half_life)
    watched = not quiet and report.stderr_is_terminal()
    with reported(), ExitStack() as cluster_session:
        if engine is Engine.dask:
            points = _load_on_cluster(data, data_options.reading(), degree, scheduler, partition_size, quiet,
                                      cluster_session)
        else:
            points = _load(data, data_options.reading(), degree, memory, watched, quiet)
        if half_life is not None:
            from fitbp.fitting import forgetting

            points = forgetting.weighed(points, half_life)
        with report.training_progress(epochs or trainer.DEFAULT_EPOCHS[chosen], enabled=watched) as on_epoch:
            training = {"optimizer": chosen, "lr": lr, "epochs": epochs, "tol": tol, "seed": seed,
                        "on_epoch": on_epoch, "loss": loss.value, "delta": delta, "basis": basis.value,
                        **({"absolute_sigma": True} if absolute_sigma else {}), **({"fixed": fixed} if fixed else {})}
            result = library.trained(points, degree, series, **training)
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


def _check_follow(data, degree, series, loss, engine, data_options):
    """--follow's usage errors: one input, a degree given, a least-squares polynomial of x,y lines."""
    if len(data) != 1:
        raise typer.BadParameter("follows one input, such as - for standard input", param_hint="--follow")
    if degree is None:
        raise typer.BadParameter("needs --degree N: a stream has no end to choose a degree on", param_hint="--follow")
    if series is not None or loss != "mse" or engine is not Engine.local:
        raise typer.BadParameter("fits a least-squares polynomial on this machine (a robust loss, a series or "
                                 "a spline needs every point)", param_hint="--follow")


def _follow(source, degree, every, data_options, save, quiet, training, half_life=None):
    """fit --follow: batches of live lines merged into one summary (fitbp.fitting.updates.Running), each
    fitted and printed as one JSON line, the model saved atomically each time."""
    import os
    from datetime import datetime, timezone

    from fitbp.fitting import modelfile, updates
    from fitbp.sources import lines

    from fitbp.sources.files import weighting

    reading = data_options.reading()
    third = weighting(data_options.sigma, data_options.weights)
    if third is not None and half_life is not None:
        raise typer.BadParameter(f"gives the points their weights, and these come with a --{third[1]} column: one "
                                 "or the other, for now", param_hint="--half-life")
    if source == "-":
        prompt("x,y lines, as they come (Ctrl-D or Ctrl-C ends)")
        fd = sys.stdin.fileno()
    else:
        try:
            fd = os.open(source, os.O_RDONLY)
        except OSError as e:
            raise FitbpError(f"{printable(source)}: cannot read: {e.strerror}") from None
    shown = "<stdin>" if source == "-" else source
    batches = lines.Batches(fd, shown, every, reading.get("x"), reading.get("y"), reading.get("delimiter"),
                            reading.get("decimal", "."), reading.get("skip_invalid", False),
                            reading.get("time_unit", "d"), third)
    running = None
    with reported():
        for x, y, *weights in batches:
            if running is None:
                running = updates.Running(degree, shown, *batches.labels[:2], half_life=half_life, axis=batches.axis,
                                          options=reading, weighting=(third[1], batches.labels[2]) if third else None)
            running.add(x, y, *weights)
            if not running.ready():
                continue
            result = running.fit(skipped=batches.skipped, weightless=batches.weightless, **training)
            if save:
                modelfile.save(result, save)
            summary = result.summary()
            line = {"n": running.count, "degree": degree, "coefficients": summary["coefficients"],
                    f"{summary['basis']}_coefficients": summary[f"{summary['basis']}_coefficients"],
                    "center": summary["center"], "scale": summary["scale"], "mse": summary["mse"],
                    "rmse": summary["rmse"], "r2": summary["r2"],
                    "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
            sys.stdout.write(modelfile.dumps(line) + "\n")
            sys.stdout.flush()
        if batches.skipped and not quiet:
            warn(f"skipped {batches.skipped} rows with invalid values, the first at {batches.first_skip}")
        if running is None or not running.ready():
            raise FitbpError(f"{printable(shown)}: the stream ended with {0 if running is None else running.count} "
                             f"points, too few distinct x for degree {degree}")


def update(
    data: List[str] = DATA,
    model: str = options.MODEL,
    save: Optional[str] = typer.Option(None, "--save", metavar="PATH",
                                       help="Save the updated model here and keep the old one [default: replace "
                                            "the model, atomically]."),
    memory: str = MEMORY,
    json_output: bool = options.json_output(TABLE_OR_JSON),
    quiet: bool = QUIET,
):
    """Add the points in DATA to a saved model and fit again, without its old points.

    The model keeps its data's summary (the least-squares triangle, which merges exactly), so the
    result is the fit of the old and new points together: the same degree, basis, σ or weights, fixed
    terms and errors as the model. DATA is read as the model read its own (columns, σ, dates). A robust
    fit, a Fourier series or a spline needs its points and cannot be updated.

    Examples:

      fitbp update june.csv                      # fitbp.json takes June's readings

      fitbp update -m sensor.json day.csv --save sensor-next.json
    """
    from fitbp import selection
    from fitbp.fitting import modelfile, updates
    from fitbp.sources import dates
    from fitbp.views import report

    with reported():
        document = modelfile.load(model)
        updates.check_updatable(document, printable(model))
        reading = {**modelfile.reading_of(document), "x_axis": dates.Axis.of(document)}
        points = _load(data, reading, document["degree"], memory, report.stderr_is_terminal(), quiet)
        result = selection.updated(document, points, printable(model))
        if not quiet:
            for message in result.warnings:
                warn(message)
        modelfile.save(result, save or model)
        if json_output:
            report.print_json(result)
        else:
            report.print_table(result.summary())
        if not quiet:
            sys.stdout.flush()
            sys.stderr.write(f"saved {printable(save or model)}: {result.points.count} points, "
                             f"{points.count} of them new\n")


@options.grouped
def select(
    data: List[str] = DATA,
    max_degree: Optional[int] = typer.Option(None, "--max-degree", metavar="N", min=0,
                                             help="Score degrees 0 to this [default: the range --degree auto "
                                                  "searches, widened while the best is near its top]."),
    data_options: DataOptions = DataOptions,
    memory: str = MEMORY,
    folds: int = typer.Option(5, "--folds", metavar="K", min=2, help="Folds of the cross-validation."),
    loss: Loss = options.loss("mae or huber choose on the points a robust fit keeps."),
    seed: int = options.seed("the random samples (turning points, outliers) of large data"),
    plot_file: Optional[str] = typer.Option(None, "--plot", metavar="FILE",
                                            help="Also draw the errors against the degree (.png, .svg, .pdf, .jpg)."),
    json_output: bool = options.json_output(TABLE_OR_JSON),
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
    from fitbp import selection
    from fitbp.fitting import modelfile
    from fitbp.views import report

    fixed = data_options.fixed()
    check_options(loss=loss.value, **data_options.rules(), fixed=fixed, max_degree=max_degree)
    with reported():
        if plot_file:
            from fitbp.views import renderer

            renderer.check_format(plot_file)
        points = _load(data, data_options.reading(), None, memory, report.stderr_is_terminal(), False)
        table = selection.select_table(points, max_degree, folds=folds, loss=loss.value, seed=seed, fixed=fixed)
        if plot_file:
            renderer.save(renderer.selection_figure(table, printable(points.source)), plot_file,
                          modelfile.write_atomic)
        if json_output:
            sys.stdout.write(modelfile.dumps(table.to_dict()) + "\n")
        else:
            report.print_selection(table)
        if plot_file:
            wrote(plot_file)


@options.grouped
def compare(
    data: List[str] = DATA,
    data_options: DataOptions = DataOptions,
    memory: str = MEMORY,
    folds: int = typer.Option(5, "--folds", metavar="K", min=2, help="Folds of the cross-validation."),
    seed: int = options.seed("the folds"),
    plot_file: Optional[str] = typer.Option(None, "--plot", metavar="FILE",
                                            help="Also draw every family's curve over the points (.png, .svg, "
                                                 ".pdf, .jpg)."),
    save: Optional[str] = typer.Option(None, "--save", metavar="PATH",
                                       help="Save the best-ranked family as the model, as fit --save does."),
    json_output: bool = options.json_output(TABLE_OR_JSON),
):
    """Fit every family of curves to DATA and rank them: Taylor and Chebyshev polynomials, a Fourier series,
    a smoothing spline.

    Each family chooses its shape on all the points (degree by BIC; trend, period and harmonics; λ by
    GCV), then is cross-validated with that shape on the same folds. Families within one standard
    error of the best CV MSE rank by BIC, the rest by CV MSE. With --sigma or --weights every fit,
    error and BIC is weighted. Nothing here vouches for the curves beyond the data, where the families
    part ways: see the last column.

    Examples:

      fitbp compare sample_data/seasonal.csv

      fitbp compare sample_data/kink.csv --plot compare.png

      fitbp compare points.csv --json | jq -r .winner
    """
    from fitbp import comparison
    from fitbp.fitting import modelfile
    from fitbp.views import report

    if data_options.fixed():
        raise typer.BadParameter("compare fits every family free", param_hint="--fix")
    check_options(**data_options.rules())
    with reported():
        if plot_file:
            from fitbp.views import renderer

            renderer.check_format(plot_file)
        points = _load(data, data_options.reading(), None, memory, report.stderr_is_terminal(), False)
        ranked = comparison.compare(points, folds=folds, seed=seed)
        if plot_file:
            renderer.save(renderer.comparison_figure(points.x, points.y, ranked, printable(points.source)),
                          plot_file, modelfile.write_atomic)
        saved = _saved_best(ranked, save) if save else None
        if json_output:
            sys.stdout.write(modelfile.dumps({**ranked.to_dict(), "saved": saved}) + "\n")
        else:
            report.print_comparison(ranked)
        sys.stdout.flush()
        if plot_file:
            wrote(plot_file)
        if saved:
            sys.stderr.write(f"saved {printable(save)}: {saved['family']}, rank {saved['rank']}\n")


def _saved_best(ranked, path):
    """The best-ranked family saved at ``path`` as its model: {family, rank, path}."""
    from fitbp.fitting import modelfile

    best = ranked.rows[0]
    modelfile.save(ranked.candidates[best.family].result, path)
    return {"family": best.family, "rank": best.rank, "path": path}


def _load(data, reading, degree, memory, watched, quiet):
    """The points of DATA on this machine: held, or streamed beyond ``memory`` (fitbp.engines.local)."""
    from fitbp.engines import local
    from fitbp.sources import files
    from fitbp.views import report

    paths = files.expand(data)
    if paths == ["-"]:
        prompt("x,y lines (a header line first, if you like)")
    inputs = files.Files(paths, **reading)
    with report.reading_progress(inputs.bytes(), enabled=watched) as inputs.on_read:
        points = local.load(inputs, degree=degree, memory=memory)
    inputs.on_read = None
    _say_skipped(points, quiet)
    return points


def _load_on_cluster(data, reading, degree, scheduler, partition_size, quiet, session):
    """--engine dask: the points of DATA reduced on a cluster, its client kept open by ``session``."""
    from fitbp.engines import cluster

    planned = cluster.plan(data, partition_size or cluster.PARTITION, **reading)  # its errors first
    client = session.enter_context(cluster.session(scheduler))
    points = cluster.load(client, planned, degree)
    _say_skipped(points, quiet)
    return points


def _say_skipped(points, quiet):
    if points.skipped and not quiet:
        warn(f"skipped {points.skipped} rows with invalid values, the first {points.first_skip}")
