"""Reproduce every figure of fitbp's performance issue on this machine.

    python bench/run.py [--sizes 1e6,1e7] [--repeat 5] [--no-gnuplot] [--no-setup] [--parts e2e,auto,...]

1. Setup (standard library only): create bench/.venv if it is missing (no
   system site packages) and pip install there numpy, pandas, pyarrow, polars,
   torch and this checkout of fitbp (editable).  A package that will not install
   is reported, and the rest goes on.  Then the script re-executes itself with
   the venv's python, which runs every measurement (standard library + numpy).
2. Data: y = sin(x) + noise CSVs (header x,y) in bench/data/, made once.
3. End to end: whole processes, wall clock and peak memory (ru_maxrss from
   os.wait4), fitbp against numpy/pandas/pyarrow/polars + numpy.polyfit and
   gnuplot's fit; medians of --repeat runs after one untimed warm-up.
4. Engine: bench/engine.py, one forward+backward pass of fitbp's graph against
   numpy by hand and torch autograd.
5. Start: `fitbp --help` and `fitbp predict` against importing what they need.
6. Auto: `fitbp fit DATA` (--degree auto, the default) against `fitbp fit DATA
   --degree D` with the D that auto chose, whole processes, alternating.
7. Robust: `fitbp fit DATA --degree 3 --loss huber` and `--loss mae` against the
   least-squares fit of the same file (a cubic with 5 % gross outliers), whole
   processes, alternating, with the passes each took.
8. Dates: `fitbp fit DATES --degree 3` (x as ISO 8601 date-times) against the same
   points with x written as the days they are, with pyarrow's parser and with
   numpy's, whole processes, alternating.

The Markdown report goes to stdout and bench/results/latest.md, the raw numbers
to bench/results/latest.json; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
RESULTS = BENCH / "results"
DATA = BENCH / "data"
PYCACHE = VENV / "pycache"
PACKAGES = ["numpy", "pandas", "pyarrow", "polars", "torch==2.13.0"]
SETUP_NOTES = "FITBP_BENCH_SETUP"  # how the setup process tells the measuring one what failed
SEED = 12345
DEGREE = 5
START_REPEAT = 20
MACHINE_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                     "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE")

# The alternatives: what a user would write.  argv: FILE DEGREE.  Each prints the MSE of its fit.
FIT_AND_PRINT = """
p = np.polyfit(x, y, int(sys.argv[2]))
r = np.polyval(p, x) - y
print(repr(float(np.mean(r * r))))
"""
ALTERNATIVES = {
    "numpy.loadtxt + polyfit": ("numpy", """import sys
import numpy as np
data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
x, y = data[:, 0], data[:, 1]"""),
    "pandas.read_csv + polyfit": ("pandas", """import sys
import numpy as np
import pandas as pd
df = pd.read_csv(sys.argv[1])
x, y = df["x"].to_numpy(), df["y"].to_numpy()"""),
    "pyarrow.csv.read_csv + polyfit": ("pyarrow", """import sys
import numpy as np
import pyarrow.csv
table = pyarrow.csv.read_csv(sys.argv[1])
x, y = table.column("x").to_numpy(), table.column("y").to_numpy()"""),
    "polars.read_csv + polyfit": ("polars", """import sys
import numpy as np
import polars as pl
df = pl.read_csv(sys.argv[1])
x, y = df["x"].to_numpy(), df["y"].to_numpy()"""),
}
REFERENCE = "numpy.loadtxt + polyfit"  # its MSE is "numpy's optimum"

# gnuplot: Levenberg-Marquardt on a degree-5 polynomial; prints the MSE (unweighted: WSSR / n).
GNUPLOT_SCRIPT = """set datafile separator ","
set fit quiet nolog
set print "-"
f(x) = a0 + a1*x + a2*x**2 + a3*x**3 + a4*x**4 + a5*x**5
a0 = a1 = a2 = a3 = a4 = a5 = 1
fit f(x) ARG1 using 1:2 skip 1 via a0, a1, a2, a3, a4, a5
print sprintf("%.17g", FIT_WSSR / (FIT_NDF + 6))
"""

TARGETS = {  # the issue's limits: a measured value must be at most its limit
    "e2e_1e6": 1.0, "e2e_1e7": 0.6, "mse_gap": 1e-9, "peak_mb": 530.0,
    "engine_vs_numpy": 1.3, "engine_vs_torch": 1.0, "start": 1.3, "auto": 1.2, "robust": 3.0, "dates": 1.5,
}
PARTS = ("e2e", "engine", "start", "auto", "robust", "dates")
ROBUST_DEGREE = 3
ROBUST_MOST = 1_000_000
"""The robust part measures the sizes of --sizes up to this many points (the issue's target is at 1e6)."""
DATES_DEGREE = 3
DATES_MOST = 1_000_000
"""The dates part measures the sizes of --sizes up to this many points (the issue's target is at 1e6)."""
DATES_STEP = 31
"""Seconds between two rows of the dates file: a logger's stamps, a year of them at 1e6 rows."""


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- setup (standard library only)

def pip_install(args, logfile):
    """pip install into the venv; None when it worked, else the last line of its error."""
    cmd = [str(VENV_PYTHON), "-m", "pip", "install", "-q", *args]
    logfile.write(f"$ {shlex.join(cmd)}\n")
    logfile.flush()
    proc = subprocess.run(cmd, stdout=logfile, stderr=subprocess.PIPE, text=True, check=False)
    logfile.write(proc.stderr)
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"pip exited with status {proc.returncode}"


def setup():
    """Create bench/.venv and install the packages: {"failed": {package: why}, "seconds": how long}."""
    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not VENV_PYTHON.exists():
        log(f"creating {VENV}")
        if subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False).returncode != 0:
            sys.exit(f"error: could not create {VENV} with {sys.executable} -m venv")
    failed = {}
    with open(RESULTS / "setup.log", "w") as logfile:
        for spec in [*PACKAGES, "fitbp"]:
            log(f"pip install {spec} (log: {RESULTS / 'setup.log'})")
            args = ["-e", str(ROOT)] if spec == "fitbp" else [spec]
            error = pip_install(args, logfile)
            if error:
                log(f"  could not install {spec}: {error}")
                failed[spec] = error
    return {"failed": failed, "seconds": time.perf_counter() - started}


