"""Uncertainty of a fit: standard errors, residual summary, reduced chi-square, confidence band.

These are the numbers gnuplot's ``fit`` and scipy's ``curve_fit`` report next
to the coefficients.  The data carry no per-point σ, so the noise variance is
estimated from the residuals: every error here is scaled by the reduced
chi-square SSR / dof (unit weights), as ``curve_fit(absolute_sigma=False)``
and gnuplot do.  Where an uncertainty cannot be given (no degrees of freedom
left, coefficients the data cannot separate, values beyond float64), the value
is None and ``stderr_note`` says why; nothing here is ever NaN or inf.

Only numpy is used at run time.  The pieces, and why they are done this way:

- (VᵀV)⁻¹ comes from the R of a QR factorisation of the design matrix V in t,
  as R⁻¹R⁻ᵀ: forming VᵀV and inverting it would square V's condition number.
- y is divided by a power of two near its largest magnitude (exact in binary,
  as the trainer does), so squared residuals neither overflow nor underflow
  for y near 1e300 or 1e-300; the unit is put back with ``ldexp`` at the end.
- The raw coefficients are k = J·a with J_{j,i} = C(i,j)(−c)^{i−j}/s^i.  Their
  variances diag(J·cov_a·Jᵀ) = σ²·‖row_j(J·R⁻¹)‖² are computed in exact
  integer arithmetic (floats are dyadic rationals), like
  ``Polynomial.raw_coefficients``, and rounded once: entries of J can lie
  far beyond float64 (s = 1e-100 gives 1/s⁴ = 1e400) while the errors
  themselves do not, and no intermediate overflows or underflows this way.  On
  ordinary data a float computation agrees to about 1e-14; a fit of degree 20
  takes a few milliseconds.
- The Student-t quantile has closed forms for 1 and 2 degrees of freedom;
  otherwise a Cornish–Fisher expansion around the normal quantile (Acklam's
  rational approximation, polished with math.erfc) gives a start that a
  safeguarded Newton iteration on the exact t tail (a regularised incomplete
  beta function, by its continued fraction) refines to about 1e-11.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from fitbp.fitting import model
from fitbp.engines import moments

SINGULAR_CONDITION = 1e15
"""Beyond this condition number of V, the coefficients' errors are not determined in float64."""
LARGE_DOF = 1e4
"""From here on the Cornish–Fisher expansion alone is exact to float64."""


