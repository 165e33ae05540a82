"""fitbp from Python: ``fitbp.fit(x, y)`` and ``fitbp.load(path)`` give a :class:`Fit`.

The command line's reading, training, statistics, model file and exports, for a Python caller: a
``Fit`` is made of the same document ``fitbp fit --json`` prints and the model file holds, so its
numbers, predictions, intervals and exports are the command line's to the last bit, whether it was
fitted here or loaded.  Options are checked in Python's terms (``degree=``, ``fix=``) and refused with
ValueError or TypeError; a problem with the data (a bad cell, too few points) is a FitbpError naming
the file or the index, as on the command line.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from typing import Any, NamedTuple

import numpy as np

from fitbp.errors import FitbpError, option, said
from fitbp.errors import value as quoted
from fitbp.fitting import bases
from fitbp.fitting.losses import LOSSES

NAN_POLICIES = ("raise", "omit")


class _Said:
    """A message about options, said once for both vocabularies.  ``text`` marks each option with
    fitbp.errors.option and a bare value with errors.value: ``str()`` says them in Python's words
    (sigma=, loss='mse'), ``said(flag)`` in the command line's (--sigma, --loss mse).  ``hint`` names
    the option to blame (a tuple: any of them); with ``blame``, Python's words begin with it
    (``fix=: …``), where the command line's begin with the flag (click's "Invalid value for --fix")."""

    def __init__(self, text: str, hint: str | tuple[str, ...], blame: bool = False):
        self.text, self.hint, self.blame = text, hint, blame
        super().__init__(self.said())

    @property
    def hints(self) -> tuple[str, ...]:
        return (self.hint,) if isinstance(self.hint, str) else tuple(self.hint)

    def said(self, flag=None) -> str:
        """The message, each option written by ``flag(name)`` (None: as a Python keyword)."""
        text = said(self.text, flag)
        return f"{self.hints[0]}=: {text}" if self.blame and flag is None else text


class OptionError(_Said, ValueError):
    """Options that do not go together (see _Said for its words)."""


class OptionWarning(_Said, UserWarning):
    """An option given where another option makes it do nothing (see _Said for its words)."""




def check_options(*, sigma: Any = None, weights: Any = None, absolute_sigma: bool = False, loss: str = "mse",
                  fixed: dict | None = None, degree: int | None = None, max_degree: int | None = None,
                  decimal: str = ".", delimiter: str | None = None, time_unit: str = "d", engine: str = "local",
                  scheduler: str | None = None, partition_size: Any = None, triangle: bool = False,
                  interval: str | None = None, sigma_new: float | None = None) -> None:
    """The rules between options, for fitbp.fit, fitbp.select, Fit.predict and the command line alike:
    an OptionError for the first broken.  An option left at None (``sigma``, ``weights``, ``fixed``,
    ``scheduler``, ``partition_size``, ``sigma_new``) was not given; ``sigma`` and ``weights`` are
    arrays, or column names for a DataFrame or files.  ``engine``, ``scheduler``, ``partition_size``
    and ``triangle`` are the command line's alone for now (fit --engine dask, graph --triangle)."""
    kind = LOSSES[loss]
    if engine != "dask" and (scheduler is not None or partition_size is not None):
        raise OptionError(f"is only for {option('engine', 'dask')}",
                          "scheduler" if scheduler is not None else "partition_size", blame=True)
    if scheduler is not None and not scheduler.strip():
        raise OptionError("needs an address, such as tcp://host:8786", "scheduler", blame=True)
    if decimal == "," and delimiter in (",", "comma"):
        raise OptionError("a comma cannot be both the decimal mark and the delimiter", "decimal", blame=True)
    weighted = sigma is not None or weights is not None
    if sigma is not None and weights is not None:
        raise OptionError(f"{option('sigma')} and {option('weights')} say the same thing two ways: give one",
                          "weights")
    if not kind.least_squares and (weighted or fixed):
        raise OptionError(f"{option('sigma')}, {option('weights')} and {option('fix')} are for "
                          f"{option('loss', 'mse')}, not {quoted(loss)}, for now", "loss")
    if absolute_sigma and not weighted:
        raise OptionError(f"absolute errors need σ: give {option('sigma')} or {option('weights')}", "absolute_sigma")
    column = sigma if sigma is not None else weights
    if isinstance(column, str) and not column.strip():
        raise OptionError("needs a column: a header name or a 1-based number",
                          "sigma" if sigma is not None else "weights", blame=True)
    if fixed and degree is not None:
        from fitbp.fitting import constraints

        try:
            constraints.check(fixed, degree)
        except FitbpError as e:
            raise OptionError(e.args[0], "fix", blame=True) from None
    if fixed and max_degree is not None:
        from fitbp.selection import lowest_keeping

        if max_degree < lowest_keeping(fixed):
            raise OptionError(f"degree {lowest_keeping(fixed)} is the lowest that keeps the {option('fix')} terms and "
                              "leaves one to fit", "max_degree", blame=True)
    if triangle and not kind.least_squares:
        raise OptionError(f"the triangle is the mse loss's rewrite; {quoted(loss)} needs every residual",
                          "triangle", blame=True)
    if sigma_new is not None and interval != "prediction":
        raise OptionError(f"a new point's σ is for {option('interval', 'prediction')}", "sigma_new", blame=True)


