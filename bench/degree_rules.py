"""Which rule should --degree auto choose with?  Measure them on the same scores.

    python bench/degree_rules.py [--seeds 20]

For every data set and seed, fitbp.selection.score_degrees scores degrees 0 … the automatic cap once
(training MSE, 5-fold cross-validated MSE, AIC, AICc, BIC), and each rule picks from the same scores:

- bic+2: the lowest degree within 2 of the least BIC (what fitbp uses)
- bic: the least BIC
- aicc: the least AICc
- cv: the least cross-validated MSE
- cv-1se: the lowest degree within one standard error of the least cross-validated MSE

Noisy polynomials (a Chebyshev series of exactly degree k, every coefficient 1, noise 0.02, 200 points):
how often each rule finds k, how often it goes below, and its worst excess.  Smooth curves that are no
polynomial (noise 0.02, 400 points): the worst in-sample RMSE over the noise (1.0 is the noise floor).
Prints a Markdown table; standard library and numpy only.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fitbp.engines import moments  # noqa: E402
from fitbp.sources.data import Points  # noqa: E402
from fitbp.selection import EVIDENCE, score_degrees, search_cap  # noqa: E402

SMOOTH = {
    "runge": (lambda x: 1 / (1 + 25 * x * x), -1, 1),
    "tanh(4x)": (lambda x: np.tanh(4 * x), -1, 1),
    "bump": (lambda x: np.exp(-8 * x * x), -1, 1),
    "two sine periods": (np.sin, 0, 4 * np.pi),
    "exp": (np.exp, 0, 3),
}


def rules(scores):
    least_bic = min(s["bic"] for s in scores)
    cv = [s for s in scores if s["cv_mse"] is not None]
    best_cv = min(cv, key=lambda s: s["cv_mse"])
    return {
        "bic+2": min(s["degree"] for s in scores if s["bic"] <= least_bic + EVIDENCE),
        "bic": min(scores, key=lambda s: s["bic"])["degree"],
        "aicc": min(scores, key=lambda s: s["aicc"])["degree"],
        "cv": best_cv["degree"],
        "cv-1se": min(s["degree"] for s in cv if s["cv_mse"] <= best_cv["cv_mse"] + best_cv["cv_se"]),
    }


def scored(f, lo, hi, n, seed, sd=0.02):
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, n)
    y = f(x) + rng.normal(0, sd, n)
    points = Points(x, y)
    return score_degrees(points, search_cap(n, moments.distinct_up_to(x, 62)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args(argv)
    names = list(rules(scored(np.sin, 0, 1, 50, 0)))
    print(f"Noisy polynomials, 200 points, noise 0.02, {args.seeds} seeds per degree: exact / below / worst excess\n")
    print("| degree | " + " | ".join(names) + " |")
    print("|---:|" + "---|" * len(names))
    for k in range(10):
        coefficients = np.ones(k + 1)
        picks = {name: [] for name in names}
        for seed in range(args.seeds):
            for name, d in rules(scored(lambda x: np.polynomial.chebyshev.chebval(x, coefficients), -1, 1, 200,
                                        seed)).items():
                picks[name].append(d)
        cells = [f"{sum(d == k for d in p)}/{len(p)}, {sum(d < k for d in p)}, +{max(p) - k}" for p in picks.values()]
        print(f"| {k} | " + " | ".join(cells) + " |")
    print(f"\nSmooth curves, 400 points, noise 0.02, {args.seeds} seeds: worst in-sample RMSE / noise "
          "(and the degrees chosen)\n")
    print("| curve | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for curve, (f, lo, hi) in SMOOTH.items():
        worst = {name: (0.0, set()) for name in names}
        for seed in range(args.seeds):
            scores = scored(f, lo, hi, 400, seed)
            for name, d in rules(scores).items():
                ratio = math.sqrt(scores[d]["train_mse"]) / 0.02
                worst[name] = (max(worst[name][0], ratio), worst[name][1] | {d})
        print(f"| {curve} | " + " | ".join(f"{r:.2f} ({min(ds)}–{max(ds)})" for r, ds in worst.values()) + " |")


if __name__ == "__main__":
    main()
