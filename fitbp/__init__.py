"""fitbp: fit a Taylor polynomial to CSV points with hand-written backpropagation.

The pieces import on their own: ``fitbp.loader`` reads points,
``fitbp.graph`` is the computing graph, ``fitbp.model`` the polynomial and its
loss, ``fitbp.optimizers`` and ``fitbp.trainer`` the learning, and
``fitbp.modelfile`` the saved fit.  ``fitbp.fit_points`` runs them in order.
"""

__version__ = "0.1.0"

from fitbp.errors import FitbpError  # noqa: E402
from fitbp.trainer import fit_points  # noqa: E402

__all__ = ["FitbpError", "fit_points", "__version__"]