def reexec_in_venv(argv, notes):
    """Run this script again with the venv's python, which does the measuring."""
    env = dict(os.environ, **{SETUP_NOTES: json.dumps(notes)})
    os.execve(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *argv], env)


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


# ---------------------------------------------------------------- data

def count_rows(path):
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            lines += chunk.count(b"\n")
    return lines - 1  # minus the header


def dataset(n):
    """Path of a CSV with n points of y = sin(x) + noise, x uniform in [-3, 3]; made once."""
    return made(DATA / f"sine_{n}_seed{SEED}.csv", n, lambda path: write_sine(path, n, SEED))


def outliers_dataset(n):
    """Path of a CSV with n points of x³ − 2x² − x + 2 + noise, 5 % of them gross outliers; made once."""
    return made(DATA / f"cubic_outliers_{n}_seed{SEED}.csv", n, lambda path: write_outliers(path, n, SEED))


def dates_datasets(n):
    """Paths of two CSVs of the same n points: x as ISO 8601 date-times DATES_STEP seconds apart from
    2024-01-01T00:00:00, and x as the days since then that fitbp reads them as; made once."""
    dated = DATA / f"dates_{n}_seed{SEED}.csv"
    return (made(dated, n, lambda path: write_dates(path, n, SEED, as_days=False)),
            made(DATA / f"dates_as_days_{n}_seed{SEED}.csv", n, lambda path: write_dates(path, n, SEED, as_days=True)))


def write_dates(path, n, seed, as_days):
    """n points of a slow trend and noise, y = 1 + 0.01 d − 1e-4 d² + N(0, 0.1²) at d days, x written as
    date-times (2024-01-01T00:00:31) or as d itself."""
    import numpy as np

    seconds = np.arange(n, dtype=np.int64) * DATES_STEP
    days = seconds / 86400.0
    y = 1 + 0.01 * days - 1e-4 * days ** 2 + np.random.default_rng(seed).normal(0.0, 0.1, n)
    if as_days:
        write_csv(path, days, y)
        return
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write("when,y\n")
        for start in range(0, n, 1 << 20):
            moments = np.datetime64("2024-01-01T00:00:00", "s") + seconds[start:start + (1 << 20)]
            f.writelines(f"{a},{b!r}\n" for a, b in zip(np.datetime_as_string(moments).tolist(),
                                                       y[start:start + (1 << 20)].tolist()))
    tmp.replace(path)


def made(path, n, write):
    """``path``, written by write(path) unless it holds n rows already."""
    if not (path.exists() and count_rows(path) == n):
        log(f"writing {path}")
        DATA.mkdir(parents=True, exist_ok=True)
        write(path)
    return path


def write_outliers(path, n, seed):
    """Write n points of x³ − 2x² − x + 2 + N(0, 0.3²) on [-2, 2], 5 % of them moved by N(0, 20²), as CSV."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n)
    y = x ** 3 - 2 * x ** 2 - x + 2 + rng.normal(0.0, 0.3, n)
    far = rng.random(n) < 0.05
    y[far] += rng.normal(0.0, 20.0, int(far.sum()))
    write_csv(path, x, y)


def write_sine(path, n, seed):
    """Write n points of y = sin(x) + noise (x uniform in [-3, 3]) as CSV (write_csv)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n)
    write_csv(path, x, np.sin(x) + rng.normal(0.0, 0.1, n))


def write_csv(path, x, y):
    """x,y lines of full-precision floats, a million at a time, to a temporary name first: a half-written
    file is never taken for a made one."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write("x,y\n")
        for start in range(0, x.size, 1 << 20):
            end = start + (1 << 20)
            f.writelines(f"{a!r},{b!r}\n" for a, b in zip(x[start:end].tolist(), y[start:end].tolist()))
    tmp.replace(path)


# ---------------------------------------------------------------- running processes

def command_env(extra=None):
    """The environment every measured command gets: this one, with bytecode caching on.

    The thread variables and OPENBLAS_CORETYPE/L2_SIZE are left as they are.
    PYTHONDONTWRITEBYTECODE (set on this machine) is dropped and the caches go to
    bench/.venv/pycache, so that every command, fitbp's own source included,
    starts from cached bytecode after its warm-up, as on a user's machine.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", SETUP_NOTES)}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra or {})
    return env