def ignored_options(*, loss: str = "mse", optimizer: str | None = None, delta: float | None = None,
                    lr: float | None = None) -> list[OptionWarning]:
    """The options given that others make do nothing, each an OptionWarning (``optimizer`` None: the
    loss's default optimiser): fitbp.fit warns with them, the command line says them."""
    from fitbp.backprop import optimizers

    kind = LOSSES[loss]
    ignored = []
    if delta is not None and not kind.needs_delta:
        ignored.append(OptionWarning(f"{option('delta')} is huber's threshold and is ignored by {option('loss', loss)}",
                                     "delta"))
    chosen = optimizer or kind.default_optimizer
    if lr is not None and chosen in optimizers.EXACT:
        ignored.append(OptionWarning(f"{option('lr')} is ignored by {option('optimizer', chosen)}, which takes "
                                     "exact steps", "lr"))
    return ignored


class Prediction(NamedTuple):
    """``fit.predict(x, interval=...)``: the curve at x and the interval's bounds there."""

    y: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


class Reading(NamedTuple):
    """``fit.inverse(y, interval=...)``, for one y: each x where the curve is y (NaN where only the
    band holds y) with the interval's bounds; a bound cut by the end of the fitted range is that end,
    marked in ``lower_cut`` or ``upper_cut``."""

    x: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    lower_cut: np.ndarray
    upper_cut: np.ndarray


def fit(xdata: Any, ydata: Any = None, /, *, x: str | None = None, y: str | None = None,
        degree: int | str = "auto", sigma: Any = None, weights: Any = None, fix: dict | None = None,
        absolute_sigma: bool = False, loss: str = "mse", delta: float | None = None,
        optimizer: str | None = None, lr: float | None = None, epochs: int | None = None, tol: float = 1e-12,
        seed: int = 0, level: float = 0.95, nan_policy: str = "raise", time_unit: str = "d",
        memory: int = 256 << 20, basis: str = "taylor", period: float | str | None = None,
        harmonics: int | str | None = None, trend: int | None = None, smooth: float | str | None = None,
        half_life: int | float | str | None = None, **reading: Any) -> Fit:
    """Fit a polynomial (or a Fourier series, or a smoothing spline) to points, as ``fitbp fit`` does.

    Parameters
    ----------
    xdata, ydata : array_like, or a DataFrame, or paths
        x and y as lists, tuples, numpy arrays (any real dtype, any shape that ravels to 1-D), pandas
        or polars Series, or numpy ``datetime64`` (x is then the days, or seconds, since the first
        date's midnight, as for a CSV column of dates).  Or, alone, a pandas or polars DataFrame
        (columns ``x`` and ``y`` by name, the first two by default), or a path, a glob or a list of
        them (CSV, gzip or Parquet), read exactly as the command line reads them.
    x, y : str, optional
        Column names, for a DataFrame or files.
    degree : int or "auto"
        The highest power, or "auto": the lowest degree within 2 of the least BIC.
    basis : {"taylor", "chebyshev", "fourier", "spline"}
        The functions of t = (x - center) / scale the coefficients multiply: its powers (the Taylor
        form, which the graph and the film show), or the Chebyshev polynomials T_i(t), which keep
        their digits at degrees where the powers cancel (a degree of 100 where the Taylor form stops
        near 40).  The curve is the same least-squares curve; ``coef`` is then the c_i of T_i(t).
        Or a Fourier series: powers of t up to ``trend``, then cos and sin of 2πk(x − center)/P for
        k = 1 … ``harmonics`` (fitbp.fitting.fourier); ``coef`` in that order.
        Or "spline": the cubic smoothing spline, knots at every distinct x (fitbp.fitting.smoothing);
        it has no ``coef``: its pieces are in ``to_dict()["spline"]``.
    half_life : int or str, optional
        Old points weighed down, w = 2^(−age/h): h in rows (500: the point 500 rows before the last
        counts half), or in time for dates as x ("7d", "12h"); the fit is then the weighted one.
    smooth : for basis="spline"
        λ of Σ w (y − f)² + λ ∫ f''², on scipy's make_smoothing_spline scale, or "auto" (the default):
        the λ of least generalised cross-validation.
    period, harmonics, trend : for basis="fourier"
        P in x's units, or "auto" (the default): found by a periodogram, then learned with the
        coefficients by Gauss–Newton, its standard error in ``fit.to_dict()["fourier"]``; K, or
        "auto" (the default): the least BIC up to 12; the trend's degree (default 0, a constant).
    sigma, weights : array_like or str, optional
        Each y's standard deviation (w = 1/σ², σ = inf keeps a point out of the fit) or its weight w
        (0 keeps it out); a column name for a DataFrame or files.
    fix : dict, optional
        {power: value} of raw coefficients to keep, such as {0: 0.0} for a curve through the origin.
    absolute_sigma : bool
        The σ are true measurement errors: standard errors are not scaled by the reduced χ².
    loss : {"mse", "mae", "huber"}
    delta : float, optional
        Huber's threshold in y units (default: 1.345 robust sd of the least-squares residuals).
    optimizer, lr, epochs, tol, seed
        How to train: newton (the default: the exact optimum of every loss), cg (mse only), gd, momentum
        or adam.
    level : float
        Confidence level of the coefficients' intervals.
    nan_policy : {"raise", "omit"}
        NaN or inf in x, y or sigma: a ValueError naming the first, or the point left out.
    time_unit : {"d", "s"}
        Dates as x in days or seconds since the first date's midnight.
    memory : int
        Bytes of numbers files may take in memory; more is read in blocks and never held.
    **reading
        For files: delimiter, encoding, skip_invalid, decimal (as the command line's options).

    Returns
    -------
    Fit

    Examples
    --------
    >>> import fitbp
    >>> line = fitbp.fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.0], degree=1)
    >>> line.coef.round(12).tolist()
    [1.0, 2.0]
    >>> line([10.0]).round(9).tolist()
    [21.0]
    """
    from fitbp.fitting import trainer

    fixed = _fixed(fix)
    series = series_options(basis, degree, period, harmonics, trend, smooth, fixed, loss)
    degree = _degree(degree)
    _choices("loss", loss, tuple(LOSSES))
    _choices("basis", basis, bases.FAMILIES)
    _choices("nan_policy", nan_policy, NAN_POLICIES)
    _choices("time_unit", time_unit, ("d", "s"))
    if not (isinstance(level, (int, float)) and 0.0 < level < 1.0 and (1.0 + level) / 2.0 < 1.0):
        raise ValueError(f"level= must be a probability strictly between 0 and 1, such as 0.95, not {level!r}")
    check_options(sigma=sigma, weights=weights, absolute_sigma=absolute_sigma, loss=loss, fixed=fixed, degree=degree,
                  decimal=reading.get("decimal", "."), delimiter=reading.get("delimiter"))
    if optimizer is not None:
        _choices("optimizer", optimizer, tuple(trainer.DEFAULT_EPOCHS))  # every optimiser has its default
    for ignored in ignored_options(loss=loss, optimizer=optimizer, delta=delta, lr=lr):
        warnings.warn(ignored, stacklevel=2)
    points = _points(xdata, ydata, x, y, sigma, weights, nan_policy, time_unit, memory, degree, reading)
    if half_life is not None:
        from fitbp.fitting import forgetting

        try:
            points = forgetting.weighed(points, forgetting.parse(half_life))
        except ValueError as e:
            raise ValueError(f"half_life=: {e}") from None
    training = {"optimizer": optimizer, "lr": lr, "epochs": epochs, "tol": tol, "seed": seed, "loss": loss,
                "delta": delta, "absolute_sigma": absolute_sigma, "basis": basis,
                **({"fixed": fixed} if fixed else {})}
    result = trained(points, degree, series, **training)
    result.level = level
    return Fit(_document(result), result)


