"""Data of any size on one machine: the local engine at 1e7 and 1e8 rows.

    python bench/scale.py [--files 10] [--rows 1e7] [--repeat 1]

Writes (once) ``--files`` CSVs of ``--rows`` points each in bench/data/scale/
(y = sin(x) + noise, a seed per file: 3.9 GB for the default 1e8 points), then
times whole ``fitbp fit`` processes with bench/run.py's launcher (wall clock and
ru_maxrss): one file held in memory, the same file streamed (--memory 16MB),
and the glob of all files streamed (the default 256 MB budget).  Prints a
Markdown table and the ratio of the 1e8 time to the 1e7 time.  Uses this
checkout's fitbp with the python that runs the script.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
bench_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_run)  # its launcher and environment; nothing runs on import

SCALE = BENCH / "data" / "scale"


def fit(args, repeat):
    runs = [bench_run.run([sys.executable, "-m", "fitbp", "fit", *args, "-d", "5", "--json", "--no-save"])
            for _ in range(repeat)]
    for result in runs:
        if result["status"] != 0:
            raise SystemExit(f"fitbp {' '.join(args)}: {bench_run.failure(result)}")
    best = min(runs, key=lambda r: r["seconds"])
    summary = json.loads(best["stdout"])
    return {"seconds": best["seconds"], "peak_mb": max(r["peak_mb"] for r in runs), "mse": summary["mse"],
            "n": summary["n_points"], "engine": summary["engine"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rows", type=float, default=1e7)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    rows = int(options.rows)
    SCALE.mkdir(parents=True, exist_ok=True)
    paths = [SCALE / f"part-{i:03d}-{rows}.csv" for i in range(options.files)]
    for seed, path in enumerate(paths):
        print(f"writing {path}" if not path.exists() else f"have {path}", file=sys.stderr)
        if not path.exists():
            bench_run.write_sine(path, rows, seed)
    pattern = str(SCALE / f"part-*-{rows}.csv")
    measured = [
        (f"1 file, {rows:.0e} rows, held", fit([str(paths[0])], options.repeat)),
        (f"1 file, {rows:.0e} rows, streamed (--memory 16MB)", fit([str(paths[0]), "--memory", "16MB"],
                                                                   options.repeat)),
        (f"{options.files} files, {rows * options.files:.0e} rows, streamed", fit([pattern], options.repeat)),
    ]
    size = sum(p.stat().st_size for p in paths) / 1e9
    machine = bench_run.machine()
    print(f"Machine: {machine['cpu']}, {machine['nproc']} cores, {machine['memory_gib']} GiB; python "
          f"{machine['python']}, pyarrow {machine['packages']['pyarrow']}; "
          f"data {size:.1f} GB in {options.files} files.\n")
    print("| run | points | wall s | peak MB | passes | MSE |\n|---|---|---|---|---|---|")
    for label, m in measured:
        print(f"| {label} | {m['n']:,} | {m['seconds']:.2f} | {m['peak_mb']:.0f} | "
              f"{m['engine'].get('passes', 1)} | {m['mse']:.17g} |")
    print(f"\nTime of the {options.files}-file fit / the held 1-file fit: "
          f"{measured[2][1]['seconds'] / measured[0][1]['seconds']:.2f} (for {options.files} times the points)")


if __name__ == "__main__":
    main()