def fit_statistics(polynomial, x, y, r=None, residuals=None, *, exponent=None, distinct=None, weight_mean=None,
                   absolute=False, basis=None, fixed=()):
    """The statistics of ``polynomial`` as a least-squares fit to the points (x, y), JSON-ready.

    ``r``, when the caller has it, is an R with RᵀR = VᵀV (the trainer's
    triangle of the data); without it, it is gathered here.  ``residuals``,
    when the caller has them, are fitbp.engines.moments.Residuals in units of
    2**unit_exponent(y).

    Keys:

    - ``dof``: n − (d + 1), the degrees of freedom left for the noise.
    - ``residual_mean``, ``residual_std``: of the residuals y − ŷ; the standard
      deviation is the population one (ddof = 0), the spread of the residuals
      themselves, not the noise estimate (that is sqrt(reduced_chi2)).
    - ``reduced_chi2``: SSR / dof with unit weights, i.e. the estimated noise
      variance σ²; None when dof ≤ 0.
    - ``taylor_stderr``: standard errors of a_0 … a_d, sqrt(diag(σ²·(VᵀV)⁻¹)), V in t.
    - ``stderr``: standard errors of the raw coefficients k_0 … k_d (None for
      one beyond float64 range).
    - ``covariance``: σ²·(VᵀV)⁻¹, the covariance of the Taylor coefficients in
      t-space, as nested lists (what ``confidence_band`` takes).
    - ``stderr_note``: None, or a sentence saying why an uncertainty above is None.

    For points not held (x and y None), ``r``, ``residuals``, their ``exponent``
    and the ``distinct`` x (counted as far as there are coefficients) stand for them.

    Weighted points (``weight_mean`` the mean of w = 1/σ²; ``r`` and ``residuals``
    those of the weights scaled to mean 1) also get ``chi2`` = Σ w r², and
    ``reduced_chi2`` becomes χ²/dof, which is near 1 when the σ are right.  The
    errors are then scaled by it (``errors``: "scaled", the default of scipy's
    curve_fit and gnuplot), or with ``absolute`` taken from the σ alone,
    √diag((VᵀWV)⁻¹) ("absolute"), when ``chi2_p_value`` = P(χ²_dof ≥ χ²) says how
    well the σ explain the scatter.

    A fit with raw coefficients ``fixed`` (their powers) trains b in a = a₀ + N b, N = ``basis``, and
    ``r`` is the triangle of b: the covariance is then N (RᵀR)⁻¹ Nᵀ times σ², the degrees of freedom
    n − (number of free coefficients), and the fixed coefficients' errors are 0.
    """
    if x is not None:
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError(f"x and y differ in length ({x.size} and {y.size})")
        exponent = model.unit_exponent(y)
    if r is None and (basis is not None or weight_mean is not None):
        raise ValueError("fixed terms and weights need the fit's own triangle r")
    p = polynomial.degree + 1 if basis is None else basis.shape[1]
    sums = residuals or moments.residuals(polynomial, x, y, exponent)
    n = sums.count
    result = {"dof": n - p, "residual_mean": None, "residual_std": None, "reduced_chi2": None,
              "taylor_stderr": None, "stderr": None, "covariance": None, "stderr_note": None,
              "errors": "absolute" if absolute and weight_mean else "scaled"}
    if weight_mean is not None:
        result.update(chi2=None, chi2_p_value=None)
    if not sums.finite:
        result["stderr_note"] = "the residuals are beyond the range of float64, so no statistics can be given"
        return result
    if n:
        result["residual_mean"] = _unscale(sums.mean, exponent)
        result["residual_std"] = _unscale(math.sqrt(sums.spread / n), exponent)
    chi2 = sums.squares / (n - p) if n > p else None  # in units of 2**exponent squared
    if weight_mean is not None:
        total = _unscale(sums.squares * weight_mean, 2 * exponent)  # Σ w r², w = 1/σ²: no unit left
        result["chi2"] = total
        if chi2 is not None and total is not None:
            result["reduced_chi2"] = total / (n - p)
            result["chi2_p_value"] = chi2_upper_tail(total, n - p) if absolute else None
    elif chi2 is not None:
        result["reduced_chi2"] = _unscale(chi2, 2 * exponent)
    problem = _why_no_uncertainty(n, p, moments.distinct_up_to(x, p) if distinct is None else distinct,
                                  absolute=result["errors"] == "absolute")
    inverse = None
    if problem is None:
        if r is None:
            r = moments.triangle(x, y, polynomial.center, polynomial.scale, math.ldexp(1.0, exponent), p - 1,
                                 basis=polynomial.basis).r
        inverse, condition = _inverse_r(r)
        if basis is not None and inverse is not None:
            inverse = basis @ inverse  # N R⁻¹: the covariance of a = a₀ + N b
        if not condition < SINGULAR_CONDITION:
            problem = (f"the design matrix is numerically singular (condition number {condition:.1e}): "
                       "the data cannot tell the coefficients apart, so their errors are undefined")
    if problem is not None:
        result["stderr_note"] = problem
        return result
    if result["errors"] == "absolute":  # (VᵀWV)⁻¹ = R⁻¹R⁻ᵀ / mean(w), in the units _errors scales by
        chi2 = math.ldexp(1.0 / weight_mean, -2 * exponent)
    result.update(_errors(inverse, chi2, exponent, polynomial))
    for power in fixed:  # exact by construction; the propagated value is rounding alone
        result["stderr"][power] = 0.0
    if basis is not None and result["taylor_stderr"] is not None:
        for i, row in enumerate(basis):
            if float(np.max(np.abs(row))) < 1e-12:  # a Taylor coefficient the fixed terms pin down (a_d by k_d)
                result["taylor_stderr"][i] = 0.0
    return result