def compare(xdata: Any, ydata: Any = None, /, *, x: str | None = None, y: str | None = None, folds: int = 5,
            seed: int = 0, nan_policy: str = "raise", time_unit: str = "d", **reading: Any):
    """Every family of curves fitted to the points and ranked, as ``fitbp compare`` does: a
    fitbp.comparison.Comparison, whose ``rows`` (rank, family, curve, parameters, cv_mse, cv_se, bic)
    and ``winner`` say which, and ``to_dict()`` the JSON.  The data as for :func:`fit`.

    Examples
    --------
    >>> import numpy as np, fitbp
    >>> x = np.linspace(0.0, 3.0, 60)
    >>> noise = np.random.default_rng(1).normal(0.0, 0.1, x.size)
    >>> fitbp.compare(x, 1.0 + 2.0 * x - x ** 2 + noise).winner
    'taylor'
    """
    from fitbp import comparison

    if not (isinstance(folds, int) and folds >= 2):
        raise ValueError(f"folds= must be a whole number of 2 or more, not {folds!r}")
    _choices("nan_policy", nan_policy, NAN_POLICIES)
    points = _points(xdata, ydata, x, y, None, None, nan_policy, time_unit, 256 << 20, None, reading)
    return comparison.compare(points, folds=folds, seed=seed)


def load(path: str | os.PathLike) -> Fit:
    """The model a ``fitbp fit`` or ``Fit.save`` wrote, as a :class:`Fit` whose predictions,
    intervals, inverse and exports are the command line's on the same file.

    Examples
    --------
    >>> import fitbp, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "line.json")
    >>> saved = fitbp.fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.5], degree=1).save(path)
    >>> fitbp.load(saved)(1.5).tolist() == fitbp.fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.5], degree=1)(1.5).tolist()
    True
    """
    from fitbp.fitting import modelfile

    return Fit(modelfile.load(path), path=os.fspath(path))


