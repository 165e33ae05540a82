"""The trainer: runs an optimiser on the model's loss graph until it converges.

It owns the choices that make training behave the same on any data: x is
mapped onto [-1, 1] (model.scaling) and y is divided by a power of two near
its largest magnitude, which is exact in binary floating point and keeps the
squared residuals far from overflow.  The fit it returns is judged on the
actual residuals over the data, not on the optimiser's own bookkeeping.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from fitbp import __version__
from fitbp.fitting import bases, losses, model, robust
from fitbp.engines import moments, passes
from fitbp.backprop import optimizers
from fitbp.errors import DegreeTooHigh, FitbpError, at, on_command_line, option
from fitbp.sources.data import Points, below_one, roots_of

DEFAULT_TOL = 1e-12
DEFAULT_EPOCHS = {"newton": 100, "cg": 1000, "gd": 10000, "momentum": 10000, "adam": 10000}
DIGITS_WARNING = 6.0
"""Warn when the raw-power coefficients lose more digits than this."""
CONDITION_WARNING = 1e8
"""Beyond this condition number of the design matrix, float64 cannot pin the coefficients down,
and the fit is checked against the least-squares optimum found in a stable basis."""
OPTIMUM_TOLERANCE = 1e-6
"""How far above the least-squares optimum a fit's MSE may be, relatively: what 'the optimum' means
for a fit that float64 cannot vouch for by itself."""


@dataclass
class FitResult:
    polynomial: model.Polynomial
    mse: float
    rmse: float
    r2: float | None
    points: Points
    optimizer: str
    lr: float | None
    tol: float
    epochs: int
    converged: bool
    seconds: float
    loss_history: list = field(repr=False)
    condition: float = 1.0
    """Condition number of the design matrix: how much the data's rounding can be amplified."""
    loss: str = "mse"
    delta: float | None = None
    snapshots: list = field(default_factory=list, repr=False)
    """(epoch, Taylor coefficients) at a sparse set of epochs: the training film."""
    selection: dict | None = None
    """How --degree auto chose the degree, when it did."""
    statistics: dict = field(default_factory=dict, repr=False)
    """Standard errors, residual summary and reduced chi-square (fitbp.fitting.statistics)."""
    warnings: list = field(default_factory=list)
    median_abs_residual: float | None = None
    """median |y − ŷ| for the robust losses: a measure of the fit that outliers do not sway."""
    engine: dict = field(default_factory=lambda: {"name": "local"})
    """What built the triangle: the local engine (in memory, or streamed with its passes), or dask."""
    level: float = 0.95
    """The confidence level of the coefficients' intervals."""
    fixed: dict = field(default_factory=dict)
    """{power: value} of raw coefficients fixed in advance (--fix), kept exactly."""
    r2_kind: str = "centred"
    """"uncentred" when the constant term is fixed: R² is then 1 − SSR / Σ(y − k₀)², as R reports it
    for a fit through the origin."""

    @property
    def final_loss(self):
        """The trained loss in the data's units: the MSE for mse, the mean |r| or Huber loss otherwise."""
        return self.loss_history[-1] if self.loss_history else None

    @cached_property  # exact rational expansion: asked for by the table, the JSON and the model file
    def raw_coefficients(self):
        """k_j of x^j, or None for a basis whose functions are not polynomials (fitbp.fitting.fourier)."""
        if not self.polynomial.basis.polynomial:
            return None
        raw = self.polynomial.raw_coefficients()
        return [float(self.fixed[j]) if j in self.fixed else k for j, k in enumerate(raw)]

    def tests(self):
        """t values, p-values and intervals of the raw coefficients and of those in the fit's basis, named
        for it (taylor_t_values) (statistics.coefficient_tests)."""
        from fitbp.fitting.statistics import coefficient_tests

        dof = self.statistics.get("dof") if self.statistics.get("errors") != "absolute" else None
        raw = (coefficient_tests(_finite_or_none(self.raw_coefficients), self.statistics.get("stderr"), dof, self.level)
               if self.raw_coefficients is not None else {"t_values": None, "p_values": None,
                                                           "confidence_intervals": None})
        own = coefficient_tests(list(self.polynomial.coefficients), self.statistics.get("taylor_stderr"), dof,
                                self.level)
        name = self.polynomial.basis.name
        return {"level": self.level, **raw, **{f"{name}_{key}": value for key, value in own.items()}}

    @property
    def x_range(self):
        """The smallest and largest x fitted: beyond them the curve is extrapolated."""
        return list(with_weight(self.points).x_range)

    @property
    def weighted_points(self):
        """How many points the fit weighs: all but those of weight 0, which R's lm also leaves out."""
        return with_weight(self.points).count

    @cached_property
    def raw_digits_lost(self):
        if self.raw_coefficients is None:
            return 0.0
        return self.polynomial.raw_digits_lost(np.array(self.x_range), self.raw_coefficients)  # only the range matters

    def summary(self):
        """The fit as plain JSON-ready values: what --json prints.  The coefficients of t's basis functions
        are named for the basis: taylor_coefficients, chebyshev_coefficients."""
        p = self.polynomial
        name = p.basis.name
        return {
            "fitbp_version": __version__,
            "degree": p.degree,
            "coefficients": None if self.raw_coefficients is None else _finite_or_none(self.raw_coefficients),
            "center": p.center,
            "scale": p.scale,
            "basis": name,
            **({name: getattr(self, "fourier", p.basis.to_dict())} if not p.basis.polynomial else {}),
            f"{name}_coefficients": list(p.coefficients),
            "raw_digits_lost": round(self.raw_digits_lost, 1),
            "condition_number": self.condition,
            "stderr": self.statistics.get("stderr"),
            f"{name}_stderr": self.statistics.get("taylor_stderr"),
            **self.tests(),
            "mse": self.mse,
            "rmse": self.rmse,
            "r2": self.r2,
            "r2_kind": self.r2_kind,
            "fixed": {str(power): value for power, value in sorted(self.fixed.items())},
            "loss_value": self.final_loss,
            "median_abs_residual": self.median_abs_residual,
            "residual_mean": self.statistics.get("residual_mean"),
            "residual_std": self.statistics.get("residual_std"),
            "reduced_chi2": self.statistics.get("reduced_chi2"),
            "errors": self.statistics.get("errors", "scaled"),
            **({key: self.statistics.get(key) for key in ("chi2", "chi2_p_value")} if "chi2" in self.statistics
               else {}),
            "weights": ({"from": self.points.weighting, "column": self.points.weight_name}
                        if getattr(self.points, "weighting", None) else None),
            "dof": self.statistics.get("dof"),
            "stderr_note": self.statistics.get("stderr_note"),
            "n_points": self.points.rows,
            "weighted_points": self.weighted_points,
            "x_range": self.x_range,
            **(self.points.x_axis.to_dict() if getattr(self.points, "x_axis", None) else
               {"x_origin": None, "x_unit": None}),
            "skipped_rows": self.points.skipped,
            "loss": self.loss,
            "huber_delta": self.delta,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "tol": self.tol,
            "epochs": self.epochs,
            "converged": self.converged,
            "seconds": self.seconds,
            "source": self.points.source,
            **({"sources": self.points.sources} if self.points.sources else {}),
            "engine": self.engine,
            "x_column": self.points.x_name,
            "y_column": self.points.y_name,
            "warnings": [on_command_line(w) for w in self.warnings],
            **({"degree_selection": self.selection} if self.selection else {}),
        }


