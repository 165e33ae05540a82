"""sample, graph and gradcheck: data to try fitbp on, and the machinery it learns with, shown and checked."""

import sys
from typing import Optional

import typer

from fitbp.cli import options
from fitbp.cli.console import check_options, prompt, reported, write_rows, wrote
from fitbp.cli.options import START_SEED, X, Y, Loss, Sample
from fitbp.errors import FitbpError, printable
from fitbp.fitting import losses
from fitbp.views.exporter import scaled_variable


def sample(
    name: str = typer.Argument(..., metavar="NAME", help="sine, cubic, runge, exp or years."),
    n: Optional[int] = typer.Option(None, "--n", metavar="N", min=1, max=100_000_000,
                                    help="Number of points [default: 200; years: 71]."),
    noise: Optional[float] = typer.Option(None, "--noise", metavar="SD", callback=options.non_negative_or_none,
                                          help="Standard deviation of the normal noise on y."),
    seed: int = options.seed("the random x and noise"),
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


GRAPH_SERIES = options.series("Show the graph")
CHECK_SERIES = options.series("Check the gradient")


def graph(
    data: Optional[str] = typer.Argument(None, metavar="[DATA]", help="CSV file; without it, 12 points of a sine."),
    degree: int = options.degree(3),
    x: Optional[str] = X,
    y: Optional[str] = Y,
    loss: Loss = options.loss("Loss at the top of the graph."),
    fitted: bool = typer.Option(False, "--fitted", help="Show the graph at the trained coefficients, not the start."),
    triangle: bool = typer.Option(False, "--triangle",
                                  help="Show the graph mse training runs: the same loss through the data's triangle "
                                       "R, z, ρ (d + 1 rows)."),
    period: Optional[str] = GRAPH_SERIES[0],
    harmonics: int = GRAPH_SERIES[1],
    trend: int = GRAPH_SERIES[2],
    smooth: Optional[str] = options.spline("Show the graph"),
    seed: int = START_SEED,
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
    from fitbp.fitting import model, trainer

    check_options(loss=loss.value, triangle=triangle)
    if period is not None and (triangle or loss.value != "mse"):
        raise typer.BadParameter("a Fourier series's graph is of the mse loss over every point", param_hint="--period")
    if smooth is not None and (triangle or loss.value != "mse" or period is not None):
        raise typer.BadParameter("a spline's graph is of its own criterion, alone", param_hint="--smooth")
    with reported():
        points = _points_or_sample(data, x, y)
        if period is not None:
            return _series_graph(points, period, harmonics, trend, fitted, seed, dot_file)
        if smooth is not None:
            return _spline_graph(points, smooth, fitted, dot_file)
        problem = trainer.prepare(points, degree)
        k = np.random.default_rng(seed).normal(scale=0.01, size=degree + 1)
        if fitted:
            result = trainer.fit_points(points, degree, loss=loss.value, seed=seed)
            k = np.array(result.polynomial.coefficients) / problem.y_unit
        a = engine.parameter(k, "a")
        root = model.triangle_loss_graph(problem.triangle, a) if triangle else model.loss_graph(
            problem.design, problem.target, a, loss.value, trainer.delta_for(losses.LOSSES[loss.value], problem, k))
        root.backward()
        _show(root, f"{loss.value} loss of a degree {degree} Taylor polynomial on {len(points.x)} points of "
              f"{printable(points.source)}, at the {'trained' if fitted else 'starting'} coefficients; "
              f"t = {scaled_variable(problem.center, problem.scale)}, y in units of {problem.y_unit:g}", dot_file)


def _show(root, title, dot_file):
    """A graph after its backward pass: the DOT file first (a path that cannot be written fails before
    anything is printed), then the title and the tree."""
    from fitbp.fitting import modelfile
    from fitbp.views import graphview, report

    if dot_file:
        modelfile.write_atomic(dot_file, graphview.dot(root))
    wide = report.wide_console()
    report.emit(wide, title, highlight=False, markup=False)
    report.emit(wide, graphview.tree(root))
    if dot_file:
        wrote(dot_file)


def _series_graph(points, period, harmonics, trend, fitted, seed, dot_file):
    """graph --period: the Fourier series's loss with ω = 2π/P a parameter beside the coefficients, after
    one backward pass; at the trained values with --fitted, else at the periodogram's P and small random
    coefficients."""
    import math

    import numpy as np

    from fitbp.fitting import fourier, model

    x, y = np.asarray(points.x, dtype=np.float64), np.asarray(points.y, dtype=np.float64)
    center, scale = model.scaling(x)
    if fitted:
        curve = fourier.fit(points, period, harmonics, trend).polynomial
        p, c = curve.basis.period, np.asarray(curve.coefficients)
    else:
        p = fourier.strongest_period(x, y, trend) if period == "auto" else period
        c = np.random.default_rng(seed).normal(scale=0.01, size=trend + 1 + 2 * harmonics)
    root, omega, _ = fourier.period_graph(x, y, center, scale, trend, harmonics, c, p)
    root.backward()
    _show(root, f"mse loss of a Fourier series ({harmonics} harmonics of P = {p:.10g}, trend of degree {trend}) on "
          f"{len(x)} points of {printable(points.source)}, at the {'trained' if fitted else 'starting'} values; "
          f"ω = 2π/P is a parameter: dL/dP = dL/dω · (−2π/P²) = {float(omega.grad) * -2 * math.pi / p ** 2!r}",
          dot_file)


def _series_gradients(points, period, harmonics, trend, seed):
    """gradcheck --period: ∂L/∂(a, α, β, P) of the Fourier series's mse from its graph (fitbp.fitting.fourier
    .period_graph) against central differences, at random coefficients and the given P (auto: the
    periodogram's); (the rows, the header)."""
    import numpy as np

    from fitbp.backprop import gradcheck as checker
    from fitbp.fitting import fourier, model

    x, y = np.asarray(points.x, dtype=np.float64), np.asarray(points.y, dtype=np.float64)
    center, scale = model.scaling(x)
    p = fourier.strongest_period(x, y, trend) if period == "auto" else period
    size = trend + 1 + 2 * harmonics
    start = np.append(np.random.default_rng(seed).normal(size=size), p)
    names = fourier.Fourier(p, harmonics, trend, scale, center).labels() + ["P"]
    rows = checker.check(lambda k: fourier.loss_and_gradient(x, y, center, scale, trend, harmonics, k[:-1], k[-1]),
                         start, names)
    header = (f"d mse / d (coefficients, P) of a Fourier series ({harmonics} harmonic{'s' * (harmonics != 1)}, "
              f"trend of degree {trend}) "
              f"by backprop against central differences (step {checker.STEP:g} relative to each), at the random "
              f"coefficients of --seed {seed} and P = {float(p)!r}; t = {scaled_variable(center, scale)}")
    return rows, header


def _spline_graph(points, smooth, fitted, dot_file):
    """graph --smooth: the spline's criterion after one backward pass, at the data themselves (g = ȳ: no
    misfit, all roughness) or, with --fitted, at the fitted values, where every gradient is 0."""
    import numpy as np

    from fitbp.fitting import smoothing

    x, y = np.asarray(points.x, dtype=np.float64), np.asarray(points.y, dtype=np.float64)
    fit = smoothing.fit_spline(x, y, lam=smooth)
    start = fit.values if fitted else smoothing.knot_values(x, y)[1]
    root, _ = smoothing.criterion_graph(x, y, None, fit.lam, start)
    root.backward()
    _show(root, f"the criterion of a smoothing spline (λ {fit.lam:.6g}{', by GCV' if smooth == 'auto' else ''}) on "
          f"{len(x)} points of {printable(points.source)}, at the {'fitted values' if fitted else 'data (g = ȳ)'}; "
          "γ = R⁻¹Qᵀg are its second derivatives at the inner knots, γᵀRγ = ∫f''²", dot_file)


QUADRATIC_STEP = 1e-3
"""gradcheck's step for the spline's criterion: central differences of a quadratic have no truncation error,
and a step longer than STEP keeps the rounding of its large cancelling terms (∫f''² where x are close)
below the tolerance."""


def _spline_gradients(points, smooth, seed):
    """gradcheck --smooth: ∂/∂g of the spline's criterion (smoothing.criterion_graph) at random values g at
    the knots, backprop against central differences; (the rows, the header)."""
    import numpy as np

    from fitbp.backprop import gradcheck as checker
    from fitbp.fitting import smoothing

    x, y = np.asarray(points.x, dtype=np.float64), np.asarray(points.y, dtype=np.float64)
    fit = smoothing.fit_spline(x, y, lam=smooth)
    knots = fit.knots

    def objective(g):
        root, node = smoothing.criterion_graph(x, y, None, fit.lam, g)
        root.backward(keep_values=False)
        return float(root.value), node.grad

    # near the fitted values: far from them the roughness term is so large that rounding swamps the differences
    spread = float(np.std(y)) or 1.0
    start = fit.values + np.random.default_rng(seed).normal(scale=0.01 * spread, size=knots.size)
    rows = checker.check(objective, start, [f"g({v:.6g})" for v in knots.tolist()], QUADRATIC_STEP)
    header = (f"d criterion / d g of a smoothing spline (λ {fit.lam:.6g}), g its value at each distinct x, by "
              f"backprop against central differences (step {QUADRATIC_STEP:g} relative to each: the criterion is "
              f"quadratic in g, so a long step costs no accuracy), at the fitted values moved by a hundredth of "
              f"y's sd at random (--seed {seed})")
    return rows, header


def _points_or_sample(data, x, y):
    """The user's points, or a small sample to show the machinery on."""
    from fitbp.sources import files, samples
    from fitbp.sources.data import Points

    if data is None:
        sx, sy = samples.generate("sine", n=12, seed=0)
        return Points(sx, sy, source="fitbp sample sine --n 12")
    return files.load_points(data, x=x, y=y)


def gradcheck(
    data: str = typer.Argument(..., metavar="DATA", help="CSV file, or - for standard input."),
    degree: Optional[int] = options.degree(None),
    x: Optional[str] = X,
    y: Optional[str] = Y,
    loss: Loss = options.loss("The loss to differentiate."),
    period: Optional[str] = CHECK_SERIES[0],
    harmonics: int = CHECK_SERIES[1],
    trend: int = CHECK_SERIES[2],
    smooth: Optional[str] = options.spline("Check the gradient"),
    tol: float = options.tol(1e-6, "Largest relative error allowed."),
    seed: int = options.seed("the random point at which to compare"),
    json_output: bool = options.json_output("Print the comparison as JSON."),
):
    """Compare the backprop gradient with central finite differences, coefficient by coefficient.

    Exit status 1 when any relative error exceeds --tol.

    Examples:

      fitbp gradcheck sample_data/sine.csv --degree 5

      fitbp gradcheck sample_data/seasonal.csv --period auto   # ∂L/∂P too
    """
    import numpy as np

    from fitbp.backprop import gradcheck as checker
    from fitbp.sources import files
    from fitbp.fitting import model, modelfile, trainer
    from fitbp.views import report

    if [degree, period, smooth].count(None) != 2:
        raise typer.BadParameter("give --degree for a polynomial, --period for a Fourier series or --smooth for a "
                                 "spline (one of them)", param_hint="--degree")
    if (period is not None or smooth is not None) and loss.value != "mse":
        raise typer.BadParameter("a Fourier series's or spline's gradient is of its own least-squares criterion",
                                 param_hint="--loss")
    with reported():
        if data == "-":
            prompt("x,y lines")
        points = files.load_points(data, x=x, y=y)
        delta = None
        if period is not None:
            rows, header = _series_gradients(points, period, harmonics, trend, seed)
        elif smooth is not None:
            rows, header = _spline_gradients(points, smooth, seed)
        else:
            problem = trainer.prepare(points, degree)
            k = np.random.default_rng(seed).normal(size=degree + 1)
            delta = trainer.delta_for(losses.LOSSES[loss.value], problem, k)
            rows = checker.check(lambda p: model.loss_and_gradient(problem.design, problem.target, p, loss.value,
                                                                     delta), k)
            huber = f" (δ {delta:.4g} in y units of {problem.y_unit:g})" if delta is not None else ""
            header = (f"d {loss.value}{huber} / d a_i by backprop against central differences (step "
                      f"{checker.STEP:g} relative to |a_i|), at the random coefficients of --seed {seed}; "
                      f"t = {scaled_variable(problem.center, problem.scale)}")
        failed = [r for r in rows if r.relative_error > tol]
        if json_output:
            sys.stdout.write(modelfile.dumps({
                "loss": loss.value, "huber_delta": delta, "tol": tol,
                "step": QUADRATIC_STEP if smooth is not None else checker.STEP, "seed": seed,
                "passed": not failed, "rows": [
                    {"coefficient": r.label, "value": r.at, "backprop": r.backprop,
                     "finite_difference": r.numeric, "relative_error": r.relative_error} for r in rows]}) + "\n")
        else:
            report.print_gradcheck(rows, tol, printable(header))
        if failed:
            raise FitbpError(f"gradient check failed: {len(failed)} of {len(rows)} relative errors exceed {tol:g}")