def select(xdata: Any, ydata: Any = None, /, *, x: str | None = None, y: str | None = None,
           max_degree: int | None = None, folds: int = 5, loss: str = "mse", seed: int = 0, sigma: Any = None,
           weights: Any = None, fix: dict | None = None, nan_policy: str = "raise", time_unit: str = "d",
           memory: int = 256 << 20, **reading: Any):
    """Every degree's scores, as ``fitbp select`` prints them: ``.candidates`` (a row a degree: train
    MSE, cross-validated MSE and its se, AIC, AICc, BIC), ``.chosen`` (what ``degree="auto"``
    chooses) and ``.reason``.  The data are taken as :func:`fit` takes them."""
    from fitbp import selection

    _choices("loss", loss, tuple(LOSSES))
    if max_degree is not None and not (isinstance(max_degree, int) and max_degree >= 0):
        raise ValueError(f"max_degree= must be a whole number of 0 or more, not {max_degree!r}")
    if not (isinstance(folds, int) and folds >= 2):
        raise ValueError(f"folds= must be a whole number of 2 or more, not {folds!r}")
    fixed = _fixed(fix)
    check_options(sigma=sigma, weights=weights, loss=loss, fixed=fixed, max_degree=max_degree,
                  decimal=reading.get("decimal", "."), delimiter=reading.get("delimiter"))
    points = _points(xdata, ydata, x, y, sigma, weights, nan_policy, time_unit, memory, None, reading)
    table = selection.select_table(points, max_degree, folds=folds, loss=loss, seed=seed, fixed=fixed or None)
    table.notes, table.warnings = [said(n) for n in table.notes], [said(w) for w in table.warnings]
    return table


