"""The dask engine beside the local one, at 1e7 and 1e8 rows, on this machine.

    python bench/cluster.py [--files 10] [--rows 1e7] [--workers 2] [--cores 8] [--disk 500]

Uses (writing once) bench/scale.py's CSVs in bench/data/scale/ and times
whole ``fitbp fit -d 5`` processes with bench/run.py's launcher: the local
engine; --engine dask with its own LocalCluster; and --engine dask on a real
`dask scheduler` with ``--workers`` `dask worker` processes on 127.0.0.1,
started before the timing and stopped after it.  For each run: wall time,
the peak memory of the fitbp process and of the largest dask process
(VmHWM, sampled every 0.1 s), and the bytes that crossed the loopback
interface (the machine's whole `lo` counter: other traffic counts too).

From the real cluster's 1e8 run it then estimates, and says that it is an
estimate, what 1e10 rows would take on 10 and 100 machines of ``--cores``
cores and ``--disk`` MB/s of disk each.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
bench_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_run)  # its launcher and environment; nothing runs on import

SCALE = BENCH / "data" / "scale"


def peak_kb(pid):
    """The process's peak resident memory so far (VmHWM), in kB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM")), 0)
    except OSError:
        return 0


class Peaks(threading.Thread):
    """Samples the peak memory of every process below this one, and of ``others``, until stopped."""

    def __init__(self, others=()):
        super().__init__(daemon=True)
        self.others, self.seen, self.done = list(others), {}, threading.Event()

    def run(self):
        while not self.done.wait(0.1):
            for process in psutil.Process().children(recursive=True) + self.others:
                try:
                    role = role_of(process.cmdline())
                except psutil.Error:
                    continue
                self.seen[process.pid] = (role, max(self.seen.get(process.pid, ("", 0))[1], peak_kb(process.pid)))

    def stop(self):
        self.done.set()
        self.join()
        largest = {}
        for role, kb in self.seen.values():
            largest[role] = max(largest.get(role, 0), kb / 1024)
        return largest


def role_of(argv):
    text = " ".join(argv)
    if "fitbp" in text and " fit " in f" {text} ":
        return "fitbp"
    if "dask_scheduler" in text:
        return "scheduler"
    if "dask_worker" in text or "multiprocessing" in text or "spawn_main" in text:
        return "worker"
    return "other"


def loopback_bytes():
    counters = psutil.net_io_counters(pernic=True).get("lo")
    return counters.bytes_sent if counters else 0


def fit(args, others=()):
    """One measured fitbp process and what the dask processes beside it did."""
    peaks, sent = Peaks(others), loopback_bytes()
    peaks.start()
    result = bench_run.run([sys.executable, "-m", "fitbp", "fit", *args, "-d", "5", "--json", "--no-save"])
    largest, sent = peaks.stop(), loopback_bytes() - sent
    if result["status"] != 0:
        raise SystemExit(f"fitbp {' '.join(args)}: {bench_run.failure(result)}")
    summary = json.loads(result["stdout"])
    return {"seconds": result["seconds"], "fitbp_mb": largest.get("fitbp", result["peak_mb"]),
            "worker_mb": largest.get("worker"), "scheduler_mb": largest.get("scheduler"),
            "loopback_mb": sent / 2**20, "n": summary["n_points"], "mse": summary["mse"], "engine": summary["engine"]}


