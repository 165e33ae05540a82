"""The one exception type fitbp raises for anything a user can fix.

The CLI turns it into a single ``error:`` line and exit status 1; a library
caller can catch it (or any ValueError) and show the message as it is.
"""

import re


_OPTION = re.compile("\x1e([^\x1f\x1d]*)\x1f([^\x1f\x1d]*)\x1f([^\x1d]*)\x1d")
_UNSET = object()


def option(name, value=_UNSET, shown=None):
    """An option a message names, marked so that the reader's words say it (FitbpError.said): name=value
    (the value's repr) to a Python caller, --name value on the command line (``shown``, where the command
    line writes the value otherwise; a True flag has no value there).  Without a value: name= and --name."""
    python = "" if value is _UNSET else repr(value)
    line = "" if value is _UNSET or value is True else (str(value) if shown is None else shown)
    return f"\x1e{name}\x1f{python}\x1f{line}\x1d"


def value(given):
    """A value a message quotes, said as the reader writes it: its repr to Python ('huber'), bare on the
    command line (huber)."""
    return option("", given)


def flag(name):
    """The command line's name of a library keyword: absolute_sigma is --absolute-sigma."""
    return "--" + name.replace("_", "-")


def on_command_line(text):
    """``text`` with each option() in it said as the command line's flag: what the JSON, the model file and
    stderr carry (a Python caller's Fit says them as keywords, fitbp.library.Fit.warnings)."""
    return said(text, flag)


def said(text, flag=None):
    """``text`` with each option() in it said as a Python keyword, or with ``flag(name)`` as the command line's."""
    def word(match):
        name, python, line = match.groups()
        if not name:  # a value()
            return python if flag is None else line
        if flag is None:
            return f"{name}={python}"
        return flag(name) + (f" {line}" if line else "")

    return _OPTION.sub(word, text)


class FitbpError(ValueError):
    """A problem with the user's data, files or settings, worded for them: for a Python caller, options
    named as keywords (str()); for the command line, as its flags (``said(flag)``).  A ValueError, as
    numpy's, pandas' and scipy's complaints about their input are, so ``except ValueError`` catches it."""

    def __str__(self):
        return self.said()

    def said(self, flag=None):
        return said(super().__str__(), flag)


class DegreeTooHigh(FitbpError):
    """A degree whose Taylor coefficients float64 cannot carry over the data; ``carried`` is the
    highest degree that it can, so that a search over degrees can stop there."""

    def __init__(self, message, carried):
        super().__init__(message)
        self.carried = carried


def at(source, line, message):
    """Word a message the way compilers do, so editors can jump to the place."""
    place = f"{printable(source)}:{line}" if line is not None else printable(source)
    return FitbpError(f"{place}: {message}")


def printable(text):
    """``text`` with control characters escaped, so a strange file name cannot break a line
    or send escape codes to a terminal."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Terminated(BaseException):
    """SIGTERM, raised wherever the program is, so that files being written are cleaned up."""
