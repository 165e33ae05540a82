"""The cost of one forward+backward pass: fitbp's computing graph, numpy by hand, PyTorch autograd.

All three compute the MSE loss of a degree-5 polynomial and its gradient with
respect to the coefficients a, on the same float64 design matrix V (n x 6) and
data y:

    fitbp:  fitbp.fitting.model.loss_and_gradient(V, y, a)    builds the graph, forward, backward
    numpy:  r = V @ a - y; loss = mean(r * r); g = (2 / n) * V.T @ r
    torch:  a leaf with requires_grad; loss = ((V @ a - y) ** 2).mean(); loss.backward(); a.grad

Everything runs on one BLAS thread (OPENBLAS_NUM_THREADS=1 etc., set below
before numpy is imported) and one torch thread (torch.set_num_threads(1)), as
the fitbp CLI itself does.  Each pass is timed alone with perf_counter, after
one untimed warm-up; the three alternate inside each repeat; medians are
reported.

Run:  python bench/engine.py [--json]      (bench/run.py runs it in bench/.venv)
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's fitbp
from fitbp.fitting import model

try:
    import torch
except ImportError:  # torch is optional: the report says it is missing
    torch = None

DEGREE = 5
CASES = ((1_000_000, 30), (1_000, 2000))  # (n, repeats)


def problem(n, seed=1):
    """V (n x 6, float64), y and a coefficient vector away from the optimum."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1.0, 1.0, n)
    design = np.vander(t, DEGREE + 1, increasing=True)
    y = np.sin(3.0 * t) + rng.normal(0.0, 0.1, n)
    a = rng.normal(0.0, 1.0, DEGREE + 1)
    return design, y, a


def fitbp_pass(design, y, a):
    loss, grad = model.loss_and_gradient(design, y, a)
    return loss, grad


def numpy_pass(design, y, a):
    r = design @ a - y
    loss = float(np.mean(r * r))
    grad = (2.0 / len(y)) * (design.T @ r)
    return loss, grad


def torch_setup(design, y, a):
    """The tensors for the torch pass: V and y share numpy's memory, a is a leaf."""
    leaf = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    return torch.from_numpy(design), torch.from_numpy(y), leaf


def torch_pass(design, y, leaf):
    leaf.grad = None  # zeroed between repeats, as optimizer.zero_grad() does
    loss = ((design @ leaf - y) ** 2).mean()
    loss.backward()
    return loss.item(), leaf.grad


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def relative_difference(g, reference):
    g = np.asarray(g, dtype=np.float64)
    return float(np.max(np.abs(g - reference)) / np.max(np.abs(reference)))


def measure(n, repeats):
    design, y, a = problem(n)
    passes = {"fitbp": (fitbp_pass, (design, y, a)), "numpy": (numpy_pass, (design, y, a))}
    if torch is not None:
        passes["torch"] = (torch_pass, torch_setup(design, y, a))
    results = {name: function(*args) for name, (function, args) in passes.items()}  # warm-up
    times = {name: [] for name in passes}
    for _ in range(repeats):
        for name, (function, args) in passes.items():
            seconds, results[name] = timed(function, *args)
            times[name].append(seconds)
    reference = results["numpy"][1]
    return {
        "n": n,
        "repeats": repeats,
        "median_us": {name: statistics.median(s) * 1e6 for name, s in times.items()},
        "gradient_rel_diff_vs_numpy": {name: relative_difference(
            r[1].detach().numpy() if name == "torch" else r[1], reference)
            for name, r in results.items() if name != "numpy"},
    }


def versions():
    return {"numpy": np.__version__, "torch": torch.__version__ if torch is not None else None,
            "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
            "torch_threads": torch.get_num_threads() if torch is not None else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(1)
    results = [measure(n, repeats) for n, repeats in CASES]
    if args.json:
        print(json.dumps({"versions": versions(), "results": results}, indent=2))
        return
    print(f"one forward+backward pass, degree {DEGREE}, float64, one thread: {versions()}")
    for r in results:
        us = r["median_us"]
        line = ", ".join(f"{name} {value:.1f} us" for name, value in us.items())
        print(f"n={r['n']:>9} ({r['repeats']} repeats): {line}; gradients vs numpy: "
              f"{r['gradient_rel_diff_vs_numpy']}")


if __name__ == "__main__":
    main()