def _why_no_uncertainty(n, p, distinct, absolute=False):
    """A sentence saying why the coefficients' errors cannot be estimated, or None.  Absolute σ need no
    degree of freedom to estimate the noise from: they are the noise."""
    if n < p:
        return (f"fewer points ({n}) than coefficients ({p}): the fit is not determined, "
                "so its coefficients have no standard errors")
    if n == p and not absolute:
        return (f"no degrees of freedom left: as many coefficients as points ({n}), so the curve passes "
                "through every point and nothing is left to estimate the noise from")
    if distinct < p:
        return (f"only {distinct} distinct x values for {p} coefficients: the data do not determine "
                "the coefficients, so their errors are undefined")
    return None


def _errors(inverse, chi2, exponent, polynomial):
    """Standard errors and covariance from R⁻¹ (in the polynomial's basis), the reduced chi-square and
    the y unit; the raw coefficients' through the basis's change into powers of t, a = P c."""
    with np.errstate(all="ignore"):
        covariance = np.ldexp(chi2 * (inverse @ inverse.T), 2 * exponent)
        taylor = [_unscale(math.sqrt(chi2) * v, exponent) for v in np.sqrt(np.sum(inverse * inverse, axis=1))]
    raw = None
    if polynomial.basis.polynomial:  # a Fourier series has no raw powers of x
        in_powers = polynomial.basis.power_matrix(polynomial.degree) @ inverse
        raw = _raw_stderr(in_powers, chi2, exponent, polynomial.center, polynomial.scale)
    notes = []
    if not np.all(np.isfinite(covariance)):
        covariance = None
        notes.append("the covariance of the coefficients is beyond the range of float64 (y is too large)")
    if None in taylor or None in (raw or ()):
        notes.append("a standard error beyond the range of float64 is given as null")
    return {"taylor_stderr": taylor, "stderr": raw,
            "covariance": None if covariance is None else covariance.tolist(),
            "stderr_note": "; ".join(notes) or None}


def _unscale(value, exponent):
    """value · 2**exponent as a float, or None beyond float64 range."""
    try:
        result = math.ldexp(value, exponent)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def _inverse_r(r):
    """R⁻¹, so that (VᵀV)⁻¹ = R⁻¹R⁻ᵀ; and the condition number of V."""
    with np.errstate(all="ignore"):
        condition = float(np.linalg.cond(r))
    if not condition < SINGULAR_CONDITION:
        return None, condition
    p = r.shape[0]
    return np.linalg.solve(r, np.eye(p)), condition


def _raw_stderr(inverse, chi2, exponent, center, scale):
    """Standard errors of the raw coefficients k_j, exact for the computed R⁻¹ and σ².

    Column m of L = R⁻¹ is a polynomial q_m(t), and var(k_j) = σ² Σ_m [x^j] q_m((x − c)/s)²;
    the bracket is the coefficient of x^j.  With c = C/2^K, s = S/2^M and
    L = Λ/2^G (C, S, Λ integers: floats are dyadic), Horner's rule
    Q ← Q·(2^K x − C) + Λ_im S^(d−i) 2^(Mi+K(d−i)) builds, in integers only,
    Q_m = 2^(Kd+G+Md) s^d q_m((x − c)/s); so var(k_j) = σ² Σ_m Q_jm² / (2^(2Kd+2G) S^(2d)).
    """
    p, columns = inverse.shape
    d = p - 1
    big_c, k = _dyadic(center)
    big_s, m_bits = _dyadic(scale)
    ratios = [float(v).as_integer_ratio() for v in inverse.ravel()]
    g = max(den.bit_length() - 1 for _, den in ratios)
    entries = [num << (g - (den.bit_length() - 1)) for num, den in ratios]  # Λ, row-major
    s_powers = [big_s ** e for e in range(p)]
    sums = [0] * p
    for col in range(columns):
        q = [0]
        for i in range(d, -1, -1):
            shifted = [0] * (len(q) + 1)
            for j, v in enumerate(q):
                shifted[j + 1] += v << k
                shifted[j] -= big_c * v
            shifted[0] += entries[i * columns + col] * s_powers[d - i] << (m_bits * i + k * (d - i))
            q = shifted[:-1] if i == d else shifted
        for j, v in enumerate(q):
            sums[j] += v * v
    num, den = float(chi2).as_integer_ratio()
    denominator = den * big_s ** (2 * d) << (2 * k * d + 2 * g)
    return [_unscale_root(Fraction(num * total, denominator), exponent) for total in sums]


