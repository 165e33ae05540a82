"""The curve y = sum c_i φ_i((x - c) / s) in a basis of the scaled variable, and its loss graph.

Training happens in the scaled variable t = (x - c) / s, with c the midpoint
and s the half-range of the data, so that t lies in [-1, 1].  Powers of t stay
near 1 whatever the units of x (years, microseconds, millions), which keeps the
loss well conditioned and the learning rates meaningful.  The φ_i are the powers
of t (the Taylor form, the article's) unless a fit asks for another basis
(fitbp.fitting.bases).  The coefficients of raw powers of x that a user may want
to copy elsewhere are derived afterwards, exactly from the trained ones, together
with an estimate of how many digits they lose when evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction
from math import comb, log10

import numpy as np

from fitbp.backprop import graph
from fitbp.fitting import bases, losses
from fitbp.engines.moments import chebyshev_matrix, design_matrix, scaling, unit_exponent  # noqa: F401 (the bases, for callers)


@dataclass(frozen=True)
class Polynomial:
    """Coefficients c_0 … c_d of the basis functions of t = (x - center) / scale: of its powers, the
    Taylor form, unless ``basis`` says otherwise."""

    coefficients: tuple
    center: float = 0.0
    scale: float = 1.0
    intercept: float | None = None
    """k₀ when it was fixed: the curve is then evaluated as k₀ + x·q(t), which is k₀ exactly at x = 0,
    wherever that keeps the curve over the data (``through_intercept``)."""
    basis: bases.Basis = bases.TAYLOR

    @property
    def degree(self):
        return len(self.coefficients) - 1

    @property
    def flat(self):
        """Whether the curve is one constant (φ_0 = 1 in every basis, the rest multiplied by 0)."""
        return not any(self.coefficients[1:])

    def scaled(self, x):
        return (np.asarray(x, dtype=np.float64) - self.center) / self.scale

    def design(self, x):
        """The basis functions at each x: the rows of the design matrix, for bands and gradients."""
        return self.basis.columns(self.scaled(x).ravel(), self.degree)

    def __call__(self, x):
        """Evaluate in the scaled variable (Horner's rule for powers, Clenshaw's for Chebyshev): accurate
        where raw powers are not.  With a fixed intercept, y = x·q(t) + k₀, so that ŷ(0) = k₀ exactly
        and near 0 the curve keeps its relative accuracy (a line through the origin stays one)."""
        if not self.through_intercept:
            return self.basis.evaluate(self.coefficients, self.scaled(x))
        return bases.TAYLOR.evaluate(self.quotient, self.scaled(x)) * np.asarray(x, dtype=np.float64) + self.intercept

    def slope(self, x):
        """dy/dx at x: the derivative in t, in the same basis, divided by the scale."""
        return self.basis.evaluate(self.basis.derivative(self.coefficients), self.scaled(x)) / self.scale

    def roots(self, y=0.0):
        """The complex t where the curve equals y (it is not flat)."""
        shifted = np.array(self.coefficients, dtype=np.float64)
        shifted[0] -= y  # φ_0 = 1 in every basis
        top = np.flatnonzero(shifted)[-1]
        return self.basis.roots(shifted[:top + 1])

    @property
    def through_intercept(self):
        """Whether the curve is evaluated through its fixed k₀: where the a_i, each rounded once, give k₀
        at x = 0 to within the rounding of the curve over the data (data near 0, as a calibration's).
        Far from the data (years, Unix seconds) they can miss k₀ by far more, and moving the whole curve
        by that to honour it at 0 would cost digits where the data are: there the Taylor sum stays.
        Only for the Taylor form: another basis's curve, turned into powers to divide, would lose digits."""
        return (self.intercept is not None and self.degree > 0 and self.basis is bases.TAYLOR
                and self.intercept_gap <= self._rounding)

    @property
    def intercept_gap(self):
        """|Σ a_i t₀^i − k₀|: by how much the curve, as its a_i are stored, misses a fixed k₀ at x = 0."""
        return self._division[1]

    @property
    def _rounding(self):
        return 16 * float(np.finfo(np.float64).eps) * sum(abs(v) for v in self.coefficients)

    @property
    def quotient(self):
        """q_0 … q_{d-1} of q(t) = (Σ a_i t^i − k₀) / x with x = c + s·t, each rounded once to float64."""
        return self._division[0]

    @cached_property
    def _division(self):
        """(q, |remainder|): the division in exact rational arithmetic, by (t − t₀), t₀ = −c/s, then by s;
        its remainder Σ a_i t₀^i − k₀ is what the rounded a_i miss k₀ by."""
        a = self.basis.in_powers(self.coefficients)
        a[0] -= Fraction(self.intercept)
        c, s = Fraction(self.center), Fraction(self.scale)
        root, q, carry = -c / s, [], Fraction(0)
        for value in reversed(a[1:]):
            carry = value + carry * root
            q.append(carry)
        return tuple(_to_float(v / s) for v in reversed(q)), _to_float(abs(a[0] + carry * root))

    def raw_coefficients(self):
        """k_0 … k_d with y = sum k_j x**j, expanded in exact rational arithmetic.

        Each k_j is the correctly rounded value for the stored coefficients, c and s,
        so the only error left is the problem's own conditioning (see
        ``raw_digits_lost``).
        """
        a = self.basis.in_powers(self.coefficients)
        c, s = Fraction(self.center), Fraction(self.scale)
        d = self.degree
        return [_to_float(sum(a[i] * comb(i, j) * (-c) ** (i - j) / s ** i for i in range(j, d + 1)))
                for j in range(d + 1)]

    def raw_digits_lost(self, x, raw=None):
        """Decimal digits lost when sum k_j x**j is evaluated in float64 over x.

        The ratio of sum |k_j x**j| to |sum k_j x**j| is the amplification of
        rounding error by cancellation; its log10 is the count of digits that
        cannot be trusted.  ``raw`` with fixed k_j, given exactly, may differ from
        those the a imply (far from 0, the rounded a miss a fixed k_0 by more than
        their rounding): the curve they draw is then moved by that, which costs digits too.
        """
        implied = self.raw_coefficients()
        k = np.array(implied if raw is None else raw)
        with np.errstate(all="ignore"):
            grid = np.linspace(np.min(x), np.max(x), 257)
            powers = design_matrix(grid, self.degree)
            magnitude = np.abs(powers * k).sum(axis=1).max()
            value = np.abs(self(grid)).max()
            moved = np.abs(powers @ (k - np.array(implied))).max()
        if not np.isfinite(magnitude):
            return 16.0
        if value == 0.0 or magnitude == 0.0:
            return 0.0
        lost = max(log10(magnitude / value), 16 + log10(moved / value) if moved > 0 else 0.0)
        return float(min(16.0, max(0.0, lost)))


def _to_float(q):
    """Round a rational to float64, giving ±inf where it is out of range."""
    try:
        return float(q)
    except OverflowError:
        return float("inf") if q > 0 else float("-inf")


def residual_graph(design, y, coefficients, names=("V", "y")):
    """V @ a - y: the model's prediction minus the data, as graph nodes."""
    prediction = graph.constant(design, names[0]) @ coefficients
    return prediction - graph.constant(y, names[1])


def loss_graph(design, y, coefficients, loss="mse", delta=1.0):
    """The computing graph of a loss of the residuals (fitbp.fitting.losses names them and builds
    each); ``coefficients`` is the parameter node, ``delta`` the threshold of a loss that has one."""
    return losses.named(loss).graph(residual_graph(design, y, coefficients), delta)


def triangle_loss_graph(triangle, coefficients):
    """mean((V a − y)²) over all n points through the data's triangle (fitbp.engines.moments):
    (‖R a − z‖² + ρ²) / n, the same function of a in a graph of d + 1 rows."""
    residual = residual_graph(triangle.r, triangle.z, coefficients, ("R", "z"))
    return ((residual ** 2).sum() + graph.constant(triangle.rest, "ρ²")) * graph.constant(1.0 / triangle.count, "1/n")


def loss_of(prediction, y, loss="mse", delta=1.0):
    """The loss of predictions made elsewhere (the film's snapshot before the first epoch), through the
    same graph as training: V is the column of predictions and a = [1]."""
    one = graph.constant(np.ones(1), "1")
    return float(loss_graph(np.asarray(prediction, dtype=np.float64)[:, None], y, one, loss, delta).value)


def loss_and_gradient(design, y, k, loss="mse", delta=1.0):
    """One backprop pass: the loss at k and its gradient, both from the graph."""
    return _backprop(k, lambda a: loss_graph(design, y, a, loss, delta))


def triangle_loss_and_gradient(triangle, k):
    """One backprop pass of the mean squared error over all the points, through their triangle."""
    return _backprop(k, lambda a: triangle_loss_graph(triangle, a))


def _backprop(k, build):
    a = graph.parameter(k, "a")
    value = build(a)
    value.backward(keep_values=False)  # training reads only the loss and a's gradient
    return float(value.value), a.grad
