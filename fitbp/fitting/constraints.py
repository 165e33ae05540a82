"""Raw coefficients fixed in advance (--fix POWER=VALUE): the fit in the directions left free.

A raw coefficient k_j of x^j is a linear function of the Taylor coefficients
a of t = (x − c)/s, k_j = Σ_i a_i C(i, j) (−c)^(i−j) / s^i, so fixing some is a
set of linear constraints C a = v.  They are solved once, a = a₀ + N b with
a₀ a particular solution and N an orthonormal basis of C's null space (both
from a QR factorisation of Cᵀ), and the least-squares problem becomes one in b:
‖R(a₀ + N b) − z‖² + ρ² = ‖(RN) b − (z − R a₀)‖² + ρ², whose own triangle is the
QR of RN.  The graph and the optimisers then train b exactly as they train a,
through the same triangle loss, and a = a₀ + N b gives the polynomial back.
In another basis (fitbp.fitting.bases) with a = P c, the rows are C·P, and c
takes the place of a.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb

import numpy as np

from fitbp.engines import moments
from fitbp.errors import FitbpError
from fitbp.fitting import bases


@dataclass(frozen=True)
class Constraint:
    """a = start + basis · b: the Taylor coefficients of the fits that keep the fixed raw ones."""

    start: np.ndarray
    basis: np.ndarray
    fixed: dict
    """{power: value} of the raw coefficients, in the data's y units."""

    def lift(self, b):
        return self.start + self.basis @ np.asarray(b, dtype=np.float64)


def check(fixed, degree):
    """A FitbpError for fixed terms that a degree-``degree`` fit cannot keep."""
    beyond = sorted(p for p in fixed if p > degree)
    if beyond:
        raise FitbpError(f"x^{beyond[0]} is beyond degree {degree}: raise the degree or do not fix it")
    if len(fixed) > degree:
        raise FitbpError(f"fixing {len(fixed)} terms fixes all {degree + 1} coefficients of degree {degree}: "
                         "nothing is left to fit")


def raw_rows(powers, center, scale, degree, basis=bases.TAYLOR):
    """The rows of C: k_j as a function of the coefficients in ``basis``, each exact, then rounded once."""
    c, s = Fraction(center), Fraction(scale)
    change = basis.powers(degree)
    rows = []
    for j in powers:
        taylor = [comb(i, j) * (-c) ** (i - j) / s ** i if i >= j else 0 for i in range(degree + 1)]
        rows.append([float(sum(taylor[i] * change[i][m] for i in range(degree + 1) if change[i][m]))
                     for m in range(degree + 1)])
    return np.array(rows)


def constrain(triangle, fixed, center, scale, y_unit, degree, basis=bases.TAYLOR):
    """The triangle of the problem in b, and the Constraint that maps b back to a (y in units of y_unit)."""
    check(fixed, degree)
    powers = sorted(fixed)
    rows = raw_rows(powers, center, scale, degree, basis)
    values = np.array([fixed[p] / y_unit for p in powers])
    norms = np.max(np.abs(rows), axis=1)  # each row to unit size: the same constraint, better conditioned
    rows, values = rows / norms[:, None], values / norms
    q, r = np.linalg.qr(rows.T, mode="complete")
    m = len(powers)
    start = q[:, :m] @ np.linalg.solve(r[:m, :m].T, values)
    basis = q[:, m:]
    shifted = triangle.z - triangle.r @ start
    q_b, r_b = np.linalg.qr(triangle.r @ basis)
    z_b = q_b.T @ shifted
    left = shifted - q_b @ z_b
    free = moments.Triangle(r_b, z_b, triangle.rest + float(left @ left), triangle.count,
                            moments.condition_of(r_b))
    return free, Constraint(start, basis, dict(fixed))