def _finite_or_none(values):
    return [v if math.isfinite(v) else None for v in values]


def power_of_two_near(values):
    """A y unit that divides exactly: the power of two at or just below max |y|."""
    return math.ldexp(1.0, model.unit_exponent(values))


def check_settings(degree, optimizer, lr, epochs, tol, loss="mse"):
    if degree < 0:
        raise FitbpError(f"degree must be 0 or more, not {degree}")
    if optimizer not in optimizers.OPTIMIZERS:
        raise FitbpError(f"unknown optimizer {optimizer!r} (choose from {', '.join(optimizers.OPTIMIZERS)})")
    if optimizer in optimizers.EXACT and not losses.named(loss).least_squares and not (
            optimizer == "newton" and loss in robust.FITTED):
        raise FitbpError(f"{optimizer} takes exact steps on the quadratic mse loss; for {option('loss', loss)} use "
                         f"{option('optimizer', 'newton')}, adam, momentum or gd")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise FitbpError(f"the learning rate must be a positive number, not {lr}")
    if epochs is not None and epochs < 1:
        raise FitbpError(f"epochs must be 1 or more, not {epochs}")
    if not (math.isfinite(tol) and tol >= 0):
        raise FitbpError(f"the tolerance must be 0 or a positive number, not {tol}")


