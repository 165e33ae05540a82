"""Compare `fitbp fit` with the plain-numpy way of doing the same job.

Why: fitbp fits a polynomial by backpropagation through its own computing
graph, and loads CSVs with its own tolerant reader.  A user could instead write
three lines of numpy (loadtxt + polyfit).  This script answers "what does
fitbp cost over that, end to end, and does it reach the same least-squares
optimum?" by timing both as whole processes (start-up, imports, reading the
file, fitting, printing) on the same generated files, and comparing the MSE
each one reports.

Run from the repository root:  python bench/compare.py [--sizes 1e5,1e6] [--json]
Standard library + numpy only.  Timings are medians of wall-clock runs, with
the two commands alternated inside each repeat so machine noise hits both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = 12345

# The baseline: what a numpy user would write.  argv: FILE DEGREE.
BASELINE = """\
import sys
import numpy as np
data = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1)
x, y = data[:, 0], data[:, 1]
p = np.polyfit(x, y, int(sys.argv[2]))
r = np.polyval(p, x) - y
print(repr(float(np.mean(r * r))))
"""


def parse_sizes(text):
    try:
        sizes = [int(float(s)) for s in text.split(",") if s.strip()]
    except (ValueError, OverflowError):
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--sizes must be a comma-separated list of positive numbers, not {text!r}")
    return sizes


def count_rows(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1  # minus the header


def dataset(out, n):
    """Path of a CSV with n points of y = sin(x) + noise, generated once and cached."""
    path = out / f"sine_{n}_seed{SEED}.csv"
    if path.exists() and count_rows(path) == n:
        return path
    rng = np.random.default_rng(SEED)
    x = rng.uniform(-3.0, 3.0, n)
    y = np.sin(x) + rng.normal(0.0, 0.1, n)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write("x,y\n")
        f.writelines(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist()))
    tmp.replace(path)  # a half-written file is never taken for a cached one
    return path


def run(name, cmd):
    """Run cmd, return (wall seconds, stdout); exit with its stderr if it fails."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"error: {name} failed with status {proc.returncode}: {shlex.join(cmd)}\n"
                 f"--- its stderr ---\n{proc.stderr.rstrip()}")
    return seconds, proc.stdout


def measure(path, degree, repeat):
    fitbp_cmd = [sys.executable, "-m", "fitbp", "fit", str(path), "--degree", str(degree),
                 "--no-save", "--json"]
    numpy_cmd = [sys.executable, "-c", BASELINE, str(path), str(degree)]
    run("fitbp", fitbp_cmd)  # untimed warm-up: page cache, .pyc files
    run("numpy baseline", numpy_cmd)
    fitbp_s, numpy_s, internal_s = [], [], []
    for _ in range(repeat):
        seconds, out = run("fitbp", fitbp_cmd)
        fitbp_s.append(seconds)
        try:
            summary = json.loads(out)
        except ValueError:
            sys.exit(f"error: fitbp printed something that is not JSON:\n{out[:500]}")
        internal_s.append(summary["seconds"])
        seconds, out = run("numpy baseline", numpy_cmd)
        numpy_s.append(seconds)
    numpy_mse = float(out)
    fitbp_mse = summary["mse"]
    return {
        "n_points": summary["n_points"],
        "fitbp_median_s": statistics.median(fitbp_s),
        "numpy_median_s": statistics.median(numpy_s),
        "ratio": statistics.median(fitbp_s) / statistics.median(numpy_s),
        "fitbp_mse": fitbp_mse,
        "numpy_mse": numpy_mse,
        "relative_mse_gap": (fitbp_mse - numpy_mse) / numpy_mse,
        "fitbp_reported_fit_s": statistics.median(internal_s),
        "fitbp_runs_s": fitbp_s,
        "numpy_runs_s": numpy_s,
    }


def machine():
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or "unknown",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "note": "shared machine, noisy",
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="comma-separated point counts [1e5,1e6]")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each command [5]")
    ap.add_argument("--degree", type=int, default=5, help="polynomial degree [5]")
    ap.add_argument("--out", type=Path, default=Path("bench/data"), help="where the CSVs go [bench/data]")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as e:
        ap.error(str(e))
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)

    command = shlex.join(["python", "bench/compare.py", "--sizes", args.sizes, "--repeat",
                          str(args.repeat), "--degree", str(args.degree), "--out", str(args.out)]
                         + (["--json"] if args.json else []))
    results = [dict(size=n, **measure(dataset(out, n), args.degree, args.repeat)) for n in sizes]

    if args.json:
        print(json.dumps({"machine": machine(), "command": command, "degree": args.degree,
                          "repeat": args.repeat, "results": results}, indent=2))
        return
    m = machine()
    print(f"machine: {m['cpu_count']} CPUs, {m['processor']} / {m['machine']}, "
          f"Python {m['python']}, numpy {m['numpy']} ({m['note']})")
    print(f"degree {args.degree}, median of {args.repeat} whole-process runs each, wall clock")
    print()
    header = ("points", "fitbp s", "numpy s", "fitbp/numpy", "rel. MSE gap", "fitbp fit s*")
    print("{:>10} {:>9} {:>9} {:>12} {:>13} {:>13}".format(*header))
    for r in results:
        print(f"{r['size']:>10} {r['fitbp_median_s']:>9.3f} {r['numpy_median_s']:>9.3f} "
              f"{r['ratio']:>12.2f} {r['relative_mse_gap']:>13.2e} {r['fitbp_reported_fit_s']:>13.3f}")
    print()
    print("* fitbp's own `seconds` (its training loop alone), median; the rest is")
    print("  start-up, imports, loading the CSV, building the design matrix and printing.")
    print(f"rerun (from the repo root): {command}")


if __name__ == "__main__":
    main()
