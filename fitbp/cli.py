"""The command line: parse options, call the library, turn its errors into one line.

Nothing here computes anything.  Results go to stdout, diagnostics to stderr;
a FitbpError becomes ``error: ...`` and exit status 1, while usage errors
keep click's status 2.
"""

from __future__ import annotations

import math
import signal
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from fitbp.errors import FitbpError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Fit a Taylor polynomial to (x, y) points from a CSV file by backpropagation.",
)


class Optimizer(str, Enum):
    cg = "cg"
    gd = "gd"
    momentum = "momentum"
    adam = "adam"


def _positive_finite(value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive number, not {value}")
    return value


def _non_negative_finite(value):
    if not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"must be 0 or a positive number, not {value}")
    return value


def warn(message):
    """One diagnostic line on stderr, coloured only where stderr is a terminal."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[yellow]warning:[/yellow] {message}", markup=True,
                                                soft_wrap=True)


@contextmanager
def reported():
    """Turn the library's errors and an interrupt into one line and an exit status."""
    try:
        yield
    except FitbpError as e:
        sys.stderr.write(f"error: {e}\n")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        raise typer.Exit(130) from None


@app.callback()
def main_options():
    """Fit a Taylor polynomial to (x, y) points from a CSV file by backpropagation.

    Example: fitbp fit sample_data/sine.csv --degree 5
    """


@app.command()
def fit(
    data: str = typer.Argument(..., help="CSV file (.gz too), or - for standard input."),
    degree: int = typer.Option(..., "--degree", "-d", min=0, help="Highest power of the polynomial."),
    x: Optional[str] = typer.Option(None, "--x", help="x column: header name or 1-based number [default: 1]."),
    y: Optional[str] = typer.Option(None, "--y", help="y column: header name or 1-based number [default: 2]."),
    delimiter: Optional[str] = typer.Option(None, "--delimiter", help="Force ',', ';', 'tab', '|' or 'whitespace'."),
    encoding: str = typer.Option("utf-8-sig", "--encoding", help="Text encoding of the file."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Drop rows with empty, non-numeric, NaN or inf cells."),
    optimizer: Optimizer = typer.Option(Optimizer.cg, "--optimizer", help="cg reaches the optimum in a few passes; gd, momentum and adam are the textbook methods."),
    lr: Optional[float] = typer.Option(None, "--lr", callback=_positive_finite, help="Learning rate of gd, momentum and adam [default: 0.1, 0.02, 0.01]."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Most backprop passes [default: 1000 for cg, 10000 otherwise]."),
    tol: float = typer.Option(1e-12, "--tol", callback=_non_negative_finite, help="Converged when two epochs in a row change the loss by at most this, relatively."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random initial coefficients."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
    save: Path = typer.Option(Path("fitbp.json"), "--save", help="Where to save the model."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not save the model."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors and the result."),
):
    """Fit a polynomial of --degree to the points in DATA and save the model.

    Examples:

      fitbp fit points.csv --degree 5

      fitbp sample sine | fitbp fit - --degree 5 --json | jq .r2
    """
    from fitbp import loader, modelfile, report, trainer

    with reported():
        points = loader.load_points(data, x=x, y=y, delimiter=delimiter, skip_invalid=skip_invalid,
                                    encoding=encoding)
        if points.skipped and not quiet:
            warn(f"skipped {points.skipped} rows with invalid values, the first {points.first_skip}")
        result = trainer.fit_points(points, degree, optimizer=optimizer.value, lr=lr, epochs=epochs,
                                    tol=tol, seed=seed)
        if not quiet:
            for message in result.warnings:
                warn(message)
        if not no_save:
            modelfile.save(result, save)
        if json_output:
            report.print_json(result)
        else:
            report.print_table(result)


def main():
    """Entry point of the console script and of ``python -m fitbp``."""
    if hasattr(signal, "SIGPIPE"):
        # `fitbp ... | head` should end quietly, as other Unix tools do.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