def _dyadic(value):
    """(N, e) with value = N / 2**e, e ≥ 0."""
    num, den = float(value).as_integer_ratio()
    return num, den.bit_length() - 1


def _unscale_root(q, exponent):
    """sqrt(q) · 2**exponent for a rational q ≥ 0, or None beyond float64 range."""
    if q == 0:
        return 0.0
    shift = (q.numerator.bit_length() - q.denominator.bit_length()) // 2  # q / 4**shift is near 1
    near_one = q / Fraction(4) ** shift if shift >= 0 else q * Fraction(4) ** -shift
    return _unscale(math.sqrt(float(near_one)), exponent + shift)


def t_quantile(probability, dof):
    """The Student-t quantile: t with P(T ≤ t) = probability for ``dof`` degrees of freedom.

    Accurate to about 1e-11 relative for dof ≥ 1 (dof need not be whole),
    near the median as well as in the tails (1e-9 at probabilities like 1e-200).  Returns ±inf only where the
    quantile is beyond float64 range.
    """
    probability, dof = float(probability), float(dof)
    if not 0.0 < probability < 1.0:
        raise ValueError(f"the probability must be strictly between 0 and 1, not {probability}")
    if not (math.isfinite(dof) and dof >= 1.0):
        raise ValueError(f"the degrees of freedom must be 1 or more, not {dof}")
    if probability == 0.5:
        return 0.0
    sign = 1.0 if probability > 0.5 else -1.0
    tail = min(probability, 1.0 - probability)  # P(T > |t|); 1 - p is exact for p >= 0.5
    central = abs(probability - 0.5) if tail >= 0.25 else None  # P(0 < T < |t|), exact there
    if dof == 1.0:
        return sign * (math.tan(math.pi * central) if central is not None else 1.0 / math.tan(math.pi * tail))
    if dof == 2.0:
        return sign * (1.0 - 2.0 * tail) / math.sqrt(2.0 * tail * (1.0 - tail))
    start = abs(_cornish_fisher(_normal_quantile(tail, central), dof))
    if dof >= LARGE_DOF:
        return sign * start
    if central is not None:
        return sign * _solve(central, lambda t: _t_central(t, dof), dof, start, rising=True)
    return sign * _solve(tail, lambda t: _t_upper_tail(t, dof), dof, start, rising=False)


def _normal_quantile(tail, central=None):
    """|z| of the standard normal with P(Z > |z|) = tail (central = 1/2 − tail when given, exact).

    Acklam's rational approximation (1.2e-9 relative), polished by one Halley
    step on erfc in the tail and on erf near the median, where each keeps its
    relative accuracy.
    """
    a = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
         1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
    b = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
         6.680131188771972e+01, -1.328068155288572e+01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
         -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
    e = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
    if tail >= 0.02425:
        q = central if central is not None else 0.5 - tail
        r = q * q
        z = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    else:
        q = math.sqrt(-2.0 * math.log(tail))
        z = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
            ((((e[0] * q + e[1]) * q + e[2]) * q + e[3]) * q + 1.0)
    if central is not None:
        error = central - 0.5 * math.erf(z / math.sqrt(2.0))  # P(0 < Z < z) falls short by this
    else:
        error = 0.5 * math.erfc(z / math.sqrt(2.0)) - tail
    u = error * math.sqrt(2.0 * math.pi) * math.exp(z * z / 2.0)
    return z + u / (1.0 - z * u / 2.0)


