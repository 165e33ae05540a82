"""The losses fitbp trains, one row each: the table every other module asks instead of a loss's name.

A row says what its loss is (its graph of the residuals) and what follows from that: the units of
its value, the optimiser that fits it by default, and whether it is least squares, which the data's
triangle carries and for which the least-squares statistics and intervals hold.  A new loss is a new
row here; tests/test_losses.py checks every row's graph and gradient.

This module imports no numpy until a graph is built: the command line names the losses (its
``--loss`` choices) before it sets numpy's thread count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fitbp.errors import FitbpError


@dataclass(frozen=True)
class Loss:
    name: str
    graph: Callable
    """``graph(residual, delta)``: the scalar node of the loss of a residual node (fitbp.backprop.graph)."""
    unit_power: int
    """The loss's value is in y's units to this power: 2 for a mean of squares, 1 for a mean of |r|."""
    default_optimizer: str
    least_squares: bool
    """The mean squared residual: the triangle's rewrite (fitbp.engines.moments), newton's and cg's
    exact steps, the least-squares statistics, intervals and checks all hold for it and for no other."""
    needs_delta: bool = False
    """Whether ``graph`` reads a threshold δ (huber's; fitbp.fitting.trainer.huber_delta by default)."""

    @property
    def needs_every_point(self):
        """A loss the triangle cannot carry reads every residual at every step: newton's passes over the
        points wherever they are (held, streamed, on a cluster), an epoch of gd, momentum or adam over the
        points held; unweighted."""
        return not self.least_squares


def _mean_square(residual, delta):
    """mean(r ** 2)                                   (matmul, sub, pow, mean)"""
    return (residual ** 2).mean()


def _mean_absolute(residual, delta):
    """mean(|r|)                                      (matmul, sub, abs, mean)"""
    from fitbp.backprop import graph

    return graph.absolute(residual).mean()


def _huber(residual, delta):
    """mean(q * (|r| - q / 2)) with q = min(|r|, δ):  quadratic inside δ, linear outside."""
    from fitbp.backprop import graph

    size = graph.absolute(residual)
    inside = graph.minimum(size, delta)
    return (inside * (size - inside * 0.5)).mean()


LOSSES = {loss.name: loss for loss in (
    Loss("mse", _mean_square, unit_power=2, default_optimizer="newton", least_squares=True),
    Loss("mae", _mean_absolute, unit_power=1, default_optimizer="newton", least_squares=False),
    Loss("huber", _huber, unit_power=2, default_optimizer="newton", least_squares=False, needs_delta=True),
)}
"""By name, in the order the command line offers them."""


def named(name):
    """The Loss called ``name``, or a FitbpError that lists the ones there are."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise FitbpError(f"unknown loss {name!r} (choose from {', '.join(LOSSES)})") from None
