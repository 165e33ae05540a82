"""Sample data sets: known curves with noise, to try fitbp on and to test it with.

Each set is a function on a default x range and a default noise level, so
that ``fitbp sample NAME`` alone gives something worth fitting, and the
options change one thing at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fitbp.errors import FitbpError, option


@dataclass(frozen=True)
class Curve:
    formula: str
    function: object
    xmin: float
    xmax: float
    noise: float
    n: int = 200
    evenly: bool = False  # evenly spaced x (a time series) rather than random x


CURVES = {
    "sine": Curve("sin(x)", np.sin, 0.0, 2 * np.pi, 0.1),
    "cubic": Curve("x^3 - 2x^2 - x + 2", lambda x: x ** 3 - 2 * x ** 2 - x + 2, -2.0, 3.0, 0.5),
    "runge": Curve("1 / (1 + 25x^2)", lambda x: 1 / (1 + 25 * x ** 2), -1.0, 1.0, 0.02),
    "exp": Curve("exp(x)", np.exp, 0.0, 3.0, 0.3),
    "years": Curve("310 + 0.8(x - 1950) + 0.012(x - 1950)^2, a CO2-like series",
                   lambda x: 310 + 0.8 * (x - 1950) + 0.012 * (x - 1950) ** 2, 1950.0, 2020.0, 1.0,
                   n=71, evenly=True),
    "seasonal": Curve("2 + 0.8x + 0.05x^2 + 1.5 sin(2πx) + 0.6 cos(4πx), x in years, unevenly sampled",
                      lambda x: 2 + 0.8 * x + 0.05 * x ** 2 + 1.5 * np.sin(2 * np.pi * x) + 0.6 * np.cos(4 * np.pi * x),
                      0.0, 10.0, 0.2, n=300),
    "kink": Curve("0.5x up to 1, then 0.5 - 2(x - 1): a peak with a kink at x = 1",
                  lambda x: 0.5 * x - 2.5 * np.maximum(x - 1.0, 0.0), -2.0, 3.0, 0.05, n=300),
}


def generate(name, n=None, noise=None, seed=0, xmin=None, xmax=None, outliers=0):
    """x and y arrays of the named curve, x ascending, with normal noise of sd ``noise``.

    ``outliers`` points, chosen at random, are moved by about the curve's whole
    range up or down: gross errors, to show what robust losses are for.
    """
    try:
        curve = CURVES[name]
    except KeyError:
        raise FitbpError(f"unknown sample {name!r} (choose from {', '.join(CURVES)})") from None
    n = curve.n if n is None else n
    noise = curve.noise if noise is None else noise
    lo = curve.xmin if xmin is None else xmin
    hi = curve.xmax if xmax is None else xmax
    if n < 1:
        raise FitbpError(f"{option('n')} must be 1 or more, not {n}")
    if not (np.isfinite(noise) and noise >= 0):
        raise FitbpError(f"{option('noise')} must be 0 or more, not {noise}")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise FitbpError(f"{option('xmin')} must be below {option('xmax')} (got {lo} and {hi})")
    rng = np.random.default_rng(seed)
    x = np.linspace(lo, hi, n) if curve.evenly else np.sort(rng.uniform(lo, hi, n))
    with np.errstate(all="ignore"):
        y = curve.function(x) + rng.normal(0.0, noise, n)
    if not 0 <= outliers <= n:
        raise FitbpError(f"{option('outliers')} must be between 0 and {option('n')} ({n}), not {outliers}")
    if outliers:
        moved = rng.choice(n, size=outliers, replace=False)
        y[moved] += rng.choice([-1.0, 1.0], size=outliers) * rng.uniform(1.0, 2.0, outliers) * np.ptp(y)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise FitbpError(f"the {name} sample overflows float64 on [{lo:g}, {hi:g}]; choose a narrower range")
    return x, y