@dataclass
class Problem:
    """The data as the optimisers see it: t in [-1, 1], y in units of a power of two.

    ``triangle`` holds all that the mean squared error needs (fitbp.engines.moments);
    ``design`` and ``target``, the whole data in these units, are built only
    for points held, for the losses that need every residual (mae, huber, whose
    passes read a stream's points again instead: fitbp.engines.passes.rows)
    and for showing the graph of the whole data.
    """

    triangle: moments.Triangle
    center: float
    scale: float
    y_unit: float
    design: np.ndarray | None = None
    target: np.ndarray | None = None
    basis: bases.Basis = bases.TAYLOR
    """The functions of t the coefficients multiply: the triangle's and the design's columns."""

    @property
    def y_exponent(self):
        """e with y_unit = 2**e."""
        return math.frexp(self.y_unit)[1] - 1

    @property
    def floor(self):
        """A loss change this small is below float64's resolution of the data."""
        t = self.triangle
        return 1e-28 * (float(t.z @ t.z) + t.rest) / t.count


def fit_points(points, degree, optimizer=None, lr=None, epochs=None, tol=DEFAULT_TOL, seed=0,
               on_epoch=None, loss="mse", delta=None, triangle=None, absolute_sigma=False, fixed=None,
               basis="taylor"):
    """Train a degree-``degree`` polynomial on ``points`` by backprop: in the Taylor form, or in another
    ``basis`` of t (fitbp.fitting.bases).

    ``degree`` is a whole number; fitbp.selection.fit_auto chooses one and calls this.
    ``optimizer`` defaults to newton for the mse loss and adam for mae and
    huber, which start from the least-squares fit.  ``delta`` is huber's
    threshold in y units (default: 1.345 robust standard deviations of the
    least-squares residuals).  Points with weights (a σ or w column) are fitted by weighted least
    squares; their standard errors are scaled by the reduced χ², or with ``absolute_sigma`` taken as
    they are, √diag((VᵀWV)⁻¹).  ``fixed``, {power: value}, keeps those raw coefficients and trains
    the others (fitbp.fitting.constraints).  ``triangle``, the data's triangle when a caller
    has it already (fitbp.selection), saves its pass over the points.  ``on_epoch(epoch, loss)`` is called after
    every pass, for progress displays.  Raises FitbpError for data that
    cannot carry such a fit and for training that diverges.

    Points of weight 0 are fitted as R's lm fits them: not at all.  The fit, its degrees of freedom and
    its checks see only the points with weight; the result's points are all of them.
    """
    every, points = points, with_weight(points)
    kind = losses.named(loss)
    optimizer = optimizer or kind.default_optimizer
    if not isinstance(degree, (int, np.integer)) or isinstance(degree, bool):
        raise FitbpError(f"the degree must be a whole number, not {degree!r} (fitbp.selection.fit_auto "
                         "chooses one)")
    check_settings(degree, optimizer, lr, epochs, tol, loss)
    _check_series(bases.named(basis), kind, fixed, points)
    _check_passes(points, kind, optimizer)
    problem = prepare(points, degree, whole=kind.needs_every_point, triangle=triangle, basis=basis)
    whole = problem.triangle  # of every direction, before a constraint keeps only the free ones
    constraint = _constrained(problem, fixed, points, kind, degree) if fixed else None
    lr = None if optimizer in optimizers.EXACT else lr or optimizers.DEFAULT_LR[optimizer]
    epochs = epochs or DEFAULT_EPOCHS[optimizer]

    started = time.perf_counter()
    precondition = optimizers.preconditioner(problem.triangle.r, problem.triangle.count)
    start = np.random.default_rng(seed).normal(scale=0.01, size=len(problem.triangle.z))
    if not kind.least_squares:  # robust losses start where least squares ends
        start = _least_squares(problem, precondition, start)
    scaled_delta = delta_for(kind, problem, start, delta, points)
    if not kind.least_squares and _interpolates(problem, start, points):
        steps = _settled(start, robust.loss_at(points, problem, start, kind.name, scaled_delta))
    else:
        steps = _steps(optimizer, problem, start, lr, tol, precondition, kind, scaled_delta, seed, points)
    unit = math.prod([problem.y_unit] * kind.unit_power)  # not **, which raises where a product is inf
    k, history, converged, snapshots = _descend(steps, epochs, tol, lr, on_epoch,
                                                judge=optimizer not in optimizers.EXACT, unit=unit,
                                                floor=problem.floor, fixed=fixed)
    seconds = time.perf_counter() - started
    if constraint is not None:  # back from the free directions to all the Taylor coefficients
        k, snapshots = constraint.lift(k), [(epoch, constraint.lift(c)) for epoch, c in snapshots]

    polynomial = _polynomial(k, problem, points.source)
    residuals = _residuals(polynomial, points, problem, k, whole)
    optimum, tolerance = (_optimum(points, problem) if kind.least_squares and constraint is None
                          else (None, OPTIMUM_TOLERANCE))
    excess = None if optimum is None else _excess(residuals.squares, optimum, problem.triangle.count)
    if excess is not None and excess > tolerance and optimizer in optimizers.EXACT:
        raise _beyond_float64(points, problem, excess, seed, tolerance)
    mse, rmse, r2 = _quality(residuals, problem.y_unit, fixed.get(0) if fixed else None)
    if fixed and 0 in fixed:  # predictions honour k₀ exactly at x = 0 (model.Polynomial.intercept)
        polynomial = replace(polynomial, intercept=float(fixed[0]))
    result = FitResult(polynomial, mse, rmse, r2, every, optimizer, lr, tol, len(history), converged,
                       seconds, [float(v) * unit for v in history], problem.triangle.condition, loss=loss,
                       delta=scaled_delta * problem.y_unit if scaled_delta else None,
                       snapshots=[(epoch, tuple(float(a) * problem.y_unit for a in c)) for epoch, c in snapshots])
    result.statistics = _statistics(polynomial, points, kind, problem.triangle.r, residuals, absolute_sigma,
                                    constraint)
    if constraint is not None:
        result.fixed = dict(constraint.fixed)
        result.r2_kind = "uncentred" if 0 in constraint.fixed else "centred"
    if not kind.least_squares:  # |V k − y| over every point, in y's units
        result.median_abs_residual = float(passes.median_distance(points, problem, k)) * problem.y_unit
    result.engine = points.engine()  # with the passes of a stream
    result.warnings.extend(_warnings(result, epochs, excess, tolerance))
    return result


