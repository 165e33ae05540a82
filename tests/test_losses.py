"""The table of losses, row by row: a loss added to fitbp.fitting.losses is checked by being added.

Each row's graph is held to the same loss written here in numpy, its backprop gradient to central
differences, and each of its flags to what the flag promises the rest of fitbp.
"""

import numpy as np
import pytest

from fitbp.backprop import gradcheck, graph, optimizers
from fitbp.engines import moments
from fitbp.errors import FitbpError
from fitbp.fitting import model, robust
from fitbp.fitting.losses import LOSSES, named
from fitbp.fitting.trainer import Points, fit_points

REFERENCE = {
    "mse": lambda r, delta: np.mean(r ** 2),
    "mae": lambda r, delta: np.mean(np.abs(r)),
    "huber": lambda r, delta: np.mean(np.where(np.abs(r) <= delta, r ** 2 / 2, delta * (np.abs(r) - delta / 2))),
}
"""Each loss as its textbook states it, independently of the graph the table builds."""

EVERY = pytest.mark.parametrize("name", list(LOSSES))
DELTA = 0.5


@pytest.fixture
def data(rng):
    """A cubic's points with heavy-tailed noise, so that residuals fall on both sides of δ, and
    random coefficients of degree 4 at which to compare."""
    t = rng.uniform(-1, 1, 200)
    y = t ** 3 - t + rng.standard_t(2, t.size) * 0.3
    return model.design_matrix(t, 4), y, rng.normal(size=5)


def test_every_loss_has_a_reference():
    assert set(REFERENCE) == set(LOSSES), "write each loss of fitbp.fitting.losses in numpy in REFERENCE"


@EVERY
def test_the_graph_is_the_loss(name, data):
    design, y, k = data
    residual = design @ k - y
    assert 0 < np.mean(np.abs(residual) <= DELTA) < 1  # both sides of huber's δ
    found = model.loss_graph(design, y, graph.parameter(k), name, DELTA).value
    assert found == pytest.approx(REFERENCE[name](residual, DELTA), rel=1e-12)


@EVERY
def test_the_gradient_is_the_slope(name, data):
    design, y, k = data
    rows = gradcheck.check(lambda a: model.loss_and_gradient(design, y, a, name, DELTA), k)
    assert len(rows) == k.size and max(r.relative_error for r in rows) < 1e-6


@EVERY
def test_the_unit_power_is_how_the_loss_scales_with_y(name, data):
    """The trainer works in y / 2^e and reports the loss times (2^e)^unit_power: scaling y, the
    residuals and δ by a power of two scales the loss by exactly that power of it."""
    design, y, k = data
    scale = 8.0
    at = [model.loss_graph(design, y * s, graph.parameter(k * s), name, DELTA * s).value for s in (1.0, scale)]
    assert at[1] == at[0] * scale ** LOSSES[name].unit_power


@EVERY
def test_least_squares_losses_are_the_ones_the_triangle_carries(name, data):
    design, y, k = data
    triangle = moments.triangle(design[:, 1], y, 0.0, 1.0, 1.0, design.shape[1] - 1)
    whole = model.loss_graph(design, y, graph.parameter(k), name, DELTA).value
    through = model.triangle_loss_graph(triangle, graph.parameter(k)).value
    assert (whole == pytest.approx(through, rel=1e-9)) == LOSSES[name].least_squares
    assert LOSSES[name].needs_every_point != LOSSES[name].least_squares


@EVERY
def test_a_loss_reads_delta_if_and_only_if_it_says_so(name, data):
    design, y, k = data
    values = {float(model.loss_graph(design, y, graph.parameter(k), name, delta).value) for delta in (0.1, 1.0)}
    assert (len(values) == 2) == LOSSES[name].needs_delta


@EVERY
def test_the_default_optimiser_can_fit_the_loss(name, rng):
    """newton and cg take exact steps: on the triangle for least squares, and newton by
    fitbp.fitting.robust for the losses it knows; the default optimiser must reach the optimum."""
    chosen = LOSSES[name].default_optimizer
    assert chosen in optimizers.OPTIMIZERS
    assert chosen not in optimizers.EXACT or LOSSES[name].least_squares or (
        chosen == "newton" and name in robust.FITTED)
    t = rng.uniform(-1, 1, 300)
    assert fit_points(Points(t, t ** 3 - t + rng.standard_t(2, t.size) * 0.3), 3, loss=name).converged


def test_an_unknown_loss_is_refused_with_the_names_there_are():
    with pytest.raises(FitbpError, match="unknown loss 'l1' \\(choose from " + ", ".join(LOSSES)):
        named("l1")
    with pytest.raises(FitbpError, match="unknown loss"):
        named(["mse"])


def test_the_command_line_offers_the_table():
    from fitbp.cli.options import Loss

    assert [choice.value for choice in Loss] == list(LOSSES)
