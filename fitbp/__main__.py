"""``fitbp`` and ``python -m fitbp``: signals first, then the command line.

The handlers go in before typer and numpy are imported, so that a Ctrl-C in
the first moments also ends with one line and status 130.  Whatever still
escapes the commands is turned into one line too: a traceback is for
developers (FITBP_DEBUG=1), not for the user of a shell pipeline.
"""

import os
import signal
import sys
import warnings

from fitbp.errors import Terminated, printable


def _terminated(signum, frame):
    raise Terminated()


class _ClosedOutput:
    """Stands for a stdout the shell closed (``>&-``): writing to it is an error, not a crash."""

    def write(self, text):
        raise OSError(9, "standard output is closed")

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        raise OSError(9, "standard output is closed")


def main():
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `fitbp ... | head` ends quietly, like other tools
    signal.signal(signal.SIGTERM, _terminated)
    # Overflow and the like are checked where they matter and reported in fitbp's
    # own words; numpy's generic warnings would only add noise.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    try:
        from fitbp.cli import app

        app()
    except SystemExit as e:
        if e.code == 130:
            sys.stderr.write("error: interrupted\n")
        raise
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except Terminated:
        sys.stderr.write("error: terminated\n")
        sys.exit(143)
    except Exception as e:
        if os.environ.get("FITBP_DEBUG"):
            raise
        sys.stderr.write(f"error: unexpected {type(e).__name__}: {printable(e)}; this is a bug in fitbp, "
                         "please report it (FITBP_DEBUG=1 shows the traceback)\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