def _optimum(points, problem):
    """The least-squares Σ r² of the problem's degree, as exact arithmetic has it, and how near a fit
    must come to it: OPTIMUM_TOLERANCE; for a fit in the judging basis itself (bases.Basis.judge), whose
    factorisation the check only repeats, float64's own resolution of that optimum where it is coarser
    (moments.Optima).  None where the triangle is well conditioned enough to vouch for its fit.

    A triangle from Chebyshev sums has it as ρ², with every digit that matters unless ρ² is a tiny
    share of Σy² (cancelled away); otherwise a Householder triangle in the Chebyshev basis, one more
    pass over the data, gives it without cancellation.
    """
    triangle = problem.triangle
    if triangle.condition <= CONDITION_WARNING or not problem.basis.polynomial:  # QR's own triangle, for a series
        return None, OPTIMUM_TOLERANCE
    if triangle.from_sums and triangle.rest >= moments.SUMS_RESOLVE * (triangle.rest + float(triangle.z @ triangle.z)):
        return triangle.rest, OPTIMUM_TOLERANCE
    optima = _optima(points, problem, len(triangle.z) - 1)
    return float(optima.squares[-1]), max(OPTIMUM_TOLERANCE, optima.resolution if problem.basis.judge else 0.0)


def _optima(points, problem, degree):
    """Every degree's least-squares Σ r² up to ``degree``, each no larger than a lower one's (moments.Optima)."""
    return passes.optima(points, problem.center, problem.scale, problem.y_unit, degree)  # held, files, workers


def _residuals_over(polynomial, points, exponent):
    """The Residuals of ``polynomial`` over every point: held, or read once more."""
    return passes.residuals(points, polynomial, exponent)


def with_weight(points):
    """The points that carry weight (fitbp.sources.data.Points.with_weight); all of them without weights."""
    return points.with_weight() if getattr(points, "weights", None) is not None else points


def weight_roots(points):
    """√w of each point, the weights scaled to mean 1 (so that the weighted MSE is a mean); None without."""
    return roots_of(getattr(points, "weights", None))