class Fit:
    """A fitted polynomial: its coefficients and their statistics, predictions with intervals,
    inverse predictions, the table, the model file and the exports, as the command line has them.

    Made by :func:`fitbp.fit` or :func:`fitbp.load`.  ``fit(x)`` evaluates the curve.
    """

    def __init__(self, document: dict, result: Any = None, path: str | None = None):
        self._document, self._result, self._path = document, result, path

    # ------------------------------------------------------------------ numbers
    @property
    def degree(self) -> int:
        return int(self._document["degree"])

    @property
    def basis(self) -> str:
        """The functions of t the fit's coefficients multiply: "taylor" (powers of t) or "chebyshev"."""
        return str(self._document.get("basis", "taylor"))

    @property
    def coef(self) -> np.ndarray:
        """Raw coefficients k_0 … k_d of 1, x, …, x^d (NaN where one is beyond float64); for a fit in
        another basis than the Taylor form, that basis's c_0 … c_d of t (``curve``)."""
        return _array(self._document.get(self._own("coefficients")))

    @property
    def stderr(self) -> np.ndarray | None:
        """Standard errors of ``coef`` (0 for a fixed one); None where the fit gives none (see ``note``)."""
        return _array(self._document.get(self._own("stderr")), none=True)

    @property
    def tvalues(self) -> np.ndarray | None:
        return _array(self._document.get(self._own("t_values")), none=True)

    @property
    def pvalues(self) -> np.ndarray | None:
        return _array(self._document.get(self._own("p_values")), none=True)

    def conf_int(self, level: float = 0.95) -> np.ndarray | None:
        """(d + 1, 2): each of ``coef``'s two-sided ``level`` interval (t, or normal for absolute σ)."""
        from fitbp.fitting.statistics import coefficient_tests

        if self.stderr is None:
            return None
        dof = None if self._document.get("errors") == "absolute" else self.dof
        tests = coefficient_tests(self._document[self._own("coefficients")], self._document[self._own("stderr")],
                                  dof, level)
        return np.array([[math.nan, math.nan] if b is None else b for b in tests["confidence_intervals"]])

    def _own(self, what):
        """The document's key of ``coef``'s kind: the raw powers of x, or the coefficients of the basis."""
        from fitbp.fitting import modelfile

        return what if self.basis == "taylor" else modelfile.in_basis(self._document, what)

    @property
    def curve(self):
        """The curve as the fit evaluates it: coefficients of its basis functions of t = (x - center) / scale."""
        from fitbp.fitting import modelfile

        return modelfile.polynomial_of(self._document)

    @property
    def taylor(self):
        """The Taylor form: coefficients of powers of t = (x - center) / scale, the basis the graph and
        the film teach with.  A fit in another basis is turned into it exactly, then rounded once, which
        at a high degree costs the digits that basis kept (evaluate ``curve`` instead)."""
        from fitbp.fitting.bases import TAYLOR
        from fitbp.fitting.model import Polynomial

        curve = self.curve
        if curve.basis is TAYLOR:
            return curve
        if not curve.basis.polynomial:
            raise ValueError(f"a {curve.basis.title.lower()} fit has no Taylor form: evaluate ``curve``")
        return Polynomial(tuple(float(a) for a in curve.basis.in_powers(curve.coefficients)), curve.center,
                          curve.scale)

    @property
    def note(self) -> str | None:
        """Why no standard errors, where there are none."""
        return self._document.get("stderr_note")

    n = property(lambda self: self._document.get("n_points"), doc="How many points the data has.")
    dof = property(lambda self: self._document.get("dof"), doc="Residual degrees of freedom.")
    mse = property(lambda self: self._document.get("mse"), doc="Mean squared residual (weighted with σ).")
    rmse = property(lambda self: self._document.get("rmse"))
    r2 = property(lambda self: self._document.get("r2"))
    chi2 = property(lambda self: self._document.get("chi2"), doc="Σ (r/σ)², for a fit with σ.")
    reduced_chi2 = property(lambda self: self._document.get("reduced_chi2"))
    loss = property(lambda self: self._document.get("loss", "mse"))
    @property
    def warnings(self) -> list:
        """What the fit warns of, options named as Python keywords (the JSON and the model file name them
        as the command line's flags)."""
        if self._result is not None:
            return [said(w) for w in self._result.warnings]
        return list(self._document.get("warnings") or [])
    x_range = property(lambda self: tuple(self._document.get("x_range") or ()))

    # ------------------------------------------------------------------ curve
    def __call__(self, x: Any) -> np.ndarray:
        return self.predict(x)

    def predict(self, x: Any, interval: str | None = None, level: float = 0.95,
                sigma_new: float | None = None) -> np.ndarray | Prediction:
        """The curve at x; with ``interval`` "confidence" (of the curve) or "prediction" (of a new
        measurement, whose σ is ``sigma_new`` for a fit with σ), a ``Prediction(y, lower, upper)``.
        For a fit on dates, x may be datetime64 or ISO 8601 text.

        Examples
        --------
        >>> import fitbp
        >>> line = fitbp.fit([0.0, 1.0, 2.0, 3.0, 4.0], [0.1, 0.9, 2.1, 2.9, 4.1], degree=1)
        >>> band = line.predict([2.0], interval="confidence", level=0.95)
        >>> bool(band.lower[0] < band.y[0] < band.upper[0])
        True
        """
        x = self._x(x)
        y = self.curve(x)
        band = self._band(interval, level, sigma_new)
        if band is None:
            return y
        lower, upper = band(x)
        return Prediction(y, lower, upper)

    def inverse(self, y: Any, interval: str | None = None, level: float = 0.95,
                sigma_new: float | None = None) -> list:
        """For each y, the x in the fitted range where the curve is y (an array, empty where it never
        is); with ``interval``, a ``Reading`` for each y, the stretches where the band holds it.

        Examples
        --------
        >>> import fitbp
        >>> line = fitbp.fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.0], degree=1)
        >>> [x.round(9).tolist() for x in line.inverse([4.0, 100.0])]
        [[1.5], []]
        """
        from fitbp.fitting import inverse

        ys = np.atleast_1d(np.asarray(y, dtype=np.float64)).ravel()
        polynomial, (low, high) = self.curve, self._x_range()
        band = self._band(interval, level, sigma_new)
        found = []
        for value in ys.tolist():
            roots = inverse.crossings(polynomial, value, low, high)
            if band is None:
                found.append(np.array(roots, dtype=np.float64))
                continue
            rows = inverse.readings(band, value, roots, low, high)
            columns = [[math.nan if x is None else x for x, _ in rows], [p.lower for _, p in rows],
                       [p.upper for _, p in rows]]
            found.append(Reading(*(np.array(c, dtype=np.float64) for c in columns),
                                 np.array([p.lower_cut for _, p in rows], dtype=bool),
                                 np.array([p.upper_cut for _, p in rows], dtype=bool)))
        return found

    # ------------------------------------------------------------------ learning
    def update(self, xdata: Any, ydata: Any = None, /, *, x: str | None = None, y: str | None = None,
               sigma: Any = None, weights: Any = None, nan_policy: str = "raise", memory: int = 256 << 20,
               **reading: Any) -> Fit:
        """This fit with new points added, as ``fitbp update`` adds them: the fit of the old and the new
        points together, from the summary of the old ones that the fit keeps, with its degree, basis,
        weights, fixed terms and errors.  The new points come as for :func:`fitbp.fit`, with ``sigma`` or
        ``weights`` where the fit had them; dates are taken on this fit's axis.  A new Fit; this one is
        unchanged (``save`` the new one to keep it).

        Examples
        --------
        >>> import fitbp
        >>> first = fitbp.fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.1, 4.9, 7.0], degree=1)
        >>> both = first.update([4.0, 5.0], [9.1, 10.9])
        >>> bool(abs(both.coef - fitbp.fit([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 3.1, 4.9, 7.0, 9.1, 10.9],
        ...                                 degree=1).coef).max() < 1e-12), both.n
        (True, 6)
        """
        from fitbp import selection
        from fitbp.sources import dates

        _choices("nan_policy", nan_policy, NAN_POLICIES)
        axis = dates.Axis.of(self._document)
        if _is_paths(xdata):
            reading = {**reading, "x_axis": axis}
        elif axis is not None and ydata is not None:  # the new x on this fit's axis, as numbers
            xdata = self._x(xdata)
        points = _points(xdata, ydata, x, y, sigma, weights, nan_policy, "d", memory, None, reading)
        result = selection.updated(self._document, points, self._path or "this fit")
        result.level = float(self._document.get("level") or 0.95)
        return Fit(_document(result), result)

    # ------------------------------------------------------------------ views
    def to_dict(self) -> dict:
        """What ``fitbp fit --json`` prints."""
        kept = ("format_version", "loss_history", "covariance", "snapshots", "data", "summary")
        return {key: value for key, value in self._document.items() if key not in kept}

    def summary(self, width: int = 160) -> str:
        """The command line's table, as text."""
        from rich.console import Console

        from fitbp.views import report

        console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
        report.print_table(self.to_dict(), console)
        return console.file.getvalue()

    def _repr_html_(self) -> str:
        """The table, for Jupyter: its text as it is, every digit in its column."""
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"

    def __str__(self) -> str:
        d = self._document
        return (f"{self._what()} of {d.get('y_column')} against {d.get('x_column')} "
                f"({self.n} points of {d.get('source')}): MSE {_short(self.mse)}, R² {_short(self.r2, 6)}")

    def __repr__(self) -> str:
        return f"<fitbp.Fit {self._what('')}, {self.n} points, MSE {_short(self.mse)}, R² {_short(self.r2, 6)}>"

    def _what(self, noun=" polynomial"):
        """'degree 3 polynomial', or the name of a curve that is not one."""
        basis = self.curve.basis
        return f"degree {self.degree}{noun}" if basis.polynomial else basis.curve(self.degree)

    def plot(self, ax: Any = None, band: str | None = None, level: float = 0.95, sigma_new: float | None = None):
        """Points, curve and, with ``band`` "confidence" or "prediction", its band, on a matplotlib
        Axes (a new figure's when ``ax`` is None); returns the Axes."""
        from fitbp.views import renderer

        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.figure(figsize=(7, 4.5), layout="constrained").add_subplot()
        renderer.draw_fit(ax, self.curve, self._points(),
                          band=self._band(band, level, sigma_new) if band else None,
                          band_label=band and f"{level:.4g} {band} band (pointwise)")
        return ax

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike = "fitbp.json") -> str:
        """Write the model file ``fitbp fit`` writes, atomically; returns the path."""
        from fitbp.fitting import modelfile

        modelfile.write_atomic(path, modelfile.dumps(self._document, indent=1) + "\n")
        return os.fspath(path)

    def export(self, language: str, name: str = "fitbp", cell: str = "A2") -> str:
        """The text ``fitbp export --to LANGUAGE`` writes: c, python, javascript, rust, excel, latex, numpy."""
        from fitbp.views import exporter

        return exporter.export(self._document, language, name=name, cell=cell)

    # ------------------------------------------------------------------ helpers
    def _x(self, x):
        """x as the model's numbers: dates (datetime64 or ISO text) to days or seconds since its origin."""
        from fitbp.sources import dates

        axis = dates.Axis.of(self._document)
        values = np.asarray(x)
        if axis is None:
            if values.dtype.kind not in "biuf":
                raise TypeError(f"x must be real numbers, not {values.dtype}")
            return values.astype(np.float64)
        if values.dtype.kind == "M":
            return axis.numbers(values)
        if values.dtype.kind in "US" or values.dtype == object:
            return axis.values([str(v) for v in values.ravel()]).reshape(values.shape)
        raise TypeError("this fit's x are dates: give datetime64 or ISO 8601 text")

    def _x_range(self):
        from fitbp.fitting import modelfile

        return modelfile.x_range_of(self._document)

    def _band(self, interval, level, sigma_new):
        """The band of ``interval`` (None for none, after check_options has had its say on sigma_new)."""
        from fitbp.fitting import modelfile

        check_options(interval=interval, sigma_new=sigma_new)
        if interval is None:
            return None
        _choices("interval", interval, ("confidence", "prediction"))
        if not (isinstance(level, (int, float)) and 0.0 < level < 1.0):
            raise ValueError(f"level= must be strictly between 0 and 1, not {level!r}")
        forgetting = (self._document.get("weights") or {}).get("from") == "half_life"  # a new point weighs 1
        if interval == "prediction" and self._document.get("weights") and sigma_new is None and not forgetting:
            raise ValueError("this fit was weighted by σ: a prediction interval needs sigma_new=, the new "
                             "measurement's σ")
        return modelfile.band_of(self._document, self.curve, self._path or "this fit", level, interval, sigma_new)

    def _points(self):
        from fitbp.fitting import modelfile

        if self._result is not None:
            return self._result.points
        return modelfile.points_of(self._document, self._path or "this fit")