class Scheduler:
    """A `dask scheduler` and ``workers`` `dask worker` processes on 127.0.0.1 (one thread each)."""

    def __init__(self, workers):
        self.workers, self.started, self.folder = workers, [], tempfile.mkdtemp(prefix="fitbp-bench-")
        self.address = None

    def __enter__(self):
        import distributed

        file = Path(self.folder) / "scheduler.json"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": bench_run.command_env()}
        self.started.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                              "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                                              str(file)], **quiet))
        self._wait(file.exists, "the scheduler file")
        for _ in range(self.workers):
            self.started.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                                  "--scheduler-file", str(file), "--host", "127.0.0.1",
                                                  "--nthreads", "1", "--no-dashboard"], **quiet))
        self.address = json.loads(file.read_text())["address"]
        with distributed.Client(self.address) as client:
            self._wait(lambda: len(client.scheduler_info()["workers"]) == self.workers, "the workers")
        return self

    def processes(self):
        """The scheduler, the workers' nannies and the workers themselves."""
        found = []
        for process in self.started:
            found.append(psutil.Process(process.pid))
            found.extend(psutil.Process(process.pid).children(recursive=True))
        return found

    def _wait(self, condition, what, seconds=120):
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.started):
                raise SystemExit(f"{what}: the dask processes did not start")
            time.sleep(0.1)

    def __exit__(self, *exc):
        for process in reversed(self.started):  # the workers first, then the scheduler
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def estimate(real, rows, workers, cores, disk_mb):
    """Seconds for 1e10 rows on 10 and 100 machines, from the measured run's per-worker throughput."""
    per_core = real["n"] / (real["seconds"] * workers)  # rows a second a worker, start-up included
    text_per_row = sum(p.stat().st_size for p in SCALE.glob(f"part-*-{rows}.csv")) / max(real["n"], 1)
    lines = []
    for machines in (10, 100):
        parse = 1e10 / (per_core * cores * machines)
        read = 1e10 * text_per_row / (disk_mb * 2**20 * machines)
        lines.append((machines, parse, read, max(parse, read)))
    return per_core, text_per_row, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rows", type=float, default=1e7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cores", type=int, default=8, help="cores of each machine in the estimate")
    parser.add_argument("--disk", type=float, default=500, help="MB/s each machine's disk reads, in the estimate")
    options = parser.parse_args()
    rows = int(options.rows)
    SCALE.mkdir(parents=True, exist_ok=True)
    paths = [SCALE / f"part-{i:03d}-{rows}.csv" for i in range(options.files)]
    for seed, path in enumerate(paths):
        if not path.exists():
            print(f"writing {path}", file=sys.stderr)
            bench_run.write_sine(path, rows, seed)
    one, every = [str(paths[0])], [str(SCALE / f"part-*-{rows}.csv")]
    measured = []
    for label, args in (("local", []), ("dask, LocalCluster", ["--engine", "dask"])):
        for what, data in (("1 file", one), (f"{options.files} files", every)):
            print(f"{label}: {what}", file=sys.stderr)
            measured.append((label, what, fit([*data, *args])))
    with Scheduler(options.workers) as cluster:
        for what, data in (("1 file", one), (f"{options.files} files", every)):
            print(f"dask scheduler: {what}", file=sys.stderr)
            measured.append(("dask scheduler + workers", what,
                             fit([*data, "--engine", "dask", "--scheduler", cluster.address], cluster.processes())))
    machine = bench_run.machine()
    print(f"Machine: {machine['cpu']}, {machine['nproc']} cores, {machine['memory_gib']} GiB; python "
          f"{machine['python']}; {options.workers} dask workers of one thread.\n")
    print("| engine | data | points | wall s | fitbp MB | largest worker MB | scheduler MB | loopback MB | "
          "partitions | MSE |\n|---|---|---|---|---|---|---|---|---|---|")
    for label, what, m in measured:
        worker = f"{m['worker_mb']:.0f}" if m["worker_mb"] else "–"
        scheduler = f"{m['scheduler_mb']:.0f}" if m["scheduler_mb"] else "–"
        print(f"| {label} | {what} | {m['n']:,} | {m['seconds']:.2f} | {m['fitbp_mb']:.0f} | {worker} | "
              f"{scheduler} | {m['loopback_mb']:.1f} | {m['engine'].get('partitions', '–')} | {m['mse']:.17g} |")
    per_core, text, lines = estimate(measured[-1][2], rows, options.workers, options.cores, options.disk)
    print(f"\nEstimate (not a measurement) for 1e10 rows ({1e10 * text / 1e12:.1f} TB of CSV), from the real "
          f"cluster's {measured[-1][2]['n']:.0e}-row run here: {per_core:,.0f} rows a second a worker core, "
          f"machines of {options.cores} cores reading {options.disk:.0f} MB/s each:\n")
    print("| machines | parse-bound s | disk-bound s | estimate s |\n|---|---|---|---|")
    for machines, parse, read, both in lines:
        print(f"| {machines} | {parse:,.0f} | {read:,.0f} | {both:,.0f} |")


if __name__ == "__main__":
    main()