def _residuals(polynomial, points, problem, k, whole):
    """The fit's Residuals: over the points; for points not held, from the triangle of every direction
    (``whole``: not a constraint's of the free ones, which is not k's) where it is conditioned well
    enough to vouch for them (moments.triangle_residuals), saving a pass."""
    if not points.held and whole.condition <= CONDITION_WARNING:
        return moments.triangle_residuals(whole, k)
    return _residuals_over(polynomial, points, problem.y_exponent)


def _excess(squares, optimum, count):
    """How far Σ r² lies from the optimum, as a fraction of it (0 within float64's rounding).

    Below counts as much as above: no curve beats the optimum, so a float64 evaluation that seems to
    is rounding noise in the curve, large enough to fit the data's own noise, which predict would
    print as the curve's values."""
    rounding = count * 1e-24  # y is in units near max |y|: an rms error of 1e-12 of it
    return max(0.0, abs(squares - optimum) - rounding) / max(optimum, rounding)


def _reaches(points, problem, optimum, seed):
    """Whether newton's fit on ``problem`` comes within OPTIMUM_TOLERANCE of ``optimum``."""
    start = np.random.default_rng(seed).normal(scale=0.01, size=len(problem.triangle.z))
    k = _least_squares(problem, optimizers.preconditioner(problem.triangle.r, problem.triangle.count), start)
    found = _residuals_over(_polynomial(k, problem, points.source), points, problem.y_exponent)
    return _excess(found.squares, optimum, problem.triangle.count) <= OPTIMUM_TOLERANCE


def _beyond_float64(points, problem, excess, seed, tolerance):
    """The error for a degree whose coefficients float64 cannot carry, naming the highest it can."""
    degree = len(problem.triangle.z) - 1
    carried = _highest_carried(points, _optima(points, problem, degree).squares, seed, problem.basis)
    missed = (f"is {excess + 1:.3g} times the least-squares optimum" if excess >= 0.01 else
              f"misses the least-squares optimum by {excess:.1e} of it (at most {tolerance:.1g} is allowed)")
    return DegreeTooHigh(at(
        points.source, None, f"degree {degree} is more than the {problem.basis.title} form can carry in float64 over "
        f"this data: its coefficients cancel each other so much that the best fit's MSE {missed}; every degree up "
        f"to {carried} reaches its optimum here (use {option('degree', carried)} or lower)").args[0], carried)


def _highest_carried(points, optima, seed, basis):
    """The highest degree K such that the fit of every degree up to K, built as ``fit --degree``
    builds it (a pass of Chebyshev sums each), reaches its optimum: the same answer whichever degree
    above K was asked for."""
    for degree in range(1, len(optima)):
        problem = prepare(points, degree, whole=False, basis=basis)
        if problem.triangle.condition > CONDITION_WARNING and not _reaches(points, problem, optima[degree], seed):
            return degree - 1
    return len(optima) - 1


def _statistics(polynomial, points, kind, r, residuals, absolute_sigma=False, constraint=None):
    """The least-squares statistics of the fit; for robust losses only what still holds.  Points not held
    stand in by their triangle ``r``, their Residuals, y's exponent and their distinct x."""
    from fitbp.fitting import statistics

    held = points.held
    found = statistics.fit_statistics(polynomial, points.x if held else None, points.y if held else None, r,
                                      residuals, exponent=None if held else points.y_exponent,
                                      distinct=None if held else points.distinct, weight_mean=weight_mean(points),
                                      absolute=absolute_sigma, basis=None if constraint is None else constraint.basis,
                                      fixed=() if constraint is None else sorted(constraint.fixed))
    if not kind.least_squares:
        for key in ("stderr", "taylor_stderr", "covariance", "reduced_chi2"):
            found[key] = None
        found["stderr_note"] = f"standard errors come from least squares and do not hold for the {kind.name} loss"
    return found


def _constrained(problem, fixed, points, kind, degree):
    """Turn ``problem`` into the one in the directions that keep the ``fixed`` raw coefficients."""
    from fitbp.fitting import constraints

    if not kind.least_squares:
        raise at(points.source, None, f"{option('fix')} is for {option('loss', 'mse')}, not {kind.name}, for now")
    problem.triangle, constraint = constraints.constrain(problem.triangle, fixed, problem.center, problem.scale,
                                                         problem.y_unit, degree, problem.basis)
    return constraint


