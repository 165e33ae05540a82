"""Running fitbp as a separate process, the way users and shells do."""

import os
import pty
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SINE = ROOT / "sample_data" / "sine.csv"
FITBP = [sys.executable, "-m", "fitbp"]
ESCAPE = "\x1b["


def environment(extra=None):
    """The test's environment without colour settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM", "MPLBACKEND")}
    env.update(extra or {})
    return env


def run(*args, cwd, stdin=None, env=None):
    done = subprocess.run([*FITBP, *map(str, args)], cwd=cwd, input=stdin, capture_output=True, text=True,
                          env=environment(env), timeout=120)
    assert "bug in fitbp" not in done.stderr, done.stderr  # the last-resort line means an unhandled case
    return done


def shell(pipeline, cwd):
    """Run a shell pipeline in which ``fitbp`` is this checkout's fitbp."""
    command = f"fitbp() {{ {' '.join(FITBP)} \"$@\"; }}\n{pipeline}"
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          env=environment(), timeout=120)


def run_in_terminal(args, cwd, env=None, stderr_too=False):
    """Run fitbp with stdout (and stderr) on a pseudo-terminal, as at an interactive shell.

    Returns what the terminal showed and, when stderr is not on it, stderr.
    """
    main, child = pty.openpty()
    process = subprocess.Popen([*FITBP, *map(str, args)], cwd=cwd, stdout=child,
                               stderr=child if stderr_too else subprocess.PIPE,
                               env=environment({"TERM": "xterm-256color", "COLUMNS": "120", **(env or {})}))
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(main)
    errors = "" if stderr_too else process.stderr.read().decode()
    return b"".join(chunks).decode(), errors