# ---------------------------------------------------------------------- the data
def _points(xdata, ydata, x, y, sigma, weights, nan_policy, time_unit, memory, degree, reading):
    """Points from arrays, a DataFrame, or files (read by the command line's reader)."""
    if _is_paths(xdata) and (ydata is None or isinstance(xdata, (str, os.PathLike))):
        if ydata is not None:
            raise TypeError("with files, name the columns: fit(path, x='t', y='v')")
        return _from_files(xdata, x, y, sigma, weights, time_unit, memory, degree, reading)
    if reading:
        raise TypeError(f"unexpected keyword argument {sorted(reading)[0]!r} (only files take it)")
    if hasattr(xdata, "columns") and ydata is None:
        return _from_frame(xdata, x, y, sigma, weights, nan_policy, time_unit)
    if x is not None or y is not None:
        raise TypeError("x= and y= name a DataFrame's columns; give the arrays as fit(x, y)")
    if ydata is None:
        raise TypeError("fit() needs y: fit(x, y), or a DataFrame, or a path")
    for name, value in (("sigma", sigma), ("weights", weights)):
        if isinstance(value, str):
            raise TypeError(f"{name}= names a column only for a DataFrame or files: give an array")
    return _from_arrays(xdata, ydata, sigma, weights, nan_policy, time_unit, "<arrays>", ("x", "y"))


