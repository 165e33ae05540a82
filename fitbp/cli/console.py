"""How the commands write: CSV rows; beside the results, warnings, prompts and 'wrote' lines; and the
library's refusals, each in the command line's words.

Results go to stdout; warnings, prompts and 'wrote' lines to stderr.  A FitbpError becomes one
``error: ...`` line and status 1; options the library's rules refuse (fitbp.library.check_options)
are a usage error in the command line's words, status 2, as click's own are.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

import typer

from fitbp.errors import FitbpError, flag, on_command_line, printable


def check_options(**options):
    """fitbp.library.check_options, a broken rule a usage error that names the flags."""
    from fitbp import library

    return _as_usage(library.check_options, options)


def series_options(**options):
    """fitbp.library.series_options: the Fourier series's options, or a usage error naming the flag."""
    from fitbp import library

    return _as_usage(library.series_options, options)


def _as_usage(rule, options):
    from fitbp import library

    try:
        return rule(**options)
    except library.OptionError as e:
        raise typer.BadParameter(e.said(flag), param_hint="/".join(map(flag, e.hints))) from None


def warn_ignored(quiet, **options):
    """A warning for each option given that others make do nothing (fitbp.library.ignored_options)."""
    from fitbp import library

    for ignored in library.ignored_options(**options):
        if not quiet:
            warn(ignored.said(flag))


def warn(message):
    """One diagnostic line on stderr, coloured only where stderr is a terminal."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False)  # words wrap on a terminal; one line in a log
    console.print(f"[yellow]warning:[/yellow] {escape(on_command_line(message))}", markup=True,
                  soft_wrap=not console.is_terminal)


def wrote(path, also=""):
    """The 'wrote FILE' line on stderr, for a file a command writes beside (or instead of) its output."""
    sys.stderr.write(f"wrote {printable(path)}{also}\n")


def prompt(what):
    """Say what is awaited when standard input is a person at a terminal, not a pipe or a file."""
    if sys.stdin is not None and sys.stdin.isatty():
        sys.stderr.write(f"reading {what} from the terminal; press Ctrl-D at the start of a line to end\n")
        sys.stderr.flush()


@contextmanager
def reported():
    """Turn the library's errors and an interrupt into one line and an exit status."""
    try:
        yield
    except FitbpError as e:
        sys.stderr.write(f"error: {e.said(flag)}\n")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:  # the entry point says so, once, for every way of getting here
        raise typer.Exit(130) from None
    except MemoryError:
        sys.stderr.write("error: not enough memory for this input\n")
        raise typer.Exit(1) from None
    except OSError as e:  # writing the results: a full disk, a closed stdout
        sys.stderr.write(f"error: cannot write the output: {e.strerror or e}\n")
        raise typer.Exit(1) from None


def write_rows(columns, stream, header, first=None):
    """CSV rows of the columns (x, y, …) in the shortest form that reads back to the same float;
    ``first`` writes the first column instead (dates as ISO 8601 text)."""
    if header:
        stream.write(header + "\n")
    step = 65536
    for start in range(0, len(columns[0]), step):
        rows = zip(*(c[start:start + step].tolist() for c in columns))
        if first is None and len(columns) == 2:  # sample's millions of rows: the plain form, as fast as it goes
            stream.write("".join(f"{a!r},{b!r}\n" for a, b in rows))
        else:
            stream.write("".join(",".join([first(row[0]) if first else repr(row[0]), *map(repr, row[1:])]) + "\n"
                                 for row in rows))