def weight_mean(points):
    """The mean weight of the points in the fit (None without weights): held, summed below 1 first, so
    that weights near the float64 limit do not overflow; streamed, as the first pass summed it."""
    weights = getattr(points, "weights", None)
    if weights is None or not points.held:
        return getattr(points, "weight_mean", None)
    return below_one(weights)[1] * float(np.max(weights))


def prepare(points, degree, whole=True, triangle=None, basis="taylor"):
    """The scaled problem for a degree-``degree`` fit in ``basis``, or a FitbpError if the data cannot
    carry it.

    ``whole`` also builds the design matrix of all the points, for the losses
    and displays that need every residual.
    """
    basis = bases.named(basis)
    if not points.held:
        return _prepare_streamed(points, degree, triangle, basis)
    x = np.asarray(points.x, dtype=np.float64)
    y = np.asarray(points.y, dtype=np.float64)
    check_distinct(points, moments.distinct_up_to(x, degree + 1), degree)
    center, scale = model.scaling(x)
    y_unit = power_of_two_near(y)
    roots = weight_roots(points)
    if whole and roots is not None:  # before the pass that builds the triangle
        raise at(points.source, None, f"{option(points.weighting)} weighs the least-squares loss, and mae and huber "
                 f"take no weights, for now: use {option('loss', 'mse')}, or drop the weights")
    problem = Problem(triangle or moments.triangle(x, y, center, scale, y_unit, degree, roots, basis), center, scale,
                      y_unit, basis=basis)
    if whole:
        problem.design = basis.columns((x - center) / scale, degree)
        problem.target = y / y_unit
    return problem


def check_distinct(points, distinct, degree):
    if distinct < degree + 1:
        whose = "the points with weight have" if getattr(points, "weights", None) is not None else "the data has"
        raise at(points.source, None,
                 f"degree {degree} needs at least {degree + 1} distinct x values, {whose} {distinct}")


def _prepare_streamed(points, degree, triangle, basis):
    """The problem of points not held: the triangle of all of them from their Parts (fitbp.engines.local),
    which keep it in powers of t; another basis's is R·P, P its exact change into powers (which holds
    the digits a streamed fit of the Taylor form holds, not more); a series's (not polynomial), QR of its
    own columns over one more pass.  No design: the robust losses' passes read the points again
    (fitbp.engines.passes.rows)."""
    check_distinct(points, min(points.distinct, degree + 1), degree)
    center, scale = moments.scaling_of(points.low, points.high)
    if triangle is None and not basis.polynomial:  # a series: its own columns' triangle, by QR over a pass
        triangle = passes.basis_triangle(points, center, scale, math.ldexp(1.0, points.y_exponent), degree, basis)
    elif triangle is None:
        triangle = points.part(degree).triangle(points.y_exponent)
        r = triangle.r @ basis.power_matrix(degree)
        triangle = replace(triangle, r=r, condition=moments.condition_of(r))
    return Problem(triangle, center, scale, math.ldexp(1.0, points.y_exponent), basis=basis)


def _check_series(basis, kind, fixed, points):
    """A basis that is not a polynomial (a Fourier series) is fitted by least squares, free, for now."""
    if basis.polynomial:
        return
    if not kind.least_squares:
        raise at(points.source, None, f"a {basis.title} series is fitted by {option('loss', 'mse')}, not "
                 f"{kind.name}, for now")
    if fixed:
        raise at(points.source, None, f"{option('fix')} fixes raw coefficients of x^i, which a {basis.title} "
                 "series does not have")


def _check_passes(points, kind, optimizer):
    """Refuse a loss whose optimiser steps on every point at every epoch (gd, momentum, adam on mae and huber)
    for points not held; newton's passes read them again."""
    if points.held or not kind.needs_every_point or optimizer == "newton":
        return
    raise at(points.source, None, f"{option('optimizer', optimizer)} steps on every point at every epoch of the "
             f"{kind.name} loss, and this process does not hold the {points.count} points{points.HELD}: use "
             f"{option('optimizer', 'newton')}, whose passes read them again")


def _objective(problem, kind=None, delta=None):
    """One backprop pass: of least squares (without a ``kind``, the only loss of newton and cg) through
    the data's triangle; of a loss that needs every point, over every point."""
    if kind is None or kind.least_squares:
        return lambda k: model.triangle_loss_and_gradient(problem.triangle, k)
    return lambda k: model.loss_and_gradient(problem.design, problem.target, k, kind.name, delta)


