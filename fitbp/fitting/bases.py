"""The bases a curve's coefficients can be in: what a fit, its statistics, its inverse and its exports
need of one, and nothing else.

A curve is y = Σ c_i φ_i(t) with t = (x − c)/s ∈ [−1, 1] over the data (fitbp.fitting.model.Polynomial).
The Taylor basis φ_i = t^i is the one the article teaches and the graph and the film show.  Its columns
grow alike on [−1, 1], so beyond a few dozen powers float64 can no longer tell them apart; the
Chebyshev basis φ_i = T_i(t), bounded by 1 and nearly orthogonal there, carries a degree of 100.

A basis is a small object, as numpy's ``ABCPolyBase`` is a small class: its design columns, evaluation,
derivative and roots in its own terms, and two exact changes of basis: into Chebyshev's, where the
data's sums are gathered (fitbp.engines.moments), and into powers of t, from which the raw coefficients
of x follow.  Adding a basis is one class here and its line in ``BASES``.

This module imports no numpy (nor fractions) until a basis computes: the command line names the bases
(its ``--basis`` choices) before it sets numpy's thread count, as it names the losses, and --help waits
for nothing more.
"""

from __future__ import annotations

from functools import lru_cache


class Basis:
    """The functions φ_0 … φ_d of t that a curve's coefficients multiply."""

    name = ""
    """Its word in options (basis=, --basis), in the JSON and in the model file."""
    title = ""
    """Its word in tables and legends: 'Taylor a_i', 'Chebyshev c_i'."""
    symbol = ""
    """The letter of its coefficients."""
    numpy_class = ""
    """Its twin in numpy.polynomial, on the window [-1, 1]: the numpy export, and the derivative and roots."""
    nested = False
    """Whether its sum is one nested expression (Horner's), which a spreadsheet cell can hold."""
    polynomial = True
    """Whether its functions are polynomials in t: then the data's Chebyshev sums give its triangle, its
    coefficients turn exactly into raw powers of x (k_i), and it has roots.  A Fourier series's are not
    (fitbp.fitting.fourier): its triangle comes from QR of its columns, and it has no k_i."""
    judge = False
    """Whether it is the basis fitbp checks ill-conditioned fits in (fitbp.engines.moments.optimal_squares):
    then the check repeats the fit's own factorisation, and can hold it only to float64's resolution of
    that optimum, where a fit in another basis is held to OPTIMUM_TOLERANCE (fitbp.fitting.trainer)."""

    def columns(self, t, degree):
        """The design matrix: one row per t, columns φ_0(t) … φ_degree(t)."""
        raise NotImplementedError

    def evaluate(self, coefficients, t):
        """Σ c_i φ_i(t), in the order of operations the exports write out (fitbp.views.exporter)."""
        raise NotImplementedError

    def derivative(self, coefficients):
        """The coefficients, in this basis, of d/dt of the curve."""
        return self._twin(coefficients).deriv().coef

    def roots(self, coefficients):
        """The complex t where the curve is 0 (the coefficients' last one is not 0): the eigenvalues of the
        twin's companion matrix (its colleague matrix, for Chebyshev's)."""
        return self._twin(coefficients).roots()

    def _twin(self, coefficients):
        import numpy as np

        return getattr(np.polynomial, self.numpy_class)(np.asarray(coefficients, dtype=np.float64))

    def powers(self, degree):
        """P, integers, with column i the coefficients of φ_i in powers of t: a = P c exactly."""
        raise NotImplementedError

    def in_chebyshev(self, degree):
        """M with column i the Chebyshev coefficients of φ_i: the design matrix is chebyshev_matrix · M,
        so a triangle gathered in Chebyshev's basis is R·M in this one."""
        raise NotImplementedError

    def power_matrix(self, degree):
        """P in float64, as exact as its integers are there: a triangle of the powers of t (a streamed
        fit's, fitbp.engines.moments.Part) is R·P in this basis, and P·R⁻¹ turns errors into powers."""
        import numpy as np

        return np.array(self.powers(degree), dtype=np.float64)

    def in_powers(self, coefficients):
        """The curve's coefficients of powers of t, as exact fractions of the float64 ones."""
        from fractions import Fraction

        p = self.powers(len(coefficients) - 1)
        c = [Fraction(v) for v in coefficients]
        return [sum(p[j][i] * c[i] for i in range(j, len(c)) if p[j][i]) for j in range(len(c))]

    def curve(self, degree):
        """The curve's name in titles and legends: 'degree 5' (a series names itself)."""
        return f"degree {degree}"

    def __repr__(self):
        return f"<basis {self.name}>"

    def __reduce__(self):
        """Pickled by name, so that a dask worker's copy is the basis itself (BASES), not a second one."""
        return named, (self.name,)


