"""The one exception type fitbp raises for anything a user can fix.

The CLI turns it into a single ``error:`` line and exit status 1; a library
caller can catch it and show the message as it is.
"""


class FitbpError(Exception):
    """A problem with the user's data, files or settings, worded for them."""


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