def _cornish_fisher(z, dof):
    """The t quantile from the normal one, to 1/dof⁴ (Abramowitz and Stegun 26.7.5)."""
    z2 = z * z
    g1 = (z2 + 1.0) * z / 4.0
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0
    g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0
    return z + (g1 + (g2 + (g3 + g4 / dof) / dof) / dof) / dof


def _solve(target, measure, dof, start, rising):
    """t > 0 with measure(t) = target: Newton on log measure(t), kept inside a bracket.

    ``measure`` is P(T > t) (falling) or P(0 < T < t) (rising, ``rising``).
    """
    below = (lambda t: measure(t) < target) if rising else (lambda t: measure(t) > target)
    lo, hi = 0.0, start
    while below(hi):  # the start may lie short of the answer: widen
        lo, hi = hi, 2.0 * hi
        if not math.isfinite(hi):
            return math.inf
    t = start
    for _ in range(200):
        value = measure(t)
        if (value < target) if rising else (value > target):
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        guess = math.nan
        if value > 0.0:  # Newton on log measure, whose slope is ±density / measure
            slope = math.exp(_t_log_density(t, dof) - math.log(value)) * (1.0 if rising else -1.0)
            guess = t - (math.log(value) - math.log(target)) / slope if slope != 0.0 else math.nan
        if not lo < guess < hi:
            guess = math.sqrt(lo * hi) if lo > 0 else hi / 2.0
        if abs(guess - t) <= 1e-15 * t or hi - lo <= 1e-15 * hi:
            return guess
        t = guess
    return t


def _t_upper_tail(t, dof):
    """P(T > t) for t ≥ 0: half the regularised incomplete beta I_x(dof/2, 1/2), x = dof/(dof + t²)."""
    if t == 0.0:
        return 0.5
    log_x, log_y = _logs(t, dof)
    return 0.5 * _incomplete_beta(dof / 2.0, 0.5, math.exp(log_x), math.exp(log_y), log_x, log_y)


def _t_central(t, dof):
    """P(0 < T < t) for t ≥ 0: half of I_y(1/2, dof/2), y = t²/(dof + t²); exact in relative terms near 0."""
    if t == 0.0:
        return 0.0
    log_x, log_y = _logs(t, dof)
    return 0.5 * _incomplete_beta(0.5, dof / 2.0, math.exp(log_y), math.exp(log_x), log_y, log_x)


def _logs(t, dof):
    """log(dof/(dof + t²)) and log(t²/(dof + t²)), each without cancellation."""
    t2 = t * t
    return -math.log1p(t2 / dof), 2.0 * math.log(t) - math.log(dof + t2)