# Starts the measured command and reports its wall time, ru_maxrss and exit status.  Linux
# starts a child's ru_maxrss at its parent's peak RSS (exec records the old memory's
# high-water mark, and subprocess uses vfork), so a command started straight from this
# process, grown by writing the CSVs, would report this process's peak.  This small
# launcher (python -I -S: about 8 MB) is the measured command's parent instead.
LAUNCHER = """import os, sys, time
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as f:
    f.write(f"{seconds!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run(cmd, env=None, cwd=ROOT):
    """Run cmd to its end: {seconds (wall), peak_mb (ru_maxrss / 1024), status, stdout, stderr}."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as measured:
        launcher = subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, measured.name, *cmd], cwd=cwd,
                                  env=env or command_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                  check=False)
        out.seek(0)
        err.seek(0)
        result = {"stdout": out.read().decode(errors="replace"), "stderr": err.read().decode(errors="replace")}
        numbers = measured.read().split()
    if launcher.returncode != 0 or len(numbers) != 3:
        return {**result, "seconds": None, "peak_mb": None, "status": launcher.returncode or -1}
    return {**result, "seconds": float(numbers[0]), "peak_mb": int(numbers[1]) / 1024, "status": int(numbers[2])}


def failure(result):
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    return f"status {result['status']}: {lines[-1] if lines else '(no stderr)'}"


def parse_fitbp(stdout):
    summary = json.loads(stdout)
    return {"mse": summary["mse"], "fit_seconds": summary.get("seconds"), "n_points": summary.get("n_points"),
            "degree": summary.get("degree")}


def parse_robust(stdout):
    summary = json.loads(stdout)
    return {"loss": summary["loss"], "optimizer": summary["optimizer"], "passes": summary["epochs"],
            "converged": summary["converged"], "loss_value": summary["loss_value"],
            "fit_seconds": summary.get("seconds")}


def parse_mse(stdout):
    return {"mse": float(stdout.split()[-1])}


def ignore_output(stdout):
    return {}


class Command:
    """One measured command: its argv, its extra environment, how to read its output, its runs."""

    def __init__(self, label, argv, parse, extra_env=None):
        self.label, self.argv, self.parse, self.env = label, argv, parse, command_env(extra_env)
        self.runs, self.parsed, self.error = [], {}, None

    def once(self, keep=True):
        if self.error:
            return
        result = run(self.argv, self.env)
        if result["status"] != 0:
            self.error = failure(result)
            log(f"  {self.label} failed: {self.error}")
            return
        try:
            self.parsed = self.parse(result["stdout"])
        except (ValueError, KeyError, IndexError) as e:
            self.error = f"could not read its output ({e}): {result['stdout'][:200]!r}"
            return
        if keep:
            self.runs.append(result)

    def summary(self):
        seconds = [r["seconds"] for r in self.runs]
        return {"label": self.label, "command": shlex.join(self.argv), "error": self.error,
                "median_s": statistics.median(seconds) if seconds else None,
                "runs_s": seconds,
                "peak_mb": max((r["peak_mb"] for r in self.runs), default=None), **self.parsed}


def alternate(commands, repeat, warm=True):
    """One untimed warm-up of each (unless done already), then `repeat` rounds, the order rotating."""
    for c in commands if warm else ():
        c.once(keep=False)
    for i in range(repeat):
        k = i % len(commands)
        for c in commands[k:] + commands[:k]:
            c.once()


# ---------------------------------------------------------------- end to end

def fitbp_argv(python, path, degree=DEGREE):
    return [python, "-m", "fitbp", "fit", str(path), "--degree", str(degree), "--no-save", "--json"]


def e2e_commands(python, path):
    commands = [Command("fitbp", fitbp_argv(python, path), parse_fitbp),
                Command("fitbp (numpy parser)", fitbp_argv(python, path), parse_fitbp,
                        {"FITBP_CSV_PARSER": "numpy"})]
    missing = {}
    for label, (module, body) in ALTERNATIVES.items():
        if importlib.util.find_spec(module) is None:
            missing[label] = f"{module} is not installed in {sys.prefix}"
            continue
        commands.append(Command(label, [python, "-c", body + FIT_AND_PRINT, str(path), str(DEGREE)], parse_mse))
    return commands, missing


def gnuplot_once(path, tmp):
    script = Path(tmp) / "fit.gp"
    script.write_text(GNUPLOT_SCRIPT)
    command = Command("gnuplot fit (LM, 1 run)", ["gnuplot", "-c", str(script), str(path)], parse_mse)
    command.once()
    return command.summary()