def _steps(optimizer, problem, start, lr, tol, precondition, kind=None, delta=None, seed=0, points=None):
    refine = problem.triangle.condition <= CONDITION_WARNING
    if optimizer == "newton" and kind is not None and not kind.least_squares:  # from the least-squares start
        return robust.newton(points, problem, start, kind.name, delta, tol, problem.floor, refine, seed)
    if optimizer == "newton":
        return optimizers.newton(_objective(problem), start, precondition, tol, problem.floor, refine=refine)
    if optimizer == "cg":
        curvature = replace(problem.triangle, z=np.zeros_like(problem.triangle.z), rest=0.0)
        return optimizers.conjugate_gradient(
            _objective(problem), lambda p: model.triangle_loss_and_gradient(curvature, p)[1], start,
            precondition, tol, problem.floor)
    step = {"gd": optimizers.gradient_descent, "momentum": optimizers.momentum, "adam": optimizers.adam}
    return step[optimizer](_objective(problem, kind, delta), start, lr)


def _least_squares(problem, precondition, start):
    """The mse optimum by newton, through the data's triangle: where robust losses begin."""
    steps, k = _steps("newton", problem, start, None, DEFAULT_TOL, precondition), start
    while True:
        try:
            k, _ = next(steps)
        except StopIteration as finished:
            return finished.value[1] if isinstance(finished.value, tuple) else k


def _interpolates(problem, k, points=None):
    """Whether the curve at k passes through every point: then every loss of the residuals is at its
    minimum, and an optimiser's first step could only move away.  A pass, unless the problem holds the
    design (``points`` are read only then)."""
    most, top = passes.extent(points, problem, k)
    return most <= 1e-13 * max(1.0, top)


def _settled(k, loss):
    """An optimiser with nothing left to do."""
    yield k, loss
    return True


def delta_for(kind, problem, k, given=None, points=None):
    """The threshold of a loss that has one, in the problem's y units: ``given`` (in y's units), or
    huber_delta at k over ``points`` (read only where the problem holds no design); None for a loss
    without one."""
    if not kind.needs_delta:
        return None
    return given / problem.y_unit if given else huber_delta(problem, k, points)


def huber_delta(problem, k, points=None):
    """1.345 robust standard deviations of the residuals at k: Huber's classic threshold, from the exact
    median and median absolute deviation of every point's residual, held or read again in passes
    (fitbp.engines.passes.median_residual), so that a stream's δ is the held points' own."""
    middle = passes.median_residual(points, problem, k)
    spread = 1.4826 * float(passes.median_distance(points, problem, k, middle))
    return 1.345 * spread if spread > 0 else 1.345 * passes.residual_sd(points, problem, k) or 1.0


def _polynomial(k, problem, source):
    coefficients = tuple(float(a) * problem.y_unit for a in k)
    if not all(math.isfinite(a) for a in coefficients):
        raise at(source, None, "the fitted coefficients are beyond the range of float64 (y values "
                 "too near ±1.8e308); divide y by a constant first")
    return model.Polynomial(coefficients, problem.center, problem.scale, basis=problem.basis)


def _snapshot_due(epoch, last):
    """Every epoch at first, then each 5 % further: a film of any length in a few hundred frames."""
    return epoch <= 50 or epoch >= last * 1.05


def _descend(steps, epochs, tol, lr, on_epoch, judge, unit, floor, fixed=None):
    """Consume an optimiser until it converges, gives up, diverges or runs out of epochs.

    An optimiser that knows its own gap (cg) says when it has converged; for
    the others (``judge``) it is when two epochs in a row changed the loss by
    at most ``tol`` relative: one small step alone can be a direction with
    little to gain.  Snapshots of the coefficients are kept for the film.
    """
    history, snapshots, k = [], [], None

    def finish(converged):
        if k is not None and (not snapshots or snapshots[-1][0] != len(history)):
            snapshots.append((len(history), k.copy()))
        return k, history, converged, snapshots

    while True:
        try:
            k, loss = next(steps)
        except StopIteration as finished:
            if isinstance(finished.value, tuple):  # newton's last, refining step, which needs no pass
                converged, k = finished.value
                return finish(converged)
            return finish(bool(finished.value))
        history.append(loss)
        if _snapshot_due(len(history), snapshots[-1][0] if snapshots else 0):
            snapshots.append((len(history), k.copy()))
        if on_epoch is not None:
            on_epoch(len(history), loss)
        if not math.isfinite(loss) or (judge and len(history) > 1 and loss > 100 * history[0]):
            raise FitbpError(_diverged(history, unit, lr, fixed))
        if judge and len(history) > 2 and all(abs(a - b) <= tol * loss + floor
                                              for a, b in zip(history[-3:-1], history[-2:])):
            return finish(True)
        if len(history) >= epochs:
            return finish(False)


