"""fitbp: fit a Taylor polynomial to points with hand-written backpropagation.

    import fitbp
    fit = fitbp.fit(x, y)                      # the degree chosen by BIC, as the command line chooses
    fit = fitbp.fit("points.csv", degree=5)    # files read as the command line reads them
    fit.coef, fit.stderr, fit.conf_int()       # raw coefficients, their errors and intervals
    fit.predict(x_new, interval="prediction")  # (y, lower, upper)
    fitbp.load(fit.save("model.json"))         # the model file the command line writes and reads

The package's folders are its layers, and imports point down only
(tests/test_layout.py checks it): ``cli`` on top; ``library`` (fitbp.fit and
its Fit, for Python); ``views`` (tables, JSON, pictures, film, graph view,
code); ``selection`` (the degree); ``fitting`` (the Taylor model, trainer,
statistics, model file); ``engines`` that build the data's triangle
(``moments``, in this process); ``sources`` that read points; ``backprop``,
the computing graph and its optimisers, which knows no polynomial and no file.

Nothing heavy is imported with the package itself, so ``fitbp --help``
starts without numpy.
"""

__version__ = "0.1.0"
__all__ = ["Fit", "FitbpError", "Prediction", "compare", "fit", "fit_auto", "fit_points", "load", "load_points",
           "select", "__version__"]
LIBRARY = ("Fit", "Prediction", "Reading", "compare", "fit", "load", "select")
"""fitbp.library's names, imported on first use (numpy with them)."""


def __getattr__(name):
    if name in LIBRARY:
        from fitbp import library

        return getattr(library, name)
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
