"""The gradient check: backprop's gradient against central finite differences.

A backward rule can be wrong in ways training does not show (a fit can
still converge, slowly, on a wrong gradient).  Central differences need no
calculus at all, so agreement between the two is the independent evidence
that the graph differentiates correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Row:
    index: int
    backprop: float
    numeric: float
    at: float = 0.0
    """The coefficient's value where the two gradients are compared."""
    name: str | None = None
    """What the parameter is, where it is not the coefficient a_index (a Fourier series's α_k, β_k, P)."""

    @property
    def label(self):
        return self.name or f"a_{self.index}"

    @property
    def relative_error(self):
        scale = max(abs(self.backprop), abs(self.numeric), 1e-10)
        return abs(self.backprop - self.numeric) / scale


STEP = 1e-6
"""The finite-difference step, relative to |k_i| (absolute below 1)."""


def central_differences(loss_of, k, step=STEP):
    """d loss / d k_i by (L(k + h e_i) - L(k - h e_i)) / 2h, with h relative to |k_i|."""
    gradient = np.zeros_like(k)
    for i in range(k.size):
        h = step * max(1.0, abs(k[i]))
        plus, minus = k.copy(), k.copy()
        plus[i] += h
        minus[i] -= h
        gradient[i] = (loss_of(plus) - loss_of(minus)) / (2 * h)
    return gradient


def check(objective, k, names=None, step=STEP):
    """One Row per coefficient; ``objective(k)`` is a backprop pass returning (loss, gradient); ``names``
    says what each parameter is, where they are not a_0, a_1, …; ``step`` relative as STEP."""
    k = np.asarray(k, dtype=np.float64)
    _, backprop = objective(k)
    numeric = central_differences(lambda p: objective(p)[0], k, step)
    names = names or [None] * k.size
    return [Row(i, float(b), float(n), float(a), name)
            for i, (b, n, a, name) in enumerate(zip(backprop, numeric, k, names))]
