"""The one exception type fitbp raises for anything a user can fix.

The CLI turns it into a single ``error:`` line and exit status 1; a library
caller can catch it and show the message as it is.
"""


class FitbpError(Exception):
    """A problem with the user's data, files or settings, worded for them."""


def at(source, line, message):
    """Word a message the way compilers do, so editors can jump to the place."""
    place = f"{source}:{line}" if line is not None else f"{source}"
    return FitbpError(f"{place}: {message}")