class Taylor(Basis):
    """Powers of t, by Horner's rule: the article's y = k₀ + k₁x + …, in the scaled variable."""

    name, title, symbol, numpy_class, nested = "taylor", "Taylor", "a", "Polynomial", True

    def columns(self, t, degree):
        from fitbp.engines import moments

        return moments.design_matrix(t, degree)

    def evaluate(self, coefficients, t):
        import numpy as np

        t = np.asarray(t, dtype=np.float64)
        y = np.zeros_like(t)
        for a in reversed(coefficients):
            y = y * t + a
        return y

    def powers(self, degree):
        return _identity(degree)

    def in_chebyshev(self, degree):
        from fitbp.engines import moments

        return moments.powers_in_chebyshev(degree)

    def in_powers(self, coefficients):
        from fractions import Fraction

        return [Fraction(v) for v in coefficients]


class Chebyshev(Basis):
    """T_0 … T_d of t, by Clenshaw's recurrence: bounded by 1 on [−1, 1], so high degrees keep their
    digits.  b_k = c_k + 2t·b_{k+1} − b_{k+2} from the top, and y = c_0 + t·b_1 − b_2."""

    name, title, symbol, numpy_class, judge = "chebyshev", "Chebyshev", "c", "Chebyshev", True

    def columns(self, t, degree):
        from fitbp.engines import moments

        return moments.chebyshev_matrix(t, degree)

    def evaluate(self, coefficients, t):
        import numpy as np

        t = np.asarray(t, dtype=np.float64)
        if len(coefficients) == 1:
            return np.full_like(t, coefficients[0])
        twice = 2.0 * t
        near, far = np.full_like(t, coefficients[-1]), np.zeros_like(t)  # b_{k+1}, b_{k+2}
        for c in reversed(coefficients[1:-1]):
            near, far = c + twice * near - far, near
        return coefficients[0] + t * near - far

    def powers(self, degree):
        return _chebyshev_in_powers(degree)

    def in_chebyshev(self, degree):
        import numpy as np

        return np.eye(degree + 1)


@lru_cache(maxsize=None)
def _identity(degree):
    return tuple(tuple(int(i == j) for i in range(degree + 1)) for j in range(degree + 1))


@lru_cache(maxsize=None)
def _chebyshev_in_powers(degree):
    """Rows j, columns i: the coefficient of t^j in T_i(t), from T_{i+1} = 2t·T_i − T_{i−1}, in integers."""
    columns = [[1], [0, 1]][:degree + 1]
    while len(columns) <= degree:
        last, before = columns[-1], columns[-2]
        columns.append([(2 * last[j - 1] if j else 0) - (before[j] if j < len(before) else 0)
                        for j in range(len(last) + 1)])
    return tuple(tuple(columns[i][j] if j < len(columns[i]) else 0 for i in range(degree + 1))
                 for j in range(degree + 1))


TAYLOR = Taylor()
BASES = {basis.name: basis for basis in (TAYLOR, Chebyshev())}
NAMES = tuple(BASES)


FAMILIES = NAMES + ("fourier", "spline")
"""Every basis a fit can be in: the polynomial ones, then those whose functions carry parameters of
their own (the Fourier series's period and harmonics; the smoothing spline's knots), each a module of
fitbp.fitting (fourier, smoothing)."""


def named(name):
    """The Basis called ``name``; a ValueError naming the choices for another word."""
    if isinstance(name, Basis):
        return name
    try:
        return BASES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown basis {name!r} (choose from {', '.join(NAMES)})") from None
