"""What an update costs: `fitbp update` of a model of many points with a million new ones.

    python bench/update.py [--old 1e8] [--chunk 1e7] [--new 1e6] [--repeat 3]

A model keeps its data's summary, so adding new points should cost their reading and not the old
points'. This builds (once, in bench/data/update/) a model of --old points: `fitbp fit` of a --chunk-point
file, then `fitbp update` with that same file until the model counts --old points (1e8 by default: one
fit and nine updates of 1e7, about a minute and a half, 390 MB of CSV); and a model of 1e4 points. Then
it times, with bench/run.py's launcher (whole processes, wall clock, ru_maxrss), alternating:

- `fitbp update` of the --old-point model with --new points (bench/data's sine file of that size),
- `fitbp update` of the 1e4-point model with the same points,
- `fitbp fit` of the --new points alone (--degree 5, saving its model, as update saves one),

and prints a Markdown table and the ratios: the update of the big model over the fit of the new points
alone (near 1 means it costs their reading), and over the small model's update.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
bench_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_run)  # its launcher, data files and environment; nothing runs on import

HERE = BENCH / "data" / "update"
DEGREE = 5


def fitbp(*args):
    return [sys.executable, "-m", "fitbp", *map(str, args)]


def checked(result, what):
    if result["status"] != 0:
        raise SystemExit(f"{what} failed: {result['stderr'].strip()}")
    return result


def model_of(count, chunk):
    """A model file of ``count`` points: a fit of a ``chunk``-point file, updated with it until it has them."""
    path = HERE / f"model_{count:.0e}.json"
    if path.exists() and json.loads(path.read_text())["n_points"] == count:
        return path
    data = bench_run.made(HERE / f"sine_{chunk:.0e}.csv", chunk, lambda p: bench_run.write_sine(p, chunk, 7))
    checked(bench_run.run(fitbp("fit", data, "-d", DEGREE, "-q", "--save", path)), "fit")
    for done in range(chunk, count, chunk):
        checked(bench_run.run(fitbp("update", "-m", path, data, "-q")), "update")
        bench_run.log(f"model of {done + chunk:.0e} points")
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=float, default=1e8, help="points of the big model [1e8]")
    parser.add_argument("--chunk", type=float, default=1e7, help="points of the file it is built from [1e7]")
    parser.add_argument("--new", type=float, default=1e6, help="new points [1e6]")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each command [3]")
    args = parser.parse_args()
    old, chunk, new = int(args.old), int(args.chunk), int(args.new)
    HERE.mkdir(parents=True, exist_ok=True)
    big, small = model_of(old, min(chunk, old)), model_of(10_000, 10_000)
    fresh = bench_run.made(bench_run.DATA / f"sine_{new}_seed12345.csv", new,
                           lambda p: bench_run.write_sine(p, new, 12345))
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            f"update a model of {old:.0e} points": fitbp("update", "-m", big, fresh, "-q", "--save", f"{tmp}/a.json"),
            "update a model of 1e4 points": fitbp("update", "-m", small, fresh, "-q", "--save", f"{tmp}/b.json"),
            f"fit the {new:.0e} new points alone": fitbp("fit", fresh, "-d", DEGREE, "-q", "--save", f"{tmp}/c.json"),
        }
        times = {name: [] for name in commands}
        peaks = {name: 0.0 for name in commands}
        for name, argv in commands.items():  # a warm-up each
            checked(bench_run.run(argv), name)
        for i in range(args.repeat):
            names = list(commands)[i % 3:] + list(commands)[:i % 3]
            for name in names:
                result = checked(bench_run.run(commands[name]), name)
                times[name].append(result["seconds"])
                peaks[name] = max(peaks[name], result["peak_mb"])
    print(f"## Updating a model of {old:,} points with {new:,} new ones\n")
    found = bench_run.machine()
    print(f"{found['nproc']} cores ({found['cpu']}), {found['memory_gib']} GiB, Python {found['python']}, "
          f"{found['date']}, fitbp {(found['git'] or {}).get('commit')}\n")
    print("| command | median s | peak MB | runs s |\n|---|---:|---:|---|")
    for name in commands:
        print(f"| {name} | {statistics.median(times[name]):.3f} | {peaks[name]:.0f} | "
              + " ".join(f"{t:.2f}" for t in times[name]) + " |")
    medians = [statistics.median(times[name]) for name in commands]
    print(f"\nupdate of the {old:.0e}-point model / fit of the new points alone: **{medians[0] / medians[2]:.2f}**; "
          f"/ update of the 1e4-point model: {medians[0] / medians[1]:.2f}")


if __name__ == "__main__":
    main()