def _incomplete_beta(a, b, x, y, log_x, log_y):
    """I_x(a, b), with y = 1 − x and the logarithms passed in exactly (Numerical Recipes' betai)."""
    front = math.exp(a * log_x + b * log_y + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def _beta_fraction(a, b, x, most=100000):
    """The continued fraction of the incomplete beta function, by the modified Lentz method."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, most + 1):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def _t_log_density(t, dof):
    return (math.lgamma((dof + 1.0) / 2.0) - math.lgamma(dof / 2.0) - 0.5 * math.log(dof * math.pi)
            - (dof + 1.0) / 2.0 * math.log1p(t * t / dof))


def coefficient_tests(values, errors, dof, level=0.95):
    """Each coefficient's t value, two-sided p-value and ``level`` confidence interval, as R's
    summary(lm) gives them: t = value / stderr tests that the coefficient is 0, p = P(|T| ≥ |t|) with
    ``dof`` degrees of freedom, and the interval is value ± t_{(1+level)/2, dof} · stderr.

    None wherever the standard error is None (see stderr_note) or 0, or no degree of freedom is left;
    a t beyond float64 has p 0.  ``dof`` None means errors known, not estimated (absolute σ): then T is
    the standard normal.
    """
    count = len(values)
    tests = {"t_values": [None] * count, "p_values": [None] * count, "confidence_intervals": [None] * count}
    if errors is None or (dof is not None and dof < 1):
        return tests
    quantile = _quantile((1.0 + level) / 2.0, dof)
    for i, (value, error) in enumerate(zip(values, errors)):
        if value is None or error is None or not error > 0.0 or not math.isfinite(value):
            continue
        with np.errstate(all="ignore"):
            t = value / error
            half = quantile * error
        tests["t_values"][i] = t if math.isfinite(t) else None
        tests["p_values"][i] = min(1.0, 2.0 * _upper_tail(abs(t), dof)) if math.isfinite(t) else 0.0
        if math.isfinite(half):
            tests["confidence_intervals"][i] = [value - half, value + half]
    return tests


def _quantile(probability, dof):
    """Student's t quantile, or the standard normal's for ``dof`` None (a variance known, not estimated)."""
    if dof is not None:
        return t_quantile(probability, dof)
    tail = min(probability, 1.0 - probability)
    return math.copysign(_normal_quantile(tail, abs(probability - 0.5) if tail >= 0.25 else None),
                         probability - 0.5)


def _upper_tail(t, dof):
    return _t_upper_tail(t, dof) if dof is not None else 0.5 * math.erfc(t / math.sqrt(2.0))


def chi2_upper_tail(value, dof):
    """P(χ² ≥ value) for ``dof`` degrees of freedom: the regularised upper incomplete gamma Q(dof/2, value/2),
    by its series below a + 1 and its continued fraction (modified Lentz) above (Numerical Recipes' gammq)."""
    a, x = dof / 2.0, value / 2.0
    if x <= 0.0:
        return 1.0
    front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        for n in range(1, 100000):
            term *= x / (a + n)
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return max(0.0, 1.0 - math.exp(front) * total)
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for n in range(1, 100000):
        an = -n * (n - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return math.exp(front) * h


def confidence_band(polynomial, covariance, dof, x, level=0.95, noise=0.0):
    """Lower and upper edges of the ``level`` confidence band of the fitted curve at x.

    ŷ(x) ± t_{(1+level)/2, dof} · sqrt(v(t)ᵀ · covariance · v(t) + noise), v(t)
    the powers of t = (x − c)/s: pointwise, with ``noise`` 0 the band holds the
    true curve with probability ``level`` when the noise is normal and the
    model right; with ``noise`` the variance of a new measurement (the reduced
    chi-square, for unit weights) it is the prediction interval, which holds
    a new measurement at x with that probability.  ``covariance`` and ``dof``
    are those of ``fit_statistics``; ``dof`` None for absolute σ, whose
    variance is known: the normal quantile then.
    """
    if covariance is None:
        raise ValueError("no confidence band: the fit's covariance is unknown (see stderr_note)")
    if dof is not None and dof < 1:
        raise ValueError("no confidence band: no degrees of freedom left to estimate the noise")
    if not 0.0 < level < 1.0:
        raise ValueError(f"the confidence level must be strictly between 0 and 1, not {level}")
    covariance = np.asarray(covariance, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    powers = polynomial.design(x)
    with np.errstate(all="ignore"):
        variance = np.maximum(np.einsum("ni,ij,nj->n", powers, covariance, powers), 0.0) + noise
        half = (_quantile((1.0 + level) / 2.0, dof) * np.sqrt(variance)).reshape(x.shape)
        fitted = polynomial(x)
        return fitted - half, fitted + half
