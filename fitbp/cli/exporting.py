"""export: a saved model as code or a formula."""

import sys
from typing import Optional

import typer

from fitbp.cli import options
from fitbp.cli.console import reported, wrote
from fitbp.cli.options import MODEL, Language


def export(
    to: Language = typer.Option(..., "--to", help="c, python, javascript, rust, excel, latex or numpy."),
    model: str = MODEL,
    output: Optional[str] = options.output(None, "Write to this file instead of stdout."),
    name: str = typer.Option("fitbp", "--name", metavar="NAME", help="Name of the function (or variable, for numpy)."),
    cell: str = typer.Option("A2", "--cell", metavar="CELL", help="The cell that holds x, for --to excel."),
):
    """Write the fitted polynomial as code or a formula, every constant to the last digit.

    Code evaluates the Taylor form by Horner's rule exactly as 'fitbp predict' does; a spreadsheet
    formula and LaTeX use the raw powers of x where they lose few digits, the Taylor form otherwise.

    Examples:

      fitbp export --to c -o sensor.h --name temperature

      fitbp export --to excel --cell B2
    """
    from fitbp.views import exporter
    from fitbp.fitting import modelfile

    with reported():
        text = exporter.export(modelfile.load(model), to.value, name=name, cell=cell)
        if output:
            modelfile.write_atomic(output, text)
            wrote(output)
        else:
            sys.stdout.write(text)
