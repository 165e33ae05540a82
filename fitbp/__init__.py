"""fitbp: fit a Taylor polynomial to CSV points with hand-written backpropagation.

The package's folders are its layers, and imports point down only
(tests/test_layout.py checks it): ``cli`` on top; ``views`` (tables, JSON,
pictures, film, graph view, code); ``selection`` (the degree); ``fitting``
(the Taylor model, trainer, statistics, model file); ``engines`` that build
the data's triangle (``moments``, in this process); ``sources`` that
read points; ``backprop``, the computing graph and its optimisers, which
knows no polynomial and no file.

    from fitbp import load_points, fit_points, fit_auto
    result = fit_points(load_points("points.csv"), degree=5)
    chosen = fit_auto(load_points("points.csv"))  # the degree chosen by BIC

Nothing heavy is imported with the package itself, so ``fitbp --help``
starts without numpy.
"""

__version__ = "0.1.0"
__all__ = ["FitbpError", "fit_auto", "fit_points", "load_points", "__version__"]


def __getattr__(name):
    if name == "fit_points":
        from fitbp.fitting.trainer import fit_points

        return fit_points
    if name == "fit_auto":
        from fitbp.selection import fit_auto

        return fit_auto
    if name == "load_points":
        from fitbp.sources.files import load_points

        return load_points
    if name == "FitbpError":
        from fitbp.errors import FitbpError

        return FitbpError
    raise AttributeError(f"module 'fitbp' has no attribute {name!r}")