def end_to_end(n, repeat, use_gnuplot, tmp):
    path = dataset(n)
    python = sys.executable
    commands, missing = e2e_commands(python, path)
    log(f"end to end at n={n}: {len(commands)} commands, warm-up + {repeat} rounds")
    alternate(commands, repeat)
    rows = [c.summary() for c in commands]
    rows += [{"label": label, "error": why} for label, why in missing.items()]
    if use_gnuplot:
        if shutil.which("gnuplot"):
            log(f"gnuplot fit at n={n} (one run)")
            rows.append(gnuplot_once(path, tmp))
        else:
            rows.append({"label": "gnuplot fit (LM, 1 run)", "error": "gnuplot is not on PATH"})
    return {"n": n, "path": str(path), "rows": rows, **e2e_ratios(rows)}


def e2e_ratios(rows):
    by_label = {r["label"]: r for r in rows if not r.get("error")}
    others = [r for r in by_label.values() if not r["label"].startswith("fitbp")]
    fastest = min(others, key=lambda r: r["median_s"], default=None)
    reference = by_label.get(REFERENCE)
    out = {"fastest_alternative": fastest["label"] if fastest else None}
    for label, key in (("fitbp", "ratio_fitbp"), ("fitbp (numpy parser)", "ratio_fitbp_numpy_parser")):
        mine = by_label.get(label)
        out[key] = mine["median_s"] / fastest["median_s"] if mine and fastest else None
    for r in rows:
        if reference and not r.get("error") and "mse" in r:
            r["mse_gap"] = (r["mse"] - reference["mse"]) / reference["mse"]
    return out


def auto_vs_fixed(n, repeat):
    """`fitbp fit` choosing its degree against `fitbp fit --degree D` with the D it chose."""
    path = dataset(n)
    auto = Command("fitbp (--degree auto)", fitbp_argv(sys.executable, path, "auto"), parse_fitbp)
    auto.once(keep=False)  # the warm-up, which also tells the degree it chooses
    if auto.error:
        return {"n": n, "error": auto.error}
    chosen = auto.parsed["degree"]
    fixed = Command(f"fitbp --degree {chosen}", fitbp_argv(sys.executable, path, chosen), parse_fitbp)
    fixed.once(keep=False)
    log(f"--degree auto against --degree {chosen} at n={n}: {repeat} rounds")
    alternate([auto, fixed], repeat, warm=False)
    rows = [auto.summary(), fixed.summary()]
    ratio = rows[0]["median_s"] / rows[1]["median_s"] if not (auto.error or fixed.error) else None
    return {"n": n, "degree": chosen, "rows": rows, "ratio": ratio}


def robust_vs_least_squares(n, repeat):
    """`fitbp fit DATA --loss huber` and `--loss mae` against `fitbp fit DATA` (mse) on the same file."""
    path = outliers_dataset(n)
    commands = [Command(f"fitbp --loss {loss}", fitbp_argv(sys.executable, path, ROBUST_DEGREE) + ["--loss", loss],
                        parse_robust) for loss in ("mse", "huber", "mae")]
    log(f"robust losses against least squares at n={n}: warm-up + {repeat} rounds")
    alternate(commands, repeat)
    rows = [c.summary() for c in commands]
    least = rows[0]["median_s"] if not commands[0].error else None
    ratios = {r["loss"]: r["median_s"] / least for r in rows[1:] if least and not r.get("error")}
    return {"n": n, "path": str(path), "rows": rows, "ratios": ratios}


def dates_vs_numbers(n, repeat):
    """`fitbp fit DATES --degree 3` against `fitbp fit NUMBERS --degree 3`, the same points with x as
    ISO date-times or as days, with pyarrow's parser and with numpy's (FITBP_CSV_PARSER=numpy)."""
    dated, numbered = dates_datasets(n)
    kinds = [(parser, x, env, path) for parser, env in (("pyarrow", None), ("numpy", {"FITBP_CSV_PARSER": "numpy"}))
             for x, path in (("dates", dated), ("numbers", numbered))]
    commands = [Command(f"fitbp fit {path.name} ({parser} parser)", fitbp_argv(sys.executable, path, DATES_DEGREE),
                        parse_fitbp, env) for parser, _, env, path in kinds]
    log(f"dates against numbers at n={n}: warm-up + {repeat} rounds")
    alternate(commands, repeat)
    rows = [{**c.summary(), "parser": parser, "x": x} for c, (parser, x, _, _) in zip(commands, kinds)]
    ratios = {}
    for mine, numbers in (rows[:2], rows[2:]):
        if not (mine["error"] or numbers["error"]):
            ratios[mine["parser"]] = mine["median_s"] / numbers["median_s"]
    same = all(r.get("mse") == rows[1].get("mse") for r in rows)  # x are the same numbers either way
    return {"n": n, "paths": [str(dated), str(numbered)], "rows": rows, "ratios": ratios, "same_mse": same}


def degree_ten_peak(n):
    log(f"fitbp --degree 10 at n={n} (one run, for its peak memory)")
    command = Command("fitbp --degree 10", fitbp_argv(sys.executable, dataset(n), 10), parse_fitbp)
    command.once()
    return {"n": n, **command.summary()}