def _is_paths(data):
    if isinstance(data, (str, os.PathLike)):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and all(isinstance(d, (str, os.PathLike)) for d in data)


def _from_files(data, x, y, sigma, weights, time_unit, memory, degree, reading):
    from fitbp.engines import local
    from fitbp.sources import files

    patterns = [os.fspath(data)] if isinstance(data, (str, os.PathLike)) else [os.fspath(d) for d in data]
    options = {"x": x, "y": y, **reading, **({"time_unit": time_unit} if time_unit != "d" else {}),
               **({"sigma": sigma} if sigma is not None else {}),
               **({"weights": weights} if weights is not None else {})}
    return local.load(files.Files(files.expand(patterns), **options), degree=degree, memory=memory)


def _from_frame(frame, x, y, sigma, weights, nan_policy, time_unit):
    names = [str(c) for c in frame.columns]
    if len(names) < 2 and (x is None or y is None):
        raise ValueError(f"the DataFrame has {len(names)} column: name x= and y=")
    chosen = [x if x is not None else names[0], y if y is not None else names[1]]
    third = sigma if sigma is not None else weights
    for name in chosen + ([third] if third is not None else []):
        if not isinstance(name, str):
            raise TypeError(f"a DataFrame's columns are named by text, not {name!r}")
        if name not in names:
            raise ValueError(f"the DataFrame has no column {name!r} (it has {', '.join(map(repr, names))})")
    column = lambda name: np.asarray(frame[name])  # noqa: E731 (pandas and polars alike)
    return _from_arrays(column(chosen[0]), column(chosen[1]),
                        column(sigma) if sigma is not None else None, column(weights) if weights is not None else None,
                        nan_policy, time_unit, "<DataFrame>", (chosen[0], chosen[1], third))


def _from_arrays(xs, ys, sigma, weights, nan_policy, time_unit, source, names):
    from fitbp.sources import files
    from fitbp.sources.data import Points

    raw_x = np.asarray(xs)
    axis = None
    if raw_x.dtype.kind == "M":
        x, axis = _dates(raw_x.ravel(), time_unit)
    else:
        x = _real("x", raw_x)
    y = _real("y", ys)
    third_name = "sigma" if sigma is not None else "weights" if weights is not None else None
    third = None if third_name is None else _real(third_name, sigma if sigma is not None else weights)
    for name, values in (("y", y), (third_name, third)):
        if values is not None and values.size != x.size:
            raise ValueError(f"x and {name} differ in length ({x.size} and {values.size})")
    if x.size == 0:
        raise ValueError("no points: x and y are empty")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if third is not None:  # σ = inf and a weight of 0 are points out of the fit, not bad values
        bad |= np.isnan(third) | (np.isinf(third) if third_name == "weights" else np.isneginf(third))
    skipped, first = 0, None
    if bad.any():
        index = int(np.argmax(bad))
        if nan_policy == "raise":
            which, value = next((n, v[index]) for n, v in (("x", x), ("y", y), (third_name, third))
                                if v is not None and not (np.isfinite(v[index]) or (n == "sigma" and v[index] > 0)))
            raise ValueError(f"{which}[{index}] is {value}: NaN and inf are not points (nan_policy='omit' leaves "
                             "them out)")
        skipped, first = int(bad.sum()), f"index {index}"
        keep = ~bad
        x, y, third = x[keep], y[keep], None if third is None else third[keep]
        if x.size == 0:
            raise ValueError("no points left: every one has a NaN or inf")
    points = Points(x, y, source, str(names[0]), str(names[1]), skipped, first, x_axis=axis)
    if third is None:
        return points
    wrong = third <= 0 if third_name == "sigma" else third < 0
    if wrong.any():
        index = int(np.argmax(wrong))
        raise ValueError(f"{third_name}[{index}] is {third[index]}: " + (
            "a σ must be positive (inf leaves the point out of the fit)" if third_name == "sigma" else
            "a weight must be 0 or more (0 leaves the point out of the fit)"))
    label = names[2] if len(names) > 2 and names[2] is not None else third_name
    return files.weighted(points, third, (3, third_name), (names[0], names[1], label), option=f"{third_name}=")


