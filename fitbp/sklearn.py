"""fitbp as a scikit-learn estimator: :class:`PolynomialRegressor`, a polynomial in one feature.

So that a fitbp fit can sit in a ``Pipeline``, be scored by ``cross_val_score`` and have its degree
chosen by ``GridSearchCV``.  It is a thin adapter over :func:`fitbp.fit`: the numbers are that
function's to the last bit, and its :class:`fitbp.Fit` is kept as ``fit_``.  scikit-learn is an
optional extra (``pip install fitbp[sklearn]``), imported by this module alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from fitbp import library


class PolynomialRegressor(RegressorMixin, BaseEstimator):
    """A polynomial of one feature, fitted by fitbp.

    The parameters are :func:`fitbp.fit`'s, under the same names; scikit-learn's rules hold: they are
    kept as given and checked only by ``fit``, so ``clone`` and ``set_params`` work as usual.

    Parameters
    ----------
    degree : int or "auto"
        The highest power, or "auto": the lowest degree within 2 of the least BIC, as ``fitbp fit``
        chooses.
    loss : {"mse", "mae", "huber"}
    delta : float, optional
        Huber's threshold in y units.
    fix : dict, optional
        {power: value} of raw coefficients to keep, such as {0: 0.0} for a curve through the origin.
    absolute_sigma : bool
        The sample weights are 1/σ² of true measurement errors: ``fit_``'s standard errors are not
        scaled by the reduced χ².
    optimizer, lr, epochs, tol, seed
        How to train, as for :func:`fitbp.fit`.
    basis : {"taylor", "chebyshev", "fourier", "spline"}
        The functions of t the coefficients multiply, as for :func:`fitbp.fit`: Chebyshev's keep their
        digits at high degrees; "fourier" is a trend plus harmonics (then ``degree`` stays "auto");
        "spline" the cubic smoothing spline (no ``coef_``: an empty array).
    period, harmonics, trend
        The Fourier series's, as for :func:`fitbp.fit` (None: auto, auto, 0).
    smooth
        The spline's λ, as for :func:`fitbp.fit` (None: auto, by GCV).

    Attributes
    ----------
    fit_ : fitbp.Fit
        The whole fit: standard errors, intervals, ``predict(x, interval=...)``, ``summary()``.
    coef_ : ndarray of shape (degree_ + 1,)
        Raw coefficients of 1, x, …, x^degree_, lowest power first (``fit_.coef``: for
        basis="chebyshev", the c_i of T_i(t)).
    degree_ : int
        The degree fitted (the one chosen, for "auto").
    n_features_in_ : int
        Always 1.
    feature_names_in_ : ndarray of shape (1,)
        The column's name, when X was a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from fitbp.sklearn import PolynomialRegressor
    >>> X = np.arange(5.0).reshape(-1, 1)
    >>> model = PolynomialRegressor(degree=2).fit(X, 1.0 + 2.0 * X.ravel() + 3.0 * X.ravel() ** 2)
    >>> model.coef_.round(9).tolist()
    [1.0, 2.0, 3.0]
    >>> model.predict([[5.0]]).round(9).tolist()
    [86.0]
    """

    def __init__(self, degree: int | str = "auto", loss: str = "mse", delta: float | None = None,
                 fix: dict | None = None, absolute_sigma: bool = False, optimizer: str | None = None,
                 lr: float | None = None, epochs: int | None = None, tol: float = 1e-12, seed: int = 0,
                 basis: str = "taylor", period: float | str | None = None, harmonics: int | str | None = None,
                 trend: int | None = None, smooth: float | str | None = None):
        self.degree = degree
        self.loss = loss
        self.delta = delta
        self.fix = fix
        self.absolute_sigma = absolute_sigma
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.tol = tol
        self.seed = seed
        self.basis = basis
        self.period = period
        self.harmonics = harmonics
        self.trend = trend
        self.smooth = smooth

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PolynomialRegressor:
        """Fit the polynomial to X's one column and y.

        ``sample_weight`` is fitbp's ``weights=``: w = 1/σ², a weight of 0 leaves a point out of the
        fit (for loss="mse", the only loss that takes weights).  For a given degree, a whole weight k
        gives the coefficients of the point repeated k times, as scikit-learn expects; but
        ``degree="auto"`` chooses by BIC, which counts points, so a weight is not a count there.
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        x = _one_feature(X)
        weights = None
        if sample_weight is not None:
            if self.loss != "mse":
                raise ValueError(f"sample_weight is for loss='mse', not {self.loss!r}, for now")
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        self.fit_ = library.fit(x, y, degree=self.degree, weights=weights, fix=self.fix,
                                absolute_sigma=self.absolute_sigma, loss=self.loss, delta=self.delta,
                                optimizer=self.optimizer, lr=self.lr, epochs=self.epochs, tol=self.tol,
                                seed=self.seed, basis=self.basis, period=self.period, harmonics=self.harmonics,
                                trend=self.trend, smooth=self.smooth)
        self.coef_ = self.fit_.coef
        self.degree_ = self.fit_.degree
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The curve at X's one column."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.fit_.predict(X[:, 0])


def _one_feature(X: np.ndarray) -> np.ndarray:
    """X's only column: fitbp fits y against one x, and a second column has no place in its model."""
    if X.shape[1] != 1:
        raise ValueError(f"X has {X.shape[1]} features, but PolynomialRegressor fits y against one x: "
                         "give X of shape (n_samples, 1)")
    return X[:, 0]