# ---------------------------------------------------------------- engine and start

def engine():
    log("engine pass (bench/engine.py)")
    result = run([sys.executable, str(BENCH / "engine.py"), "--json"])
    if result["status"] != 0:
        return {"error": failure(result)}
    return json.loads(result["stdout"])


def start_commands(python, model):
    console = str(Path(python).parent / "fitbp")
    pairs = [("python -m fitbp --help", [python, "-m", "fitbp", "--help"], "import typer, rich"),
             ("fitbp --help (console script)", [console, "--help"], "import typer, rich"),
             ("python -m fitbp predict 1.5", [python, "-m", "fitbp", "predict", "1.5", "-m", model],
              "import numpy, typer, rich"),
             ("fitbp predict 1.5 (console script)", [console, "predict", "1.5", "-m", model],
              "import numpy, typer, rich")]
    if not Path(console).exists():
        pairs = [p for p in pairs if "console" not in p[0]]
    baselines = {b: Command(f'python -c "{b}"', [python, "-c", b], ignore_output) for b in {p[2] for p in pairs}}
    commands = [Command(label, argv, ignore_output) for label, argv, _ in pairs]
    return commands, baselines, {label: f'python -c "{b}"' for label, _, b in pairs}


def start(tmp):
    python = sys.executable
    model = str(Path(tmp) / "model.json")
    made = run([python, "-m", "fitbp", "fit", "sample_data/sine.csv", "--degree", "5", "--save", model, "-q"])
    if made["status"] != 0:
        return {"error": f"could not make the model: {failure(made)}"}
    commands, baselines, against = start_commands(python, model)
    log(f"start: {len(commands) + len(baselines)} commands, warm-up + {START_REPEAT} rounds")
    alternate(commands + list(baselines.values()), START_REPEAT)
    medians = {c.label: c.summary() for c in commands + list(baselines.values())}
    rows = []
    for c in commands:
        mine, base = medians[c.label], medians[against[c.label]]
        ratio = mine["median_s"] / base["median_s"] if mine["median_s"] and base["median_s"] else None
        rows.append({**mine, "baseline": base["label"], "baseline_median_s": base["median_s"],
                     "baseline_peak_mb": base["peak_mb"], "ratio": ratio})
    return {"repeat": START_REPEAT, "rows": rows}


# ---------------------------------------------------------------- machine