def _diverged(history, unit, lr, fixed):
    """Why training stopped with a loss that grew or left float64, and what to change: a learning rate,
    a fixed coefficient so large that the curve leaves float64 (k₃ = 1e300), or the data."""
    first, last = history[0] * unit, history[-1] * unit
    what = (f"the loss is beyond float64 from epoch {len(history)}" if not math.isfinite(first) else
            f"training diverged at epoch {len(history)} (loss grew from {first:.3g} to {last:.3g})")
    if fixed and not math.isfinite(first):  # no learning rate helps a curve that starts beyond float64
        terms = ", ".join(f"k{j} = {v!r}" for j, v in sorted(fixed.items()))
        return (f"{what}: with the fixed coefficients {terms} the curve's values over the data are beyond "
                "float64's range; fix smaller values, or check the data for extreme values")
    if lr:
        return f"{what}; try a smaller {option('lr')} than {lr:g}"
    return f"{what}; check the data for extreme values"


def _quality(residuals, y_unit, intercept=None):
    """MSE, RMSE and R² from the actual residuals, summed in y units scaled so that nothing
    overflows or underflows on the way: the RMSE of y near 1e300 is still a number.  With the
    ``intercept`` fixed, R² is uncentred about it: 1 − SSR / Σ(y − k₀)²."""
    with np.errstate(all="ignore"):
        mse_scaled = residuals.squares / residuals.count if residuals.finite else math.inf
        spread = residuals.y_spread
        if intercept is not None:
            spread += residuals.count * (residuals.y_mean - intercept / y_unit) ** 2
    r2 = 1.0 - residuals.squares / spread if spread > 0 and residuals.finite else None
    return mse_scaled * y_unit * y_unit, math.sqrt(mse_scaled) * y_unit, r2


def _warnings(result, epochs, excess=None, tolerance=OPTIMUM_TOLERANCE):
    found = []
    if excess is not None and excess <= tolerance:
        found.append(f"the fit is ill-conditioned (condition number {result.condition:.1e}): its curve is "
                     "the least-squares optimum (its MSE is "
                     + (f"within {excess:.0e} of it" if excess else "the optimum's to float64's rounding")
                     + ", checked in the Chebyshev basis), but many other coefficient vectors give nearly the same "
                     "curve, so the coefficients and their standard errors are unreliable; a lower degree is safer")
    elif excess is not None:
        found.append(f"the fit's MSE is {excess + 1:.3g} times the least-squares optimum of its degree: "
                     f"{option('optimizer', result.optimizer)} stopped short of it")
    elif result.condition > CONDITION_WARNING:
        found.append(f"the fit is ill-conditioned (condition number {result.condition:.1e}): float64 cannot "
                     "pin its coefficients down, so they are unreliable and may miss the least-squares "
                     "optimum; a lower degree, or x spread more evenly, is safer")
    at_optimum = excess is not None and excess <= tolerance and result.optimizer in optimizers.EXACT
    stalled = not result.converged and not at_optimum  # newton or cg stalled at the optimum gained all there was
    if stalled and result.epochs < epochs:
        found.append(f"training stopped after {result.epochs} epochs without converging: a step gained "
                     f"nothing, so rounding error is as large as what is left to gain; loosen {option('tol')}")
    elif stalled:
        found.append(f"training stopped after {epochs} epochs without converging; raise {option('epochs')}, "
                     f"loosen {option('tol')}"
                     + (f", or use {option('optimizer', 'newton')}" if losses.named(result.loss).least_squares
                        and result.optimizer not in optimizers.EXACT else ""))
    lost = result.raw_digits_lost
    if lost > DIGITS_WARNING:
        basis = result.polynomial.basis
        found.append(f"the raw coefficients k_j lose about {lost:.0f} of 16 significant digits "
                     f"over this x range; use the {basis.title} form (center, scale, {basis.name}_coefficients) "
                     "for exact values")
    return found
