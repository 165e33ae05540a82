"""The command line: parse options, call the library, turn its errors into one line.

Nothing here computes anything.  Results go to stdout, diagnostics to stderr; a FitbpError becomes
``error: ...`` and exit status 1, while usage errors keep click's status 2 (fitbp.cli.console).
This module makes the typer app and registers the commands, which live by what they do: fitting
(fit, update, select, compare), predicting (predict), drawing (plot), exporting (export), learning (sample, graph,
gradcheck).  The options several of them share are declared once, in fitbp.cli.options.  No module
of the package imports numpy at its top, so that ``fitbp --help`` starts without it.  The modules whose
functions are commands keep their annotations as objects (no ``from __future__ import annotations``):
typer reads every command's annotations at start, and strings it must evaluate first (typing's
get_type_hints) cost --help 5 % of its time.
"""

from __future__ import annotations

import os
import re
import sys

# The graph's heavy work is matrix-vector products, which are memory-bound: extra BLAS
# threads gain nothing there, and on a busy machine they wait on each other (a backprop
# pass at 200,000 points took 16 ms with OpenBLAS's threads, 1.7 ms with one).  Set
# before numpy is first imported; a user's own setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import typer  # noqa: E402 (after the threads are set)
import typer.core  # noqa: E402

from fitbp.cli import coercion, drawing, exporting, fitting, learning, predicting  # noqa: E402
from fitbp.cli.options import OPTIONAL_VALUES  # noqa: E402


class _Group(typer.core.TyperGroup):
    """typer's group, reading its own options (--help, completion) by fitbp.cli.coercion."""

    def parse_args(self, ctx, args):
        coercion.install(self.get_params(ctx))
        return super().parse_args(ctx, args)


class _Command(typer.core.TyperCommand):
    """typer's command, with usage lines written as people write them: DATA and DATA..., not {DATA}."""

    def collect_usage_pieces(self, ctx):
        return [re.sub(r"^\{(.*)\}", r"\1", piece) for piece in super().collect_usage_pieces(ctx)]

    def parse_args(self, ctx, args):
        coercion.install(self.get_params(ctx))
        return super().parse_args(ctx, _optional_values(args, OPTIONAL_VALUES.get(self.name, {})))

    def format_help(self, ctx, formatter):
        """typer's help, with the arguments named as in the usage line: DATA..., not DATA <list[str]>."""
        super().format_help(ctx, formatter)
        formatter.buffer[:] = [_argument_names("".join(formatter.buffer))]


def _argument_names(help_text):
    """The Arguments section without Python's type names, each column kept where it was."""
    def bare(match):
        name, kind = match.group(2), match.group(3)
        many = "..." if kind.startswith("list[") and not name.endswith("...") else ""
        return match.group(1) + (name + many).ljust(len(match.group(0)) - len(match.group(1)))

    head, found, section = help_text.partition("\nArguments:\n")
    if not found:
        return help_text
    body, gap, rest = section.partition("\n\n")
    return head + found + re.sub(r"^(  )(\S+) <([^>\n]*)>", bare, body, flags=re.M) + gap + rest


def _optional_values(args, options):
    """``args`` with each option of ``options`` given without a value given its default one."""
    done = []
    for i, arg in enumerate(args):
        done.append(arg)
        if arg == "--":
            return done + list(args[i + 1:])
        if arg in options:
            default, values = options[arg]
            if i + 1 == len(args) or args[i + 1] not in values:
                done.append(default)
    return done


app = typer.Typer(
    cls=_Group,
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Fit a Taylor polynomial to (x, y) points from a CSV file by backpropagation.",
)


def _version(value):
    if value:
        from fitbp import __version__

        sys.stdout.write(f"fitbp {__version__}\n")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print fitbp's version and exit."),
):
    """Fit a Taylor polynomial to (x, y) points from a CSV file by backpropagation.

    Example: fitbp fit sample_data/sine.csv --degree 5
    """


COMMANDS = [fitting.fit, fitting.update, drawing.plot, predicting.predict, learning.sample, fitting.select,
            fitting.compare, exporting.export, learning.graph, learning.gradcheck]
"""In the order --help lists them."""
SETTINGS = {predicting.predict: {"ignore_unknown_options": True}}  # its x values may be -2 or -1e3
for _command in COMMANDS:
    app.command(cls=_Command, context_settings=SETTINGS.get(_command))(_command)