def first_match(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def version_of(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def gnuplot_version():
    if not shutil.which("gnuplot"):
        return None
    proc = subprocess.run(["gnuplot", "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or proc.stderr.strip()


def git_state():
    def git(*args):
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else "unknown"
    changed = git("status", "--porcelain", "--", "fitbp")
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "fitbp_changed_files": changed.splitlines() if changed not in ("", "unknown") else []}


def machine():
    mem_kb = first_match("/proc/meminfo", "MemTotal").split()[0]
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": first_match("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(mem_kb) / 2**20, 1) if mem_kb.isdigit() else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "packages": {p: version_of(p) for p in ("fitbp", "numpy", "pandas", "pyarrow", "polars", "torch",
                                                "typer", "rich")},
        "gnuplot": gnuplot_version(),
        "environment": {v: os.environ.get(v) for v in MACHINE_VARIABLES},
        "loadavg_start": os.getloadavg(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "git": git_state(),
    }


# ---------------------------------------------------------------- targets and report

def fmt(value, spec=".3f", none="—"):
    return none if value is None else format(value, spec)


def size_name(n):
    """1e6 for 1000000; other counts as they are."""
    text = f"{n:.0e}".replace("e+0", "e").replace("e+", "e")
    return text if int(float(text)) == n else str(n)


def met(value, limit):
    if value is None:
        return "not measured"
    return "yes" if value <= limit else "**no**"


def e2e_at(results, n):
    return next((r for r in results["e2e"] if r["n"] == n), None)


def row_of(size_result, label):
    return next((r for r in size_result["rows"] if r["label"] == label), {}) if size_result else {}


def targets(results):
    """(target, measured text, value, limit) for the table at the top."""
    rows = []
    for s in results.get("auto") or []:
        rows.append((f"--degree auto at {size_name(s['n'])}: auto / --degree {s.get('degree', '?')} ≤ "
                     f"{TARGETS['auto']}", fmt(s.get("ratio"), ".2f"), s.get("ratio"), TARGETS["auto"]))
    if "e2e" in results:
        rows += e2e_targets(results)
    if "engine" in results:
        rows += engine_targets(results.get("engine") or {})
    for s in results.get("robust") or []:
        for loss in ("huber", "mae"):
            ratio = s["ratios"].get(loss)
            rows.append((f"--loss {loss} at {size_name(s['n'])}: / least squares of the same file ≤ "
                         f"{TARGETS['robust']}", fmt(ratio, ".2f"), ratio, TARGETS["robust"]))
    for s in results.get("dates") or []:
        for parser in ("pyarrow", "numpy"):
            ratio = s["ratios"].get(parser)
            rows.append((f"dates at {size_name(s['n'])} ({parser} parser): / the same points as numbers ≤ "
                         f"{TARGETS['dates']}", fmt(ratio, ".2f"), ratio, TARGETS["dates"]))
    for r in (results.get("start") or {}).get("rows", []):
        rows.append((f"start: {r['label']} / {r['baseline']} ≤ {TARGETS['start']}", fmt(r["ratio"], ".2f"),
                     r["ratio"], TARGETS["start"]))
    return rows


def e2e_targets(results):
    rows = []
    for n, key in ((1_000_000, "e2e_1e6"), (10_000_000, "e2e_1e7")):
        ratio = (e2e_at(results, n) or {}).get("ratio_fitbp")
        rows.append((f"end to end at {size_name(n)}: fitbp / fastest alternative ≤ {TARGETS[key]}",
                     fmt(ratio, ".2f"), ratio, TARGETS[key]))
    gaps = [r.get("mse_gap") for s in results["e2e"] for r in s["rows"] if r["label"].startswith("fitbp")]
    gaps = [g for g in gaps if g is not None]
    worst = max(gaps, default=None)
    rows.append((f"MSE gap of fitbp vs numpy.polyfit (relative, worst) ≤ {TARGETS['mse_gap']:.0e}",
                 fmt(worst, ".2e"), worst, TARGETS["mse_gap"]))
    peak5 = row_of(e2e_at(results, 10_000_000), "fitbp").get("peak_mb")
    rows.append((f"fitbp peak memory at 1e7, degree 5 ≤ {TARGETS['peak_mb']:.0f} MB", fmt(peak5, ".0f"),
                 peak5, TARGETS["peak_mb"]))
    ten = results.get("degree10") or {}
    peak10 = ten.get("peak_mb") if ten.get("n") == 10_000_000 else None
    rows.append((f"fitbp peak memory at 1e7, degree 10 ≤ {TARGETS['peak_mb']:.0f} MB", fmt(peak10, ".0f"),
                 peak10, TARGETS["peak_mb"]))
    return rows


def engine_ratio(engine_results, n, other):
    for r in engine_results.get("results", []):
        us = r["median_us"]
        if r["n"] == n and other in us:
            return us["fitbp"] / us[other]
    return None


def engine_targets(engine_results):
    vs_numpy = engine_ratio(engine_results, 1_000_000, "numpy")
    vs_torch = engine_ratio(engine_results, 1_000, "torch")
    return [(f"engine pass at 1e6: fitbp / numpy ≤ {TARGETS['engine_vs_numpy']}", fmt(vs_numpy, ".2f"),
             vs_numpy, TARGETS["engine_vs_numpy"]),
            (f"engine pass at 1e3: fitbp / torch ≤ {TARGETS['engine_vs_torch']}", fmt(vs_torch, ".2f"),
             vs_torch, TARGETS["engine_vs_torch"])]


def report(results):
    out = ["# fitbp performance benchmark", "",
           (f"`{results['command']}` — {results['date']}; the measurements took "
           f"{results['duration_s'] / 60:.1f} min."), ""]
    out += machine_section(results["machine"], results["setup"])
    out += ["## Targets", "", "| target | measured | met? |", "|---|---:|---|"]
    out += [f"| {name} | {text} | {met(value, limit)} |" for name, text, value, limit in targets(results)]
    out += [""] + auto_section(results.get("auto")) + robust_section(results.get("robust"))
    out += dates_section(results.get("dates"))
    if "e2e" in results:
        out += e2e_section(results)
    if "engine" in results:
        out += engine_section(results.get("engine"))
    if "start" in results:
        out += start_section(results["start"])
    return "\n".join(out) + "\n"


def auto_section(sizes):
    if not sizes:
        return []
    out = ["## --degree auto (whole processes)", "",
           "Median wall-clock seconds, the two commands alternating after one untimed warm-up each; "
           "the fixed degree is the one auto chose.", "",
           "| n | command | median s | peak MB | MSE | runs s |", "|---:|---|---:|---:|---:|---|"]
    for s in sizes:
        if s.get("error"):
            out.append(f"| {s['n']:,} | failed: {s['error']} | | | | |")
            continue
        for r in s["rows"]:
            runs = " ".join(f"{x:.2f}" for x in r["runs_s"])
            out.append(f"| {s['n']:,} | {r['label']} | {r['median_s']:.3f} | {r['peak_mb']:.0f} | {r['mse']:.12g} "
                       f"| {runs} |")
    return out + [""]


def robust_section(sizes):
    if not sizes:
        return []
    out = [f"## Robust losses against least squares (degree {ROBUST_DEGREE}, whole processes)", "",
           "A cubic with 5 % gross outliers; median wall-clock seconds, the three commands alternating after one "
           "untimed warm-up each; passes = the fit's epochs (passes over the points).", "",
           "| n | command | median s | / mse | passes | converged | fit s | loss | runs s |",
           "|---:|---|---:|---:|---:|---|---:|---:|---|"]
    for s in sizes:
        for r in s["rows"]:
            if r.get("error"):
                out.append(f"| {s['n']:,} | {r['label']}: failed: {r['error']} | | | | | | | |")
                continue
            runs = " ".join(f"{x:.2f}" for x in r["runs_s"])
            out.append(f"| {s['n']:,} | {r['label']} ({r['optimizer']}) | {r['median_s']:.3f} | "
                       f"{fmt(s['ratios'].get(r['loss']), '.2f')} | {r['passes']} | "
                       f"{'yes' if r['converged'] else '**no**'} | {fmt(r['fit_seconds'], '.3f')} | "
                       f"{r['loss_value']:.10g} | {runs} |")
    return out + [""]


def dates_section(sizes):
    if not sizes:
        return []
    out = [f"## Dates against numbers (degree {DATES_DEGREE}, whole processes)", "",
           f"The same points, x as ISO 8601 date-times {DATES_STEP} s apart or as the days they are; median "
           "wall-clock seconds, the four commands alternating after one untimed warm-up each; / numbers = "
           "the dates' median over the numbers' with the same parser.", "",
           "| n | command | median s | / numbers | peak MB | MSE | runs s |", "|---:|---|---:|---:|---:|---:|---|"]
    for s in sizes:
        for r in s["rows"]:
            if r.get("error"):
                out.append(f"| {s['n']:,} | {r['label']}: failed: {r['error']} | | | | | |")
                continue
            ratio = fmt(s["ratios"].get(r["parser"]), ".2f") if r["x"] == "dates" else ""
            runs = " ".join(f"{x:.2f}" for x in r["runs_s"])
            out.append(f"| {s['n']:,} | {r['label']} | {r['median_s']:.3f} | {ratio} | {r['peak_mb']:.0f} | "
                       f"{r['mse']:.12g} | {runs} |")
        out += ["", f"The four fits {'reach the same' if s['same_mse'] else '**do not reach the same**'} MSE.", ""]
    return out


def machine_section(m, setup):
    pk = ", ".join(f"{k} {v or 'not installed'}" for k, v in m["packages"].items())
    env = ", ".join(f"{k}={v}" for k, v in m["environment"].items() if v is not None) or "none set"
    out = ["## Machine", "",
           (f"- {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, {m['platform']}; "
           f"load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_start'])}"),
           f"- Python {m['python']} ({m['python_executable']}); {pk}",
           f"- gnuplot: {m['gnuplot'] or 'not on PATH'}",
           f"- fitbp at commit {m['git']['commit']}"
           + (f", with uncommitted changes in {', '.join(m['git']['fitbp_changed_files'])}"
              if m["git"]["fitbp_changed_files"] else ""),
           (f"- environment (left as it is for every command): {env}. Every command runs with bytecode "
           "caching on (PYTHONDONTWRITEBYTECODE dropped, PYTHONPYCACHEPREFIX=bench/.venv/pycache)."),
           ("- BLAS threads: the alternatives run with the environment as it is (OpenBLAS's default "
           "threading); fitbp pins its BLAS to one thread itself (OPENBLAS_NUM_THREADS=1 unless set); the "
           "engine pass runs everything on one thread.")]
    if setup["seconds"] is None:
        out.append("- setup skipped (--no-setup)")
    else:
        out.append(f"- setup of bench/.venv (pip) took {setup['seconds']:.0f} s"
                   + ("" if setup["failed"] else "; every package installed"))
    out += [f"- **could not install {spec}**: {why}" for spec, why in setup["failed"].items()]
    return out + [""]


def e2e_section(results):
    out = [f"## End to end (degree {DEGREE}, whole processes)", "",
           (f"Median wall-clock seconds of {results['repeat']} runs after one untimed warm-up, the commands "
           "alternating in each round; peak = the largest ru_maxrss of those runs (MB = 2^20 bytes); "
           "MSE gap = (MSE − MSE of numpy.loadtxt + polyfit) / that. gnuplot runs once per size."), ""]
    for s in results["e2e"]:
        out += [f"### {s['n']:,} points ({Path(s['path']).name}, {Path(s['path']).stat().st_size / 1e6:.3g} MB)",
                "", "| command | median s | peak MB | MSE | MSE gap | runs s |", "|---|---:|---:|---:|---:|---|"]
        for r in s["rows"]:
            if r.get("error"):
                out.append(f"| {r['label']} | failed: {r['error']} | | | | |")
                continue
            runs = " ".join(f"{x:.2f}" for x in r["runs_s"])
            out.append(f"| {r['label']} | {r['median_s']:.3f} | {r['peak_mb']:.0f} | {r['mse']:.12g} | "
                       f"{fmt(r.get('mse_gap'), '.1e')} | {runs} |")
        fit_s = row_of(s, "fitbp").get("fit_seconds")
        out += ["", (f"fitbp / fastest alternative ({s['fastest_alternative']}): {fmt(s['ratio_fitbp'], '.2f')}; "
                f"fitbp (numpy parser) / fastest: {fmt(s['ratio_fitbp_numpy_parser'], '.2f')}; "
                f"fitbp's own training `seconds`: {fmt(fit_s, '.3f')}."), ""]
    ten = results.get("degree10")
    if ten:
        text = f"failed: {ten['error']}" if ten.get("error") else \
            f"{ten['peak_mb']:.0f} MB peak, {ten['median_s']:.2f} s (one run)"
        out += [f"fitbp `--degree 10` at {ten['n']:,} points: {text}.", ""]
    return out


def engine_section(e):
    out = ["## Engine: one forward+backward pass (degree 5, float64, one thread)", ""]
    if not e or e.get("error"):
        return out + [f"failed: {(e or {}).get('error', 'not run')}", ""]
    v = e["versions"]
    out += [(f"`python bench/engine.py`: median µs per pass; numpy {v['numpy']}, torch {v['torch'] or 'not installed'}"
            f", OPENBLAS_NUM_THREADS={v['blas_threads']}, torch threads {v['torch_threads']}."), "",
            "| n | repeats | fitbp µs | numpy µs | torch µs | fitbp/numpy | fitbp/torch | gradients agree (1e-10) |",
            "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in e["results"]:
        us, diff = r["median_us"], r["gradient_rel_diff_vs_numpy"]
        agree = "yes" if all(d <= 1e-10 for d in diff.values()) else f"**no**: {diff}"
        torch_us = us.get("torch")
        out.append(f"| {r['n']:,} | {r['repeats']} | {us['fitbp']:.1f} | {us['numpy']:.1f} | {fmt(torch_us, '.1f')} | "
                   f"{us['fitbp'] / us['numpy']:.2f} | {fmt(torch_us and us['fitbp'] / torch_us, '.2f')} | {agree} |")
    return out + [""]


def start_section(s):
    out = ["## Start (whole processes)", ""]
    if s.get("error"):
        return out + [f"failed: {s['error']}", ""]
    out += [f"Median of {s['repeat']} runs each after one warm-up, alternating.", "",
            "| command | median ms | peak MB | baseline | baseline ms | ratio |", "|---|---:|---:|---|---:|---:|"]
    for r in s["rows"]:
        if r.get("error"):
            out.append(f"| {r['label']} | failed: {r['error']} | | | | |")
            continue
        out.append(f"| {r['label']} | {r['median_s'] * 1e3:.0f} | {r['peak_mb']:.0f} | `{r['baseline']}` | "
                   f"{fmt(r['baseline_median_s'] and r['baseline_median_s'] * 1e3, '.0f')} | "
                   f"{fmt(r['ratio'], '.2f')} |")
    return out + [""]


# ---------------------------------------------------------------- main

def parse_sizes(text):
    try:
        sizes = [int(float(s)) for s in text.split(",") if s.strip()]
    except (ValueError, OverflowError):
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--sizes must be a comma-separated list of positive numbers, not {text!r}")
    return sizes


def arguments(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e6,1e7", help="comma-separated point counts [1e6,1e7]")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each end-to-end command [5]")
    ap.add_argument("--no-gnuplot", action="store_true", help="skip gnuplot's fit (4-5 min at 1e7)")
    ap.add_argument("--no-setup", action="store_true", help="skip creating bench/.venv and pip")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"what to measure [{','.join(PARTS)}]")
    args = ap.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not args.parts or set(args.parts) - set(PARTS):
        ap.error(f"--parts takes some of {', '.join(PARTS)}")
    try:
        args.sizes = parse_sizes(args.sizes)
    except ValueError as e:
        ap.error(str(e))
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    return args


def measure(args, argv, setup_notes):
    started = time.perf_counter()
    results = {"command": shlex.join(["python", "bench/run.py", *argv]), "repeat": args.repeat,
               "machine": machine(), "setup": setup_notes}
    with tempfile.TemporaryDirectory() as tmp:
        if "e2e" in args.parts:
            results["e2e"] = [end_to_end(n, args.repeat, not args.no_gnuplot, tmp) for n in args.sizes]
            results["degree10"] = degree_ten_peak(max(args.sizes))
        if "engine" in args.parts:
            results["engine"] = engine()
        if "start" in args.parts:
            results["start"] = start(tmp)
        if "auto" in args.parts:
            results["auto"] = [auto_vs_fixed(n, args.repeat) for n in args.sizes]
        if "robust" in args.parts:
            results["robust"] = [robust_vs_least_squares(n, args.repeat) for n in args.sizes if n <= ROBUST_MOST]
        if "dates" in args.parts:
            results["dates"] = [dates_vs_numbers(n, args.repeat) for n in args.sizes if n <= DATES_MOST]
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["duration_s"] = time.perf_counter() - started
    results["date"] = results["machine"]["date"]
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = arguments(argv)
    if not in_venv():
        notes = {"failed": {}, "seconds": None}
        if not args.no_setup:
            notes = setup()
        if VENV_PYTHON.exists():
            reexec_in_venv(argv, notes)
        log(f"no {VENV_PYTHON}: measuring with {sys.executable} (run once without --no-setup)")
    notes = json.loads(os.environ.pop(SETUP_NOTES, '{"failed": {}, "seconds": null}'))
    results = measure(args, argv, notes)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = report(results)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(text, end="")


if __name__ == "__main__":
    main()