def _real(name, values):
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, not {array.dtype}")
    return array.astype(np.float64).ravel()


def _dates(values, unit):
    """x of datetime64 values: the days (or seconds) since the first date's midnight, as CSV dates."""
    from datetime import datetime

    from fitbp.sources import dates

    if np.isnat(values).any():
        raise ValueError(f"x[{int(np.argmax(np.isnat(values)))}] is NaT: not a date")
    first = values[0].astype("datetime64[D]").astype(datetime)
    axis = dates.Axis(datetime(first.year, first.month, first.day), dates.UNITS[unit][0])
    return axis.numbers(values), axis


# ---------------------------------------------------------------------- options
def trained(points: Any, degree: int | None, series: dict | None = None, **training: Any) -> Any:
    """The FitResult of ``training`` on ``points``, for fitbp.fit and the command line alike: a Fourier
    series (``series``, from series_options), the degree BIC chooses (``degree`` None), or that degree."""
    if series is not None and "smooth" in series:
        from fitbp.fitting import smoothing

        return smoothing.fit(points, **series, **{k: v for k, v in training.items() if k != "basis"})
    if series is not None:
        from fitbp.fitting import fourier

        return fourier.fit(points, **series, **{k: v for k, v in training.items() if k != "basis"})
    if degree is None:
        from fitbp import selection

        return selection.fit_auto(points, **training)
    from fitbp.fitting import trainer

    return trainer.fit_points(points, degree, **training)


def series_options(basis: str, degree: Any, period: Any, harmonics: Any, trend: Any, smooth: Any = None,
                   fixed: Any = None, loss: str = "mse") -> dict | None:
    """The options of a basis that is not a polynomial, with their defaults: the Fourier series's {period,
    harmonics, trend}, the spline's {smooth}; None for a polynomial basis.  An OptionError where one means
    nothing (period= without basis='fourier', degree= with it), for fitbp.fit and the command line alike.
    ``degree`` None or "auto" was not given."""
    owners = {"period": "fourier", "harmonics": "fourier", "trend": "fourier", "smooth": "spline"}
    given = {"period": period, "harmonics": harmonics, "trend": trend, "smooth": smooth}
    for name, value in given.items():
        if value is not None and owners[name] != basis:
            raise OptionError(f"is for {option('basis', owners[name])}, not {quoted(basis)}", name, blame=True)
    if basis == "spline":
        if degree not in (None, "auto"):
            raise OptionError(f"is a polynomial's; a smoothing spline has {option('smooth')}", "degree", blame=True)
        if fixed:
            raise OptionError("fixes a polynomial's coefficient; a smoothing spline has none", "fix", blame=True)
        if loss != "mse":
            raise OptionError(f"is not for a smoothing spline, which minimises squares plus λ·∫f''², "
                              f"not {quoted(loss)}", "loss", blame=True)
        if smooth not in (None, "auto") and not (isinstance(smooth, (int, float)) and not isinstance(smooth, bool)
                                                 and math.isfinite(smooth) and smooth >= 0):
            raise OptionError(f"must be 'auto' or a number of 0 or more, not {smooth!r}", "smooth", blame=True)
        return {"smooth": "auto" if smooth is None else smooth}
    if basis != "fourier":
        return None
    if degree not in (None, "auto"):
        raise OptionError(f"is a polynomial's; a Fourier series has {option('harmonics')} and {option('trend')}",
                          "degree", blame=True)
    return {"period": "auto" if period is None else period, "harmonics": "auto" if harmonics is None else harmonics,
            "trend": 0 if trend is None else trend}


def _degree(degree):
    if degree == "auto" or degree is None:
        return None
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ValueError(f"degree= must be 'auto' or a whole number of 0 or more, not {degree!r}")
    return int(degree)


def _fixed(fix):
    """{power: value} checked: whole powers of 0 or more, finite values (check_options checks them
    against the degree)."""
    if not fix:
        return {}
    if not isinstance(fix, dict):
        raise TypeError(f"fix= is a dict of {{power: value}}, such as {{0: 0.0}}, not {type(fix).__name__}")
    fixed = {}
    for power, value in fix.items():
        if isinstance(power, bool) or not isinstance(power, (int, np.integer)) or power < 0:
            raise ValueError(f"fix= powers are whole numbers of 0 or more, not {power!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
            raise ValueError(f"fix={{{power}: {value!r}}}: the value must be a finite number")
        fixed[int(power)] = float(value)
    return fixed


def _choices(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}= must be one of {', '.join(map(repr, allowed))}, not {value!r}")


def _document(result):
    from fitbp.fitting import modelfile

    return modelfile.model_document(result)


def _array(values, none=False):
    if values is None:
        return None if none else np.array([])
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _short(value, digits=4):
    return f"{value:.{digits}g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"

